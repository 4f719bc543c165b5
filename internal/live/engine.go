// Package live is the live camera engine: it pulls RTSP cameras and
// re-streams them as LL-HLS, classic HLS and MSE over websocket.
//
// Every stream is one goroutine tree under the engine's context: the
// session loop (connect, play, back off, reconnect), one goroutine per
// output draining a bounded queue, and a small meter. The RTSP reader
// never waits for an output: a slow output, disk or viewer skips to the
// next keyframe instead. Removing a stream cancels its tree and waits for
// all of it.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configure the engine; zero values take the defaults noted.
type Options struct {
	// HLS is classic HLS (output type "hls"): video-server's hls.* keys.
	HLS HLSOptions
	// LLHLS is Low-Latency HLS (output type "llhls").
	LLHLS LLHLSOptions
	// IdleTimeout stops an on-demand stream this long after its last
	// viewer (video-server's on_demand.idle_ms; default 30 s).
	IdleTimeout time.Duration
	// HealthCheck probes idle on-demand streams with a bare RTSP DESCRIBE
	// every HealthInterval (default 30 s), each probe given HealthTimeout
	// (default 3 s): video-server's on_demand.health_* keys.
	HealthCheck                   bool
	HealthInterval, HealthTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// attempts (defaults 250 ms and 1.5 s: a camera that comes back plays
	// again within the longest wait, a connect and one GOP, under 3 s at a
	// 1 s GOP).
	ReconnectMin, ReconnectMax time.Duration
	// KeyframeTimeout is the no-keyframe watchdog (default 10 s).
	KeyframeTimeout time.Duration
	// ReadTimeout ends a session that receives nothing (default 10 s).
	ReadTimeout time.Duration
	// QueueUnits is how many units an output may fall behind (default 512).
	QueueUnits int
	// ViewerQueue is how many fragments an MSE viewer may fall behind.
	ViewerQueue int
	// Attach, if set, runs for every stream in the stream's goroutine
	// tree (the archive recorder): from the stream's start until it
	// stops, when its taps end and ctx is cancelled; the stream's stop
	// waits for it to return.
	Attach func(ctx context.Context, s *Stream)
	Log    *slog.Logger
}

// HLSOptions are classic HLS settings.
type HLSOptions struct {
	// SegmentDuration is the minimum segment length (video-server's
	// hls.ms_per_segment, default 10 s).
	SegmentDuration time.Duration
	// WindowSize is the number of segments listed (hls.window_size, 5).
	WindowSize int
	// Directory keeps segments on disk, one sub-directory per stream
	// ("": in memory).
	Directory string
}

// LLHLSOptions are Low-Latency HLS settings.
type LLHLSOptions struct {
	SegmentDuration time.Duration // default 1 s
	PartDuration    time.Duration // default 200 ms
	SegmentCount    int           // default 7
}

