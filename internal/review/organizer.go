package review

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Organizer is the seam to an organizer plugin: the calls a websocket
// session makes to it (OrganizerInbound in organizer.proto). A gRPC-backed
// implementation plugs in with Hub.SetOrganizer; NoOrganizer is the
// default.
//
// Errors follow the plugin API's status codes, read with status.Code:
// codes.Unimplemented means "no opinion, use the server's default" and
// codes.Aborted means "failed, but the organizer already told the user".
// What each call does with them is Clapshot's (§5.4 of the reference):
//
//   - OnStartUserSession: Unimplemented is ignored; any other error closes
//     the session with "Error connecting to Organizer. Closing session."
//   - AuthzUserAction: Unimplemented, or a response without is_authorized,
//     applies the server default; Aborted denies silently; other errors deny
//     with "Internal error in authz: <what>".
//   - NavigatePage: Unimplemented and Aborted give the built-in page.
//   - CmdFromClient: only Aborted is ignored; Unimplemented is reported.
//   - MoveToFolder, ReorderItems: Unimplemented and Aborted are ignored;
//     ErrNoOrganizer gives the user "No organizer session."
type Organizer interface {
	OnStartUserSession(ctx context.Context, req *pb.OnStartUserSessionRequest) error
	AuthzUserAction(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error)
	NavigatePage(ctx context.Context, req *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error)
	CmdFromClient(ctx context.Context, req *pb.CmdFromClientRequest) error
	MoveToFolder(ctx context.Context, req *pb.MoveToFolderRequest) error
	ReorderItems(ctx context.Context, req *pb.ReorderItemsRequest) error
}

// ErrNoOrganizer is what folder operations return when no organizer is
// configured.
var ErrNoOrganizer = errors.New("No organizer session.")

// NoOrganizer is Clapshot's behaviour without an organizer: server-default
// permissions, the built-in page of the user's own media, organizerCmd
// ignored, and folder operations answered "No organizer session.".
type NoOrganizer struct{}

var errNoPlugin = status.Error(codes.Unimplemented, "no organizer")

func (NoOrganizer) OnStartUserSession(context.Context, *pb.OnStartUserSessionRequest) error {
	return nil
}

func (NoOrganizer) AuthzUserAction(context.Context, *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	return nil, errNoPlugin
}

func (NoOrganizer) NavigatePage(context.Context, *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	return nil, errNoPlugin
}

func (NoOrganizer) CmdFromClient(context.Context, *pb.CmdFromClientRequest) error { return nil }

func (NoOrganizer) MoveToFolder(context.Context, *pb.MoveToFolderRequest) error {
	return ErrNoOrganizer
}

func (NoOrganizer) ReorderItems(context.Context, *pb.ReorderItemsRequest) error {
	return ErrNoOrganizer
}

// Trasher removes a media file the way Clapshot's trash does: the database
// row (comments and subtitles cascade), then db_backup.json and a move of
// videos/<id> to videos/trash/<id>_<UTC time>. err means the row was not
// deleted (store.ErrNotFound: there was none); warnings describe cleanup
// steps that failed after it was. mediadir.Trasher is the real one.
type Trasher interface {
	TrashMediaFile(ctx context.Context, mediaFileID string) (warnings []string, err error)
}
