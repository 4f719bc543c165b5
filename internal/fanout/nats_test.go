package fanout

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/natstest"
)

func startNATS(t *testing.T, ctx context.Context, url, subject string) (*Fanout, *inbox) {
	t.Helper()
	f, err := NewNATS(url, subject, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return run(t, ctx, f)
}

// Instances of one database hear each other through NATS, in order and
// not their own events; another database's instances on the same NATS
// server hear none of it. Events over NATS's message limit arrive whole.
func TestNATSBetweenInstances(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	subject := SubjectFor("postgres://u:p@db.example:5432/clapshot")
	a, inA := startNATS(t, ctx, srv.URL, subject)
	_, inB := startNATS(t, ctx, srv.URL, SubjectFor("postgres://other:secret@db.example:5432/clapshot"))
	_, inOther := startNATS(t, ctx, srv.URL, SubjectFor("postgres://u:p@db.example:5432/another"))
	t.Cleanup(cancel)

	sent := time.Now()
	a.Publish(ctx, "test", "one")
	if got := inB.next(t); got != "one" {
		t.Fatalf("b got %q", got)
	}
	t.Logf("one event from a to b in %v", time.Since(sent))
	for _, n := range []int{900_000, 3_000_000} {
		big := strings.Repeat("é", n/2)
		a.Publish(ctx, "test", "before")
		a.Publish(ctx, "test", big)
		a.Publish(ctx, "test", "after")
		if got := []string{inB.next(t), inB.next(t), inB.next(t)}; got[0] != "before" || got[1] != big || got[2] != "after" {
			t.Fatalf("%d bytes: b got %q, %d bytes, %q", n, got[0], len(got[1]), got[2])
		}
	}
	time.Sleep(200 * time.Millisecond)
	inA.mu.Lock()
	if len(inA.got) != 0 {
		t.Errorf("a heard its own events: %d", len(inA.got))
	}
	inA.mu.Unlock()
	inOther.mu.Lock()
	if len(inOther.got) != 0 {
		t.Errorf("another database's instance heard %d events", len(inOther.got))
	}
	inOther.mu.Unlock()
	if st := a.Status(); st["transport"] != "nats" || st["listening"] != true {
		t.Errorf("status %v", st)
	}
}

// The NATS server restarted: both instances connect again by themselves,
// say so in Status, and hear each other.
func TestNATSServerRestart(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := startNATS(t, ctx, srv.URL, "clapshot.fanout.test")
	b, inB := startNATS(t, ctx, srv.URL, "clapshot.fanout.test")
	t.Cleanup(cancel)
	srv.Stop()
	for _, f := range []*Fanout{a, b} {
		for deadline := time.Now().Add(10 * time.Second); f.Status()["listening"] != false; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("still listening 10 s after NATS stopped: %v", f.Status())
			}
		}
	}
	srv.Start()
	back := time.Now()
	for _, f := range []*Fanout{a, b} {
		for st := f.Status(); st["listening"] != true || st["listens"] != int64(2); st = f.Status() {
			if time.Since(back) > 10*time.Second {
				t.Fatalf("%v after NATS was back, status %v", time.Since(back), st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("both listening %v after NATS was back", time.Since(back).Round(time.Millisecond))
	a.Publish(ctx, "test", "after restart")
	if got := inB.next(t); got != "after restart" {
		t.Fatalf("b got %q", got)
	}
}
