// Package ingest is the media pipeline: it takes files from HTTP uploads
// (plain multipart and resumable tus), and from the incoming/ folder,
// probes them, gives them Clapshot's media id, moves them into
// videos/<id>/orig/, records them, and runs the remux, transcode and
// thumbnail work in a durable job queue with a pool of workers.
//
// Every unit of work is a row in ingest_jobs before anything irreversible
// happens, so a crash or kill -9 loses nothing: Run first puts interrupted
// jobs back in the queue (killing any ffmpeg they left behind and removing
// their partial output) and then resumes them.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Job kinds.
const (
	KindIngest    = "ingest"
	KindTranscode = "transcode"
	KindThumbs    = "thumbs"
	// KindLadder makes a video's adaptive HLS ladder (Options.Ladder).
	KindLadder = "ladder"
)

// Options configure a Pipeline.
type Options struct {
	DB     Store
	Events events.Publisher
	Log    *slog.Logger
	Layout mediadir.Layout
	Tools  Tools // nil: media.Tools from PATH
	// Workers is the number of concurrent ffmpeg jobs.
	Workers int
	// TargetBitrate is --bitrate in bit/s.
	TargetBitrate int64
	// Poll is the incoming folder's polling interval (0: no monitor).
	Poll time.Duration
	// TranscodeScript, if set, replaces ffmpeg for transcodes.
	TranscodeScript string
	// Ladder, if set, are the rungs of the adaptive HLS ladder every new
	// video gets after ingest (--hls-ladder).
	Ladder []media.Rung
	// UploadExpiry is how long an unfinished upload is kept.
	UploadExpiry time.Duration
	// TrashRetention is how long trashed media are kept (0: forever).
	TrashRetention time.Duration
	// CleanupInterval is how often cleanup runs (default 1 h).
	CleanupInterval time.Duration
	// Metrics, if set, receives measurements.
	Metrics Recorder
	// Objects, if set, is the object store media files are kept in
	// (--media-url); the data directory is then a spool (see objects.go).
	Objects *objstore.Store
	// Role is which part of the pipeline this process runs (default
	// RoleAll).
	Role Role
	// Lease, when set, means the job queue is shared with other processes
	// (server instances and clapshot-worker on one PostgreSQL database): a
	// running job is this process's while it renews the lease (every
	// third of it), and any process takes over a job whose lease ran out
	// (its process died) and runs it again. Without a lease the queue is
	// this process's alone: at start, jobs left running are resumed.
	Lease time.Duration
	// TusLocker, if set, locks resumable uploads (tuslock.Locker, shared
	// by the instances on one PostgreSQL database); nil: tusd's
	// memorylocker, this process's alone.
	TusLocker tusd.Locker
}

// Role is a share of the pipeline's work.
type Role int

const (
	// RoleAll: uploads, the incoming folder, ingest, transcodes,
	// thumbnails, ladders and cleanup (one server doing everything).
	RoleAll Role = iota
	// RoleFront: everything but transcodes, thumbnails and ladders, left
	// to workers (clapshot-server --remote-workers).
	RoleFront
	// RoleWorker: transcodes, thumbnails and ladders only
	// (clapshot-worker).
	RoleWorker
)

// Recorder receives the pipeline's measurements (internal/metrics
// implements it).
type Recorder interface {
	UploadFinished(protocol string, bytes int64, err error)
	IngestJobFinished(d time.Duration, failed bool)
	TranscodeFinished(kind string, d time.Duration, err error)
}

type noMetrics struct{}

func (noMetrics) UploadFinished(string, int64, error)            {}
func (noMetrics) IngestJobFinished(time.Duration, bool)          {}
func (noMetrics) TranscodeFinished(string, time.Duration, error) {}

// Pipeline is the running media pipeline.
type Pipeline struct {
	o   Options
	db  Store
	log *slog.Logger
	l   mediadir.Layout

	ingestWake chan struct{}
	heavyWake  chan struct{}

	// recovered is closed once interrupted jobs are back in the queue.
	recovered chan struct{}
	mu        sync.Mutex
	inflight  map[string]bool // upload directories being written

	// tusCleanup expires unfinished resumable uploads (set by the tus
	// handler).
	tusCleanup func(ctx context.Context, now time.Time)
}

// ingestWorkers is the size of the light pool that probes and files new
// media; it is separate so that an upload is listed at once even while
// long transcodes occupy every ffmpeg worker.
const ingestWorkers = 2

