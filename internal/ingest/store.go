package ingest

import (
	"context"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

// Store is the database as the pipeline uses it: the durable job queue,
// and the media files and users that ingestion records. The SQLite store
// implements it (store.Bind[Queries]); so can another backend.
type Store interface {
	Queries
	// InTx runs fn in one transaction, committed if it returns nil.
	InTx(ctx context.Context, fn func(q Queries) error) error
}

// Queries are the statements the pipeline runs, alone or in a
// transaction.
type Queries interface {
	Jobs
	MediaFiles
	Users
	HLSLadders
	Versions
}

// Jobs is the job queue (ingest_jobs).
type Jobs interface {
	InsertJob(ctx context.Context, j store.Job) (int64, error)
	GetJob(ctx context.Context, id int64) (store.Job, error)
	// ClaimJob marks the next queued job of the kinds running and returns
	// it; store.ErrNotFound when there is none.
	ClaimJob(ctx context.Context, kinds []string) (store.Job, error)
	SetJobOutputs(ctx context.Context, id int64, outputs []string) error
	SetJobProcess(ctx context.Context, id int64, pid, pidStart *int64) error
	SetJobSpec(ctx context.Context, id int64, spec string) error
	FinishJob(ctx context.Context, id int64, state, log, errText string) error
	RequeueJob(ctx context.Context, id int64) error
	// TouchJob renews a running job's lease (Options.Lease).
	TouchJob(ctx context.Context, id int64, now time.Time) error
	// ReclaimStaleJob takes over a running job not touched since cutoff;
	// store.ErrNotFound when there is none.
	ReclaimStaleJob(ctx context.Context, cutoff, now time.Time) (store.Job, error)
	ListJobs(ctx context.Context, states ...string) ([]store.Job, error)
	DeleteFinishedJobs(ctx context.Context, before time.Time) (int64, error)
	// ListMediaWithoutThumbJob lists the media files that need a
	// thumbnail back-fill job.
	ListMediaWithoutThumbJob(ctx context.Context) ([]store.MediaFile, error)
}

// MediaFiles are the media file rows the pipeline writes.
type MediaFiles interface {
	InsertMediaFile(ctx context.Context, m store.MediaFile) error
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	SetRecompressionDone(ctx context.Context, id string, at *time.Time) error
	SetThumbnails(ctx context.Context, id string, hasThumb bool, cols, rows *int64, done time.Time) error
	SetThumbsDone(ctx context.Context, id string, done time.Time) error
}

// HLSLadders records finished adaptive ladders (media_hls).
type HLSLadders interface {
	SetHLSLadder(ctx context.Context, l store.HLSLadder) error
}

// Versions are the version stacks (media_versions) new versions join.
type Versions interface {
	AddVersion(ctx context.Context, targetID, newID, state string) (store.Version, error)
	// SetVersionState is store.ErrNotFound for a file in no stack.
	SetVersionState(ctx context.Context, mediaFileID, state string) error
}

// Users records uploaders.
type Users interface {
	// EnsureUser adds a users row unless there is one (names are kept).
	EnsureUser(ctx context.Context, id, name string) error
}
