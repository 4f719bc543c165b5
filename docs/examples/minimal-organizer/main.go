// A minimal organizer plugin: it shows each user a page with a greeting
// and their media files, and leaves everything else to the server.
//
//	go build -o /usr/local/bin/hello-organizer ./docs/examples/minimal-organizer
//	clapshot-server --data-dir /srv/clapshot --org-cmd /usr/local/bin/hello-organizer
package main

import (
	"context"
	"fmt"
	"html"
	"log"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

type hello struct {
	// Calls we do not implement answer UNIMPLEMENTED: "server default".
	pb.UnimplementedOrganizerInboundServer
	server pb.OrganizerOutboundClient
}

// Handshake: connect back to the server and introduce ourselves.
func (h *hello) Handshake(ctx context.Context, info *pb.ServerInfo) (*pb.Empty, error) {
	target := "unix://" + info.GetBackchannel().GetUnix().GetPath()
	if tcp := info.GetBackchannel().GetTcp(); tcp != nil {
		target = net.JoinHostPort(tcp.GetHost(), fmt.Sprint(tcp.GetPort()))
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	h.server = pb.NewOrganizerOutboundClient(conn)
	_, err = h.server.Handshake(ctx, &pb.OrganizerInfo{
		Name: "com.example.hello", Description: "Says hello",
		Version: &pb.SemanticVersionNumber{Major: 1},
	})
	return &pb.Empty{}, err
}

// NavigatePage builds the page the user sees instead of the server's.
func (h *hello) NavigatePage(ctx context.Context, req *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	user := req.GetSes().GetUser()
	files, err := h.server.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{
		Filter: &pb.DbGetMediaFilesRequest_UserId{UserId: user.GetId()}})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "DbGetMediaFiles: %v", err)
	}
	var items []*pb.PageItem_FolderListing_Item
	for _, f := range files.GetItems() {
		items = append(items, &pb.PageItem_FolderListing_Item{
			Item:       &pb.PageItem_FolderListing_Item_MediaFile{MediaFile: f},
			OpenAction: &pb.ScriptCall{Code: fmt.Sprintf("clapshot.openMediaFile(%q);", f.GetId())},
		})
	}
	return &pb.ClientShowPageRequest{
		PageItems: []*pb.PageItem{
			{Item: &pb.PageItem_Html{Html: "<h2>Hello, " + html.EscapeString(user.GetName()) + "!</h2>"}},
			{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{Items: items, AllowUpload: true}}},
		},
		PageTitle: &[]string{"Hello"}[0],
	}, nil
}

func main() {
	socket := os.Args[1] // the server appends it; --debug/--json may follow
	ln, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterOrganizerInboundServer(srv, &hello{})
	fmt.Println("INFO hello organizer listening on", socket)
	log.Fatal(srv.Serve(ln))
}
