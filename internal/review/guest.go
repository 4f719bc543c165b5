package review

// Guests of share links: their websocket sessions, what they may send,
// and their end when the link is revoked or expires. The link itself
// (tokens, passphrases, its HTTP routes) is internal/share's; permissions
// are access's (access.Guest).

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/review/render"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// GuestOptions are what a guest session needs besides the guest.
type GuestOptions struct {
	// URLs are the guest's media URLs: below the link's own path
	// (/s/<token>/videos/...), which is the only media path a guest can
	// reach.
	URLs mediadir.URLs
	// Live reports whether the link still admits the guest (not revoked,
	// not expired, the guest still known). It is asked when the session
	// starts and before each command; an error ends the session, with its
	// text as the close reason.
	Live func(ctx context.Context) error
}

// guestSession is a guest session's guest and options.
type guestSession struct {
	*access.Guest
	GuestOptions
}

// ErrLinkExpired and ErrLinkRevoked are the reasons a guest session ends
// with (websocket close code 1008, policy violation).
var (
	ErrLinkExpired = errors.New("This share link has expired.")
	ErrLinkRevoked = errors.New("This share link has been revoked.")
)

// guestEnded ends a guest's session: its link no longer admits them.
type guestEnded struct{ reason string }

func (e *guestEnded) Error() string { return e.reason }

