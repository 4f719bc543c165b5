package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// After the context ends, a request already being served finishes and gets
// its full response; new connections are refused.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	s := New(slog.New(slog.DiscardHandler))
	started := make(chan struct{})
	s.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/api/health"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestHealth(t *testing.T) {
	s := New(slog.New(slog.DiscardHandler))
	s.Status = func(context.Context) map[string]any { return map[string]any{"database": "ok"} }
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, ln, time.Second)
	base := "http://" + ln.Addr().String()
	for _, path := range []string{"/api/health", "/api/health/extra/segments"} {
		resp, err := http.Post(base+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != HealthBody {
			t.Errorf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(base + "/api/health?details=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"database":"ok"`) || !strings.Contains(string(b), `"clapshot_compatible":"0.8.2"`) {
		t.Errorf("details: %s", b)
	}
}

// With request logging on, a file served with http.ServeContent still goes
// through the connection's ReadFrom (sendfile), and its bytes are counted.
func TestLoggedRequestKeepsReadFrom(t *testing.T) {
	var logged strings.Builder
	s := New(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var sawReadFrom bool
	s.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		_, sawReadFrom = w.(io.ReaderFrom)
		http.ServeContent(w, r, "f.bin", time.Time{}, strings.NewReader(strings.Repeat("x", 100_000)))
	})
	base, stop := serveLoopback(t, s)
	req, _ := http.NewRequest("GET", base+"/file", nil)
	req.Header.Set("Range", "bytes=1000-1999")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if resp.StatusCode != http.StatusPartialContent || len(b) != 1000 {
		t.Fatalf("Range GET: %d, %d bytes", resp.StatusCode, len(b))
	}
	if !sawReadFrom {
		t.Error("the logging wrapper hides io.ReaderFrom (no sendfile for media)")
	}
	if !strings.Contains(logged.String(), "status=206 bytes=1000") {
		t.Errorf("access log: %s", logged.String())
	}
}

// serveLoopback serves s on a loopback port until stop is called (or the
// test ends); base is "http://127.0.0.1:<port>". stop waits for Serve.
func serveLoopback(t *testing.T, s *Server) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, time.Second) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}
