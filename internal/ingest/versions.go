package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Version uploads: a file sent with a target (X-Clapshot-Version-Of)
// becomes a media file of its own, recorded as the newest version of the
// target's stack. It must be the uploader's, and of the same kind.

// VersionTargetError is why an upload cannot be a new version of a media
// file; the HTTP layer answers Status with the message.
type VersionTargetError struct {
	Status int
	Msg    string
}

func (e *VersionTargetError) Error() string { return e.Msg }

// CheckVersionTarget tells an upload early (before any of it is read)
// whether it may become a new version of targetID: the media file must
// exist and belong to the uploader.
func (p *Pipeline) CheckVersionTarget(ctx context.Context, userID, targetID string) error {
	m, err := p.db.GetMediaFile(ctx, targetID)
	if errors.Is(err, store.ErrNotFound) {
		return &VersionTargetError{Status: 404, Msg: fmt.Sprintf("No media file '%s' to add a new version to", targetID)}
	}
	if err != nil {
		return err
	}
	if m.UserID != userID {
		return &VersionTargetError{Status: 403, Msg: fmt.Sprintf("Only the owner of '%s' can add new versions to it", displayTitle(m))}
	}
	return nil
}

// versionRefusal is why a probed file cannot be the new version it was
// uploaded as ("" if it can): the target is gone or not the uploader's,
// or it is of another kind (audio onto video).
func (p *Pipeline) versionRefusal(ctx context.Context, spec ingestSpec, info media.Info) (string, error) {
	if err := p.CheckVersionTarget(ctx, spec.UserID, spec.VersionOf); err != nil {
		var ve *VersionTargetError
		if errors.As(err, &ve) {
			return ve.Msg, nil
		}
		return "", err
	}
	target, err := p.db.GetMediaFile(ctx, spec.VersionOf)
	if err != nil {
		return "", err
	}
	if kind := string(info.Type); target.MediaType != nil && *target.MediaType != kind {
		return fmt.Sprintf("A new version of '%s' must be %s like it, but this file is %s", displayTitle(target),
			media.Type(*target.MediaType).Article(), info.Type.Article()), nil
	}
	return "", nil
}

// versionState is a new version's state: ready when it plays as it is,
// else processing until its transcode is done.
func versionState(plan media.Plan) string {
	if plan.Action == media.AsIs {
		return store.VersionReady
	}
	return store.VersionProcessing
}

// markVersion records a processed file's version state (files in no stack
// have none to record).
func markVersion(ctx context.Context, q Queries, id, state string) error {
	if err := q.SetVersionState(ctx, id, state); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// markVersionFailed records that a version's transcode failed, so the
// stack keeps showing the last good version.
func (p *Pipeline) markVersionFailed(ctx context.Context, id string, log *slog.Logger) {
	if err := markVersion(context.WithoutCancel(ctx), p.db, id, store.VersionFailed); err != nil {
		log.Error("Cannot record the failed version", "err", err)
	}
}

func displayTitle(m store.MediaFile) string {
	if m.Title != nil && *m.Title != "" {
		return *m.Title
	}
	return m.ID
}
