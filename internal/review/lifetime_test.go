package review_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/store"
)

// The hub's lifetime is the context given to NewHub: when it ends, its
// sessions are closed as "going away", new ones are refused, Wait returns
// and no goroutine of the hub's (readers, writers, pong waiters) is left.
func TestHubEndsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := review.NewHub(ctx, review.Options{DB: store.Bind[review.Queries](db), DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
		Identity: &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		// Pings all the time, so that pong waiters are running at the end.
		PingInterval: 10 * time.Millisecond, PongTimeout: time.Minute})
	ts := httptest.NewServer(hub)
	defer ts.Close()
	url := strings.Replace(ts.URL, "http", "ws", 1) + "/api/ws"

	dctx, dcancel := context.WithTimeout(context.Background(), waitTime)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				closed <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // a few pings
	if got := hub.UserSessions("anonymous"); len(got) != 1 {
		t.Fatalf("sessions %v", got)
	}

	cancel()
	select {
	case err := <-closed:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("closed with %v, want going away", err)
		}
	case <-time.After(waitTime):
		t.Fatal("session not closed")
	}
	waited := make(chan error, 1)
	go func() { waited <- hub.Wait() }()
	select {
	case <-waited:
	case <-time.After(waitTime):
		t.Fatal("Wait did not return")
	}
	resp, err := http.Get(ts.URL + "/api/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a connection after the end: %s", resp.Status)
	}
}
