package review_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// scriptedOrganizer answers as a test sets it up, in the way an organizer
// plugin may (the gRPC-backed organizer maps its status codes the same),
// and records what it was asked.
type scriptedOrganizer struct {
	mu       sync.Mutex
	authz    func(*pb.AuthzUserActionRequest) (*pb.AuthzResponse, error)
	start    error
	navigate func(*pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error)
	cmdErr   error
	moveErr  error
	sessions []*pb.UserSessionData // as seen by each call, in order
}

// seen records a call's session and returns the current script (the
// test changes it between calls, from its own goroutine).
func (o *scriptedOrganizer) seen(s *pb.UserSessionData) scriptedOrganizer {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sessions = append(o.sessions, s)
	return scriptedOrganizer{authz: o.authz, start: o.start, navigate: o.navigate, cmdErr: o.cmdErr, moveErr: o.moveErr}
}

// set changes the script.
func (o *scriptedOrganizer) set(f func(o *scriptedOrganizer)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(o)
}

func (o *scriptedOrganizer) lastSession() *pb.UserSessionData {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sessions[len(o.sessions)-1]
}

func (o *scriptedOrganizer) OnStartUserSession(_ context.Context, r *pb.OnStartUserSessionRequest) error {
	return o.seen(r.Ses).start
}

func (o *scriptedOrganizer) AuthzUserAction(_ context.Context, r *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	if sc := o.seen(r.Ses); sc.authz != nil {
		return sc.authz(r)
	}
	return nil, status.Error(codes.Unimplemented, "no authz")
}

func (o *scriptedOrganizer) NavigatePage(_ context.Context, r *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	if sc := o.seen(r.Ses); sc.navigate != nil {
		return sc.navigate(r)
	}
	return nil, status.Error(codes.Unimplemented, "no pages")
}

func (o *scriptedOrganizer) CmdFromClient(_ context.Context, r *pb.CmdFromClientRequest) error {
	return o.seen(r.Ses).cmdErr
}

func (o *scriptedOrganizer) MoveToFolder(_ context.Context, r *pb.MoveToFolderRequest) error {
	return o.seen(r.Ses).moveErr
}

func (o *scriptedOrganizer) ReorderItems(_ context.Context, r *pb.ReorderItemsRequest) error {
	return o.seen(r.Ses).moveErr
}

