package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// processSpec is a transcode or thumbs job's spec.
type processSpec struct {
	// Src is the file read: orig/<name> (or video.mp4 for a legacy
	// thumbnail back-fill).
	Src string `json:"src"`
	// Name is the original file name, for messages.
	Name string `json:"name"`
	// Info is nil for back-fill jobs, which inspect Src when they run.
	Info *media.Info `json:"info,omitempty"`
	Plan media.Plan  `json:"plan"`
	// Thumbs: the transcode also writes the thumbnails (same decode).
	Thumbs bool `json:"thumbs,omitempty"`
	// Backfill: thumbnails for an old media file; failures are logged,
	// not sent to the owner.
	Backfill bool `json:"backfill,omitempty"`
	// Ladder are the renditions of a ladder job.
	Ladder []media.Rendition `json:"ladder,omitempty"`
}

// materialize moves a recorded upload into place (see ingestSpec.From).
func materialize(spec ingestSpec) error {
	if spec.From == "" {
		return nil
	}
	if _, err := os.Stat(spec.Path); err == nil {
		return nil
	}
	if _, err := os.Stat(spec.From); err != nil {
		return nil // already moved on, or gone; runIngest reports it
	}
	if err := os.MkdirAll(filepath.Dir(spec.Path), 0o755); err != nil {
		return err
	}
	err := mediadir.MoveFile(spec.From, spec.Path)
	if _, serr := os.Stat(spec.Path); err != nil && serr == nil {
		return nil // the request handler and the worker raced; one moved it
	}
	return err
}

