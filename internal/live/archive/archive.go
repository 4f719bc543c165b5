package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive/s3store"
)

// Errors of Archive.Store.
var (
	// ErrNotServed: the stream's archive is not served (serving is off).
	ErrNotServed = errors.New("archive serving is off for this stream")
	// ErrNoArchive: nothing was ever recorded for the stream here.
	ErrNoArchive = errors.New("no archive for this stream")
)

// Options are the archive's collaborators.
type Options struct {
	// FS creates segment files (default OSFS).
	FS FS
	// Remote is the object store for storage minio (default: an S3
	// client built from Config.S3 by New's caller; nil: none).
	Remote Remote
	Log    *slog.Logger
}

// Archive is every stream's archive: the recorders (started by the engine
// through Record) and the stores that serve ranges and playback.
type Archive struct {
	cfg    Config
	fs     FS
	remote Remote
	log    *slog.Logger

	mu     sync.Mutex
	stores map[string]*Store
	ctx    context.Context // set by Run: maintenance of stores opened later
	wg     sync.WaitGroup
}

// New opens the configured streams' stores (reading their indexes and
// scanning what they do not list). A store that cannot be opened is an
// error: the directory is unusable.
func New(cfg Config, opt Options) (*Archive, error) {
	if opt.FS == nil {
		opt.FS = OSFS{}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if cfg.QueueUnits <= 0 {
		cfg.QueueUnits = 1024
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 10 * time.Second
	}
	if cfg.ChunkDuration <= 0 {
		cfg.ChunkDuration = ChunkDuration
	}
	if cfg.UploadRetryMax <= 0 {
		cfg.UploadRetryMax = uploadRetryMax
	}
	a := &Archive{cfg: cfg, fs: opt.FS, remote: opt.Remote, log: opt.Log, stores: map[string]*Store{}}
	for id, set := range cfg.Streams {
		if !set.Recording && !set.Serving {
			continue
		}
		if set.Storage == StorageMinio && a.remote == nil {
			return nil, fmt.Errorf("stream %s: archive type minio needs minio_settings", id)
		}
		st, err := openStore(id, set, a.remote, a.log)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", id, err)
		}
		st.retryMax = cfg.UploadRetryMax
		a.stores[id] = st
	}
	return a, nil
}

// Run keeps the recording stores' retention and uploads going until ctx
// ends, and returns when they have stopped.
func (a *Archive) Run(ctx context.Context) error {
	a.mu.Lock()
	a.ctx = ctx
	for _, st := range a.stores {
		a.startMaintain(st)
	}
	a.mu.Unlock()
	<-ctx.Done()
	a.wg.Wait()
	return nil
}

// startMaintain runs a recording store's upkeep; a.mu is held.
func (a *Archive) startMaintain(st *Store) {
	if a.ctx == nil || !st.set.Recording {
		return
	}
	ctx := a.ctx
	a.wg.Go(func() { st.maintain(ctx, a.cfg.SweepInterval) })
}

// Close closes the index files; call it once the engine has stopped (the
// recorders finish their last segment when their stream stops).
func (a *Archive) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.stores {
		st.close()
	}
}

// Record is the engine's hook (live.Options.Attach): it records the
// stream for as long as it runs, if its settings say so. It keeps an
// on-demand stream connected.
func (a *Archive) Record(ctx context.Context, s *live.Stream) {
	set := a.cfg.For(s.ID())
	if !set.Recording {
		return
	}
	st, err := a.store(s.ID(), true)
	if err != nil {
		a.log.Error("Archive: cannot record the stream", "stream", s.ID(), "error", err)
		return
	}
	tap := s.Subscribe(a.cfg.QueueUnits)
	defer tap.Close()
	release := s.Acquire()
	defer release()
	st.log.Info("Archive: recording", "directory", set.Directory, "storage", set.Storage,
		"segment", set.SegmentDuration, "part", set.PartDuration)
	st.recording(true)
	defer st.recording(false)
	(&recorder{store: st, fs: a.fs, set: set}).run(ctx, tap)
}

// store returns a stream's store, opening it when needed. Without create,
// a stream that is not configured is only opened when something of it is
// on disk (its index or files).
func (a *Archive) store(id string, create bool) (*Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.stores[id]; ok {
		return st, nil
	}
	set := a.cfg.For(id)
	if !create && !hasArchive(set.Directory, id) {
		return nil, ErrNoArchive
	}
	if set.Storage == StorageMinio && a.remote == nil {
		return nil, errors.New("archive type minio needs minio_settings")
	}
	st, err := openStore(id, set, a.remote, a.log)
	if err != nil {
		return nil, err
	}
	st.retryMax = a.cfg.UploadRetryMax
	a.stores[id] = st
	a.startMaintain(st)
	return st, nil
}

func hasArchive(dir, id string) bool {
	if _, err := os.Stat(filepath.Join(dir, id+".index.jsonl")); err == nil {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, id+"_*.mp4"))
	return len(m) > 0
}

// Store returns the archive of a stream for serving: ErrNotServed when
// serving is off for it, ErrNoArchive when there is nothing.
func (a *Archive) Store(id string) (*Store, error) {
	if !a.cfg.For(id).Serving {
		return nil, ErrNotServed
	}
	return a.store(id, false)
}

// Status is the recording state of a stream (false when it has no
// store). a may be nil.
func (a *Archive) Status(id string) (RecorderStatus, bool) {
	if a == nil {
		return RecorderStatus{}, false
	}
	a.mu.Lock()
	st, ok := a.stores[id]
	a.mu.Unlock()
	if !ok {
		return RecorderStatus{}, false
	}
	return st.Status(), true
}

// Settings returns a stream's settings.
func (a *Archive) Settings(id string) Settings { return a.cfg.For(id) }

// Open makes the archive of cfg, or returns nil when no stream records or
// serves.
func Open(cfg Config, log *slog.Logger) (*Archive, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	var remote Remote
	if c := cfg.S3; c != nil {
		client, err := s3store.New(s3store.Config{
			Endpoint: c.Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
			TLS: c.TLS, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify, Region: c.Region,
		})
		if err != nil {
			return nil, err
		}
		log.Info("Archive: object store", "endpoint", c.String())
		remote = client
	}
	return New(cfg, Options{Remote: remote, Log: log})
}

// Run runs the engine with the archive (nil: none) until ctx ends. The
// engine stops first, so that its recorders finish their segments; then
// the archive's uploads and retention; then its index files close.
func Run(ctx context.Context, eng *live.Engine, a *Archive) error {
	if a == nil {
		return eng.Run(ctx)
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(actx); close(done) }()
	err := eng.Run(ctx)
	cancel()
	<-done
	a.Close()
	return err
}
