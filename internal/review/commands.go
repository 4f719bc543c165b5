package review

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/subtitles"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// MaxSubtitleBytes is the largest subtitle file accepted (decoded).
const MaxSubtitleBytes = 8 << 20

// dispatch runs one command. Handler errors other than permission denials
// reach the user as Clapshot words them: "Cmd '<Command>' failed: <why>".
// A non-nil result ends the session.
func (s *session) dispatch(cmd *pb.ClientToServerCmd) error {
	var err error
	switch c := cmd.Cmd.(type) {
	case *pb.ClientToServerCmd_OpenNavigationPage_:
		err = s.openNavigationPage(c.OpenNavigationPage)
	case *pb.ClientToServerCmd_OpenMediaFile_:
		err = s.openMediaFile(c.OpenMediaFile)
	case *pb.ClientToServerCmd_DelMediaFile_:
		err = s.delMediaFile(c.DelMediaFile)
	case *pb.ClientToServerCmd_RenameMediaFile_:
		err = s.renameMediaFile(c.RenameMediaFile)
	case *pb.ClientToServerCmd_AddComment_:
		err = s.addComment(c.AddComment)
	case *pb.ClientToServerCmd_EditComment_:
		err = s.editComment(c.EditComment)
	case *pb.ClientToServerCmd_DelComment_:
		err = s.delComment(c.DelComment)
	case *pb.ClientToServerCmd_AddSubtitle_:
		err = s.addSubtitle(c.AddSubtitle)
	case *pb.ClientToServerCmd_EditSubtitleInfo_:
		err = s.editSubtitleInfo(c.EditSubtitleInfo)
	case *pb.ClientToServerCmd_DelSubtitle_:
		err = s.delSubtitle(c.DelSubtitle)
	case *pb.ClientToServerCmd_ListMyMessages_:
		err = s.listMyMessages()
	case *pb.ClientToServerCmd_JoinCollab_:
		err = s.joinCollab(c.JoinCollab)
	case *pb.ClientToServerCmd_LeaveCollab_:
		s.hub.leaveRoom(s, true)
	case *pb.ClientToServerCmd_CollabReport_:
		err = s.collabReport(c.CollabReport)
	case *pb.ClientToServerCmd_OrganizerCmd_:
		err = s.organizerCmd(c.OrganizerCmd)
	case *pb.ClientToServerCmd_MoveToFolder_:
		err = s.folderOp(s.hub.organizer().MoveToFolder(s.ctx, &pb.MoveToFolderRequest{
			Ses: s.data(), Ids: c.MoveToFolder.Ids, DstFolderId: c.MoveToFolder.DstFolderId, ListingData: c.MoveToFolder.ListingData}))
	case *pb.ClientToServerCmd_ReorderItems_:
		err = s.folderOp(s.hub.organizer().ReorderItems(s.ctx, &pb.ReorderItemsRequest{
			Ses: s.data(), Ids: c.ReorderItems.Ids, ListingData: c.ReorderItems.ListingData}))
	case *pb.ClientToServerCmd_Logout_:
		s.hub.log.Info("Logout", "sid", s.sid, "user", s.user.UserID)
		return errLogout
	default:
		s.sendError("Missing command from client")
		return nil
	}
	if err == nil || errors.Is(err, errDenied) {
		return nil
	}
	if cause := context.Cause(s.ctx); cause != nil {
		return cause // the session is ending; nobody to tell
	}
	name := commandName(cmd)
	s.hub.log.Warn("Command failed", "sid", s.sid, "user", s.user.UserID, "cmd", name, "err", err)
	s.userError(&pb.UserMessage{Message: fmt.Sprintf("Cmd '%s' failed: %v", name, err)}, false)
	return nil
}

// userError and userOK send a message to all of the user's sessions,
// stored when persist is set.
func (s *session) userError(m *pb.UserMessage, persist bool) {
	m.Type = pb.UserMessage_ERROR
	s.hub.notifyUser(s.ctx, s.user.UserID, m, persist)
}