func (o *Options) defaults() {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 30 * time.Second
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 3 * time.Second
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 250 * time.Millisecond
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 1500 * time.Millisecond
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = o.ReconnectMin
	}
	if o.QueueUnits <= 0 {
		o.QueueUnits = 512
	}
	if o.HLS.SegmentDuration <= 0 {
		o.HLS.SegmentDuration = 10 * time.Second
	}
	if o.HLS.WindowSize <= 0 {
		o.HLS.WindowSize = 5
	}
	if o.LLHLS.SegmentDuration <= 0 {
		o.LLHLS.SegmentDuration = time.Second
	}
	if o.LLHLS.SegmentCount <= 0 {
		o.LLHLS.SegmentCount = 7
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// StreamConfig is one camera.
type StreamConfig struct {
	// ID is the stream's UUID (video-server's guid).
	ID string
	// Name is shown in the UI ("" = the ID).
	Name string
	// URL is rtsp://[user:password@]host[:port]/path.
	URL string
	// File is an MP4 file played as the source instead of a camera
	// (video-server's local_files); Loop plays it again and again.
	File string
	Loop bool
	// Transport is "tcp", "udp" or "auto" (default).
	Transport string
	// Outputs.
	MSE, HLS, LLHLS bool
	// OnDemand streams connect on the first viewer and stop IdleTimeout
	// after the last.
	OnDemand bool
	// Users who may watch (empty: everyone); AdminsOnly restricts it to
	// administrators. Enforced by the front doors, not the engine.
	Users      []string
	AdminsOnly bool
}

// Errors of Add and Get.
var (
	ErrInvalidID  = errors.New("invalid stream id (a UUID is expected)")
	ErrExists     = errors.New("stream already exists")
	ErrNotFound   = errors.New("no such stream")
	ErrNoOutput   = errors.New("no output type (mse, hls, llhls)")
	ErrNoSource   = errors.New("a stream needs a camera URL or a file, not both")
	ErrNotRunning = errors.New("the live engine is not running")
)

// Engine owns the streams.
type Engine struct {
	opt    Options
	probes *probeLimit

	mu      sync.Mutex
	ctx     context.Context // nil until Run
	streams map[string]*Stream
	order   []string
}

// New makes an engine; streams start when Run runs.
func New(opt Options) *Engine {
	opt.defaults()
	return &Engine{opt: opt, streams: map[string]*Stream{}, probes: newProbeLimit()}
}

// NormalizeID checks and lower-cases a stream UUID.
func NormalizeID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return u.String(), nil
}

// Add adds a stream and, once the engine runs, starts it.
func (e *Engine) Add(cfg StreamConfig) (*Stream, error) {
	id, err := NormalizeID(cfg.ID)
	if err != nil {
		return nil, err
	}
	cfg.ID = id
	if !cfg.MSE && !cfg.HLS && !cfg.LLHLS {
		return nil, fmt.Errorf("stream %s: %w", id, ErrNoOutput)
	}
	if (cfg.URL == "") == (cfg.File == "") {
		return nil, fmt.Errorf("stream %s: %w", id, ErrNoSource)
	}
	if cfg.Name == "" {
		cfg.Name = id
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.streams[id]; ok {
		return nil, fmt.Errorf("stream %s: %w", id, ErrExists)
	}
	s := newStream(e, cfg)
	e.streams[id] = s
	e.order = append(e.order, id)
	if e.ctx != nil {
		s.start(e.ctx)
	}
	return s, nil
}

// Remove stops a stream, waits until all its goroutines have ended and
// forgets it.
func (e *Engine) Remove(id string) error {
	id, err := NormalizeID(id)
	if err != nil {
		return err
	}
	e.mu.Lock()
	s, ok := e.streams[id]
	if ok {
		delete(e.streams, id)
		e.order = slices.DeleteFunc(e.order, func(x string) bool { return x == id })
	}
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("stream %s: %w", id, ErrNotFound)
	}
	s.stop()
	return nil
}

// Get finds a stream by id.
func (e *Engine) Get(id string) (*Stream, error) {
	nid, err := NormalizeID(id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.streams[nid]
	if !ok {
		return nil, fmt.Errorf("stream %s: %w", nid, ErrNotFound)
	}
	return s, nil
}

// Streams lists the streams in the order they were added.
func (e *Engine) Streams() []*Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Stream, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.streams[id])
	}
	return out
}

// Options returns the engine's options with defaults applied.
func (e *Engine) Options() Options { return e.opt }

// Run starts the streams and keeps them running until ctx ends; then it
// stops every stream and returns once all their goroutines are done.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.ctx != nil {
		e.mu.Unlock()
		return errors.New("live engine: Run called twice")
	}
	e.ctx = ctx
	for _, id := range e.order {
		e.streams[id].start(ctx)
	}
	e.mu.Unlock()
	<-ctx.Done()
	e.mu.Lock()
	all := make([]*Stream, 0, len(e.streams))
	for _, s := range e.streams {
		all = append(all, s)
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Go(s.stop)
	}
	wg.Wait()
	return nil
}
