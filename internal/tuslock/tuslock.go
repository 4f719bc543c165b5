// Package tuslock is a lock for resumable (tus) uploads shared by server
// instances on one PostgreSQL database: tusd's Locker, on PostgreSQL's
// session advisory locks.
//
// tusd locks an upload for each request that reads or writes it (HEAD,
// PATCH, DELETE). Its memorylocker holds the lock in one process, which
// is enough while one server owns the uploads. Several instances behind a
// proxy share the uploads (the data directory's upload/tus/, or the media
// store's), and a client that resumes through another instance (its
// first died, or the proxy balanced the next request elsewhere) must not
// have two PATCHes append to the same upload at once. Here each lock is
// pg_try_advisory_lock on its own connection, held for the lock's life:
//
//   - it is exclusive across every process on the database;
//   - PostgreSQL drops it with the session when the holding process dies
//     (its socket closes), or, for a host lost from the network, once
//     TCP keepalives (set on each connection, keepaliveSQL) give up;
//   - the holder watches its connection: if that connection is lost, the
//     lock may be another's, so the holder's request is stopped at once.
//
// tusd's release protocol: a request that finds the lock held asks the
// holder to release it (tusd then ends the holder's PATCH, keeping what
// arrived), so a client resuming after a broken connection does not wait
// for its old, dead PATCH to time out. A holder in this process is asked
// directly; one in another instance through the fanout (LISTEN/NOTIFY):
// an event naming the upload, which each instance checks against the
// locks it holds. Fanout delivery is at most once, and the holder may
// take the lock just after the ask, so the asker asks again every
// reaskEvery while it waits. It waits by trying the lock again with a
// growing pause (pollFirst to pollMax) until tusd's lock timeout. A
// blocking pg_advisory_lock would wake at once, but giving up on it means
// cancelling a statement in flight, which races with its success; a try
// is one short statement that never blocks.
package tuslock

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/clapshot-go/clapshot/internal/fanout"
)

// ReleaseKind is the fanout kind of a request to release an upload's
// lock.
const ReleaseKind = "tus_release"

// MaxConns bounds the lock connections of one process: each tus request
// in progress (a PATCH for as long as its body arrives) holds one.
// Further requests wait for one until tusd's lock timeout.
const MaxConns = 32

const (
	pollFirst  = 20 * time.Millisecond
	pollMax    = 500 * time.Millisecond
	reaskEvery = time.Second
	// unlockTimeout bounds pg_advisory_unlock; past it the connection is
	// closed, which drops the lock as well.
	unlockTimeout = 5 * time.Second
)

// keepaliveSQL makes PostgreSQL give up on a lock connection whose host
// went silent (lost, cut off) after about a minute, dropping its locks;
// the operating system's default is two hours. Set after connecting
// rather than as startup parameters, which a session-mode pooler may
// refuse. (On a Unix socket they are ignored.)
const keepaliveSQL = "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3"

// dialKeepalive is this side's: a holder whose server went silent learns
// it in about 25 s, before PostgreSQL drops its lock (60 s), and stops
// its request.
var dialKeepalive = net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}

// Peers reaches the other instances (fanout.Fanout).
type Peers interface {
	Publish(ctx context.Context, kind string, v any)
	Handle(kind string, h fanout.Handler)
}

// Options configure a Locker.
type Options struct {
	// URL is the database's (--db-url).
	URL string
	// Peers, if set, carries release requests to the other instances;
	// without it they reach this process's holders only.
	Peers Peers
	Log   *slog.Logger // nil: no log
}

// Locker is tusd's Locker on PostgreSQL advisory locks.
type Locker struct {
	pool  *pgxpool.Pool
	peers Peers
	log   *slog.Logger

	mu   sync.Mutex
	held map[string]*lock // the locks this process holds, by upload id
}

// New prepares a Locker; it connects when a lock is first taken. Close
// it after the last request.
func New(o Options) (*Locker, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("tus locks: database URL: %w", err)
	}
	cfg.MaxConns = MaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	cc := &cfg.ConnConfig.Config
	// Giving up on a statement sets the socket's deadline rather than
	// sending PostgreSQL a cancel request: the watcher's wait (below)
	// is given up on at every Unlock, and a cancel request arriving late
	// would cancel the next statement, pg_advisory_unlock.
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	cc.DialFunc = (&net.Dialer{KeepAliveConfig: dialKeepalive}).DialContext
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, keepaliveSQL)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("tus locks: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Locker{pool: pool, peers: o.Peers, log: o.Log, held: map[string]*lock{}}
	if l.peers != nil {
		l.peers.Handle(ReleaseKind, l.peerRelease)
	}
	return l, nil
}

// Close closes the lock connections, after the requests still holding
// locks (the HTTP server has stopped) have been told to stop and have
// unlocked.
func (l *Locker) Close() {
	l.mu.Lock()
	held := make([]*lock, 0, len(l.held))
	for _, k := range l.held {
		held = append(held, k)
	}
	l.mu.Unlock()
	for _, k := range held {
		k.requestRelease()
	}
	l.pool.Close()
}

// UseIn makes the composer's handler use l.
func (l *Locker) UseIn(c *tusd.StoreComposer) { c.UseLocker(l) }

