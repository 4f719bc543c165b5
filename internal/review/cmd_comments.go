package review

// The comment commands: add (with a drawing), edit, delete.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

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
		MediaFileID: m.ID,
		Comment:     c.Comment,
		Timecode:    c.Timecode,
		TimecodeEnd: c.TimecodeEnd,
	}
	s.commentAuthor(&row)
	if c.TimecodeEnd != nil && deref(c.Timecode) == "" {
		return errors.New("a range comment (timecodeEnd) needs a start timecode")
	}
	if row.ParentID, err = rowid.ParsePtr("parent id", c.ParentId); err != nil {
		return err
	}
	var parent *store.Comment
	if row.ParentID != nil {
		p, err := h.opt.DB.GetComment(s.ctx, *row.ParentID)
		parent = &p
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
	stored, err := s.insertComment(row)
	if err != nil {
		return fmt.Errorf("Failed to add comment: %w", err)
	}
	h.commentChanged(s.ctx, opAdd, stored)
	if h.opt.CommentAdded != nil {
		h.opt.CommentAdded(s.ctx, stored, m, parent)
	}
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
	if errors.Is(err, store.ErrNotFound) && s.guest != nil {
		s.notShared()
		return c, false, nil
	}
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
	h.commentChanged(s.ctx, opEdit, updated)
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
	h.commentChanged(s.ctx, opDel, cm)
	return nil
}

// Comment changes, as shown to the sessions watching the file and told
// to the other server instances.
const (
	opAdd  = "add"
	opEdit = "edit"
	opDel  = "del"
)

// PeerCommentKind is the kind of the comment events other server
// instances publish (see Options.Peers).
const PeerCommentKind = "comment"

type peerComment struct {
	Op          string `json:"op"`
	MediaFileID string `json:"m"`
	ID          int64  `json:"id"`
	// Comment is the comment as written (an add or an edit), so that the
	// other instances need not read it back: with N instances that would
	// be N-1 more queries a comment on the shared database. An event
	// without it (from an older instance) is read from the database.
	Comment *store.Comment `json:"c,omitempty"`
}

// commentChanged shows a comment change to this server's sessions
// watching the file, and tells the other instances.
func (h *Hub) commentChanged(ctx context.Context, op string, c store.Comment) {
	h.showComment(ctx, op, c)
	if h.opt.Peers != nil {
		e := peerComment{Op: op, MediaFileID: c.MediaFileID, ID: c.ID}
		if op != opDel {
			e.Comment = &c
		}
		h.opt.Peers.Publish(ctx, PeerCommentKind, e)
	}
}

// showComment sends a change to the file's watchers: an edit replaces the
// comment (delete, then add), as Clapshot does.
func (h *Hub) showComment(ctx context.Context, op string, c store.Comment) {
	if op == opEdit || op == opDel {
		h.SendToMediaFile(c.MediaFileID, delCommentCmd(c.ID))
	}
	if op != opDel {
		sendAll(h.sessionsOf(h.watchers, c.MediaFileID), h.render.AddComments(ctx, c))
	}
}

// PeerComment shows a comment change made on another server instance to
// this one's sessions watching the file: the comment the event carries,
// or (from an older instance) the one in the database, which both share.
func (h *Hub) PeerComment(ctx context.Context, data []byte) {
	var e peerComment
	if err := json.Unmarshal(data, &e); err != nil || e.MediaFileID == "" {
		h.log.Warn("Unreadable comment event from another server instance", "err", err)
		return
	}
	c := store.Comment{ID: e.ID, MediaFileID: e.MediaFileID}
	switch {
	case e.Op != opDel && e.Comment != nil:
		if e.Comment.ID != e.ID || e.Comment.MediaFileID != e.MediaFileID {
			h.log.Warn("Inconsistent comment event from another server instance", "comment_id", e.ID)
			return
		}
		c = *e.Comment
	case e.Op != opDel:
		var err error
		if c, err = h.opt.DB.GetComment(ctx, e.ID); errors.Is(err, store.ErrNotFound) {
			return // deleted since; that event follows
		} else if err != nil {
			h.log.Warn("Cannot read a comment another server instance changed", "comment_id", e.ID, "err", err)
			return
		}
	}
	h.showComment(ctx, e.Op, c)
}
