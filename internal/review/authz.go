package review

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// errDenied ends a command whose permission check failed; the user has
// already been told, so it is not reported again as "Cmd ... failed".
var errDenied = errors.New("permission denied")

// action is one permission question: what (desc, as Clapshot words it),
// the server's default answer, and the organizer request.
type action struct {
	desc   string
	dflt   bool
	req    *pb.AuthzUserActionRequest
	refs   *pb.UserMessage_Refs // where a denial message points
	detail string               // what a default denial's details say
}

func otherOp(desc string, op pb.AuthzUserActionRequest_OtherOp_Op, subject *string) action {
	return action{desc: desc, dflt: true, refs: &pb.UserMessage_Refs{},
		detail: fmt.Sprintf("%s (subject %q)", op, deref(subject)),
		req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_OtherOp_{OtherOp: &pb.AuthzUserActionRequest_OtherOp{
			Op: op, Subject: subject}}}}
}

// mediaOp asks about a media file. The organizer gets the media file
// without subtitles, as from Clapshot.
func (s *session) mediaOp(desc string, op pb.AuthzUserActionRequest_MediaFileOp_Op, m store.MediaFile, dflt bool) action {
	return action{desc: desc, dflt: dflt, refs: &pb.UserMessage_Refs{MediaFileId: new(m.ID)},
		detail: fmt.Sprintf("%s on media file %s, owned by %q; you are %q", op, m.ID, m.UserID, s.user.UserID),
		req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_MediaFileOp_{MediaFileOp: &pb.AuthzUserActionRequest_MediaFileOp{
			Op: op, MediaFile: pbconv.MediaFile(m, nil, s.hub.opt.URLs, pbconv.MediaFileOptions{})}}}}
}

func (s *session) commentOp(desc string, op pb.AuthzUserActionRequest_CommentOp_Op, c store.Comment, dflt bool) action {
	return action{desc: desc, dflt: dflt, refs: &pb.UserMessage_Refs{CommentId: new(rowid.Format(c.ID))},
		detail: fmt.Sprintf("%s on comment %d by %q; you are %q", op, c.ID, deref(c.UserID), s.user.UserID),
		req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_CommentOp_{CommentOp: &pb.AuthzUserActionRequest_CommentOp{
			Op: op, Comment: pbconv.Comment(c)}}}}
}

// owns is the default for owner-or-admin operations.
func (s *session) owns(m store.MediaFile) bool { return m.UserID == s.user.UserID || s.user.IsAdmin }

// isAuthor is the default for author-or-admin operations.
func (s *session) isAuthor(c store.Comment) bool {
	return (c.UserID != nil && *c.UserID == s.user.UserID) || s.user.IsAdmin
}

// verdict asks the organizer. It returns nil for "no opinion".
func (s *session) verdict(a action) (*bool, error) {
	a.req.Ses = s.data()
	res, err := s.hub.organizer().AuthzUserAction(s.ctx, a.req)
	switch {
	case status.Code(err) == codes.Unimplemented:
		return nil, nil
	case err != nil:
		return new(false), err
	case res == nil || res.IsAuthorized == nil:
		return nil, nil
	}
	if !*res.IsAuthorized {
		return new(false), &orgDenial{res}
	}
	return new(true), nil
}

type orgDenial struct{ res *pb.AuthzResponse }

func (d *orgDenial) Error() string { return "denied by organizer" }

// authorize applies Clapshot's org_authz_with_default: the organizer's
// verdict if it gives one, else the server default. On denial the user
// gets an ERROR message and errDenied is returned.
func (s *session) authorize(a action) error {
	v, err := s.verdict(a)
	if v == nil {
		if a.dflt {
			return nil
		}
		s.userError(&pb.UserMessage{Message: "Permission denied: " + a.desc, Details: new(a.detail), Refs: a.refs}, true)
		return errDenied
	}
	if *v {
		return nil
	}
	var denial *orgDenial
	switch {
	case errors.As(err, &denial):
		msg := "Permission denied"
		if denial.res.Message != nil {
			msg = *denial.res.Message
		}
		s.userError(&pb.UserMessage{Message: msg, Details: denial.res.Details, Refs: a.refs}, denial.res.Details != nil)
	case status.Code(err) == codes.Aborted:
		s.hub.log.Warn("Organizer aborted an authz request; denying", "sid", s.sid, "action", a.desc)
	default:
		s.hub.log.Error("Organizer authz failed; denying", "sid", s.sid, "action", a.desc, "err", err)
		s.userError(&pb.UserMessage{Message: "Internal error in authz: " + a.desc, Refs: a.refs}, false)
	}
	return errDenied
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