func (s *session) userOK(m *pb.UserMessage, persist bool) {
	m.Type = pb.UserMessage_OK
	s.hub.notifyUser(s.ctx, s.user.UserID, m, persist)
}

func mediaRefs(id string) *pb.UserMessage_Refs { return &pb.UserMessage_Refs{MediaFileId: new(id)} }

// getMedia loads a media file; a missing one is reported to the user as
// Clapshot does ("No such media file.") and gives ok false.
func (s *session) getMedia(id string) (m store.MediaFile, ok bool, err error) {
	m, err = s.hub.opt.DB.GetMediaFile(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.userError(&pb.UserMessage{Message: "No such media file.", Refs: mediaRefs(id)}, false)
		return m, false, nil
	}
	return m, err == nil, err
}

func (s *session) openNavigationPage(c *pb.ClientToServerCmd_OpenNavigationPage) error {
	if err := s.authorize(otherOp("list media files", pb.AuthzUserActionRequest_OtherOp_VIEW_HOME, nil)); err != nil {
		return err
	}
	res, err := s.hub.organizer().NavigatePage(s.ctx, &pb.NavigatePageRequest{Ses: s.data(), PageId: c.PageId})
	switch status.Code(err) {
	case codes.OK:
		// Clapshot answers with the requested page id, not the organizer's.
		s.send(s.hub.encodeShowPage(res.GetPageItems(), c.PageId, res.PageTitle))
		return nil
	case codes.Unimplemented, codes.Aborted:
	default:
		st := status.Convert(err)
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	page, err := s.hub.defaultPageJSON(s.ctx, s.user.UserID, c.PageId)
	if err != nil {
		return err
	}
	s.send(page)
	return nil
}

func showPage(items []*pb.PageItem, pageID, title *string) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowPage_{ShowPage: &pb.ServerToClientCmd_ShowPage{
		PageItems: items, PageId: pageID, PageTitle: title}}}
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
	mf := pbconv.MediaFile(m, subs, h.opt.URLs, pbconv.MediaFileOptions{})
	if mf.PlaybackUrl == nil {
		return errors.New("No playback file")
	}
	comments, err := h.commentsJSON(ctx, m.ID)
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

func addComments(cs ...*pb.Comment) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_AddComments_{AddComments: &pb.ServerToClientCmd_AddComments{Comments: cs}}}
}

func delCommentCmd(id int64) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_DelComment_{DelComment: &pb.ServerToClientCmd_DelComment{CommentId: rowid.Format(id)}}}
}

func collabEventCmd(ev *pb.ServerToClientCmd_CollabEvent) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_CollabEvent_{CollabEvent: ev}}
}

func (h *Hub) commentWithDrawing(ctx context.Context, c store.Comment) *pb.Comment {
	pc := pbconv.Comment(c)
	h.inlineDrawings(ctx, []*pb.Comment{pc})
	return pc
}