// NewLock is tusd's: a lock for upload id, not yet taken.
func (l *Locker) NewLock(id string) (tusd.Lock, error) {
	return &lock{l: l, id: id, key: Key(id)}, nil
}

// Key is the advisory lock key of upload id (bigint key space, shared
// with the server's own two keys, which a hash hits with a probability
// of 2^-63).
func Key(id string) int64 {
	h := sha256.Sum256([]byte("clapshot tus upload\x00" + id))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

type releaseRequest struct {
	ID string `json:"id"`
}

// peerRelease is another instance asking for a lock: if this process
// holds it, its request is told to stop.
func (l *Locker) peerRelease(_ context.Context, data []byte) {
	var r releaseRequest
	if err := json.Unmarshal(data, &r); err != nil || r.ID == "" {
		l.log.Warn("Unreadable tus lock release request from another server instance", "err", err)
		return
	}
	if l.releaseLocal(r.ID) {
		l.log.Debug("Another server instance wants a resumable upload; stopping its request here", "id", r.ID)
	}
}

// releaseLocal asks this process's holder of id's lock, if any, to
// release it.
func (l *Locker) releaseLocal(id string) bool {
	l.mu.Lock()
	h := l.held[id]
	l.mu.Unlock()
	if h == nil {
		return false
	}
	h.requestRelease()
	return true
}

// askRelease asks the holder of id's lock, wherever it is, to release it.
func (l *Locker) askRelease(ctx context.Context, id string) {
	if l.releaseLocal(id) {
		return // nobody else can hold it
	}
	if l.peers != nil {
		l.peers.Publish(ctx, ReleaseKind, releaseRequest{ID: id})
	}
}

// lock is one upload's lock, for one request.
type lock struct {
	l   *Locker
	id  string
	key int64

	conn           *pgxpool.Conn // while held
	requestRelease func()
	stopWatch      context.CancelFunc
	watched        chan struct{} // closed when the watcher has returned
	lost           bool          // the connection failed (set by the watcher, read after watched)
}

// errUnavailable is the answer when PostgreSQL cannot be reached: tus
// clients retry a 503.
func errUnavailable(id string, err error) error {
	return tusd.NewError("ERR_LOCK_UNAVAILABLE",
		fmt.Sprintf("cannot lock upload %s: the database does not answer (%v); try again", id, err), http.StatusServiceUnavailable)
}

// Lock is tusd's: it takes the lock, asking its holder to release it
// and trying again until ctx ends (tusd.ErrLockTimeout).
func (k *lock) Lock(ctx context.Context, requestRelease func()) error {
	conn, err := k.l.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return tusd.ErrLockTimeout
		}
		return errUnavailable(k.id, err)
	}
	pause := pollFirst
	var asked time.Time
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", k.key).Scan(&ok); err != nil {
			// The statement may have taken the lock before it failed:
			// closing the session drops it either way.
			closeConn(conn)
			if ctx.Err() != nil {
				return tusd.ErrLockTimeout
			}
			return errUnavailable(k.id, err)
		}
		if ok {
			break
		}
		if time.Since(asked) >= reaskEvery {
			k.l.askRelease(ctx, k.id)
			asked = time.Now()
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return tusd.ErrLockTimeout
		case <-time.After(pause):
		}
		pause = min(pause*2, pollMax)
	}
	k.conn, k.requestRelease = conn, requestRelease
	wctx, stop := context.WithCancel(context.Background())
	k.stopWatch, k.watched = stop, make(chan struct{})
	k.l.mu.Lock()
	k.l.held[k.id] = k
	k.l.mu.Unlock()
	go k.watch(wctx)
	return nil
}

// watch waits on the idle connection until Unlock stops it. A connection
// that fails meanwhile has lost the lock: the request is stopped before
// another takes the lock and writes too.
func (k *lock) watch(ctx context.Context) {
	defer close(k.watched)
	pc := k.conn.Conn().PgConn()
	for {
		// Without LISTEN nothing arrives; this returns when ctx ends or
		// the connection fails.
		err := pc.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			k.lost = true
			k.l.log.Warn("Lost the PostgreSQL connection holding a resumable upload's lock; stopping its request (the client resumes)",
				"id", k.id, "err", err)
			k.requestRelease()
			return
		}
	}
}

// Unlock is tusd's. Errors are not returned (tusd ignores them): a lock
// that cannot be released cleanly is dropped with its connection.
func (k *lock) Unlock() error {
	if k.conn == nil {
		return nil
	}
	k.l.mu.Lock()
	if k.l.held[k.id] == k {
		delete(k.l.held, k.id)
	}
	k.l.mu.Unlock()
	k.stopWatch()
	<-k.watched
	conn := k.conn
	k.conn = nil
	if k.lost {
		closeConn(conn)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", k.key).Scan(&ok); err != nil || !ok {
		if err == nil {
			err = errors.New("the session did not hold it")
		}
		k.l.log.Warn("Cannot release a resumable upload's lock; closing its connection, which does", "id", k.id, "err", err)
		closeConn(conn)
		return nil
	}
	conn.Release()
	return nil
}

// closeConn takes conn out of the pool and closes it: PostgreSQL ends
// the session and drops every lock it held.
func closeConn(conn *pgxpool.Conn) {
	c := conn.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
