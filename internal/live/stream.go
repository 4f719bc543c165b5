package live

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/filesrc"
	"github.com/clapshot-go/clapshot/internal/live/hlsout"
	"github.com/clapshot-go/clapshot/internal/live/media"
	"github.com/clapshot-go/clapshot/internal/live/mse"
	"github.com/clapshot-go/clapshot/internal/live/source"
)

// State is where a stream is in its life.
type State string

// States.
const (
	StateIdle       State = "idle"       // on-demand, nobody watching
	StateConnecting State = "connecting" // dialling or waiting for the first keyframe
	StateOnline     State = "online"     // media flowing
	StateOffline    State = "offline"    // last attempt failed; retrying
	StateStopped    State = "stopped"
	StateEnded      State = "ended" // a file without loop has played once
)

// Stream is one camera and its outputs.
type Stream struct {
	e   *Engine
	cfg StreamConfig
	log *slog.Logger

	mse    *mse.Muxer
	hls    *hlsout.Output
	llhls  *hlsout.Output
	outs   []*output // outputs behind their own tap and goroutine
	inline *output   // the output the reader feeds directly (MSE)

	stats source.Stats

	// taps are the subscribers (outputs, recorders), copied on change so
	// that the reader goes through them without a lock.
	taps    atomic.Pointer[[]*Tap]
	tapMu   sync.Mutex // serialises changes to taps and Tracks events
	stopped bool       // under tapMu: no new taps

	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu           sync.Mutex
	state        State
	lastErr      string
	lastErrAt    time.Time
	since        time.Time
	reconnects   uint64
	tracks       *media.Tracks
	users        int
	lastActivity time.Time
	hlsClients   map[string]time.Time
	bitrate      float64
	started      bool
	health       health
}

// output is one of the stream's own consumers, fed by its tap (nil for
// the inline output).
type output struct {
	name   string
	target target
	tap    *Tap

	mu      sync.Mutex // inline: audio and video may come from two goroutines (UDP)
	lastErr time.Time  // rate-limits error logs
}

// handle gives one event to the output.
func (s *Stream) handle(o *output, ev Event) {
	var err error
	switch {
	case ev.Restart:
		o.target.Restart()
	case ev.Tracks != nil:
		err = o.target.SetTracks(ev.Tracks)
	case ev.Unit != nil:
		err = o.target.WriteUnit(ev.Unit)
	}
	if err != nil && time.Since(o.lastErr) > 10*time.Second {
		o.lastErr = time.Now()
		s.log.Warn("Live stream: output error (repeats are not logged for 10 s)", "output", o.name, "error", err)
	}
}

// handleInline gives an event to the inline output, if any.
func (s *Stream) handleInline(ev Event) {
	if o := s.inline; o != nil {
		o.mu.Lock()
		s.handle(o, ev)
		o.mu.Unlock()
	}
}

// target is what an output does with events (mse.Muxer, hlsout.Output).
type target interface {
	SetTracks(*media.Tracks) error
	WriteUnit(*media.Unit) error
	Restart()
}

func newStream(e *Engine, cfg StreamConfig) *Stream {
	s := &Stream{
		e: e, cfg: cfg, done: make(chan struct{}), wake: make(chan struct{}, 1),
		log:   e.opt.Log.With("stream", cfg.ID, "url", cfg.sourceName()),
		state: StateIdle, since: time.Now(), hlsClients: map[string]time.Time{},
	}
	s.taps.Store(&[]*Tap{})
	if !cfg.OnDemand {
		s.state = StateConnecting
	}
	o := e.opt
	if cfg.MSE {
		s.mse = mse.NewMuxer(o.ViewerQueue)
		// Inline: the muxer only formats bytes and pushes them to the
		// viewers' bounded queues, so the reader runs it itself, which
		// saves a goroutine hand-off per frame.
		s.inline = &output{name: "mse", target: s.mse}
	}
	if cfg.LLHLS {
		s.llhls = hlsout.New(hlsout.Options{
			LowLatency: true, SegmentCount: o.LLHLS.SegmentCount,
			SegmentDuration: o.LLHLS.SegmentDuration, PartDuration: o.LLHLS.PartDuration, Log: s.log,
		})
		s.addOutput("llhls", s.llhls)
	}
	if cfg.HLS {
		dir := ""
		if o.HLS.Directory != "" {
			dir = filepath.Join(o.HLS.Directory, cfg.ID)
		}
		s.hls = hlsout.New(hlsout.Options{
			SegmentCount: o.HLS.WindowSize, SegmentDuration: o.HLS.SegmentDuration, Directory: dir, Log: s.log,
		})
		s.addOutput("hls", s.hls)
	}
	return s
}

