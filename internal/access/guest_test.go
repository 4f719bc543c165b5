package access

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// A guest may do what the link's permission allows on what it points at,
// and nothing else, whatever the organizer answers; on a folder link the
// organizer must say yes.
func TestGuestCheck(t *testing.T) {
	shared := store.MediaFile{ID: "aaaa0001", UserID: "alice"}
	other := store.MediaFile{ID: "bbbb0002", UserID: "alice"}
	urls := mediadir.URLs{}
	guest := func(p Permission, folder bool) Identity {
		g := &Guest{LinkID: "L1", GuestID: 7, Name: "Ann", Perm: p, CreatedBy: "alice"}
		if folder {
			g.FolderID = "12"
		} else {
			g.MediaFileID = shared.ID
		}
		return GuestIdentity(g, "9", nil)
	}
	media := func(who Identity, op pb.AuthzUserActionRequest_MediaFileOp_Op, m store.MediaFile) Action {
		dflt := op == pb.AuthzUserActionRequest_MediaFileOp_VIEW || op == pb.AuthzUserActionRequest_MediaFileOp_COMMENT || who.Owns(m)
		return MediaOp(who, op.String(), op, m, dflt, urls)
	}
	comment := func(who Identity, m store.MediaFile, own bool) Action {
		return CommentOp(who, "edit comment", pb.AuthzUserActionRequest_CommentOp_EDIT, store.Comment{ID: 3, MediaFileID: m.ID}, own)
	}
	other2 := func(op pb.AuthzUserActionRequest_OtherOp_Op) Action { return OtherOp(op.String(), op, nil) }
	yes, no := true, false
	allow := verdict(&pb.AuthzResponse{IsAuthorized: &yes}, nil)
	refuse := verdict(&pb.AuthzResponse{IsAuthorized: &no, Message: new("Locked")}, nil)
	unimpl := verdict(nil, status.Error(codes.Unimplemented, ""))
	view, cmt, dl := guest(PermView, false), guest(PermComment, false), guest(PermDownload, false)
	fview, fcmt := guest(PermView, true), guest(PermComment, true)
	const (
		VIEW    = pb.AuthzUserActionRequest_MediaFileOp_VIEW
		COMMENT = pb.AuthzUserActionRequest_MediaFileOp_COMMENT
		RENAME  = pb.AuthzUserActionRequest_MediaFileOp_RENAME
		DELETE  = pb.AuthzUserActionRequest_MediaFileOp_DELETE
		EDIT    = pb.AuthzUserActionRequest_MediaFileOp_EDIT
	)
	for _, tc := range []struct {
		name   string
		org    Authorizer
		who    Identity
		action Action
		want   string // "" allowed, else a part of the denial's message or details
	}{
		{"view: view the shared file", nil, view, media(view, VIEW, shared), ""},
		{"view: comment", nil, view, media(view, COMMENT, shared), "may only watch"},
		{"view: another file", nil, view, media(view, VIEW, other), "does not include that media file"},
		{"view: organizer cannot raise a guest to commenting", allow, view, media(view, COMMENT, shared), "may only watch"},
		{"view: organizer may deny viewing", refuse, view, media(view, VIEW, shared), "Locked"},
		{"view: organizer has no opinion", unimpl, view, media(view, VIEW, shared), ""},
		{"view: login", nil, view, other2(pb.AuthzUserActionRequest_OtherOp_LOGIN), ""},
		{"view: home (the shared file)", nil, view, other2(pb.AuthzUserActionRequest_OtherOp_VIEW_HOME), ""},
		{"view: upload", allow, view, other2(pb.AuthzUserActionRequest_OtherOp_UPLOAD_MEDIA_FILE), "may only watch"},
		{"view: collab", allow, view, other2(pb.AuthzUserActionRequest_OtherOp_JOIN_COLLAB_SESSION), "may only watch"},
		{"comment: comment", nil, cmt, media(cmt, COMMENT, shared), ""},
		{"comment: comment on another file", allow, cmt, media(cmt, COMMENT, other), "does not include that media file"},
		{"comment: edit own comment", nil, cmt, comment(cmt, shared, true), ""},
		{"comment: edit someone else's comment", allow, cmt, comment(cmt, shared, false), "Permission denied: edit comment"},
		{"comment: own comment on another file", nil, cmt, comment(cmt, other, true), "does not include that media file"},
		{"view: edit own comment", nil, view, comment(view, shared, true), "may only watch"},
		{"download: rename", allow, dl, media(dl, RENAME, shared), "download the original"},
		{"download: delete", allow, dl, media(dl, DELETE, shared), "download the original"},
		{"download: edit (subtitles)", allow, dl, media(dl, EDIT, shared), "download the original"},
		{"folder: no organizer", nil, fview, media(fview, VIEW, shared), "needs an organizer"},
		{"folder: organizer without an opinion", unimpl, fview, media(fview, VIEW, shared), "needs an organizer"},
		{"folder: organizer says the file is in it", allow, fview, media(fview, VIEW, other), ""},
		{"folder: organizer says no", refuse, fview, media(fview, VIEW, other), "Locked"},
		{"folder: home needs the organizer", unimpl, fview, other2(pb.AuthzUserActionRequest_OtherOp_VIEW_HOME), "needs an organizer"},
		{"folder: organizer's yes to comment for a viewer", allow, fview, media(fview, COMMENT, shared), "may only watch"},
		{"folder: comment", allow, fcmt, media(fcmt, COMMENT, other), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewChecker(tc.org, nil).Check(context.Background(), tc.who, tc.action)
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("denied: %s (%s)", got.Message, deref(got.Details))
			case tc.want == "":
				return
			case got == nil:
				t.Fatal("allowed")
			}
			if text := got.Message + " " + deref(got.Details); !strings.Contains(text, tc.want) {
				t.Errorf("denial %q, want %q in it", text, tc.want)
			}
			if got.Persist {
				t.Error("a guest's denial would be stored")
			}
		})
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// The organizer sees a guest as the guest and its link, through the
// session's cookies; cookies a client made up under the guest prefix
// never reach it, from a guest or from a user.
func TestGuestSession(t *testing.T) {
	forged := map[string]string{"folder": "3", CookieGuestFolder: "1", CookieGuestPermission: "download"}
	g := &Guest{LinkID: "L1", GuestID: 7, Name: "Ann", Perm: PermComment, MediaFileID: "aaaa0001", CreatedBy: "alice", CreatedByAdmin: true}
	ses := GuestIdentity(g, "9", forged).Session()
	want := map[string]string{"folder": "3", CookieGuestLink: "L1", CookieGuestName: "Ann", CookieGuestPermission: "comment",
		CookieGuestMediaFile: "aaaa0001", CookieGuestCreatedBy: "alice", CookieGuestCreatedByAdmin: "true"}
	if len(ses.Cookies) != len(want) {
		t.Errorf("cookies %v, want %v", ses.Cookies, want)
	}
	for k, v := range want {
		if ses.Cookies[k] != v {
			t.Errorf("cookie %s = %q, want %q", k, ses.Cookies[k], v)
		}
	}
	if ses.User.Id != "guest:L1:7" || ses.User.Name != "Ann (guest)" || ses.IsAdmin || ses.Sid != "9" {
		t.Errorf("guest session %v", ses)
	}
	user := Identity{User: auth.Identity{UserID: "bob"}, Cookies: forged}.Session()
	if len(user.Cookies) != 1 || user.Cookies["folder"] != "3" {
		t.Errorf("a user's cookies with guest names reach the organizer: %v", user.Cookies)
	}
	if forged[CookieGuestFolder] != "1" {
		t.Error("the caller's map was changed")
	}
	// An identity that is a guest never owns or authored anything, even
	// with a user id or admin flag that would match.
	id := GuestIdentity(g, "9", nil)
	id.User.IsAdmin = true
	if id.Owns(store.MediaFile{UserID: id.User.UserID}) || id.IsAuthor(store.Comment{UserID: new(id.User.UserID)}) {
		t.Error("a guest owns or authored")
	}
}