func (h *Hub) commentsWithDrawings(ctx context.Context, mediaFileID string) ([]*pb.Comment, error) {
	rows, err := h.opt.DB.ListCommentsByMediaFile(ctx, mediaFileID, store.All)
	if err != nil {
		return nil, err
	}
	out := make([]*pb.Comment, len(rows))
	for i, c := range rows {
		out[i] = pbconv.Comment(c)
	}
	h.inlineDrawings(ctx, out)
	return out, nil
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

func (s *session) addComment(c *pb.ClientToServerCmd_AddComment) error {
	h := s.hub
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("comment media file", pb.AuthzUserActionRequest_MediaFileOp_COMMENT, m, true)); err != nil {
		return err
	}
	row := store.Comment{
		MediaFileID:    m.ID,
		UserID:         new(s.user.UserID),
		UsernameIfNull: s.user.UserName,
		Comment:        c.Comment,
		Timecode:       c.Timecode,
		TimecodeEnd:    c.TimecodeEnd,
	}
	if c.TimecodeEnd != nil && deref(c.Timecode) == "" {
		return errors.New("a range comment (timecodeEnd) needs a start timecode")
	}
	if row.ParentID, err = rowid.ParsePtr("parent id", c.ParentId); err != nil {
		return err
	}
	if row.ParentID != nil {
		parent, err := h.opt.DB.GetComment(s.ctx, *row.ParentID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("cannot reply: comment %d does not exist", *row.ParentID)
		} else if err != nil {
			return err
		}
		if parent.MediaFileID != m.ID {
			return fmt.Errorf("cannot reply: comment %d is on another media file", *row.ParentID)
		}
	}
	if row.SubtitleID, err = rowid.ParsePtr("subtitle id", c.SubtitleId); err != nil {
		return err
	}
	if row.SubtitleID != nil {
		sub, err := h.opt.DB.GetSubtitle(s.ctx, *row.SubtitleID)
		if errors.Is(err, store.ErrNotFound) || err == nil && sub.MediaFileID != m.ID {
			return fmt.Errorf("subtitle %d does not belong to media file %s", *row.SubtitleID, m.ID)
		} else if err != nil {
			return err
		}
	}
	if d := c.Drawing; d != nil {
		switch {
		case strings.HasPrefix(*d, "data:"):
			img, err := parseDrawing(*d)
			if err != nil {
				return err
			}
			name, err := h.media.SaveDrawing(s.ctx, m.ID, img)
			if err != nil {
				return err
			}
			row.Drawing = &name
		case *d == "" || mediadir.IsDrawingName(*d):
			row.Drawing = d // empty, or an already stored drawing of this file
		default:
			return errors.New("drawing must be a data:image/webp;base64 URL")
		}
	}
	stored, err := h.opt.DB.InsertComment(s.ctx, row)
	if err != nil {
		return fmt.Errorf("Failed to add comment: %w", err)
	}
	sendAll(h.sessionsOf(h.watchers, m.ID), h.encodeAddComments([]*pb.Comment{h.commentWithDrawing(s.ctx, stored)}))
	return nil
}

// loadComment finds a comment for editComment / delComment. A missing one
// is reported as Clapshot does ("Failed to <verb> comment." / "No such
// comment. Cannot <verb>.", stored) and gives ok false.
func (s *session) loadComment(idStr, verb string) (c store.Comment, ok bool, err error) {
	id, err := rowid.Parse("comment id", idStr)
	if err != nil {
		return c, false, err
	}
	c, err = s.hub.opt.DB.GetComment(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.userError(&pb.UserMessage{Message: "Failed to " + verb + " comment.", Details: new("No such comment. Cannot " + verb + ".")}, true)
		return c, false, nil
	}
	return c, err == nil, err
}

func (s *session) editComment(c *pb.ClientToServerCmd_EditComment) error {
	h := s.hub
	old, ok, err := s.loadComment(c.CommentId, "edit")
	if !ok {
		return err
	}
	if err := s.authorize(s.commentOp("edit comment", pb.AuthzUserActionRequest_CommentOp_EDIT, old, s.isAuthor(old))); err != nil {
		return err
	}
	if err := h.opt.DB.EditComment(s.ctx, old.ID, c.NewComment); err != nil {
		return err
	}
	updated, err := h.opt.DB.GetComment(s.ctx, old.ID)
	if err != nil {
		return err
	}
	h.SendToMediaFile(old.MediaFileID, delCommentCmd(old.ID))
	sendAll(h.sessionsOf(h.watchers, old.MediaFileID), h.encodeAddComments([]*pb.Comment{h.commentWithDrawing(s.ctx, updated)}))
	return nil
}

