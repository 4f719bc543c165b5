// Package servertest has helpers for Go tests that run a whole server
// (with an organizer plugin, usually) over real sockets.
package servertest

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// ShortDir is a temporary data directory with a short path: Unix socket
// paths are limited to 107 bytes, and t.TempDir() paths carry the test's
// name.
func ShortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "cso")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Config parses a server command line for dir, as clapshot-server would,
// with an ephemeral port, --migrate and one worker.
func Config(t testing.TB, dir string, args ...string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse(append([]string{"--data-dir", dir, "--port", "0", "--migrate", "--workers", "1", "--poll", "0.1"}, args...),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServer is a running server.
type TestServer struct {
	App  *app.App
	Base string // http://127.0.0.1:<port>
	Log  *testkit.SyncBuffer
	stop func()
}

// Stop stops the server (also done at the end of the test).
func (s *TestServer) Stop() { s.stop() }

// StartServer starts a server on dir with the given command-line
// arguments; it stops at the end of the test, and its log is shown if the
// test failed. A failed start returns the error with the log so far.
func StartServer(t testing.TB, dir string, args []string, opts ...app.Option) (*TestServer, error) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Start(context.Background(), Config(t, dir, args...), log, opts...)
	if err != nil {
		return &TestServer{Log: logs}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	s := &TestServer{App: a, Base: "http://" + a.Listener.Addr().String(), Log: logs}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server stopped with an error: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("server did not stop in time")
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return s, nil
}
