package organizer

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Inbound makes the server's calls to the plugin for websocket sessions
// (review.Organizer). Every call has a deadline (Options.CallTimeout), so a
// slow plugin holds up only the session that is waiting for it, and only
// that long.
//
// While the plugin is down (not started yet, dead, restarting) the
// server's default behaviour applies: sessions start, permissions are the
// server's defaults, the page is the built-in list of the user's media;
// folder commands are answered with a message saying the organizer is not
// available.
type Inbound struct{ m *Manager }

// Inbound returns the session-facing side of the plugin.
func (m *Manager) Inbound() *Inbound { return &Inbound{m: m} }

// errDown is what the calls get while the plugin is down; UNIMPLEMENTED is
// the API's "use the server's default".
var errDown = status.Error(codes.Unimplemented, "organizer not available")

// call runs one call against the connected plugin with the per-call
// deadline. A plugin that went away mid-call counts as down.
func call[T any](ctx context.Context, i *Inbound, name string, f func(context.Context, pb.OrganizerInboundClient) (T, error)) (T, error) {
	var zero T
	c := i.m.current()
	if c == nil {
		return zero, errDown
	}
	timeout := i.m.opt.CallTimeout
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := f(cctx, c)
	switch {
	case err == nil:
		return res, nil
	case status.Code(err) == codes.Unavailable && ctx.Err() == nil:
		i.m.log.Warn("Organizer unreachable during a call", "call", name, "err", err)
		return zero, errDown
	case status.Code(err) == codes.DeadlineExceeded && ctx.Err() == nil:
		i.m.log.Warn("Organizer did not answer in time", "call", name, "timeout", timeout)
		return zero, status.Errorf(codes.DeadlineExceeded, "the organizer did not answer %s within %s", name, timeout)
	case errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled:
		return zero, err
	}
	return zero, err
}

func (i *Inbound) OnStartUserSession(ctx context.Context, req *pb.OnStartUserSessionRequest) error {
	_, err := call(ctx, i, "on_start_user_session", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.OnStartUserSessionResponse, error) {
		return c.OnStartUserSession(ctx, req)
	})
	if errors.Is(err, errDown) {
		return nil
	}
	return err
}

func (i *Inbound) AuthzUserAction(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	return call(ctx, i, "authz_user_action", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.AuthzResponse, error) {
		return c.AuthzUserAction(ctx, req)
	})
}

func (i *Inbound) NavigatePage(ctx context.Context, req *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	return call(ctx, i, "navigate_page", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.ClientShowPageRequest, error) {
		return c.NavigatePage(ctx, req)
	})
}

// folderCall makes a call the server has no default for: while the plugin
// is down the user is told, and ABORTED (already reported) is returned.
func (i *Inbound) folderCall(ctx context.Context, ses *pb.UserSessionData, name string, f func(context.Context, pb.OrganizerInboundClient) (*pb.Empty, error)) error {
	_, err := call(ctx, i, name, f)
	if !errors.Is(err, errDown) {
		return err
	}
	if b := i.m.backend.Load(); b != nil {
		_ = b.Clients.SendToSession(ses.GetSid(), userMessageCmd(&pb.UserMessage{
			Type:    pb.UserMessage_ERROR,
			UserId:  new(ses.GetUser().GetId()),
			Message: "The organizer plugin is not available right now, so folders cannot be changed. Try again in a moment.",
		}))
	}
	return status.Error(codes.Aborted, "organizer not available (user told)")
}

func (i *Inbound) CmdFromClient(ctx context.Context, req *pb.CmdFromClientRequest) error {
	return i.folderCall(ctx, req.GetSes(), "cmd_from_client", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.Empty, error) {
		return c.CmdFromClient(ctx, req)
	})
}

func (i *Inbound) MoveToFolder(ctx context.Context, req *pb.MoveToFolderRequest) error {
	return i.folderCall(ctx, req.GetSes(), "move_to_folder", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.Empty, error) {
		return c.MoveToFolder(ctx, req)
	})
}

func (i *Inbound) ReorderItems(ctx context.Context, req *pb.ReorderItemsRequest) error {
	return i.folderCall(ctx, req.GetSes(), "reorder_items", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.Empty, error) {
		return c.ReorderItems(ctx, req)
	})
}

// ListTests asks the plugin for its self-tests (the test harness only).
func (i *Inbound) ListTests(ctx context.Context) ([]string, error) {
	res, err := call(ctx, i, "list_tests", func(ctx context.Context, c pb.OrganizerInboundClient) (*pb.ListTestsResponse, error) {
		return c.ListTests(ctx, &pb.Empty{})
	})
	return res.GetTestNames(), err
}

// RunTest runs one plugin self-test, with its own (longer) deadline.
func (i *Inbound) RunTest(ctx context.Context, name string, timeout time.Duration) (*pb.RunTestResponse, error) {
	c := i.m.current()
	if c == nil {
		return nil, errDown
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.RunTest(cctx, &pb.RunTestRequest{TestName: name})
}

// UploadSID is the session id Clapshot gives the organizer for an HTTP
// upload, which belongs to no websocket session.
const UploadSID = "<upload--not-set>"

// AuthorizeUpload asks whether a user may upload (UPLOAD_MEDIA_FILE), as
// Clapshot does before reading an upload: allowed unless the organizer
// says no (its message is returned) or fails (ABORTED and errors deny, as
// for every permission question).
func (i *Inbound) AuthorizeUpload(ctx context.Context, userID, userName string, isAdmin bool, cookies map[string]string) error {
	res, err := i.AuthzUserAction(ctx, &pb.AuthzUserActionRequest{
		Ses: &pb.UserSessionData{Sid: UploadSID, User: &pb.UserInfo{Id: userID, Name: userName}, IsAdmin: isAdmin, Cookies: cookies},
		Op: &pb.AuthzUserActionRequest_OtherOp_{OtherOp: &pb.AuthzUserActionRequest_OtherOp{
			Op: pb.AuthzUserActionRequest_OtherOp_UPLOAD_MEDIA_FILE}},
	})
	switch {
	case status.Code(err) == codes.Unimplemented:
		return nil
	case status.Code(err) == codes.Aborted:
		return errors.New("denied by the organizer")
	case err != nil:
		i.m.log.Error("Organizer upload authz failed; denying", "user", userID, "err", err)
		return errors.New("internal error in authz: upload media file")
	case res.IsAuthorized == nil || res.GetIsAuthorized():
		return nil
	case res.GetMessage() != "":
		return errors.New(res.GetMessage())
	}
	return errors.New("not allowed to upload")
}
