package review

import (
	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The permission questions are access's: these name them for a session.

// errDenied ends a command whose permission check failed; the user has
// already been told, so it is not reported again as "Cmd ... failed"
// (every access.Denial is it, for errors.Is).
var errDenied = access.ErrDenied

// identity is the session as access asks about it.
func (s *session) identity() access.Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := access.Identity{User: s.user, Cookies: s.cookies, SID: s.sid}
	if s.guest != nil {
		id.Guest = s.guest.Guest
	}
	return id
}

func otherOp(desc string, op pb.AuthzUserActionRequest_OtherOp_Op, subject *string) access.Action {
	return access.OtherOp(desc, op, subject)
}

func (s *session) mediaOp(desc string, op pb.AuthzUserActionRequest_MediaFileOp_Op, m store.MediaFile, dflt bool) access.Action {
	return access.MediaOp(s.identity(), desc, op, m, dflt, s.urls())
}

func (s *session) commentOp(desc string, op pb.AuthzUserActionRequest_CommentOp_Op, c store.Comment, dflt bool) access.Action {
	return access.CommentOp(s.identity(), desc, op, c, dflt)
}

// owns is the default for owner-or-admin operations.
func (s *session) owns(m store.MediaFile) bool { return s.identity().Owns(m) }

// isAuthor is the default for author-or-admin operations; a guest is
// the author of the comments they wrote through their link.
func (s *session) isAuthor(c store.Comment) bool {
	if s.guest != nil {
		return s.guestWrote(c)
	}
	return s.identity().IsAuthor(c)
}

// authorize asks access; on denial the user gets an ERROR message (unless
// the organizer has told them) and errDenied is returned.
func (s *session) authorize(a access.Action) error {
	d := s.hub.access.Check(s.ctx, s.identity(), a)
	if d == nil {
		return nil
	}
	if !d.Told {
		s.userError(&pb.UserMessage{Message: d.Message, Details: d.Details, Refs: d.Refs}, d.Persist)
	}
	return d
}

// authorizeLogin is the LOGIN check at connect: only an explicit denial
// (or an organizer failure) refuses.
func (s *session) authorizeLogin() bool {
	return s.authorize(otherOp("login", pb.AuthzUserActionRequest_OtherOp_LOGIN, nil)) == nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
