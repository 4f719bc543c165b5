package review

// Version stacks (our extension): stacking an existing media file onto
// another, the comments of a stack's other versions, and what a media
// file says about its stack.

import (
	"context"
	"errors"
	"fmt"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// stackOptions describes m's version stack for pbconv: its place, and
// (for the player) every version with its title. Nothing when m is in no
// stack.
func (h *Hub) stackOptions(ctx context.Context, m store.MediaFile) (*store.StackInfo, []pbconv.StackVersion, error) {
	infos, err := h.opt.DB.StackInfos(ctx, []string{m.ID})
	if err != nil {
		return nil, nil, err
	}
	info, ok := infos[m.ID]
	if !ok {
		return nil, nil, nil
	}
	stack, err := h.opt.DB.VersionStack(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(stack))
	for i, v := range stack {
		ids[i] = v.MediaFileID
	}
	files, err := h.opt.DB.GetMediaFilesBrief(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]store.MediaFile{}
	for _, f := range files {
		byID[f.ID] = f
	}
	out := make([]pbconv.StackVersion, len(stack))
	for i, v := range stack {
		f := byID[v.MediaFileID]
		out[i] = pbconv.StackVersion{Version: v, Title: f.Title,
			PlaybackURL: pbconv.MediaFile(f, nil, h.opt.URLs, pbconv.MediaFileOptions{NoRawMetadata: true}).GetPlaybackUrl()}
	}
	return &info, out, nil
}

// addVersion makes an existing media file the newest version of another's
// stack. Both must be the user's (or an admin's) and of the same kind.
func (s *session) addVersion(c *pb.ClientToServerCmd_AddVersion) error {
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	target, ok, err := s.getMedia(c.VersionOf)
	if !ok {
		return err
	}
	for _, f := range []store.MediaFile{m, target} {
		if err := s.authorize(s.mediaOp("add a version", pb.AuthzUserActionRequest_MediaFileOp_EDIT, f, s.owns(f))); err != nil {
			return err
		}
	}
	refuse := func(format string, args ...any) error {
		s.userError(&pb.UserMessage{Message: "New version refused", Details: new(fmt.Sprintf(format, args...)), Refs: mediaRefs(m.ID)}, false)
		return nil
	}
	switch {
	case m.ID == target.ID:
		return refuse("A media file cannot be a version of itself")
	case m.UserID != target.UserID:
		return refuse("'%s' and '%s' belong to different users", title(m), title(target))
	case deref(m.MediaType) != deref(target.MediaType):
		return refuse("A new version of '%s' must be %s like it, but '%s' is %s", title(target), media.Type(deref(target.MediaType)).Article(),
			title(m), media.Type(deref(m.MediaType)).Article())
	}
	var v store.Version
	err = s.hub.opt.DB.InTx(s.ctx, func(q Queries) error {
		var err error
		v, err = q.AddVersion(s.ctx, target.ID, m.ID, store.VersionReady)
		return err
	})
	if errors.Is(err, store.ErrInStack) {
		return refuse("'%s' is already a version in a stack", title(m))
	}
	if err != nil {
		return err
	}
	s.hub.log.Info("Media file stacked as a new version", "media_file", m.ID, "version_of", target.ID, "version", v.Version, "user", s.user.UserID)
	s.userOK(&pb.UserMessage{Message: fmt.Sprintf("'%s' is now version %d of '%s'.", title(m), v.Version, title(target)), Refs: mediaRefs(m.ID)}, false)
	for _, id := range []string{target.ID, m.ID} {
		s.hub.notifyUser(s.ctx, s.user.UserID, &pb.UserMessage{Type: pb.UserMessage_MEDIA_FILE_UPDATED, Refs: mediaRefs(id)}, false)
	}
	return nil
}

// listVersionComments sends the comments of the other versions of the
// stack c.MediaFileId is in, each version's as an addComments of its own
// (the player shows them faded). A file in no stack has none.
func (s *session) listVersionComments(c *pb.ClientToServerCmd_ListVersionComments) error {
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(s.mediaOp("list comments", pb.AuthzUserActionRequest_MediaFileOp_VIEW, m, true)); err != nil {
		return err
	}
	stack, err := s.hub.opt.DB.VersionStack(s.ctx, m.ID)
	if err != nil {
		return err
	}
	for _, v := range stack {
		if v.MediaFileID == m.ID {
			continue
		}
		other, err := s.hub.opt.DB.GetMediaFile(s.ctx, v.MediaFileID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		// Quietly: a version the user may not see is left out.
		if d := s.hub.access.Check(s.ctx, s.identity(), s.mediaOp("list comments", pb.AuthzUserActionRequest_MediaFileOp_VIEW, other, true)); d != nil {
			continue
		}
		comments, err := s.hub.render.MediaComments(s.ctx, other.ID)
		if err != nil {
			return err
		}
		s.send(comments)
	}
	return nil
}

func title(m store.MediaFile) string {
	if t := deref(m.Title); t != "" {
		return t
	}
	return m.ID
}
