package access

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Permission is what a share link lets its guests do; each level includes
// the ones before it.
type Permission int

// The permission levels, as stored (share_links.permission) and sent.
const (
	PermView     Permission = iota + 1 // watch, read comments
	PermComment                        // ... and comment (and edit or delete their own comments)
	PermDownload                       // ... and download the original file
)

var permNames = map[Permission]string{PermView: "view", PermComment: "comment", PermDownload: "download"}

// ParsePermission reads "view", "comment" or "download".
func ParsePermission(s string) (Permission, error) {
	for p, n := range permNames {
		if n == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("permission %q: must be view, comment or download", s)
}

func (p Permission) String() string { return permNames[p] }

// Describe says what the level allows, for messages.
func (p Permission) Describe() string {
	switch p {
	case PermView:
		return "guests of this link may only watch and read the comments"
	case PermComment:
		return "guests of this link may watch and comment"
	case PermDownload:
		return "guests of this link may watch, comment and download the original"
	}
	return "guests of this link may do nothing"
}

// Guest is someone without an account who opened a share link and gave a
// name: a kind of identity of its own, never a proxy-authenticated user.
// A guest may do only what the link grants, on only what it points at
// (MediaFileID or FolderID), whatever an organizer says.
type Guest struct {
	LinkID  string
	GuestID int64
	Name    string // as the guest typed it
	Perm    Permission
	// MediaFileID is the link's media file; FolderID the organizer folder
	// of a folder link (then which media files are inside is the
	// organizer's answer). Exactly one is set.
	MediaFileID string
	FolderID    string
	// CreatedBy made the link; CreatedByAdmin says whether they were an
	// administrator then (an organizer may honour a link only as far as
	// its maker could see).
	CreatedBy      string
	CreatedByAdmin bool
	// Expires is when the link stops working (zero: never).
	Expires time.Time
}

// UserID is the guest's user id as sessions and the organizer API see it:
// "guest:<link id>:<guest number>". Proxy identities with the prefix are
// refused (auth.GuestIDPrefix), so it never names a real user.
func (g *Guest) UserID() string {
	return auth.GuestIDPrefix + g.LinkID + ":" + strconv.FormatInt(g.GuestID, 10)
}

// DisplayName is how the guest appears on comments and to others.
func (g *Guest) DisplayName() string { return g.Name + " (guest)" }

// GuestIdentity is the identity of a guest's session (or HTTP request).
func GuestIdentity(g *Guest, sid string, cookies map[string]string) Identity {
	return Identity{User: auth.Identity{UserID: g.UserID(), UserName: g.DisplayName()}, Cookies: cookies, SID: sid, Guest: g}
}

// GuestCookiePrefix starts the names of the cookies that describe a guest
// to the organizer (UserSessionData.cookies). The server sets them for
// guests and removes them from everyone's own cookies, so no client can
// pose as a guest of some link, or as a guest with more rights.
const GuestCookiePrefix = "clapshot_guest_"

// The guest cookies the organizer sees (see docs/organizer-plugins.md).
const (
	CookieGuestLink           = GuestCookiePrefix + "link"
	CookieGuestName           = GuestCookiePrefix + "name"
	CookieGuestPermission     = GuestCookiePrefix + "permission"
	CookieGuestMediaFile      = GuestCookiePrefix + "media_file"
	CookieGuestFolder         = GuestCookiePrefix + "folder"
	CookieGuestCreatedBy      = GuestCookiePrefix + "created_by"
	CookieGuestCreatedByAdmin = GuestCookiePrefix + "created_by_admin"
)

// sessionCookies are the cookies the organizer gets: the client's own,
// without any that look like guest cookies, plus the guest's.
func (id Identity) sessionCookies() map[string]string {
	out := maps.Clone(id.Cookies)
	if out == nil {
		out = map[string]string{}
	}
	maps.DeleteFunc(out, func(k, _ string) bool { return strings.HasPrefix(k, GuestCookiePrefix) })
	if g := id.Guest; g != nil {
		out[CookieGuestLink] = g.LinkID
		out[CookieGuestName] = g.Name
		out[CookieGuestPermission] = g.Perm.String()
		if g.MediaFileID != "" {
			out[CookieGuestMediaFile] = g.MediaFileID
		}
		if g.FolderID != "" {
			out[CookieGuestFolder] = g.FolderID
		}
		out[CookieGuestCreatedBy] = g.CreatedBy
		out[CookieGuestCreatedByAdmin] = strconv.FormatBool(g.CreatedByAdmin)
	}
	return out
}

// NotShared is why a guest may not touch a media file (or its comments)
// outside their link. It is also the answer for ids that do not exist, so
// that a guest cannot tell the two apart.
const NotShared = "This share link does not include that media file."

// guestScope is the link's ceiling for an action: whether its permission
// allows the operation at all, and the media file it is about ("" for
// operations on no file).
func guestScope(g *Guest, a Action) (mediaFileID string, allowed bool) {
	switch op := a.Req.GetOp().(type) {
	case *pb.AuthzUserActionRequest_OtherOp_:
		switch op.OtherOp.GetOp() {
		case pb.AuthzUserActionRequest_OtherOp_LOGIN, pb.AuthzUserActionRequest_OtherOp_VIEW_HOME:
			return "", true
		}
		return "", false // uploads, collab sessions
	case *pb.AuthzUserActionRequest_MediaFileOp_:
		id := op.MediaFileOp.GetMediaFile().GetId()
		switch op.MediaFileOp.GetOp() {
		case pb.AuthzUserActionRequest_MediaFileOp_VIEW:
			return id, g.Perm >= PermView
		case pb.AuthzUserActionRequest_MediaFileOp_COMMENT:
			return id, g.Perm >= PermComment
		}
		return id, false // rename, delete, edit (subtitles)
	case *pb.AuthzUserActionRequest_CommentOp_:
		return op.CommentOp.GetComment().GetMediaFileId(), g.Perm >= PermComment
	}
	return "", false
}

// checkGuest is Check for a guest. The link is a ceiling: what its
// permission does not allow, or what it does not point at, is denied
// without asking the organizer, and the organizer's "yes" never raises a
// guest above it. Within it, the action's default (for comments: being
// their author) must hold, and the organizer may deny. A folder link's
// media files are the organizer's to name, so there the organizer must
// say yes; one that has no opinion (knows nothing of guests) denies.
// Guests' denials are never stored (guests have no message list).
func (c *Checker) checkGuest(ctx context.Context, who Identity, a Action) *Denial {
	g := who.Guest
	deny := func(why string) *Denial {
		return &Denial{Message: "Permission denied: " + a.Desc, Details: new(why), Refs: a.Refs}
	}
	mediaID, allowed := guestScope(g, a)
	if !allowed {
		return deny(g.Perm.Describe() + ".")
	}
	if !a.Default {
		// Not a.Detail: it names users and ids.
		if _, ok := a.Req.GetOp().(*pb.AuthzUserActionRequest_CommentOp_); ok {
			return deny("Guests may edit and delete only the comments they wrote.")
		}
		return deny(g.Perm.Describe() + ".")
	}
	needOrganizer := g.FolderID != ""
	if mediaID != "" && g.MediaFileID != "" && mediaID != g.MediaFileID {
		return &Denial{Message: "Permission denied", Details: new(NotShared), Refs: a.Refs}
	}
	if mediaID == "" && g.MediaFileID != "" {
		needOrganizer = false
	}
	has, d := c.organizerVerdict(ctx, who, a)
	switch {
	case !has && needOrganizer:
		return deny("A folder link needs an organizer plugin that knows guests: it must say which media files are in the folder (see docs/organizer-plugins.md).")
	case d != nil:
		d.Persist = false
		return d
	}
	return nil
}
