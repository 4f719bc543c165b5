package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// While starting, health answers as usual and everything else is 503;
// then the same listener serves the real handler.
func TestStartingThenServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	st := ServeStarting(ln, "opening the database")
	st.SetPhase("migrating the database")

	if code, body := get(t, base+"/api/health"); code != 200 || body != HealthBody {
		t.Errorf("health while starting: %d %q", code, body)
	}
	code, body := get(t, base+"/api/health?details=1")
	var details struct{ Status, Phase string }
	if err := json.Unmarshal([]byte(body), &details); err != nil || code != 200 ||
		details.Status != "starting" || details.Phase != "migrating the database" {
		t.Errorf("details while starting: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/ws"); code != http.StatusServiceUnavailable || body != "The server is starting (migrating the database); try again in a moment.\n" {
		t.Errorf("other path while starting: %d %q", code, body)
	}

	real := st.Stop()
	s := New(slog.New(slog.DiscardHandler))
	s.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("served")) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, real, time.Second) }()
	if code, body := get(t, base+"/x"); code != 200 || body != "served" {
		t.Errorf("after start-up: %d %q", code, body)
	}
	cancel()
	<-done
}

// Readiness: /api/ready is 503 while the server starts (the database is
// being migrated), although /api/health already answers 200; once the
// real handler serves, it is 200 while the readiness check passes and 503
// with the reason when it fails.
func TestReadyOnlyOnceStarted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	st := ServeStarting(ln, "migrating the database")
	if code, _ := get(t, base+"/api/health"); code != 200 {
		t.Errorf("health while migrating: %d, want 200 (liveness)", code)
	}
	for _, path := range []string{"/api/ready", "/api/ready?details=1"} {
		if code, body := get(t, base+path); code != http.StatusServiceUnavailable || !strings.Contains(body, "migrating the database") {
			t.Errorf("%s while migrating: %d %q, want 503 naming the phase", path, code, body)
		}
	}

	real := st.Stop()
	s := New(slog.New(slog.DiscardHandler))
	var dbErr error
	s.Ready = func(context.Context) error { return dbErr }
	// The web UI's catch-all must not answer for /api/ready.
	s.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("index.html")) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, real, time.Second) }()
	defer func() { cancel(); <-done }()
	if code, body := get(t, base+"/api/ready"); code != 200 || body != ReadyBody {
		t.Errorf("ready after start-up: %d %q, want 200 %q", code, body, ReadyBody)
	}
	dbErr = errors.New("database is locked")
	if code, body := get(t, base+"/api/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database is locked") {
		t.Errorf("ready with a failing database: %d %q, want 503 with the reason", code, body)
	}
}
