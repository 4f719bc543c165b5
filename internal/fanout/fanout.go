// Package fanout passes events between server instances that share one
// PostgreSQL database, through its LISTEN/NOTIFY: what the clients of one
// instance do (a comment added, a notification for a user) reaches the
// clients connected to the others. Each instance publishes with
// pg_notify and listens on one channel; it ignores its own events, which
// it has already delivered locally.
//
// Delivery is at most once: an instance whose listening connection drops
// misses what is published until it is back (it logs the gap). What is
// stored is never lost: clients see it when they next open the page.
package fanout

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the notification channel all instances use.
const Channel = "clapshot_fanout"

// maxPayload is below PostgreSQL's limit on a notification (8000 bytes).
const maxPayload = 7900

// Handler receives the data of one event from another instance.
type Handler func(ctx context.Context, data []byte)

// Fanout publishes this instance's events and hands other instances'
// events to the registered handlers.
type Fanout struct {
	url    string
	pub    *sql.DB // the store's pool: publishing is one statement
	origin string
	log    *slog.Logger

	mu        sync.RWMutex
	handlers  map[string]Handler
	listening chan struct{} // closed once LISTEN is first in place
	once      sync.Once
}

type envelope struct {
	Origin string          `json:"o"`
	Kind   string          `json:"k"`
	Data   json.RawMessage `json:"d"`
}

// New prepares a fanout over the database at dbURL; pub is a pool to the
// same database for publishing. Run listens.
func New(dbURL string, pub *sql.DB, log *slog.Logger) *Fanout {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Fanout{url: dbURL, pub: pub, origin: hex.EncodeToString(b), log: log,
		handlers: map[string]Handler{}, listening: make(chan struct{})}
}

// Handle registers the handler of one kind of event (before Run).
func (f *Fanout) Handle(kind string, h Handler) {
	f.mu.Lock()
	f.handlers[kind] = h
	f.mu.Unlock()
}

// Listening is closed once this instance first listens: events
// published from then on reach it.
func (f *Fanout) Listening() <-chan struct{} { return f.listening }

// Publish sends an event of kind with v (JSON) to the other instances.
// A failure is logged, not returned: the event is stored anyway, and the
// local clients already have it.
func (f *Fanout) Publish(ctx context.Context, kind string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(envelope{Origin: f.origin, Kind: kind, Data: data}); err == nil {
			if len(b) > maxPayload {
				err = fmt.Errorf("event of %d bytes is over PostgreSQL's notification limit", len(b))
			} else {
				_, err = f.pub.ExecContext(context.WithoutCancel(ctx), "SELECT pg_notify($1, $2)", Channel, string(b))
			}
		}
	}
	if err != nil {
		f.log.Warn("Cannot tell the other server instances of an event; their clients see it when they reload", "kind", kind, "err", err)
	}
}

// Run listens until ctx ends, reconnecting with a growing delay when the
// connection is lost.
func (f *Fanout) Run(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for {
		err := f.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		f.log.Warn("Lost the PostgreSQL connection that hears other server instances; events they publish meanwhile are missed", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// listen holds one connection, LISTENing, until it fails or ctx ends.
func (f *Fanout) listen(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(f.url)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return err
	}
	f.once.Do(func() { close(f.listening) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		f.dispatch(ctx, n.Payload)
	}
}

func (f *Fanout) dispatch(ctx context.Context, payload string) {
	var e envelope
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		f.log.Warn("Unreadable event from another server instance", "err", err)
		return
	}
	if e.Origin == f.origin {
		return // ours: delivered locally already
	}
	f.mu.RLock()
	h := f.handlers[e.Kind]
	f.mu.RUnlock()
	if h == nil {
		f.log.Debug("Event of a kind this server does not handle (a newer instance?)", "kind", e.Kind)
		return
	}
	h(ctx, e.Data)
}
