// Package folders is an organizer plugin that gives every user folders:
// a home folder ("Home of '<name>'"), folders inside it to create,
// rename, reorder, move and trash, breadcrumbs, uploads landing in the
// folder being viewed, and for admins every user's home. It is a Go
// counterpart of Clapshot's Python basic_folders organizer: the same
// tables (bf_folders, bf_folder_items, __bf_schema_migrations), migrations
// and cookie, so an installation can switch between the two and keep its
// folders.
//
// It talks to the server only through Clapshot's organizer API: gRPC in
// both directions, and the shared SQLite database for its own tables (and,
// as basic_folders does, to read users and move media ownership along with
// folders).
package folders

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Name is what the organizer calls itself in its handshake.
const Name = "clapshot.organizer.basic_folders"

// MaxMessageBytes matches the server's limit: a page of a large folder
// is several megabytes.
const MaxMessageBytes = 256 << 20

// Organizer implements OrganizerInbound.
type Organizer struct {
	pb.UnimplementedOrganizerInboundServer
	log     *slog.Logger
	version *pb.SemanticVersionNumber

	mu     sync.Mutex
	db     *store.Shared
	server pb.OrganizerOutboundClient
	conn   *grpc.ClientConn
}

// New creates the organizer; version is reported in its handshake.
func New(log *slog.Logger, version string) *Organizer {
	return &Organizer{log: log, version: parseVersion(version)}
}

