package tuslock

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/clapshot-go/clapshot/internal/fanout"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// instance is what one server process has: a fanout and a Locker.
type instance struct {
	locker *Locker
}

// cluster is a database and an admin connection to it.
type cluster struct {
	url string
	pg  *sql.DB
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	u := pgtest.NewDatabase(t)
	pg, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	return &cluster{url: u, pg: pg}
}

// instance starts one process's fanout (withPeers) and Locker; both stop
// when t ends.
func (c *cluster) instance(t *testing.T, withPeers bool) *instance {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	o := Options{URL: c.url, Log: log}
	var f *fanout.Fanout
	if withPeers {
		f = fanout.New(c.url, c.pg, log)
		o.Peers = f
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = f.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case <-f.Listening():
		case <-time.After(30 * time.Second):
			t.Fatal("fanout not listening within 30 s")
		}
	}
	t.Cleanup(l.Close)
	return &instance{locker: l}
}

// held is a taken lock and how often its holder was asked to release it.
type held struct {
	tusd.Lock
	asked atomic.Int32
	ch    chan struct{} // gets a value at each request
}

// take locks id within 10 s; the holder ignores release requests unless
// onRelease does something.
func (in *instance) take(t *testing.T, id string, onRelease func(*held)) *held {
	t.Helper()
	h, err := in.try(id, 10*time.Second, onRelease)
	if err != nil {
		t.Fatalf("lock %s: %v", id, err)
	}
	return h
}

func (in *instance) try(id string, wait time.Duration, onRelease func(*held)) (*held, error) {
	lk, err := in.locker.NewLock(id)
	if err != nil {
		return nil, err
	}
	h := &held{Lock: lk, ch: make(chan struct{}, 64)}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err = lk.Lock(ctx, func() {
		h.asked.Add(1)
		h.ch <- struct{}{}
		if onRelease != nil {
			onRelease(h)
		}
	})
	return h, err
}

func (h *held) waitAsked(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-h.ch:
	case <-time.After(within):
		t.Fatalf("holder not asked to release within %v", within)
	}
	return time.Since(start)
}

// advisoryLocks counts the advisory locks granted in the database.
func (c *cluster) advisoryLocks(t *testing.T) int { return pgtest.AdvisoryLocks(t, c.pg) }