func (s *session) delComment(c *pb.ClientToServerCmd_DelComment) error {
	h := s.hub
	cm, ok, err := s.loadComment(c.CommentId, "delete")
	if !ok {
		return err
	}
	id := cm.ID
	if err := s.authorize(s.commentOp("delete comment", pb.AuthzUserActionRequest_CommentOp_DELETE, cm, s.isAuthor(cm))); err != nil {
		return err
	}
	// Clapshot checks authorship again, even when an organizer allowed it.
	if !s.isAuthor(cm) {
		s.userError(&pb.UserMessage{Message: "Failed to delete comment.", Details: new("You can only delete your own comments"), Refs: mediaRefs(cm.MediaFileID)}, true)
		return nil
	}
	hasReplies := false
	err = h.opt.DB.InTx(s.ctx, func(q Queries) error {
		n, err := q.CountReplies(s.ctx, id)
		if err != nil || n > 0 {
			hasReplies = n > 0
			return err
		}
		return q.DeleteComment(s.ctx, id)
	})
	if err != nil {
		return err
	}
	if hasReplies {
		s.userError(&pb.UserMessage{Message: "Failed to delete comment.", Details: new("Comment has replies. Cannot delete."), Refs: mediaRefs(cm.MediaFileID)}, true)
		return nil
	}
	h.SendToMediaFile(cm.MediaFileID, delCommentCmd(id))
	return nil
}

// subtitleFileName is the file name part of what the client sent ("Bad
// filename" as in Clapshot when there is none).
func subtitleFileName(name string) (string, error) {
	base := filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	if base == "." || base == "/" || base == ".." || strings.TrimSpace(base) == "" {
		return "", errors.New("Bad filename")
	}
	return base, nil
}

func (s *session) addSubtitle(c *pb.ClientToServerCmd_AddSubtitle) error {
	h := s.hub
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("add subtitle", pb.AuthzUserActionRequest_MediaFileOp_EDIT, m, s.owns(m))); err != nil {
		return err
	}
	name, err := subtitleFileName(c.FileName)
	if err != nil {
		return err
	}
	if n := base64.StdEncoding.DecodedLen(len(c.ContentsBase64)); n > MaxSubtitleBytes {
		return fmt.Errorf("subtitle file is too large (%d MiB; the limit is %d MiB)", n>>20, MaxSubtitleBytes>>20)
	}
	data, err := base64.StdEncoding.DecodeString(c.ContentsBase64)
	if err != nil {
		return fmt.Errorf("Failed to base64 decode subtitle file: %v", err)
	}
	err = h.media.CheckNewSubtitle(s.ctx, m.ID, name)
	var exists *mediadir.SubtitleExistsError
	switch {
	case errors.Is(err, mediadir.ErrNoMedia):
		return fmt.Errorf("Media file dir not found: %s", m.ID)
	case errors.As(err, &exists):
		s.userError(&pb.UserMessage{Message: "Failed to add subtitle.", Details: new(exists.Error()), Refs: mediaRefs(m.ID)}, true)
		return nil
	case err != nil:
		return err
	}
	// Convert first: a file that does not parse leaves nothing behind
	// (Clapshot kept the original, which then blocked a retry).
	vtt, isVTT, err := subtitles.ToWebVTT(name, data)
	if err != nil {
		return fmt.Errorf("Failed to parse subtitle file: %v", err)
	}
	if isVTT {
		vtt = nil // the original plays as it is
	}
	playback, err := h.media.SaveSubtitle(s.ctx, m.ID, name, data, vtt)
	if err == nil {
		err = h.opt.DB.InTx(s.ctx, func(q Queries) error {
			sub, err := q.InsertSubtitle(s.ctx, store.Subtitle{MediaFileID: m.ID, Title: name, OrigFilename: name,
				LanguageCode: subtitles.Language(name), Filename: playback})
			if err != nil {
				return err
			}
			all, err := q.ListSubtitlesByMediaFile(s.ctx, m.ID)
			if err == nil && len(all) == 1 {
				err = q.SetDefaultSubtitle(s.ctx, m.ID, &sub.ID)
			}
			return err
		})
		if err != nil {
			_, _ = h.media.RemoveSubtitle(context.WithoutCancel(s.ctx), m.ID, name, playback)
		}
	}
	if err != nil {
		return fmt.Errorf("Failed to add subtitle: %w", err)
	}
	return s.reopen(m.ID)
}