func (s *Stream) addOutput(name string, t target) {
	s.outs = append(s.outs, &output{name: name, target: t, tap: s.Subscribe(0)})
}

// Config returns the stream's configuration.
func (s *Stream) Config() StreamConfig { return s.cfg }

// ID is the stream's UUID.
func (s *Stream) ID() string { return s.cfg.ID }

// MSE is the stream's MSE muxer (nil without the mse output).
func (s *Stream) MSE() *mse.Muxer { return s.mse }

// LLHLS is the LL-HLS output (nil without llhls).
func (s *Stream) LLHLS() *hlsout.Output { return s.llhls }

// HLS is the classic HLS output (nil without hls).
func (s *Stream) HLS() *hlsout.Output { return s.hls }

func (s *Stream) start(ctx context.Context) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()
	go s.run(ctx)
}

// stop cancels the stream's goroutines and waits for them.
func (s *Stream) stop() {
	s.mu.Lock()
	started, cancel := s.started, s.cancel
	s.mu.Unlock()
	if !started {
		s.setState(StateStopped, "")
		return
	}
	cancel()
	<-s.done
}

// Acquire registers a viewer that holds the stream (an MSE websocket); an
// on-demand stream starts. The returned func releases it.
func (s *Stream) Acquire() (release func()) {
	s.mu.Lock()
	s.users++
	s.lastActivity = time.Now()
	s.mu.Unlock()
	s.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.users--
			s.lastActivity = time.Now()
			s.mu.Unlock()
		})
	}
}

// TouchHLS records an HLS request (they have no connection to hold): an
// on-demand stream stays up for IdleTimeout after the last one.
func (s *Stream) TouchHLS(r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	s.lastActivity = now
	s.hlsClients[clientKey(r)] = now
	s.mu.Unlock()
	s.poke()
}

func clientKey(r *http.Request) string {
	if h := r.Header.Get("X-Forwarded-For"); h != "" {
		return h
	}
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}

func (s *Stream) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// wanted says whether an on-demand stream should be connected.
func (s *Stream) wanted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users > 0 || time.Since(s.lastActivity) < s.e.opt.IdleTimeout
}

func (s *Stream) setState(st State, errMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != st {
		s.since = time.Now()
	}
	s.state = st
	if errMsg != "" {
		s.lastErr, s.lastErrAt = errMsg, time.Now()
	}
}