func (p *Pipeline) runIngest(ctx context.Context, job store.Job, log *slog.Logger) error {
	var spec ingestSpec
	if err := decodeSpec(job, &spec); err != nil {
		return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "", err.Error())
	}
	name := filepath.Base(spec.Path)
	log = log.With("file", name)
	if err := materialize(spec); err != nil {
		return p.failIngest(ctx, job, spec, spec.From, "", fmt.Sprintf("cannot move the file into place: %v", err), log)
	}
	if err := p.fetchUpload(ctx, spec); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The upload is safe in the store; the job tries again.
		if rerr := p.db.RequeueJob(context.WithoutCancel(ctx), job.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return fmt.Errorf("fetch the upload from the media store (the job is retried): %w", err)
	}
	src := spec.Path
	resumeFromOrig := false
	if _, err := os.Stat(src); err != nil {
		// A resumed job may have moved the file already.
		if spec.MediaID != "" {
			if _, oerr := os.Stat(filepath.Join(p.l.OrigDir(spec.MediaID), name)); oerr == nil {
				src, resumeFromOrig = filepath.Join(p.l.OrigDir(spec.MediaID), name), true
			}
		}
		if !resumeFromOrig {
			return p.failIngest(ctx, job, spec, "", "", "the uploaded file disappeared before it could be processed", log)
		}
		// An attempt that recorded the media file finished the job in the
		// same transaction; a row without that means the job was put back
		// after it: it is done, and the cleanup below must not touch the
		// media file's directory.
		if m, gerr := p.db.GetMediaFile(ctx, spec.MediaID); gerr == nil && m.UserID == spec.UserID {
			log.Warn("Ingest job ran again after its media file was recorded; nothing to do", "media_file", spec.MediaID)
			return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobDone, "", "")
		}
	}

	probe, info, err := p.o.Tools.Inspect(ctx, src)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		if resumeFromOrig {
			src = spec.Path // keep rejected files in one place: move it back out
			_ = os.MkdirAll(filepath.Dir(src), 0o755)
			_ = mediadir.MoveFile(filepath.Join(p.l.OrigDir(spec.MediaID), name), src)
			_ = os.RemoveAll(p.l.MediaDir(spec.MediaID))
		}
		return p.failIngest(ctx, job, spec, src, "", describeProbeError(err), log)
	}
	if spec.VersionOf != "" && !resumeFromOrig {
		reason, err := p.versionRefusal(ctx, spec, info)
		if err != nil {
			return err
		}
		if reason != "" {
			return p.failIngestAs(ctx, job, spec, src, "", "New version refused", reason, log)
		}
	}
	id := spec.MediaID
	if !resumeFromOrig {
		if id, err = MediaID(src, spec.UserID, spec.Cookies); err != nil {
			return p.failIngest(ctx, job, spec, src, "", "cannot read the file: "+err.Error(), log)
		}
		spec.MediaID = id
		if err := p.db.SetJobSpec(ctx, job.ID, encodeSpec(spec)); err != nil {
			return err
		}
		// Duplicate handling, as Clapshot: the same file from the same
		// user is already there; a directory without a row is stale.
		if p.mediaExists(ctx, id) {
			existing, err := p.db.GetMediaFile(ctx, id)
			switch {
			case err == nil && existing.UserID == spec.UserID:
				return p.duplicate(ctx, job, spec, src, id, log)
			case err == nil:
				return p.failIngest(ctx, job, spec, src, id,
					fmt.Sprintf("Hash collision?!? Media '%s' already owned by another user '%s'.", id, spec.UserID), log)
			case errors.Is(err, store.ErrNotFound):
				stale, merr := mediadir.MoveToTrash(p.l, p.l.MediaDir(id), id+"_stale", time.Now())
				if merr != nil {
					return p.failIngest(ctx, job, spec, src, id, "cannot clear the stale directory videos/"+id+": "+merr.Error(), log)
				}
				log.Warn("Media directory existed without a database row; moved it to the trash", "to", stale)
			default:
				return err
			}
		}
		if err := os.MkdirAll(p.l.OrigDir(id), 0o755); err != nil {
			return p.failIngest(ctx, job, spec, src, id, "cannot create the media directory: "+err.Error(), log)
		}
		orig := filepath.Join(p.l.OrigDir(id), name)
		// videos/ may be another file system than upload/ (a big disk
		// mounted there): then this copies.
		if err := mediadir.MoveFile(src, orig); err != nil {
			os.RemoveAll(p.l.MediaDir(id))
			return p.failIngest(ctx, job, spec, src, id, "cannot move the file into the media directory: "+err.Error(), log)
		}
		src = orig
		if p.o.Objects != nil {
			if _, err := p.storeOrig(ctx, spec, orig); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				_ = mediadir.MoveFile(orig, spec.Path)
				os.RemoveAll(p.l.MediaDir(id))
				return p.failIngest(ctx, job, spec, spec.Path, id, "cannot store the original in the media store: "+err.Error(), log)
			}
		}
		removeUploadDir(p.l, spec.Path)
	}

	plan := media.Decide(info, p.o.TargetBitrate)
	version, err := p.record(ctx, job, spec, id, src, probe, info, plan)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		os.RemoveAll(p.l.ThumbsDir(id))
		_ = os.MkdirAll(filepath.Dir(spec.Path), 0o755)
		if merr := mediadir.MoveFile(src, spec.Path); merr == nil {
			src = spec.Path
			os.RemoveAll(p.l.MediaDir(id))
		}
		if p.o.Objects != nil {
			if key, kerr := p.objectKey(filepath.Join(p.l.OrigDir(id), name)); kerr == nil {
				_ = p.o.Objects.Remove(context.WithoutCancel(ctx), key)
			}
		}
		return p.failIngest(ctx, job, spec, src, id, "cannot record the file in the database: "+err.Error(), log)
	}
	p.dropUploadObject(ctx, spec, log)
	log.Info("Media added", "media_file", id, "type", info.Type, "action", plan.Action, "reason", plan.Reason, "version_of", spec.VersionOf)
	wake(p.heavyWake)
	wake(p.heavyWake)

	cookies, _ := json.Marshal(spec.Cookies)
	p.publish(ctx, events.Message{Kind: events.MediaFileAdded, UserID: spec.UserID, MediaFileID: id, Details: string(cookies)})
	added := "Media added."
	if version.Version > 0 {
		added = fmt.Sprintf("Version %d added.", version.Version)
		// The stack's tile and player change.
		p.publish(ctx, events.Message{Kind: events.MediaFileUpdated, UserID: spec.UserID, MediaFileID: spec.VersionOf})
	}
	if plan.Action == media.AsIs {
		p.publish(ctx, events.Message{Kind: events.OK, UserID: spec.UserID, MediaFileID: id, Text: added})
	} else {
		zero := 0.0
		p.publish(ctx, events.Message{Kind: events.OK, UserID: spec.UserID, MediaFileID: id, Text: added + " Transcoding...",
			Details: "Transcoding because " + plan.Reason, Progress: &zero})
	}
	p.publishMedia(ctx, id, log) // when it has no jobs
	return nil
}