var semverPrefix = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)`)

// parseVersion reads "1.2.3" or "v1.2.3-4-gabcdef"; anything else (a bare
// commit id of a development build) is 0.0.0.
func parseVersion(v string) *pb.SemanticVersionNumber {
	out := &pb.SemanticVersionNumber{}
	if m := semverPrefix.FindStringSubmatch(v); m != nil {
		out.Major, _ = strconv.ParseUint(m[1], 10, 64)
		out.Minor, _ = strconv.ParseUint(m[2], 10, 64)
		out.Patch, _ = strconv.ParseUint(m[3], 10, 64)
	}
	return out
}

// srv is the connection back to the server.
func (o *Organizer) srv() pb.OrganizerOutboundClient {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.server
}

// ready fails calls that come before the handshake.
func (o *Organizer) ready() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil || o.server == nil {
		return status.Error(codes.FailedPrecondition, errNoDatabase.Error())
	}
	return nil
}

// Close releases the database and the connection to the server.
func (o *Organizer) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db != nil {
		o.db.Close()
	}
	if o.conn != nil {
		o.conn.Close()
	}
}

func (o *Organizer) CheckMigrations(ctx context.Context, req *pb.CheckMigrationsRequest) (*pb.CheckMigrationsResponse, error) {
	db, err := openDB(ctx, req.GetDb(), true)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	defer db.Close()
	cur, err := currentVersion(ctx, db)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read schema version: %v", err)
	}
	return &pb.CheckMigrationsResponse{Name: ModuleName, CurrentSchemaVer: cur, PendingMigrations: pending(cur)}, nil
}

func (o *Organizer) ApplyMigration(ctx context.Context, req *pb.ApplyMigrationRequest) (*pb.ApplyMigrationResponse, error) {
	o.log.Info("Applying migration", "uuid", req.GetUuid())
	skipped, err := applyMigration(ctx, req.GetDb(), req.GetUuid())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if skipped {
		o.log.Info("Migration was applied already (by another server instance?)", "uuid", req.GetUuid())
	}
	return &pb.ApplyMigrationResponse{}, nil
}

// Handshake connects back to the server, says who we are, opens the
// database and repairs what needs repairing.
func (o *Organizer) Handshake(ctx context.Context, info *pb.ServerInfo) (*pb.Empty, error) {
	target := ""
	switch e := info.GetBackchannel().GetEndpoint().(type) {
	case *pb.ServerInfo_GrpcEndpoint_Unix_:
		target = "unix://" + e.Unix.GetPath()
	case *pb.ServerInfo_GrpcEndpoint_Tcp:
		target = net.JoinHostPort(e.Tcp.GetHost(), strconv.FormatUint(uint64(e.Tcp.GetPort()), 10))
	default:
		return nil, status.Error(codes.InvalidArgument, "handshake without a backchannel address")
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connect back to the server at %s: %v", target, err)
	}
	server := pb.NewOrganizerOutboundClient(conn)
	if _, err := server.Handshake(ctx, &pb.OrganizerInfo{
		Name: Name, Version: o.version, Description: "Folders for the UI (Go)",
		HardDependencies: []*pb.OrganizerDependency{{Name: "clapshot.server", MinVer: &pb.SemanticVersionNumber{Major: 0, Minor: 6}}},
	}); err != nil {
		conn.Close()
		return nil, status.Errorf(codes.Unavailable, "handshake back to the server at %s: %v", target, err)
	}
	db, err := openDB(ctx, info.GetDb(), true)
	if err != nil {
		conn.Close()
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	report, err := checkIntegrity(ctx, db)
	if err != nil {
		conn.Close()
		db.Close()
		return nil, status.Errorf(codes.Internal, "database check: %v", err)
	}
	for _, r := range report {
		o.log.Error("Database repaired: " + r)
	}
	o.mu.Lock()
	old, oldConn := o.db, o.conn
	o.db, o.server, o.conn = db, server, conn
	o.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if oldConn != nil {
		oldConn.Close()
	}
	o.log.Info("Connected to the server", "backchannel", target, "server_version",
		fmt.Sprintf("%d.%d.%d", info.GetVersion().GetMajor(), info.GetVersion().GetMinor(), info.GetVersion().GetPatch()))
	return &pb.Empty{}, nil
}

func (o *Organizer) OnStartUserSession(ctx context.Context, req *pb.OnStartUserSessionRequest) (*pb.OnStartUserSessionResponse, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	if req.GetSes().GetSid() == "" {
		return nil, status.Error(codes.InvalidArgument, "no session id")
	}
	if isGuest(req.GetSes()) {
		return &pb.OnStartUserSessionResponse{}, nil // no actions: guests change nothing
	}
	if _, err := o.srv().ClientDefineActions(ctx, &pb.ClientDefineActionsRequest{Sid: req.GetSes().GetSid(), Actions: actions()}); err != nil {
		return nil, fmt.Errorf("client_define_actions: %w", err)
	}
	return &pb.OnStartUserSessionResponse{}, nil
}

// AuthzUserAction has no opinion about users (the server's defaults
// apply); it answers for guests of folder links (guests.go).
func (o *Organizer) AuthzUserAction(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	g, err := guestOf(req.GetSes())
	if err != nil {
		no := false
		return &pb.AuthzResponse{IsAuthorized: &no, Message: new(status.Convert(err).Message())}, nil
	}
	if g == nil {
		return nil, status.Error(codes.Unimplemented, "folders do not change permissions")
	}
	if err := o.ready(); err != nil {
		return nil, err
	}
	return o.guestAuthz(ctx, g, req)
}

// NavigatePage shows the folder in the page id (the URL), or home. Home
// without a page id also forgets the folder path cookie, so that other
// calls do not show the folder viewed before.
func (o *Organizer) NavigatePage(ctx context.Context, req *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	ses := req.GetSes()
	if isGuest(ses) {
		page, err := o.navigateGuest(ctx, ses, req.GetPageId())
		if err != nil {
			return nil, o.userError(ctx, ses, err)
		}
		return page, nil
	}
	var ids []int64
	if req.PageId != nil {
		var ok bool
		if ids, ok = pathFromPageID(req.GetPageId()); !ok && req.GetPageId() != "" {
			o.log.Warn("Invalid folder path in page id; showing home", "page_id", req.GetPageId())
		}
	} else if _, had := ses.GetCookies()[PathCookie]; had {
		o.clearPath(ctx, ses, "")
	}
	path, err := o.folderPath(ctx, ses, ids, false)
	if err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	page, err := o.page(ctx, ses, path)
	if err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	return page, nil
}

// showPage refreshes the session's page at path (after a change).
func (o *Organizer) showPage(ctx context.Context, ses *pb.UserSessionData, path []*folder) error {
	page, err := o.page(ctx, ses, path)
	if err != nil {
		return err
	}
	_, err = o.srv().ClientShowPage(ctx, page)
	return err
}

// currentPath is the folder path the session is viewing (its cookie).
func (o *Organizer) currentPath(ctx context.Context, ses *pb.UserSessionData) ([]*folder, error) {
	return o.folderPath(ctx, ses, nil, true)
}