// Clapshot's rules for organizer answers (§5.4 of the reference).
func TestOrganizerSemantics(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.addMedia("aaaa0001", "alice", "video")
	org := &scriptedOrganizer{}
	s.app.Review.SetOrganizer(org)
	c := s.dial("bob")

	// Login: a denial closes the session with Clapshot's message.
	org.set(func(o *scriptedOrganizer) {
		o.authz = func(r *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
			if r.GetOtherOp().GetOp() == pb.AuthzUserActionRequest_OtherOp_LOGIN && r.Ses.User.Id == "eve" {
				return &pb.AuthzResponse{IsAuthorized: new(false)}, nil
			}
			return &pb.AuthzResponse{}, nil // no opinion
		}
	})
	h := http.Header{}
	h.Set("X-Remote-User-Id", "eve")
	eve := s.dialRaw(h)
	eve.expect("welcome")
	eve.expect("defineActions")
	eve.expectMsg(pb.UserMessage_ERROR, "Permission denied") // the organizer's denial
	eve.expectError("Login permission denied.")
	eve.expectClosed()

	// on_start_user_session failing (anything but UNIMPLEMENTED) closes it.
	org.set(func(o *scriptedOrganizer) { o.start = status.Error(codes.Internal, "db down") })
	eve = s.dialRaw(h)
	eve.expect("welcome")
	eve.expect("defineActions")
	eve.expectError("Error connecting to Organizer. Closing session.")
	eve.expectClosed()
	org.set(func(o *scriptedOrganizer) { o.start = status.Error(codes.Unimplemented, "") })
	s.dial("eve2")

	// authz verdicts.
	for _, tc := range []struct {
		name      string
		res       *pb.AuthzResponse
		err       error
		allowed   bool
		msg       string
		persisted bool
	}{
		{"allow overrides the default", &pb.AuthzResponse{IsAuthorized: new(true)}, nil, true, "", false},
		{"no opinion: default (deny for a non-owner)", &pb.AuthzResponse{}, nil, false, "Permission denied: rename media file", true},
		{"unimplemented: default", nil, status.Error(codes.Unimplemented, ""), false, "Permission denied: rename media file", true},
		{"deny with message", &pb.AuthzResponse{IsAuthorized: new(false), Message: new("Not in your project")}, nil, false, "Not in your project", false},
		{"deny with details: stored", &pb.AuthzResponse{IsAuthorized: new(false), Details: new("ask the owner")}, nil, false, "Permission denied", true},
		{"aborted: silent deny", nil, status.Error(codes.Aborted, ""), false, "", false},
		{"other error", nil, status.Error(codes.Internal, "boom"), false, "Internal error in authz: rename media file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org.set(func(o *scriptedOrganizer) {
				o.authz = func(r *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
					if r.GetMediaFileOp().GetOp() == pb.AuthzUserActionRequest_MediaFileOp_RENAME {
						if r.GetMediaFileOp().GetMediaFile().GetId() != "aaaa0001" {
							t.Errorf("authz request: %v", r)
						}
						return tc.res, tc.err
					}
					return &pb.AuthzResponse{}, nil
				}
			})
			before, _ := s.app.DB.ListMessagesByUser(ctx, "bob", store.All)
			c.send("renameMediaFile", map[string]any{"mediaFileId": "aaaa0001", "newName": "By bob"})
			switch {
			case tc.allowed:
				c.expectMsg(pb.UserMessage_OK, "Video renamed.")
				return
			case tc.msg == "":
				c.quiet()
			default:
				c.expectMsg(pb.UserMessage_ERROR, tc.msg)
			}
			after, _ := s.app.DB.ListMessagesByUser(ctx, "bob", store.All)
			if stored := len(after) > len(before); stored != tc.persisted {
				t.Errorf("stored %v, want %v", stored, tc.persisted)
			}
		})
	}
	org.set(func(o *scriptedOrganizer) { o.authz = nil })

	// navigate_page: the organizer's page, with the requested page id.
	org.set(func(o *scriptedOrganizer) {
		o.navigate = func(r *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
			return &pb.ClientShowPageRequest{PageItems: []*pb.PageItem{{Item: &pb.PageItem_Html{Html: "<p>folders</p>"}}},
				PageId: new("organizer-id"), PageTitle: new("Folders")}, nil
		}
	})
	c.send("openNavigationPage", map[string]any{"pageId": "asked"})
	p := c.expect("showPage").GetShowPage()
	if p.GetPageId() != "asked" || p.GetPageTitle() != "Folders" || p.PageItems[0].GetHtml() != "<p>folders</p>" {
		t.Errorf("page: %v", p)
	}
	for _, code := range []codes.Code{codes.Unimplemented, codes.Aborted} {
		org.set(func(o *scriptedOrganizer) {
			o.navigate = func(*pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) { return nil, status.Error(code, "") }
		})
		c.send("openNavigationPage", map[string]any{})
		if p := c.expect("showPage").GetShowPage(); p.GetPageTitle() != "Your Media" {
			t.Errorf("%s: no built-in page: %v", code, p)
		}
	}
	org.set(func(o *scriptedOrganizer) {
		o.navigate = func(*pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
			return nil, status.Error(codes.Internal, "no db")
		}
	})
	c.send("openNavigationPage", map[string]any{})
	c.expectMsg(pb.UserMessage_ERROR, "Cmd 'OpenNavigationPage' failed: Internal: no db")

	// cmd_from_client: only ABORTED is quiet.
	org.set(func(o *scriptedOrganizer) { o.cmdErr = status.Error(codes.Unimplemented, "what?") })
	c.send("organizerCmd", map[string]any{"cmd": "new_folder", "args": `{"name":"x"}`})
	c.expectMsg(pb.UserMessage_ERROR, "Cmd 'OrganizerCmd' failed: Organizer error:")
	org.set(func(o *scriptedOrganizer) { o.cmdErr = status.Error(codes.Aborted, "") })
	c.send("organizerCmd", map[string]any{"cmd": "new_folder", "args": `{}`})
	c.quiet()

	// move_to_folder / reorder_items: UNIMPLEMENTED and ABORTED are quiet.
	for _, code := range []codes.Code{codes.Unimplemented, codes.Aborted} {
		org.set(func(o *scriptedOrganizer) { o.moveErr = status.Error(code, "") })
		c.send("moveToFolder", map[string]any{"dstFolderId": "1", "ids": []any{map[string]string{"mediaFileId": "aaaa0001"}}})
		c.send("reorderItems", map[string]any{"ids": []any{map[string]string{"folderId": "2"}}})
		c.quiet()
	}
	org.set(func(o *scriptedOrganizer) { o.moveErr = status.Error(codes.Internal, "locked") })
	c.send("reorderItems", map[string]any{"ids": []any{}})
	c.expectMsg(pb.UserMessage_ERROR, "Cmd 'ReorderItems' failed: Organizer error:")

	// Without an organizer: "No organizer session.", organizerCmd ignored.
	s.app.Review.SetOrganizer(nil)
	c.send("moveToFolder", map[string]any{"dstFolderId": "1", "ids": []any{}})
	c.expectMsg(pb.UserMessage_ERROR, "No organizer session.")
	c.send("reorderItems", map[string]any{"ids": []any{}})
	c.expectMsg(pb.UserMessage_ERROR, "No organizer session.")
	c.send("organizerCmd", map[string]any{"cmd": "x", "args": "{}"})
	c.quiet()
}

