package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/version"
)

// Starting answers on the server's listener while the server starts
// (migrating the database, waiting for the organizer): /api/health as
// usual, so monitors and Clapshot's client (which gives up for good on a
// non-2xx health answer) see the server is there, and 503 with the reason
// for every other path, /api/ready included. Stop hands the listener back for Serve.
type Starting struct {
	srv   *http.Server
	ln    *pausable
	done  chan struct{}
	mu    sync.Mutex
	phase string
}

// ServeStarting starts answering on ln. The listener must support
// deadlines (TCP and Unix listeners do).
func ServeStarting(ln net.Listener, phase string) *Starting {
	s := &Starting{ln: &pausable{Listener: ln, stop: make(chan struct{})}, done: make(chan struct{}), phase: phase}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.ln)
	}()
	return s
}

// SetPhase says what the server is doing, e.g. "migrating the database".
func (s *Starting) SetPhase(p string) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

func (s *Starting) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	phase := s.phase
	s.mu.Unlock()
	w.Header().Set("X-Clapshot-Server-Version", version.Version)
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == "/api/health" || strings.HasPrefix(r.URL.Path, "/api/health/") {
		if r.URL.Query().Has("details") {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"status": "starting", "phase": phase,
				"version": version.Version, "clapshot_compatible": version.ClapshotCompat,
			})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(HealthBody))
		return
	}
	w.Header().Set("Retry-After", "2")
	if r.URL.Path == ReadyPath {
		http.Error(w, "Not ready: the server is starting ("+phase+").", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "The server is starting ("+phase+"); try again in a moment.", http.StatusServiceUnavailable)
}

// Stop stops answering and waits (briefly) for requests in flight. It
// returns the listener for the real server: the original one, plus any
// connection accepted as the starting server stopped.
func (s *Starting) Stop() net.Listener {
	s.ln.pause()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.ln.resume()
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	if len(s.ln.pending) == 0 {
		return s.ln.Listener
	}
	return &handover{Listener: s.ln.Listener, pending: s.ln.pending}
}

// handover yields the connections accepted during the switch first.
type handover struct {
	net.Listener
	mu      sync.Mutex
	pending []net.Conn
}

func (h *handover) Accept() (net.Conn, error) {
	h.mu.Lock()
	if len(h.pending) > 0 {
		c := h.pending[0]
		h.pending = h.pending[1:]
		h.mu.Unlock()
		return c, nil
	}
	h.mu.Unlock()
	return h.Listener.Accept()
}

// pausable is a listener whose Close only stops Accept (by a deadline),
// so that a second server can take it over.
type pausable struct {
	net.Listener
	once    sync.Once
	stop    chan struct{}
	mu      sync.Mutex
	pending []net.Conn
}

type deadliner interface{ SetDeadline(time.Time) error }

func (p *pausable) Accept() (net.Conn, error) {
	for {
		c, err := p.Listener.Accept()
		select {
		case <-p.stop:
			if c != nil {
				// Accepted just as we stopped: the next server gets it.
				p.mu.Lock()
				p.pending = append(p.pending, c)
				p.mu.Unlock()
			}
			return nil, net.ErrClosed
		default:
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return nil, err
		}
		return c, nil
	}
}

func (p *pausable) pause() {
	p.once.Do(func() {
		close(p.stop)
		if d, ok := p.Listener.(deadliner); ok {
			_ = d.SetDeadline(time.Now())
		}
	})
}

func (p *pausable) resume() {
	if d, ok := p.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Time{})
	}
}

// Close is called by http.Server.Shutdown; it must not close the real
// listener.
func (p *pausable) Close() error {
	p.pause()
	return nil
}
