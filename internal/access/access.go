// Package access answers Clapshot's permission questions ("may this
// identity comment on media file X?") the way its org_authz_with_default
// does: the organizer plugin's authz_user_action verdict if it gives one,
// else the server's default rule. It takes an identity, not a websocket
// session, so an HTTP handler (an export, an upload) and later guests of a
// share link go through the same checks as the websocket commands.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Identity is who asks: the user (from the proxy headers), the cookies
// the organizer gets to see, and the session the question comes from, as
// the organizer API names it (a websocket session's id, or a fixed id for
// requests outside one, such as Clapshot's "<upload--not-set>"). A guest
// of a share link has Guest set, and User made from it (GuestIdentity).
type Identity struct {
	User    auth.Identity
	Cookies map[string]string
	SID     string
	Guest   *Guest
}

// Session is the identity as the organizer API describes it. A guest's
// cookies describe the guest and the link (GuestCookiePrefix).
func (id Identity) Session() *pb.UserSessionData {
	return &pb.UserSessionData{
		Sid:     id.SID,
		User:    &pb.UserInfo{Id: id.User.UserID, Name: id.User.UserName},
		IsAdmin: id.User.IsAdmin && id.Guest == nil,
		Cookies: id.sessionCookies(),
	}
}

// Owns is the default rule of owner-or-admin operations. A guest owns
// nothing.
func (id Identity) Owns(m store.MediaFile) bool {
	return id.Guest == nil && (m.UserID == id.User.UserID || id.User.IsAdmin)
}

// IsAuthor is the default rule of author-or-admin operations, for users.
// (A guest's comments have no user id; who wrote them is in
// share_comments, which the caller reads.)
func (id Identity) IsAuthor(c store.Comment) bool {
	return id.Guest == nil && ((c.UserID != nil && *c.UserID == id.User.UserID) || id.User.IsAdmin)
}

// Action is one permission question: what (Desc, as Clapshot words it),
// the server's default answer, and the organizer's request.
type Action struct {
	Desc    string
	Default bool
	Req     *pb.AuthzUserActionRequest // Ses is filled in by Check
	Refs    *pb.UserMessage_Refs       // what a denial message points at
	Detail  string                     // what a default denial's details say
}

// OtherOp asks about an operation on no particular row (login, home page,
// collab session, upload); the default is yes.
func OtherOp(desc string, op pb.AuthzUserActionRequest_OtherOp_Op, subject *string) Action {
	s := ""
	if subject != nil {
		s = *subject
	}
	return Action{Desc: desc, Default: true, Refs: &pb.UserMessage_Refs{},
		Detail: fmt.Sprintf("%s (subject %q)", op, s),
		Req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_OtherOp_{OtherOp: &pb.AuthzUserActionRequest_OtherOp{
			Op: op, Subject: subject}}}}
}

// MediaOp asks about a media file, with the default dflt. The organizer
// gets the media file without subtitles, as from Clapshot.
func MediaOp(who Identity, desc string, op pb.AuthzUserActionRequest_MediaFileOp_Op, m store.MediaFile, dflt bool, urls mediadir.URLs) Action {
	return Action{Desc: desc, Default: dflt, Refs: &pb.UserMessage_Refs{MediaFileId: new(m.ID)},
		Detail: fmt.Sprintf("%s on media file %s, owned by %q; you are %q", op, m.ID, m.UserID, who.User.UserID),
		Req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_MediaFileOp_{MediaFileOp: &pb.AuthzUserActionRequest_MediaFileOp{
			Op: op, MediaFile: pbconv.MediaFile(m, nil, urls, pbconv.MediaFileOptions{})}}}}
}

// CommentOp asks about a comment, with the default dflt.
func CommentOp(who Identity, desc string, op pb.AuthzUserActionRequest_CommentOp_Op, c store.Comment, dflt bool) Action {
	author := ""
	if c.UserID != nil {
		author = *c.UserID
	}
	return Action{Desc: desc, Default: dflt, Refs: &pb.UserMessage_Refs{CommentId: new(rowid.Format(c.ID))},
		Detail: fmt.Sprintf("%s on comment %d by %q; you are %q", op, c.ID, author, who.User.UserID),
		Req: &pb.AuthzUserActionRequest{Op: &pb.AuthzUserActionRequest_CommentOp_{CommentOp: &pb.AuthzUserActionRequest_CommentOp{
			Op: op, Comment: pbconv.Comment(c)}}}}
}