// run is the stream's goroutine tree.
func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	var wg sync.WaitGroup
	outCtx, stopOuts := context.WithCancel(context.Background())
	for _, o := range s.outs {
		wg.Go(func() { s.drain(outCtx, o) })
	}
	if attach := s.e.opt.Attach; attach != nil {
		wg.Go(func() { attach(outCtx, s) })
	}
	wg.Go(func() { s.meter(ctx) })
	defer func() {
		// Outputs first finish what is queued, then close.
		s.closeTaps()
		wg.Wait()
		stopOuts()
		if s.mse != nil {
			s.mse.CloseAll()
		}
		for _, h := range []*hlsout.Output{s.hls, s.llhls} {
			if h != nil {
				h.Close()
			}
		}
		s.setState(StateStopped, "")
		s.log.Info("Live stream: stopped")
	}()

	backoff := s.e.opt.ReconnectMin
	first := true
	for ctx.Err() == nil {
		if s.cfg.OnDemand && !s.wanted() {
			s.setState(StateIdle, "")
			s.idle(ctx)
			continue
		}
		if !first {
			s.restartTaps()
		}
		first = false
		s.setState(StateConnecting, "")
		sessCtx, cancel := context.WithCancel(ctx)
		var idleStop atomic.Bool
		var watch sync.WaitGroup
		if s.cfg.OnDemand {
			watch.Go(func() { s.idleWatch(sessCtx, cancel, &idleStop) })
		}
		var playing atomic.Bool
		err := s.pull(sessCtx, func() {
			playing.Store(true)
			s.setState(StateOnline, "")
			s.log.Info("Live stream: online")
		})
		cancel()
		watch.Wait()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, filesrc.ErrEnded) {
			s.setState(StateEnded, err.Error())
			s.log.Info("Live stream: " + err.Error())
			if !s.waitEnded(ctx) {
				return
			}
			continue
		}
		if idleStop.Load() {
			s.log.Info("Live stream: no viewers; disconnected until the next one", "idle", s.e.opt.IdleTimeout)
			backoff = s.e.opt.ReconnectMin
			continue
		}
		if err == nil {
			err = source.ErrLost
		}
		s.mu.Lock()
		s.reconnects++
		s.mu.Unlock()
		if playing.Load() {
			backoff = s.e.opt.ReconnectMin
		}
		s.setState(StateOffline, err.Error())
		// Jitter spreads many cameras behind one failed switch.
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("Live stream: camera failed; retrying", "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, s.e.opt.ReconnectMax)
	}
}

// pull runs one session with the stream's source: the camera, or the file.
func (s *Stream) pull(ctx context.Context, onPlaying func()) error {
	if s.cfg.File != "" {
		return filesrc.Run(ctx, filesrc.Config{Path: s.cfg.File, Loop: s.cfg.Loop}, s, &s.stats, s.log, onPlaying)
	}
	return source.Run(ctx, source.Config{
		URL: s.cfg.URL, Transport: s.cfg.Transport,
		ReadTimeout: s.e.opt.ReadTimeout, KeyframeTimeout: s.e.opt.KeyframeTimeout,
	}, s, &s.stats, s.log, onPlaying)
}

// waitEnded holds a file that played once: until the stream stops
// (false), or for an on-demand stream until its viewers have gone, so
// that the next viewer plays it again from the start (true).
func (s *Stream) waitEnded(ctx context.Context) bool {
	if !s.cfg.OnDemand {
		<-ctx.Done()
		return false
	}
	t := time.NewTicker(min(s.e.opt.IdleTimeout/4, 250*time.Millisecond))
	defer t.Stop()
	for s.wanted() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// idleWatch ends an on-demand session when nobody has watched for
// IdleTimeout.
func (s *Stream) idleWatch(ctx context.Context, cancel context.CancelFunc, idled *atomic.Bool) {
	period := min(s.e.opt.IdleTimeout/4, 250*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !s.wanted() {
				idled.Store(true)
				cancel()
				return
			}
		}
	}
}

// drain feeds one output from its queue until the queue is closed.
func (s *Stream) drain(ctx context.Context, o *output) {
	for {
		ev, err := o.tap.Next(ctx)
		if err != nil {
			return
		}
		s.handle(o, ev)
	}
}

// meter samples the bitrate once a second.
func (s *Stream) meter(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := s.stats.Bytes.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			b := s.stats.Bytes.Load()
			rate := float64(b-last) * 8 / now.Sub(lastAt).Seconds()
			last, lastAt = b, now
			s.mu.Lock()
			s.bitrate = rate
			for k, at := range s.hlsClients {
				if now.Sub(at) > 10*time.Second {
					delete(s.hlsClients, k)
				}
			}
			s.mu.Unlock()
		}
	}
}