// The session's cookies: from X-Clapshot-Cookies at connect, then replaced
// by each message's "cookies" (a message without any resets them), as the
// organizer sees them.
func TestCookies(t *testing.T) {
	s := startServer(t)
	org := &scriptedOrganizer{}
	s.app.Review.SetOrganizer(org)
	c := s.dial("alice", "X-Clapshot-Cookies", `{"folder_path":"[1]","n":5}`)
	if got := org.lastSession().Cookies; !maps.Equal(got, map[string]string{"folder_path": "[1]", "n": "<!ERROR: NON-STRING COOKIE VALUE!>"}) {
		t.Errorf("at connect: %v", got)
	}
	sids := s.app.Review.UserSessions("alice")
	if len(sids) != 1 {
		t.Fatalf("sessions %v", sids)
	}
	for _, tc := range []struct {
		frame string
		want  map[string]string
	}{
		{`{"openNavigationPage":{},"cookies":{"audio_volume":"100","folder_path":"[2]","bad":7}}`, map[string]string{"audio_volume": "100", "folder_path": "[2]"}},
		{`{"openNavigationPage":{}}`, map[string]string{}},
		{`{"cookies":{"x":"y"},"openNavigationPage":{}}`, map[string]string{"x": "y"}},
	} {
		c.sendRaw(tc.frame)
		c.expect("showPage")
		if got := org.lastSession().Cookies; !maps.Equal(got, tc.want) {
			t.Errorf("%s: organizer saw %v", tc.frame, got)
		}
		data, err := s.app.Review.SessionData(sids[0])
		if err != nil || !maps.Equal(data.Cookies, tc.want) || data.User.Id != "alice" {
			t.Errorf("SessionData: %v, %v", data, err)
		}
	}
}

// What the organizer's outbound calls use: sending to a session, a user,
// a media file's watchers, a collab room; opening a file in a session.
func TestHubOutbound(t *testing.T) {
	s := startServer(t)
	hub := s.app.Review
	s.addMedia("aaaa0001", "alice", "video")
	a1, a2, bob := s.dial("alice"), s.dial("alice"), s.dial("bob")
	html := func(text string) *pb.ServerToClientCmd {
		return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowPage_{ShowPage: &pb.ServerToClientCmd_ShowPage{
			PageItems: []*pb.PageItem{{Item: &pb.PageItem_Html{Html: text}}}}}}
	}
	sids := hub.UserSessions("alice")
	if len(sids) != 2 {
		t.Fatalf("alice's sessions: %v", sids)
	}
	if err := hub.SendToSession(sids[0], html("one")); err != nil {
		t.Fatal(err)
	}
	if err := hub.SendToSession("999", html("x")); err == nil {
		t.Error("unknown sid accepted")
	}
	if n := hub.SendToUser("alice", html("all")); n != 2 {
		t.Errorf("SendToUser: %d", n)
	}

	// OpenMediaFile makes the session a watcher (no permission check).
	bobSid := hub.UserSessions("bob")[0]
	if err := hub.OpenMediaFile(context.Background(), bobSid, "aaaa0001"); err != nil {
		t.Fatal(err)
	}
	bob.expect("openMediaFile")
	bob.expect("addComments")
	if n := hub.SendToMediaFile("aaaa0001", html("watchers")); n != 1 {
		t.Errorf("SendToMediaFile: %d", n)
	}
	if p := bob.expect("showPage").GetShowPage(); p.PageItems[0].GetHtml() != "watchers" {
		t.Errorf("%v", p)
	}
	bob.send("joinCollab", map[string]any{"collabId": "r1", "mediaFileId": "aaaa0001"})
	bob.expectMsg(pb.UserMessage_OK, "joined")
	if n := hub.SendToCollab("r1", html("room")); n != 1 {
		t.Errorf("SendToCollab: %d", n)
	}
	bob.expect("showPage")
	if n := hub.SendToCollab("nope", html("room")); n != 0 {
		t.Errorf("SendToCollab to no room: %d", n)
	}
	// One of alice's sessions got "one" and "all", the other "all".
	var pages []string
	for _, c := range []*client{a1, a2} {
		first := c.expect("showPage").GetShowPage().PageItems[0].GetHtml()
		pages = append(pages, first)
		if first == "one" {
			pages = append(pages, c.expect("showPage").GetShowPage().PageItems[0].GetHtml())
		}
		c.quiet()
	}
	slices.Sort(pages)
	if strings.Join(pages, ",") != "all,all,one" {
		t.Errorf("alice's sessions got %v", pages)
	}
}