// closeReason fits a close reason into the 123 bytes a close frame has.
func closeReason(s string) string {
	if len(s) <= 123 {
		return s
	}
	s = s[:120]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// ServeGuest runs the websocket session of a guest of a share link, whom
// the caller (internal/share) has checked: the proxy's identity headers
// are never read here, so a guest is never a user, whatever the request
// carries.
func (h *Hub) ServeGuest(w http.ResponseWriter, r *http.Request, g *access.Guest, opt GuestOptions) {
	if !h.enter() {
		http.Error(w, "Service Unavailable: the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.handlers.Done()
	if opt.Live == nil {
		opt.Live = func(context.Context) error { return nil }
	}
	gs := &guestSession{Guest: g, GuestOptions: opt}
	h.serve(w, r, access.GuestIdentity(g, "", nil).User, gs)
}

// CloseLink ends the sessions of a link's guests at once, with reason as
// the close reason, and reports how many there were.
func (h *Hub) CloseLink(linkID, reason string) int {
	h.mu.RLock()
	var list []*session
	for _, s := range h.sessions {
		if s.guest != nil && s.guest.LinkID == linkID {
			list = append(list, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range list {
		s.stop(&guestEnded{reason: reason})
	}
	return len(list)
}

// guestLive checks, for a guest, that the link still admits them.
func (s *session) guestLive() error {
	if s.guest == nil {
		return nil
	}
	if err := s.guest.Live(s.ctx); err != nil {
		if c := context.Cause(s.ctx); c != nil {
			return c
		}
		s.hub.log.Info("Ending a guest's session", "sid", s.sid, "link", s.guest.LinkID, "reason", err)
		return &guestEnded{reason: err.Error()}
	}
	return nil
}

// urls are the session's media URLs.
func (s *session) urls() mediadir.URLs {
	if s.guest != nil {
		return s.guest.URLs
	}
	return s.hub.opt.URLs
}

// guestNeeds is what a guest needs of their link to send a command:
// the permission (0: guests may never send it) and Clapshot's words for
// it. Checked before the command looks anything up, so that a guest
// learns nothing from it (not even whether an id exists) beyond the
// refusal. The permission checks of the commands themselves apply as
// well (access.Guest).
func (s *session) guestNeeds(cmd *pb.ClientToServerCmd) (need access.Permission, desc string) {
	switch cmd.Cmd.(type) {
	case *pb.ClientToServerCmd_OpenNavigationPage_:
		return access.PermView, "list media files"
	case *pb.ClientToServerCmd_OpenMediaFile_:
		return access.PermView, "open media file"
	case *pb.ClientToServerCmd_ListMyMessages_:
		return access.PermView, "list messages"
	case *pb.ClientToServerCmd_LeaveCollab_, *pb.ClientToServerCmd_CollabReport_:
		return access.PermView, "collab report" // a guest is never in a room: no effect
	case *pb.ClientToServerCmd_Logout_:
		return access.PermView, "logout"
	case *pb.ClientToServerCmd_AddComment_:
		return access.PermComment, "comment media file"
	case *pb.ClientToServerCmd_EditComment_:
		return access.PermComment, "edit comment"
	case *pb.ClientToServerCmd_DelComment_:
		return access.PermComment, "delete comment"
	case *pb.ClientToServerCmd_OrganizerCmd_:
		// A folder link's organizer knows guests (it says which media
		// files are in the folder) and gets their commands, e.g. to open
		// a subfolder; a media link has no organizer page.
		if s.guest.FolderID != "" {
			return access.PermView, "organizer command"
		}
		return 0, "organizer command"
	case *pb.ClientToServerCmd_DelMediaFile_:
		return 0, "delete media file"
	case *pb.ClientToServerCmd_RenameMediaFile_:
		return 0, "rename media file"
	case *pb.ClientToServerCmd_AddSubtitle_:
		return 0, "add subtitle"
	case *pb.ClientToServerCmd_EditSubtitleInfo_:
		return 0, "edit subtitle"
	case *pb.ClientToServerCmd_DelSubtitle_:
		return 0, "delete subtitle"
	case *pb.ClientToServerCmd_JoinCollab_:
		return 0, "join collab"
	case *pb.ClientToServerCmd_MoveToFolder_:
		return 0, "move items"
	case *pb.ClientToServerCmd_ReorderItems_:
		return 0, "reorder items"
	case *pb.ClientToServerCmd_AddVersion_:
		return 0, "add a version"
	case *pb.ClientToServerCmd_ListVersionComments_:
		// A link grants one file, not the versions stacked with it.
		return 0, "list version comments"
	}
	return 0, commandName(cmd) // a command added later: refused until decided
}

// guestRefuses refuses, for a guest, a command their link does not allow
// (guestNeeds), telling them so; it reports whether it refused.
func (s *session) guestRefuses(cmd *pb.ClientToServerCmd) bool {
	if s.guest == nil {
		return false
	}
	need, desc := s.guestNeeds(cmd)
	if need != 0 && s.guest.Perm >= need {
		return false
	}
	s.userError(&pb.UserMessage{Message: "Permission denied: " + desc, Details: new(s.guest.Perm.Describe() + ".")}, false)
	return true
}

// notShared answers a guest who names a media file or comment outside
// their link, whether it exists or not.
func (s *session) notShared() {
	s.userError(&pb.UserMessage{Message: "Permission denied", Details: new(access.NotShared)}, false)
}

// commentAuthor fills in a new comment's author: for a guest: no user id (guests are
// not users), and "<name> (guest)" where Clapshot shows names of users
// who are gone.
func (s *session) commentAuthor(row *store.Comment) {
	if s.guest != nil {
		row.UserID = nil
		row.UsernameIfNull = s.guest.DisplayName()
		return
	}
	row.UserID = new(s.user.UserID)
	row.UsernameIfNull = s.user.UserName
}

// insertComment stores a new comment, and for a guest which guest wrote
// it, in one transaction.
func (s *session) insertComment(row store.Comment) (store.Comment, error) {
	if s.guest == nil {
		return s.hub.opt.DB.InsertComment(s.ctx, row)
	}
	var stored store.Comment
	err := s.hub.opt.DB.InTx(s.ctx, func(q Queries) error {
		var err error
		if stored, err = q.InsertComment(s.ctx, row); err != nil {
			return err
		}
		return q.InsertShareComment(s.ctx, store.ShareComment{CommentID: stored.ID, LinkID: s.guest.LinkID, GuestID: s.guest.GuestID})
	})
	return stored, err
}

// guestWrote reports whether this session's guest wrote the comment.
func (s *session) guestWrote(c store.Comment) bool {
	if c.UserID != nil {
		return false
	}
	sc, err := s.hub.opt.DB.GetShareComment(s.ctx, c.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.hub.log.Error("Cannot read who wrote a comment", "comment", c.ID, "err", err)
		}
		return false
	}
	return sc.LinkID == s.guest.LinkID && sc.GuestID == s.guest.GuestID
}

// mediaFile converts a media file for this session. A guest gets their
// link's URLs, no raw metadata (it can hold where and on what a clip was
// shot), and the original's URL only with the download permission.
func (s *session) mediaFile(m store.MediaFile, subs []store.Subtitle, opts pbconv.MediaFileOptions) *pb.MediaFile {
	if s.guest == nil {
		return pbconv.MediaFile(m, subs, s.hub.opt.URLs, opts)
	}
	// A guest's link grants one file (or a folder's files) by its own URLs:
	// no ladder or other versions behind them, so the progressive MP4 only.
	mf := pbconv.MediaFile(m, subs, s.guest.URLs, pbconv.MediaFileOptions{NoRawMetadata: true})
	if s.guest.Perm < access.PermDownload {
		mf.OrigUrl = nil
	}
	return mf
}

// sharedMediaPage is a media link's page: its one media file.
func (s *session) sharedMediaPage(pageID *string) error {
	m, ok, err := s.getMedia(s.guest.MediaFileID)
	if !ok {
		return err
	}
	subs, err := s.hub.opt.DB.ListSubtitlesByMediaFile(s.ctx, m.ID)
	if err != nil {
		return err
	}
	title := "Shared with you"
	if m.Title != nil && *m.Title != "" {
		title += ": " + *m.Title
	}
	s.send(s.hub.render.ShowPage([]*pb.PageItem{render.SharedListing([]*pb.MediaFile{s.mediaFile(m, subs, pbconv.MediaFileOptions{})})}, pageID, &title))
	return nil
}

// guestItems makes an organizer's page items fit for a guest, as
// mediaFile does for one file: media URLs below the link (with --url-base
// they would name /videos/, which a guest cannot reach), no raw metadata,
// no original without the download permission. Users' items pass as they
// are; the items are changed in place.
func (s *session) guestItems(items []*pb.PageItem) []*pb.PageItem {
	if s.guest == nil {
		return items
	}
	from, to := s.hub.opt.URLs.Base, s.guest.URLs.Base
	rebase := func(u *string) {
		if u != nil && from != to && strings.HasPrefix(*u, from+"/") {
			*u = to + strings.TrimPrefix(*u, from)
		}
	}
	var fix func(its []*pb.PageItem_FolderListing_Item)
	fix = func(its []*pb.PageItem_FolderListing_Item) {
		for _, it := range its {
			if m := it.GetMediaFile(); m != nil {
				rebase(m.PlaybackUrl)
				rebase(m.OrigUrl)
				if s.guest.Perm < access.PermDownload {
					m.OrigUrl = nil
				}
				if p := m.PreviewData; p != nil {
					rebase(p.ThumbUrl)
					if p.ThumbSheet != nil {
						rebase(&p.ThumbSheet.Url)
					}
				}
				for _, sub := range m.Subtitles {
					rebase(&sub.PlaybackUrl)
					rebase(&sub.OrigUrl)
				}
				if m.ProcessingMetadata != nil {
					m.ProcessingMetadata.FfprobeMetadataAll = nil
				}
			}
			if f := it.GetFolder(); f != nil {
				fix(f.PreviewItems)
			}
		}
	}
	for _, p := range items {
		if l := p.GetFolderListing(); l != nil {
			fix(l.Items)
		}
	}
	return items
}
