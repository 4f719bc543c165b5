package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/ingest"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/tuslock"
)

// newPipeline creates the media pipeline (uploads, incoming folder,
// transcoding, thumbnails) and registers its HTTP routes: the plain and
// resumable upload endpoints and the static media files.
func (a *App) newPipeline() error {
	cfg := a.Config
	o := pipelineOptions(cfg, a.DB, a.Events, a.Log)
	o.Poll, o.UploadExpiry, o.TrashRetention = cfg.Poll, cfg.UploadExpiry, cfg.TrashRetention
	o.Metrics, o.Role, o.Lease = a.Metrics, PipelineRole(cfg), PipelineLease(cfg)
	o.Objects = a.objects
	if cfg.DBURL != "" {
		// Instances behind one proxy share the uploads: a client may
		// resume through any of them.
		lo := tuslock.Options{URL: cfg.DBURL, Log: a.Log.With("component", "tuslock")}
		if a.fanout != nil {
			lo.Peers = a.fanout
		}
		var err error
		if a.tusLocks, err = tuslock.New(lo); err != nil {
			return err
		}
		o.TusLocker = a.tusLocks
	}
	a.Pipeline = ingest.New(o)
	uploads := ingest.HTTPOptions{Identity: a.Identity, MaxSize: cfg.UploadMaxSize, Authorize: a.authorizeUpload()}
	a.HTTP.Handle("POST /api/upload", a.Pipeline.UploadHandler(uploads))
	tus, err := a.Pipeline.TusHandler(uploads)
	if err != nil {
		return err
	}
	a.HTTP.Handle(ingest.TusPath, tus)
	a.HTTP.Handle("GET /videos/", a.mediaHandler())
	return nil
}

// authorizeUpload is the organizer's UPLOAD_MEDIA_FILE check (nil without
// an organizer), for every way a file becomes a user's media.
func (a *App) authorizeUpload() func(*http.Request, auth.Identity) error {
	if a.Organizer == nil {
		return nil
	}
	in := a.Organizer.Inbound()
	return func(r *http.Request, id auth.Identity) error {
		return in.AuthorizeUpload(r.Context(), id.UserID, id.UserName, id.IsAdmin, auth.Cookies(r.Header))
	}
}

// PipelineRole is the server's share of the media pipeline: all of it,
// or all but the ffmpeg jobs with --remote-workers.
func PipelineRole(cfg *config.Config) ingest.Role {
	if cfg.RemoteWorkers {
		return ingest.RoleFront
	}
	return ingest.RoleAll
}

// PipelineLease is the job lease on a queue several processes share
// (PostgreSQL); none on SQLite, whose queue is one server's.
func PipelineLease(cfg *config.Config) time.Duration {
	if cfg.DBURL == "" {
		return 0
	}
	return cfg.JobLease
}

// pipelineOptions are the media pipeline's settings that a server and a
// worker take alike from the configuration.
func pipelineOptions(cfg *config.Config, db *store.DB, ev events.Publisher, log *slog.Logger) ingest.Options {
	return ingest.Options{
		DB:              store.Bind[ingest.Queries](db),
		Events:          ev,
		Log:             log.With("component", "pipeline"),
		Layout:          mediadir.Layout{DataDir: cfg.DataDir},
		Tools:           &media.Tools{},
		Workers:         cfg.Workers,
		TargetBitrate:   int64(cfg.BitrateMbps * 1_000_000),
		TranscodeScript: cfg.TranscodeScript,
		Ladder:          cfg.HLSLadder,
	}
}