// Authorizer is the organizer's side of the question (review.Organizer
// and organizer.Inbound have it). codes.Unimplemented, or a response
// without is_authorized, means "no opinion"; codes.Aborted means it failed
// and has told the user already.
type Authorizer interface {
	AuthzUserAction(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error)

// AuthzUserAction implements Authorizer.
func (f AuthorizerFunc) AuthzUserAction(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	return f(ctx, req)
}

// Checker answers permission questions.
type Checker struct {
	org Authorizer
	log *slog.Logger
}

// NewChecker asks org (nil: no organizer) and logs organizer failures.
func NewChecker(org Authorizer, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{org: org, log: log}
}

// Denial is a "no", with what to tell the user.
type Denial struct {
	Message string
	Details *string
	Refs    *pb.UserMessage_Refs
	// Persist: the message is stored with the user's messages (Clapshot
	// stores default denials and organizer denials that have details).
	Persist bool
	// Told: the organizer has told the user already (it aborted); say
	// nothing more.
	Told bool
	// ByOrganizer tells an organizer's verdict (or failure) from the
	// server's default rule.
	ByOrganizer bool
}

func (d *Denial) Error() string { return d.Message }

// ErrDenied is what every Denial is (errors.Is).
var ErrDenied = errors.New("permission denied")

// Is makes errors.Is(d, ErrDenied) true.
func (d *Denial) Is(target error) bool { return target == ErrDenied }

// Check applies org_authz_with_default for who: the organizer's verdict if
// it gives one, else a.Default. nil means allowed. An organizer that fails
// (other than by aborting) denies, with "Internal error in authz".
func (c *Checker) Check(ctx context.Context, who Identity, a Action) *Denial {
	if who.Guest != nil {
		return c.checkGuest(ctx, who, a)
	}
	has, d := c.organizerVerdict(ctx, who, a)
	if has {
		return d
	}
	if a.Default {
		return nil
	}
	return &Denial{Message: "Permission denied: " + a.Desc, Details: new(a.Detail), Refs: a.Refs, Persist: true}
}

// organizerVerdict asks the organizer. has is false when it has no
// opinion (none configured, codes.Unimplemented, or no is_authorized);
// otherwise d is its denial, nil for a yes.
func (c *Checker) organizerVerdict(ctx context.Context, who Identity, a Action) (has bool, d *Denial) {
	var res *pb.AuthzResponse
	err := status.Error(codes.Unimplemented, "no organizer")
	if c.org != nil {
		req := a.Req
		req.Ses = who.Session()
		res, err = c.org.AuthzUserAction(ctx, req)
	}
	switch {
	case status.Code(err) == codes.Unimplemented, err == nil && (res == nil || res.IsAuthorized == nil):
		return false, nil
	case status.Code(err) == codes.Aborted:
		c.log.Warn("Organizer aborted an authz request; denying", "sid", who.SID, "user", who.User.UserID, "action", a.Desc)
		return true, &Denial{Message: "Permission denied", Refs: a.Refs, Told: true, ByOrganizer: true}
	case err != nil:
		c.log.Error("Organizer authz failed; denying", "sid", who.SID, "user", who.User.UserID, "action", a.Desc, "err", err)
		return true, &Denial{Message: "Internal error in authz: " + a.Desc, Refs: a.Refs, ByOrganizer: true}
	case res.GetIsAuthorized():
		return true, nil
	}
	msg := "Permission denied"
	if res.Message != nil {
		msg = *res.Message
	}
	return true, &Denial{Message: msg, Details: res.Details, Refs: a.Refs, Persist: res.Details != nil, ByOrganizer: true}
}

// MayViewMedia is the question an HTTP handler asks before handing out a
// media file or its comments: VIEW, allowed by default.
func (c *Checker) MayViewMedia(ctx context.Context, who Identity, m store.MediaFile, urls mediadir.URLs) *Denial {
	return c.Check(ctx, who, MediaOp(who, "view media file", pb.AuthzUserActionRequest_MediaFileOp_VIEW, m, true, urls))
}
