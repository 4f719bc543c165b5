package live

import (
	"context"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/clapshot-go/clapshot/internal/live/source"
)

// health is the last probe of an idle on-demand stream.
type health struct {
	at  time.Time // zero: never probed
	err string    // "" when the camera answered with a video track
}

// Probes at once, in all and per camera host, as video-server limits
// them: hundreds of idle cameras must not be dialled in one burst, nor
// one recorder with many channels be asked for all of them together.
const (
	probesAtOnce        = 8
	probesPerHostAtOnce = 2
)

// probeLimit bounds concurrent probes.
type probeLimit struct {
	all *semaphore.Weighted

	mu     sync.Mutex
	byHost map[string]*semaphore.Weighted
}

func newProbeLimit() *probeLimit {
	return &probeLimit{all: semaphore.NewWeighted(probesAtOnce), byHost: map[string]*semaphore.Weighted{}}
}

// acquire waits for a place for a probe of host.
func (l *probeLimit) acquire(ctx context.Context, host string) (release func(), err error) {
	l.mu.Lock()
	h := l.byHost[host]
	if h == nil {
		h = semaphore.NewWeighted(probesPerHostAtOnce)
		l.byHost[host] = h
	}
	l.mu.Unlock()
	if err := h.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	if err := l.all.Acquire(ctx, 1); err != nil {
		h.Release(1)
		return nil, err
	}
	return func() { l.all.Release(1); h.Release(1) }, nil
}

// idle waits, while an on-demand stream has no viewers, for the next one
// (or the stream's end), probing the camera meanwhile if the engine's
// HealthCheck asks for it. The probe never outlives the wait: it stops
// before the session starts.
func (s *Stream) idle(ctx context.Context) {
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if s.e.opt.HealthCheck && s.cfg.File == "" {
		wg.Go(func() { s.probeLoop(pctx) })
	}
	select {
	case <-ctx.Done():
	case <-s.wake:
	}
	cancel()
	wg.Wait()
}

// probeLoop probes at once, then every HealthInterval, until ctx ends.
func (s *Stream) probeLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.probe(ctx)
		t.Reset(s.e.opt.HealthInterval)
	}
}

// probe runs one DESCRIBE and records its verdict; a change is logged.
func (s *Stream) probe(ctx context.Context) {
	host := ""
	if u, err := url.Parse(s.cfg.URL); err == nil {
		host = u.Hostname()
	}
	release, err := s.e.probes.acquire(ctx, host)
	if err != nil {
		return
	}
	defer release()
	err = source.Probe(ctx, s.cfg.URL, s.e.opt.HealthTimeout)
	if ctx.Err() != nil {
		return // a viewer came, or the stream stops: no verdict
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.mu.Lock()
	prev := s.health
	s.health = health{at: time.Now(), err: msg}
	s.mu.Unlock()
	switch {
	case msg != "" && (prev.at.IsZero() || prev.err != msg):
		s.log.Warn("Live stream: idle camera failed its health check", "error", msg)
	case msg == "" && (prev.at.IsZero() || prev.err != ""):
		s.log.Info("Live stream: idle camera answers its health check")
	}
}
