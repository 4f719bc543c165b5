package review

// The media file commands: the home page, opening, deleting and renaming.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func (s *session) openNavigationPage(c *pb.ClientToServerCmd_OpenNavigationPage) error {
	if err := s.authorize(otherOp("list media files", pb.AuthzUserActionRequest_OtherOp_VIEW_HOME, nil)); err != nil {
		return err
	}
	if s.guest != nil && s.guest.MediaFileID != "" {
		return s.sharedMediaPage(c.PageId)
	}
	res, err := s.hub.organizer().NavigatePage(s.ctx, &pb.NavigatePageRequest{Ses: s.data(), PageId: c.PageId})
	switch status.Code(err) {
	case codes.OK:
		// Clapshot answers with the requested page id, not the organizer's.
		s.send(s.hub.render.ShowPage(s.guestItems(res.GetPageItems()), c.PageId, res.PageTitle))
		return nil
	case codes.Unimplemented, codes.Aborted:
		if s.guest != nil {
			// Never the built-in page: it lists the user's own files.
			return errors.New("this folder link needs an organizer plugin that shows folders to guests")
		}
	default:
		st := status.Convert(err)
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	page, err := s.hub.render.HomePage(s.ctx, s.user.UserID, c.PageId)
	if err != nil {
		return err
	}
	s.send(page)
	return nil
}

func (s *session) openMediaFile(c *pb.ClientToServerCmd_OpenMediaFile) error {
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("open media file", pb.AuthzUserActionRequest_MediaFileOp_VIEW, m, true)); err != nil {
		return err
	}
	return s.sendOpenMediaFile(s.ctx, m, true)
}

// sendOpenMediaFile makes the session a watcher of m and sends it the
// media file and all its comments (drawings inlined). When the player
// opens the file (roomState), a session in a collab room on this file also
// gets the room's current state; re-sends after subtitle changes do not.
func (s *session) sendOpenMediaFile(ctx context.Context, m store.MediaFile, roomState bool) error {
	h := s.hub
	h.watch(s, m.ID)
	subs, err := h.opt.DB.ListSubtitlesByMediaFile(ctx, m.ID)
	if err != nil {
		return err
	}
	_, lerr := h.opt.DB.GetHLSLadder(ctx, m.ID)
	if lerr != nil && !errors.Is(lerr, store.ErrNotFound) {
		return lerr
	}
	stack, versions, err := h.stackOptions(ctx, m)
	if err != nil {
		return err
	}
	mf := s.mediaFile(m, subs, pbconv.MediaFileOptions{HLS: lerr == nil, Stack: stack, Versions: versions})
	if mf.PlaybackUrl == nil {
		return errors.New("No playback file")
	}
	comments, err := h.render.MediaComments(ctx, m.ID)
	if err != nil {
		return err
	}
	s.send(encode(&pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_OpenMediaFile_{OpenMediaFile: &pb.ServerToClientCmd_OpenMediaFile{MediaFile: mf}}}))
	s.send(comments)
	if r := h.roomOf(s); roomState && r != nil && r.mediaFileID == m.ID {
		if st := r.state(); st != nil {
			s.send(encode(collabEventCmd(st)))
		}
	}
	return nil
}

// kindTitle is the media type for messages: "video" -> "Video"; a missing
// type is "File".
func kindTitle(mediaType *string) string {
	t := "file"
	if mediaType != nil && *mediaType != "" {
		t = *mediaType
	}
	words := strings.FieldsFunc(t, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	for i, w := range words {
		r := []rune(strings.ToLower(w))
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

func (s *session) delMediaFile(c *pb.ClientToServerCmd_DelMediaFile) error {
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("delete media file", pb.AuthzUserActionRequest_MediaFileOp_DELETE, m, s.owns(m))); err != nil {
		return err
	}
	if s.hub.opt.Trash == nil {
		return errors.New("deleting media files is not available in this server")
	}
	s.hub.log.Info("Trashing media file", "media_file", m.ID, "user", s.user.UserID)
	warnings, err := s.hub.opt.Trash.TrashMediaFile(s.ctx, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		s.userError(&pb.UserMessage{Message: "No such media file.", Refs: mediaRefs(m.ID)}, false)
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	msg := kindTitle(m.MediaType) + " deleted."
	if len(warnings) > 0 {
		msg = kindTitle(m.MediaType) + " deleted, but cleanup had errors."
	}
	details := mediadir.TrashResult{Media: m, Warnings: warnings}.Details()
	s.userOK(&pb.UserMessage{Message: msg, Details: new(details), Refs: mediaRefs(m.ID)}, true)
	return nil
}

// MaxTitleBytes is Clapshot's limit on media titles (in bytes).
const MaxTitleBytes = 160

func (s *session) renameMediaFile(c *pb.ClientToServerCmd_RenameMediaFile) error {
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("rename media file", pb.AuthzUserActionRequest_MediaFileOp_RENAME, m, s.owns(m))); err != nil {
		return err
	}
	name := strings.TrimSpace(c.NewName)
	if !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
		s.userError(&pb.UserMessage{Message: "Invalid file name (must have letters/numbers)", Refs: mediaRefs(m.ID)}, false)
		return nil
	}
	if len(name) > MaxTitleBytes {
		s.userError(&pb.UserMessage{Message: fmt.Sprintf("Name too long (max %d)", MaxTitleBytes), Refs: mediaRefs(m.ID)}, false)
		return nil
	}
	if err := s.hub.opt.DB.RenameMediaFile(s.ctx, m.ID, name); err != nil {
		return err
	}
	s.userOK(&pb.UserMessage{Message: kindTitle(m.MediaType) + " renamed.", Details: new("New name: '" + name + "'"), Refs: mediaRefs(m.ID)}, true)
	return nil
}
