package access

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The organizer's answers here are the ones the plugin API defines; the
// real plugin path (gRPC) is tested in internal/organizer and review.
func verdict(res *pb.AuthzResponse, err error) Authorizer {
	return AuthorizerFunc(func(context.Context, *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) { return res, err })
}

func TestCheck(t *testing.T) {
	alice := Identity{User: auth.Identity{UserID: "alice", UserName: "Alice"}, Cookies: map[string]string{"folder": "7"}, SID: "3"}
	bob := Identity{User: auth.Identity{UserID: "bob"}, SID: "<export>"}
	admin := Identity{User: auth.Identity{UserID: "root", IsAdmin: true}}
	m := store.MediaFile{ID: "aaaa0001", UserID: "alice"}
	c := store.Comment{ID: 5, MediaFileID: m.ID, UserID: new("alice")}
	urls := mediadir.URLs{}
	rename := func(who Identity) Action {
		return MediaOp(who, "rename media file", pb.AuthzUserActionRequest_MediaFileOp_RENAME, m, who.Owns(m), urls)
	}
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		org    Authorizer
		who    Identity
		action Action
		want   *Denial // nil: allowed
	}{
		{"no organizer, owner", nil, alice, rename(alice), nil},
		{"no organizer, admin", nil, admin, rename(admin), nil},
		{"no organizer, other user", nil, bob, rename(bob), &Denial{Message: "Permission denied: rename media file", Persist: true}},
		{"no opinion (unimplemented)", verdict(nil, status.Error(codes.Unimplemented, "")), bob, rename(bob),
			&Denial{Message: "Permission denied: rename media file", Persist: true}},
		{"no opinion (unset)", verdict(&pb.AuthzResponse{}, nil), alice, rename(alice), nil},
		{"organizer allows what the default denies", verdict(&pb.AuthzResponse{IsAuthorized: &yes}, nil), bob, rename(bob), nil},
		{"organizer denies, with details", verdict(&pb.AuthzResponse{IsAuthorized: &no, Message: new("Folder is locked"), Details: new("ask admin")}, nil),
			alice, rename(alice), &Denial{Message: "Folder is locked", Persist: true, ByOrganizer: true}},
		{"organizer denies, no message", verdict(&pb.AuthzResponse{IsAuthorized: &no}, nil), alice, rename(alice),
			&Denial{Message: "Permission denied", ByOrganizer: true}},
		{"organizer aborted", verdict(nil, status.Error(codes.Aborted, "")), alice, rename(alice),
			&Denial{Message: "Permission denied", Told: true, ByOrganizer: true}},
		{"organizer failed", verdict(nil, errors.New("socket closed")), alice,
			CommentOp(alice, "edit comment", pb.AuthzUserActionRequest_CommentOp_EDIT, c, alice.IsAuthor(c)),
			&Denial{Message: "Internal error in authz: edit comment", ByOrganizer: true}},
		{"other op, default yes", nil, bob, OtherOp("join collab", pb.AuthzUserActionRequest_OtherOp_JOIN_COLLAB_SESSION, new("r")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewChecker(tc.org, nil).Check(context.Background(), tc.who, tc.action)
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("denied: %+v", got)
			case tc.want == nil:
				return
			case got == nil:
				t.Fatal("allowed")
			}
			if got.Message != tc.want.Message || got.Persist != tc.want.Persist || got.Told != tc.want.Told || got.ByOrganizer != tc.want.ByOrganizer {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if !errors.Is(got, ErrDenied) || got.Refs != tc.action.Refs {
				t.Errorf("denial %v: not ErrDenied or wrong refs", got)
			}
		})
	}
}

// The organizer is asked about the identity it is given, session id and
// cookies included, whoever calls (a websocket session or an HTTP handler).
func TestOrganizerSeesTheIdentity(t *testing.T) {
	var seen *pb.AuthzUserActionRequest
	org := AuthorizerFunc(func(_ context.Context, r *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
		seen = r
		return nil, status.Error(codes.Unimplemented, "")
	})
	who := Identity{User: auth.Identity{UserID: "guest:abc", UserName: "Guest"}, Cookies: map[string]string{"k": "v"}, SID: "<export>"}
	m := store.MediaFile{ID: "aaaa0001", UserID: "alice"}
	if d := NewChecker(org, nil).MayViewMedia(context.Background(), who, m, mediadir.URLs{}); d != nil {
		t.Fatalf("VIEW is allowed by default: %v", d)
	}
	ses, op := seen.GetSes(), seen.GetMediaFileOp()
	if ses.GetSid() != "<export>" || ses.GetUser().GetId() != "guest:abc" || ses.GetCookies()["k"] != "v" || ses.GetIsAdmin() ||
		op.GetOp() != pb.AuthzUserActionRequest_MediaFileOp_VIEW || op.GetMediaFile().GetId() != m.ID {
		t.Errorf("organizer asked %v", seen)
	}
	who.Cookies["k"] = "changed"
	if ses.GetCookies()["k"] != "v" {
		t.Error("the request shares the identity's cookie map")
	}
}
