package fanout

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type inbox struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newInbox() *inbox { return &inbox{ch: make(chan string, 16)} }

func (b *inbox) handler(_ context.Context, data []byte) {
	var s string
	_ = json.Unmarshal(data, &s)
	b.mu.Lock()
	b.got = append(b.got, s)
	b.mu.Unlock()
	b.ch <- s
}

func (b *inbox) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-b.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return ""
}

func start(t *testing.T, ctx context.Context, u string, pub *sql.DB) (*Fanout, *inbox) {
	t.Helper()
	return run(t, ctx, New(u, pub, slog.New(slog.DiscardHandler)))
}

// run runs f until ctx ends, with an inbox for kind "test".
func run(t *testing.T, ctx context.Context, f *Fanout) (*Fanout, *inbox) {
	t.Helper()
	in := newInbox()
	f.Handle("test", in.handler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	t.Cleanup(func() { <-done })
	select {
	case <-f.Listening():
	case <-time.After(30 * time.Second):
		t.Fatal("not listening within 30 s")
	}
	return f, in
}

// twoInstances starts two fanouts on a new database; they stop when t
// ends.
func twoInstances(t *testing.T) (context.Context, *sql.DB, *Fanout, *inbox, *Fanout, *inbox) {
	t.Helper()
	u := pgtest.NewDatabase(t)
	pub, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	a, inA := start(t, ctx, u, pub)
	b, inB := start(t, ctx, u, pub)
	t.Cleanup(cancel) // first: the instances' Run returns
	return ctx, pub, a, inA, b, inB
}

// Two instances on one database: each hears the other's events, in
// order, and not its own; after its connection is cut, an instance
// listens again and hears what comes next.
func TestFanoutBetweenInstances(t *testing.T) {
	ctx, pub, a, inA, b, inB := twoInstances(t)

	sent := time.Now()
	a.Publish(ctx, "test", "one")
	if got := inB.next(t); got != "one" {
		t.Fatalf("b got %q", got)
	}
	t.Logf("one event from a to b in %v", time.Since(sent))
	b.Publish(ctx, "test", "two")
	b.Publish(ctx, "test", "three")
	a.Publish(ctx, "other kind", "ignored")
	if got := []string{inA.next(t), inA.next(t)}; got[0] != "two" || got[1] != "three" {
		t.Fatalf("a got %v", got)
	}
	a.Publish(ctx, "test", "four")
	if got := inB.next(t); got != "four" {
		t.Fatalf("b got %q", got)
	}
	inA.mu.Lock()
	if len(inA.got) != 2 {
		t.Errorf("a heard its own events: %v", inA.got)
	}
	inA.mu.Unlock()

	// Cut every listening connection; b comes back and hears a again.
	var cut int
	if err := pub.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`).Scan(&cut); err != nil || cut != 2 {
		t.Fatalf("cut %d listening connections (%v), want 2", cut, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		a.Publish(ctx, "test", "after")
		select {
		case got := <-inB.ch:
			if got != "after" {
				t.Fatalf("b got %q", got)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("b did not listen again within 30 s")
		}
	}
}

// An event larger than a notification (a collab drawing) arrives whole,
// in parts, in its place among the others; one over MaxEvent is refused
// (logged), not sent cut short.
func TestFanoutLargeEvents(t *testing.T) {
	ctx, _, a, _, _, inB := twoInstances(t)
	for _, n := range []int{7000, 9000, 300_000} {
		// Multi-byte text, so that a part boundary falls inside a rune.
		big := strings.Repeat("é", n/2) + strconv.Itoa(n)
		a.Publish(ctx, "test", "before")
		a.Publish(ctx, "test", big)
		a.Publish(ctx, "test", "after")
		if got := []string{inB.next(t), inB.next(t), inB.next(t)}; got[0] != "before" || got[1] != big || got[2] != "after" {
			t.Fatalf("%d bytes: b got %q, %d bytes, %q", n, got[0], len(got[1]), got[2])
		}
	}
	a.Publish(ctx, "test", strings.Repeat("x", MaxEvent+1))
	a.Publish(ctx, "test", "small")
	if got := inB.next(t); got != "small" {
		t.Fatalf("b got %d bytes first", len(got))
	}
}

// PostgreSQL restarted three times: each time both instances listen again
// soon after it is back (the retry delay starts small again at every
// outage), say so in Status, and hear each other.
func TestFanoutAcrossRestarts(t *testing.T) {
	srv := pgtest.StartServer(t)
	u := srv.NewDatabase(t)
	pub, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := start(t, ctx, u, pub)
	b, inB := start(t, ctx, u, pub)
	t.Cleanup(cancel)
	for round := 2; round <= 4; round++ {
		if err := srv.Halt(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		if err := srv.Resume(context.Background()); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		for _, f := range []*Fanout{a, b} {
			for st := f.Status(); st["listening"] != true || st["listens"] != int64(round); st = f.Status() {
				if time.Since(back) > 3*time.Second {
					t.Fatalf("outage %d: %v after PostgreSQL was back, status %v", round-1, time.Since(back), st)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		t.Logf("outage %d: both listening %v after PostgreSQL was back", round-1, time.Since(back).Round(time.Millisecond))
		a.Publish(ctx, "test", "after restart")
		if got := inB.next(t); got != "after restart" {
			t.Fatalf("b got %q", got)
		}
	}
}