// mediaExists reports whether media file id has a directory, on the disk
// or in the object store.
func (p *Pipeline) mediaExists(ctx context.Context, id string) bool {
	if _, err := os.Stat(p.l.MediaDir(id)); err == nil {
		return true
	}
	if p.o.Objects != nil {
		ok, err := p.o.Objects.Exists(ctx, "videos/"+id)
		return err == nil && ok
	}
	return false
}

// dropUploadObject removes an upload's object from the store once the
// file is safe elsewhere (the original stored, or rejected/).
func (p *Pipeline) dropUploadObject(ctx context.Context, spec ingestSpec, log *slog.Logger) {
	if spec.Object == "" || p.o.Objects == nil {
		return
	}
	if err := p.o.Objects.Remove(context.WithoutCancel(ctx), spec.Object); err != nil {
		log.Warn("Cannot remove a processed upload from the media store", "key", spec.Object, "err", err)
	}
}

// record inserts the media file and its processing jobs, adds it to its
// version stack if it is a new version (returned), and finishes the
// ingest job, in one transaction.
func (p *Pipeline) record(ctx context.Context, job store.Job, spec ingestSpec, id, orig string, probe *media.Probe, info media.Info, plan media.Plan) (store.Version, error) {
	name := filepath.Base(orig)
	mt := string(info.Type)
	raw := string(probe.Raw)
	title := spec.title()
	m := store.MediaFile{ID: id, UserID: spec.UserID, MediaType: &mt, OrigFilename: &name, Title: &title,
		TotalFrames: &info.TotalFrames, FPS: &info.FPS, RawMetadataAll: &raw}
	if info.Type != media.Image {
		d := info.Duration
		m.Duration = &d
	} else {
		zero := 0.0
		m.Duration = &zero
	}
	if info.Type == media.Audio {
		// Audio has no pictures: the thumbnail step is done (Clapshot set
		// thumbs_done and left has_thumbnail unset).
		now := time.Now()
		m.ThumbsDone = &now
	}
	mediaID := id
	jobs := p.processingJobs(orig, name, info, plan)
	var version store.Version
	err := p.db.InTx(ctx, func(q Queries) error {
		if err := q.EnsureUser(ctx, spec.UserID, spec.UserName); err != nil {
			return err
		}
		if err := q.InsertMediaFile(ctx, m); err != nil {
			return err
		}
		if spec.VersionOf != "" {
			var err error
			if version, err = q.AddVersion(ctx, spec.VersionOf, id, versionState(plan)); err != nil {
				return err
			}
		}
		for _, j := range jobs {
			j.MediaFileID, j.UserID = &mediaID, spec.UserID
			if _, err := q.InsertJob(ctx, j); err != nil {
				return err
			}
		}
		return q.FinishJob(ctx, job.ID, store.JobDone, "", "")
	})
	return version, err
}