// New creates a pipeline; Run starts it.
func New(o Options) *Pipeline {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tools == nil {
		o.Tools = &media.Tools{}
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if o.CleanupInterval <= 0 {
		o.CleanupInterval = time.Hour
	}
	if o.UploadExpiry <= 0 {
		o.UploadExpiry = 24 * time.Hour
	}
	return &Pipeline{
		o: o, db: o.DB, log: o.Log, l: o.Layout,
		ingestWake: make(chan struct{}, ingestWorkers),
		heavyWake:  make(chan struct{}, o.Workers),
		recovered:  make(chan struct{}),
	}
}

// Layout is the data directory layout the pipeline writes.
func (p *Pipeline) Layout() mediadir.Layout { return p.l }

// Run recovers interrupted work, then runs the workers, the incoming
// folder monitor and the periodic cleanup until ctx ends. Running jobs are
// stopped and put back in the queue for the next start.
func (p *Pipeline) Run(ctx context.Context) error {
	for _, d := range []string{p.l.Videos(), p.l.Upload(), p.l.Incoming()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("media pipeline: %w", err)
		}
	}
	if err := p.recover(ctx); err != nil {
		return fmt.Errorf("media pipeline: recover interrupted jobs: %w", err)
	}
	close(p.recovered)
	var wg sync.WaitGroup
	start := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	front, heavy := p.o.Role != RoleWorker, p.o.Role != RoleFront
	if front {
		for i := 0; i < ingestWorkers; i++ {
			start(func(ctx context.Context) { p.worker(ctx, []string{KindIngest}, p.ingestWake) })
		}
		if p.o.Poll > 0 {
			start(p.monitorIncoming)
		}
		start(p.cleanupLoop)
	}
	if heavy {
		for i := 0; i < p.o.Workers; i++ {
			start(func(ctx context.Context) { p.worker(ctx, heavyKinds, p.heavyWake) })
		}
	}
	if p.o.Lease > 0 {
		start(p.reclaimLoop)
	}
	if p.o.Objects != nil && p.o.Role != RoleAll {
		start(p.publishLoop)
	}
	p.log.Info("Media pipeline started", "workers", p.o.Workers, "role", p.o.Role, "shared_queue", p.o.Lease > 0,
		"transcode_script", p.o.TranscodeScript, "hls_ladder", len(p.o.Ladder) > 0)
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Recovered is closed once Run has put interrupted jobs back in the queue.
func (p *Pipeline) Recovered() <-chan struct{} { return p.recovered }

// wake nudges idle workers of a pool.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// idlePoll is how often idle workers look for work they were not woken
// for (jobs queued by another process, or a missed wake-up).
const idlePoll = 2 * time.Second

func (p *Pipeline) worker(ctx context.Context, kinds []string, wakeCh chan struct{}) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wakeCh:
		case <-t.C:
		}
		for ctx.Err() == nil {
			job, err := p.db.ClaimJob(ctx, kinds)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				if ctx.Err() == nil {
					p.log.Error("Cannot read the job queue", "err", err)
				}
				break
			}
			p.runJob(ctx, job)
		}
		t.Reset(idlePoll)
	}
}

// heavyKinds are the jobs that run ffmpeg for long (Options.Workers).
var heavyKinds = []string{KindTranscode, KindThumbs, KindLadder}

func (p *Pipeline) runJob(ctx context.Context, job store.Job) {
	if p.o.Lease > 0 {
		stop := p.holdLease(ctx, job.ID)
		defer stop()
	}
	log := p.log.With("job", job.ID, "kind", job.Kind, "user", job.UserID)
	if job.MediaFileID != nil {
		log = log.With("media_file", *job.MediaFileID)
	}
	log.Debug("Job started", "attempt", job.Attempts)
	var err error
	switch job.Kind {
	case KindIngest:
		err = p.runIngest(ctx, job, log)
		if ctx.Err() == nil {
			// The job's recorded state decides: some failures (an invalid
			// job) are recorded without an error returned, and an error
			// may come from recording a success.
			failed := err != nil
			if j, gerr := p.db.GetJob(ctx, job.ID); gerr == nil {
				failed = j.State == store.JobFailed
			}
			p.o.Metrics.IngestJobFinished(time.Since(job.Created), failed)
		}
	case KindTranscode:
		err = p.runTranscode(ctx, job, log)
	case KindThumbs:
		err = p.runThumbs(ctx, job, log)
	case KindLadder:
		err = p.runLadder(ctx, job, log)
	default:
		err = p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "", "unknown job kind "+job.Kind)
	}
	if job.MediaFileID != nil && ctx.Err() == nil {
		p.publishMedia(ctx, *job.MediaFileID, log)
	}
	if ctx.Err() != nil {
		// Shutting down: the attempt is void, the job runs again at the
		// next start.
		if rerr := p.db.RequeueJob(context.WithoutCancel(ctx), job.ID); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
			log.Error("Cannot put an interrupted job back in the queue", "err", rerr)
		}
		log.Info("Job interrupted by shutdown; it resumes at the next start")
		return
	}
	if err != nil {
		log.Error("Job failed", "err", err)
		return
	}
	log.Debug("Job done")
}

// decodeSpec reads a job's JSON spec.
func decodeSpec(job store.Job, v any) error {
	if err := json.Unmarshal([]byte(job.Spec), v); err != nil {
		return fmt.Errorf("job %d: bad spec: %w", job.ID, err)
	}
	return nil
}

func encodeSpec(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // specs are plain structs
	}
	return string(b)
}

// publish sends a user message; failures are the bus's to log.
func (p *Pipeline) publish(ctx context.Context, m events.Message) {
	if p.o.Events != nil {
		p.o.Events.Publish(context.WithoutCancel(ctx), m)
	}
}
