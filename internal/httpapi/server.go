// Package httpapi is the HTTP front door: the route table, the health
// check, request logging and graceful shutdown. Subsystems (uploads, the
// websocket API, static media, the web UI) register their handlers on it.
package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/clapshot-go/clapshot/internal/version"
)

// HealthBody is what Clapshot's /api/health answers; clients check it.
const HealthBody = "I'm alive!"

// ReadyBody is what /api/ready answers once the server can serve.
const ReadyBody = "Ready"

// ReadyPath answers 200 only when the server can serve requests: the
// database is open and migrated and answers. /api/health stays Clapshot's
// liveness check, which answers from the first moment.
const ReadyPath = "/api/ready"

// Server owns the listener and the route table.
type Server struct {
	mux  *http.ServeMux
	log  *slog.Logger
	http *http.Server
	// Status, if set, adds details to /api/health?details=1.
	Status func(ctx context.Context) map[string]any
	// Ready, if set, is asked by /api/ready: an error makes it 503 with
	// the error's text.
	Ready func(ctx context.Context) error
	// Origins, if set, adds CORS headers and refuses cross-site requests
	// from origins it does not allow.
	Origins *OriginPolicy
	// Hosts, if set, refuses requests for host names the server is not
	// known by (DNS rebinding), before anything else looks at them.
	Hosts *HostPolicy
}

// New creates a server with /api/health registered.
func New(log *slog.Logger) *Server {
	s := &Server{mux: http.NewServeMux(), log: log}
	// Any method, and (as warp matched it) any path below it.
	s.mux.HandleFunc("/api/health", s.health)
	s.mux.HandleFunc("/api/health/", s.health)
	s.mux.HandleFunc(ReadyPath, s.ready)
	return s
}

// Handle registers a handler, with the same pattern syntax as
// http.ServeMux ("GET /videos/", "/api/ws", ...).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers a handler function.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Handler is the full handler chain, for tests and for Serve.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	if s.Origins != nil {
		h = s.Origins.cors(h)
	}
	if s.Hosts != nil {
		h = s.Hosts.guard(h)
	}
	return s.logRequests(h)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Clapshot-Server-Version", version.Version)
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Has("details") {
		details := map[string]any{
			"status":              "ok",
			"version":             version.Version,
			"clapshot_compatible": version.ClapshotCompat,
		}
		if s.Status != nil {
			for k, v := range s.Status(r.Context()) {
				details[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(details)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(HealthBody))
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Clapshot-Server-Version", version.Version)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "Not ready: "+err.Error()+"\n")
			return
		}
	}
	_, _ = io.WriteString(w, ReadyBody)
}

// readyTimeout bounds the readiness check: a database that does not answer
// within it is not ready (load balancers time out after a few seconds).
const readyTimeout = 3 * time.Second

// Serve serves on ln until ctx ends, then shuts down gracefully: the
// listener closes at once, in-flight requests get up to grace to finish.
// Long-lived connections (websockets) must watch ctx themselves.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       withConn,
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("Some requests did not finish in time; closing them", "grace", grace)
		err = s.http.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps sendfile(2) for media files when requests are logged
// (-d): http.ServeContent copies with io.Copy, which hands the file to the
// connection only when the writer has a ReadFrom; without it every byte
// would go through a 32 KiB buffer.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack is needed by websocket upgrades, which type-assert http.Hijacker.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Flush passes streaming responses through.
func (r *statusRecorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.Debug("HTTP request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"bytes", rec.bytes, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}