// processingJobs are the jobs a new media file needs: a remux or
// transcode unless it plays as is, and thumbnails, made by the transcode's
// own decode when there is one; with --hls-ladder, a video's ladder.
func (p *Pipeline) processingJobs(orig, name string, info media.Info, plan media.Plan) []store.Job {
	var jobs []store.Job
	in := info
	embedThumbs := plan.Action == media.Transcode && p.o.TranscodeScript == "" && info.Type != media.Audio
	if plan.Action != media.AsIs {
		jobs = append(jobs, store.Job{Kind: KindTranscode, Spec: encodeSpec(processSpec{Src: orig, Name: name, Info: &in, Plan: plan, Thumbs: embedThumbs})})
	}
	if !embedThumbs && info.Type != media.Audio {
		jobs = append(jobs, store.Job{Kind: KindThumbs, Spec: encodeSpec(processSpec{Src: orig, Name: name, Info: &in})})
	}
	if j, ok := p.ladderJob(orig, name, info); ok {
		jobs = append(jobs, j)
	}
	return jobs
}

// duplicate handles a file the user already has: Clapshot's OK "Media
// file already exists" (without the media id, so the client does not
// touch the existing one), and the new copy goes to rejected/.
func (p *Pipeline) duplicate(ctx context.Context, job store.Job, spec ingestSpec, src, id string, log *slog.Logger) error {
	if _, err := mediadir.Reject(p.l, src, id); err != nil {
		log.Error("Cannot move a duplicate upload to rejected/", "err", err)
	} else {
		p.dropUploadObject(ctx, spec, log)
	}
	removeUploadDir(p.l, spec.Path)
	log.Info("User already has this media file", "media_file", id)
	p.publish(ctx, events.Message{Kind: events.OK, UserID: spec.UserID, Text: "Media file already exists"})
	return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobDone, "", "duplicate of "+id)
}

// failIngest rejects the file (if there is one) and tells the user, with
// Clapshot's message for every ingestion failure.
func (p *Pipeline) failIngest(ctx context.Context, job store.Job, spec ingestSpec, src, id, reason string, log *slog.Logger) error {
	return p.failIngestAs(ctx, job, spec, src, id, "Error reading media file metadata.", reason, log)
}

// failIngestAs is failIngest with another message text.
func (p *Pipeline) failIngestAs(ctx context.Context, job store.Job, spec ingestSpec, src, id, text, reason string, log *slog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	details := fmt.Sprintf("'%s': %s", spec.title(), reason)
	if src != "" {
		where, err := mediadir.Reject(p.l, src, id)
		if err != nil {
			details += " Cleanup also failed: " + err.Error()
			log.Error("Cannot move a rejected file to rejected/", "err", err)
		} else {
			log.Info("File rejected", "to", where)
			p.dropUploadObject(ctx, spec, log)
		}
	}
	removeUploadDir(p.l, spec.Path)
	log.Warn("Ingestion failed", "reason", reason)
	p.publish(ctx, events.Message{Kind: events.Error, UserID: spec.UserID, MediaFileID: id, Text: text, Details: details})
	if err := p.db.FinishJob(ctx, job.ID, store.JobFailed, "", reason); err != nil {
		return err
	}
	return errors.New(details)
}

// removeUploadDir removes the (now empty) upload/<uuid>/ directory of a
// file; Clapshot left them behind.
func removeUploadDir(l mediadir.Layout, path string) {
	dir := filepath.Dir(path)
	if filepath.Dir(dir) == filepath.Clean(l.Upload()) {
		os.Remove(dir) // only if empty
	}
}

// describeProbeError turns ffprobe's failure into a reason a user can act
// on.
func describeProbeError(err error) string {
	var te *media.ToolError
	switch {
	case errors.Is(err, media.ErrNoMedia):
		return "No video, audio or image track found"
	case errors.As(err, &te):
		return "not a media file ffmpeg can read (" + te.Stderr + ")"
	}
	return err.Error()
}
