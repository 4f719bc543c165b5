package review

// The subtitle commands: add (converted to WebVTT), edit, delete. The
// files are mediadir's, the rows the Store's.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/subtitles"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// MaxSubtitleBytes is the largest subtitle file accepted (decoded).
const MaxSubtitleBytes = 8 << 20

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