// holderPID is the backend holding id's lock.
func (c *cluster) holderPID(t *testing.T, id string) int {
	t.Helper()
	k := uint64(Key(id))
	var pid int
	if err := c.pg.QueryRow(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND classid = $1 AND objid = $2 AND objsubid = 1`, int64(k>>32), int64(k&0xffffffff)).Scan(&pid); err != nil {
		t.Fatalf("holder of %s: %v", id, err)
	}
	return pid
}

// Two instances (Lockers with their fanouts) on one database: a lock
// held by one is refused to the other until tusd's timeout, and the
// holder is asked, through the fanout, to release it (again while the
// other waits); other uploads are not affected; once unlocked, the
// other takes it at once, and nothing stays locked in PostgreSQL.
func TestLockExcludesAcrossInstances(t *testing.T) {
	c := newCluster(t)
	a, b := c.instance(t, true), c.instance(t, true)

	ha := a.take(t, "upload-1", nil)
	start := time.Now()
	_, err := b.try("upload-1", 2500*time.Millisecond, nil)
	if !errors.Is(err, tusd.ErrLockTimeout) {
		t.Fatalf("second lock on another instance: %v, want ErrLockTimeout", err)
	}
	if waited := time.Since(start); waited < 2500*time.Millisecond || waited > 4*time.Second {
		t.Errorf("refused after %v, want at the lock timeout (2.5 s)", waited)
	}
	// Asked at once, then every reaskEvery.
	if n := ha.asked.Load(); n < 2 || n > 4 {
		t.Errorf("holder asked %d times in 2.5 s, want 2 to 4", n)
	}
	hb := b.take(t, "upload-2", nil)
	if n := c.advisoryLocks(t); n != 2 {
		t.Errorf("%d advisory locks, want 2", n)
	}

	if err := ha.Unlock(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	hb1 := b.take(t, "upload-1", nil)
	t.Logf("taken on b %v after a unlocked", time.Since(start))
	if time.Since(start) > time.Second {
		t.Errorf("a free lock took %v", time.Since(start))
	}
	if ha.asked.Load() > 4 || hb.asked.Load() != 0 {
		t.Errorf("release requests after the lock was free: a %d, b's other upload %d", ha.asked.Load(), hb.asked.Load())
	}
	for _, h := range []*held{hb, hb1} {
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.advisoryLocks(t); n != 0 {
		t.Errorf("%d advisory locks left after unlocking", n)
	}
}

// tusd's release protocol: the holder, asked, stops its request and
// unlocks (as tusd's handler does when its PATCH is interrupted); the
// waiting request then has the lock, well within tusd's lock timeout.
// Across instances the request goes through the fanout; within one
// process, to the holder directly.
func TestReleaseRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		same bool
	}{{"across instances", false}, {"in one process", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			a := c.instance(t, true)
			b := a
			if !tc.same {
				b = c.instance(t, true)
			}
			var unlocked atomic.Int64
			ha := a.take(t, "upload", func(h *held) {
				// tusd cancels the request; its deferred Unlock follows.
				go func() {
					time.Sleep(50 * time.Millisecond)
					if err := h.Unlock(); err != nil {
						t.Error(err)
					}
					unlocked.Store(time.Now().UnixNano())
				}()
			})
			start := time.Now()
			hb, err := b.try("upload", 20*time.Second, nil)
			if err != nil {
				t.Fatalf("lock after a release request: %v", err)
			}
			took := time.Since(start)
			t.Logf("lock taken %v after asking (holder unlocked after 50 ms)", took)
			if ha.asked.Load() != 1 {
				t.Errorf("holder asked %d times, want 1", ha.asked.Load())
			}
			if u := time.Unix(0, unlocked.Load()); unlocked.Load() == 0 || u.After(time.Now()) {
				t.Errorf("lock taken before the holder unlocked")
			}
			if took > 2*time.Second {
				t.Errorf("lock taken after %v, want under 2 s", took)
			}
			if err := hb.Unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Without a fanout, a holder in another process is not asked: the
// waiting request times out (tusd answers 500 ERR_LOCK_TIMEOUT) and the
// holder is left alone.
func TestNoPeersNoRemoteRelease(t *testing.T) {
	c := newCluster(t)
	a, b := c.instance(t, false), c.instance(t, false)
	ha := a.take(t, "upload", nil)
	if _, err := b.try("upload", time.Second, nil); !errors.Is(err, tusd.ErrLockTimeout) {
		t.Fatalf("lock held elsewhere: %v, want ErrLockTimeout", err)
	}
	if ha.asked.Load() != 0 {
		t.Errorf("holder asked %d times without a fanout", ha.asked.Load())
	}
	if err := ha.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// The holder's connection is cut (pg_terminate_backend; a restart of
// PostgreSQL or a broken network does the same): PostgreSQL has dropped
// the lock, so the holder is told to stop its request at once, the other
// instance takes the lock, and the old holder's Unlock does not touch
// the new holder's lock. The pool then makes new connections.
func TestHolderConnectionDropped(t *testing.T) {
	c := newCluster(t)
	a, b := c.instance(t, true), c.instance(t, true)
	ha := a.take(t, "upload", nil)
	pid := c.holderPID(t, "upload")
	if _, err := c.pg.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	t.Logf("holder told %v after its connection was cut", ha.waitAsked(t, 5*time.Second))
	hb := b.take(t, "upload", nil)
	if err := ha.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := c.holderPID(t, "upload"); got == pid {
		t.Fatalf("still held by the cut connection")
	}
	// b still holds it: a cannot take it.
	if _, err := a.try("upload", 300*time.Millisecond, nil); !errors.Is(err, tusd.ErrLockTimeout) {
		t.Fatalf("lock while b holds it: %v, want ErrLockTimeout", err)
	}
	if err := hb.Unlock(); err != nil {
		t.Fatal(err)
	}
	ha2 := a.take(t, "upload", nil)
	if err := ha2.Unlock(); err != nil {
		t.Fatal(err)
	}
	if n := c.advisoryLocks(t); n != 0 {
		t.Errorf("%d advisory locks left", n)
	}
}

// A process's locks reuse its connections: many lock/unlock cycles (a
// HEAD and a PATCH per chunk) open a few, and leave nothing locked.
func TestLockConnectionsReused(t *testing.T) {
	c := newCluster(t)
	a := c.instance(t, false)
	start := time.Now()
	const n = 200
	for i := range n {
		h := a.take(t, "upload", nil)
		if i == 0 {
			if c.advisoryLocks(t) != 1 {
				t.Fatal("lock not visible in pg_locks")
			}
		}
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d lock/unlock cycles in %v (%v each)", n, time.Since(start), time.Since(start)/n)
	if open := a.locker.pool.Stat().TotalConns(); open > 2 {
		t.Errorf("%d connections open after sequential locks, want 1", open)
	}
	if n := c.advisoryLocks(t); n != 0 {
		t.Errorf("%d advisory locks left", n)
	}
}

// Key is fixed: instances of different builds must agree on it.
func TestKeyIsFixed(t *testing.T) {
	if got := Key("0123abcd"); got != -3214216380612049751 {
		t.Fatalf("Key(0123abcd) = %d: changing it breaks locks between instances of different versions", got)
	}
	if Key("a") == Key("b") {
		t.Fatal("Key ignores the id")
	}
}

// Close, at the server's stop, tells the requests still holding locks
// to stop, and returns once they have unlocked; a lock asked for
// afterwards is refused with a 503 that tells the client to retry.
func TestCloseStopsHolders(t *testing.T) {
	c := newCluster(t)
	a := c.instance(t, false)
	const delay = 300 * time.Millisecond
	h := a.take(t, "upload", func(h *held) {
		go func() {
			time.Sleep(delay)
			_ = h.Unlock()
		}()
	})
	start := time.Now()
	done := make(chan struct{})
	go func() {
		a.locker.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s")
	}
	if took := time.Since(start); took < delay {
		t.Errorf("Close returned after %v, before the holder unlocked (%v)", took, delay)
	}
	if h.asked.Load() != 1 {
		t.Errorf("holder asked %d times, want 1", h.asked.Load())
	}
	if n := c.advisoryLocks(t); n != 0 {
		t.Errorf("%d advisory locks left", n)
	}
	_, err := a.try("upload", time.Second, nil)
	var te tusd.Error
	if !errors.As(err, &te) || te.HTTPResponse.StatusCode != 503 {
		t.Errorf("lock after Close: %v, want a 503", err)
	}
}