// reopen re-sends the media file (and comments) to this session after a
// subtitle change, as Clapshot does.
func (s *session) reopen(mediaFileID string) error {
	m, err := s.hub.opt.DB.GetMediaFile(s.ctx, mediaFileID)
	if err != nil {
		return err
	}
	return s.sendOpenMediaFile(s.ctx, m, false)
}

// subtitleAndMedia loads a subtitle and its media file and checks the
// EDIT permission on it.
func (s *session) subtitleAndMedia(idStr, desc string) (store.Subtitle, store.MediaFile, error) {
	id, err := rowid.Parse("subtitle id", idStr)
	if err != nil {
		return store.Subtitle{}, store.MediaFile{}, err
	}
	sub, err := s.hub.opt.DB.GetSubtitle(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sub, store.MediaFile{}, fmt.Errorf("no such subtitle: %d", id)
	} else if err != nil {
		return sub, store.MediaFile{}, err
	}
	m, err := s.hub.opt.DB.GetMediaFile(s.ctx, sub.MediaFileID)
	if err != nil {
		return sub, m, err
	}
	return sub, m, s.authorize(s.mediaOp(desc, pb.AuthzUserActionRequest_MediaFileOp_EDIT, m, s.owns(m)))
}

func (s *session) editSubtitleInfo(c *pb.ClientToServerCmd_EditSubtitleInfo) error {
	sub, m, err := s.subtitleAndMedia(c.Id, "edit subtitle")
	if err != nil {
		return err
	}
	if c.Title != nil {
		if sub.Title = strings.TrimSpace(*c.Title); sub.Title == "" {
			return errors.New("subtitle title must not be empty")
		}
	}
	if c.LanguageCode != nil {
		if sub.LanguageCode = strings.TrimSpace(*c.LanguageCode); sub.LanguageCode == "" || len(sub.LanguageCode) > 10 {
			return fmt.Errorf("language code %q must be 1 to 10 characters, e.g. \"en\"", *c.LanguageCode)
		}
	}
	if c.TimeOffset != nil {
		off := float64(*c.TimeOffset)
		if math.IsNaN(off) || math.IsInf(off, 0) || math.Abs(off) > 86400 {
			return fmt.Errorf("time offset %v must be a number of seconds within a day", *c.TimeOffset)
		}
		sub.TimeOffset = off
	}
	err = s.hub.opt.DB.InTx(s.ctx, func(q Queries) error {
		if err := q.UpdateSubtitle(s.ctx, sub); err != nil {
			return err
		}
		switch {
		case c.IsDefault == nil:
		case *c.IsDefault:
			return q.SetDefaultSubtitle(s.ctx, m.ID, &sub.ID)
		case m.DefaultSubtitleID != nil && *m.DefaultSubtitleID == sub.ID:
			// Unset only if this one was the default.
			return q.SetDefaultSubtitle(s.ctx, m.ID, nil)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("Failed to update subtitle: %w", err)
	}
	return s.reopen(m.ID)
}

func (s *session) delSubtitle(c *pb.ClientToServerCmd_DelSubtitle) error {
	sub, m, err := s.subtitleAndMedia(c.Id, "delete subtitle")
	if err != nil {
		return err
	}
	skipped, err := s.hub.media.RemoveSubtitle(s.ctx, m.ID, sub.OrigFilename, sub.Filename)
	for _, k := range skipped {
		s.hub.log.Warn("Not deleting a subtitle file outside the subtitle directory", "key", k)
	}
	if err != nil {
		return fmt.Errorf("Failed to delete subtitle file: %w", err)
	}
	if err := s.hub.opt.DB.DeleteSubtitle(s.ctx, sub.ID); err != nil {
		return fmt.Errorf("Failed to delete subtitle: %w", err)
	}
	return s.reopen(m.ID)
}

func (s *session) listMyMessages() error {
	db := s.hub.opt.DB
	msgs, err := db.ListMessagesByUser(s.ctx, s.user.UserID, store.All)
	if err != nil {
		return err
	}
	out := make([]*pb.UserMessage, len(msgs))
	for i, m := range msgs {
		out[i] = pbconv.Message(m)
	}
	s.send(encode(messagesCmd(out...)))
	// Mark exactly what was listed: a message arriving meanwhile stays new.
	return db.InTx(s.ctx, func(q Queries) error {
		for _, m := range msgs {
			if !m.Seen {
				if err := q.SetMessageSeen(s.ctx, m.ID, true); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		return nil
	})
}

// MaxCollabIDLength bounds collab ids (made up by clients, kept in memory).
const MaxCollabIDLength = 256

func (s *session) joinCollab(c *pb.ClientToServerCmd_JoinCollab) error {
	h := s.hub
	if r := h.roomOf(s); r != nil && r.id == c.CollabId {
		return nil // the client joins twice on load; the second is a no-op
	}
	if c.CollabId == "" || len(c.CollabId) > MaxCollabIDLength {
		return fmt.Errorf("collab id must be 1 to %d characters", MaxCollabIDLength)
	}
	h.leaveRoom(s, false)
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(otherOp("join collab", pb.AuthzUserActionRequest_OtherOp_JOIN_COLLAB_SESSION, new(c.CollabId))); err != nil {
		return err
	}
	r, err := h.joinRoom(s, c.CollabId, m.ID)
	if err != nil {
		s.userError(&pb.UserMessage{Message: "Failed to join collab session: " + err.Error(), Refs: mediaRefs(m.ID)}, false)
		return nil
	}
	sendAll(r.memberList(), encode(messagesCmd(&pb.UserMessage{Type: pb.UserMessage_OK, Message: "'" + s.user.UserName + "' joined collab"})))
	// A late joiner starts where the room is, if its player is open on the
	// room's file (otherwise when it opens it: see sendOpenMediaFile).
	if h.watchingOf(s) == m.ID {
		if st := r.state(); st != nil {
			s.send(encode(collabEventCmd(st)))
		}
	}
	return nil
}

func (s *session) collabReport(c *pb.ClientToServerCmd_CollabReport) error {
	r := s.hub.roomOf(s)
	if r == nil {
		s.userError(&pb.UserMessage{Message: "Report rejected: no active collab session."}, false)
		return nil
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(c.SeekTimeSec) || c.SeekTimeSec < 0 {
		return fmt.Errorf("seekTimeSec %v must be a position in seconds", c.SeekTimeSec)
	}
	if (c.LoopStartSec == nil) != (c.LoopEndSec == nil) {
		return errors.New("loopStartSec and loopEndSec go together")
	}
	if c.LoopStartSec != nil && !(finite(*c.LoopStartSec) && finite(*c.LoopEndSec) && *c.LoopStartSec >= 0 && *c.LoopStartSec < *c.LoopEndSec) {
		return fmt.Errorf("loop range %v..%v must be positions in seconds, start before end", *c.LoopStartSec, *c.LoopEndSec)
	}
	r.report(s.user.UserName, c)
	return nil
}

func (s *session) organizerCmd(c *pb.ClientToServerCmd_OrganizerCmd) error {
	err := s.hub.organizer().CmdFromClient(s.ctx, &pb.CmdFromClientRequest{Ses: s.data(), Cmd: c.Cmd, Args: c.Args})
	if err == nil || status.Code(err) == codes.Aborted {
		return nil
	}
	return fmt.Errorf("Organizer error: %v", err)
}

// folderOp reports the result of moveToFolder / reorderItems.
func (s *session) folderOp(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoOrganizer):
		s.userError(&pb.UserMessage{Message: ErrNoOrganizer.Error()}, false)
		return nil
	case status.Code(err) == codes.Unimplemented, status.Code(err) == codes.Aborted:
		return nil
	}
	return fmt.Errorf("Organizer error: %v", err)
}
