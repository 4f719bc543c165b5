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
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the notification channel all instances use.
const Channel = "clapshot_fanout"

// maxPayload is below PostgreSQL's limit on a notification (8000 bytes).
// A larger event (a collab drawing) is sent in parts, all in one
// transaction, which PostgreSQL delivers together and in order.
const maxPayload = 7900

// partSize is the base64 text of the event in one part, leaving room for
// the part's own envelope.
const partSize = 7600

// MaxEvent bounds an event sent in parts.
const MaxEvent = 8 << 20

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
	nextID    atomic.Uint64
	partial   map[string]*partial // events arriving in parts, by origin/id (listen's goroutine only)
	listening chan struct{}       // closed once LISTEN is first in place
	listens   atomic.Int64        // how many times LISTEN was put in place
	up        atomic.Bool         // LISTEN is in place now
}

type envelope struct {
	Origin string          `json:"o"`
	Kind   string          `json:"k,omitempty"`
	Data   json.RawMessage `json:"d,omitempty"`
	Part   *part           `json:"p,omitempty"`
}

// part is one piece of an event too large for a notification: the
// base64 text of its whole envelope, cut in N pieces.
type part struct {
	ID    uint64 `json:"id"`
	Index int    `json:"i"`
	Count int    `json:"n"`
	Text  string `json:"t"`
}

type partial struct {
	parts []string
	got   int
	since time.Time
}

// New prepares a fanout over the database at dbURL; pub is a pool to the
// same database for publishing. Run listens.
func New(dbURL string, pub *sql.DB, log *slog.Logger) *Fanout {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Fanout{url: dbURL, pub: pub, origin: hex.EncodeToString(b), log: log,
		handlers: map[string]Handler{}, partial: map[string]*partial{}, listening: make(chan struct{})}
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

// Status says whether this instance hears the others now, and how many
// times it has put LISTEN in place (1 after the start, one more after
// each reconnection), for /api/health?details=1.
func (f *Fanout) Status() map[string]any {
	return map[string]any{"listening": f.up.Load(), "listens": f.listens.Load()}
}

// Publish sends an event of kind with v (JSON) to the other instances.
// A failure is logged, not returned: the event is stored anyway, and the
// local clients already have it.
func (f *Fanout) Publish(ctx context.Context, kind string, v any) {
	err := f.publish(ctx, kind, v)
	if err != nil {
		f.log.Warn("Cannot tell the other server instances of an event; their clients see it when they reload", "kind", kind, "err", err)
	}
}

func (f *Fanout) publish(ctx context.Context, kind string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(envelope{Origin: f.origin, Kind: kind, Data: data})
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if len(b) <= maxPayload {
		_, err = f.pub.ExecContext(ctx, "SELECT pg_notify($1, $2)", Channel, string(b))
		return err
	}
	if len(b) > MaxEvent {
		return fmt.Errorf("event of %d bytes is over the limit of %d", len(b), MaxEvent)
	}
	text := base64.StdEncoding.EncodeToString(b)
	id := f.nextID.Add(1)
	count := (len(text) + partSize - 1) / partSize
	parts := make([]string, 0, count)
	for i := range count {
		p, err := json.Marshal(envelope{Origin: f.origin, Part: &part{ID: id, Index: i, Count: count,
			Text: text[i*partSize : min((i+1)*partSize, len(text))]}})
		if err != nil {
			return err
		}
		parts = append(parts, string(p))
	}
	// One statement, one transaction: the parts arrive together.
	_, err = f.pub.ExecContext(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i", Channel, parts)
	return err
}

// Run listens until ctx ends, reconnecting with a growing delay when the
// connection is lost.
func (f *Fanout) Run(ctx context.Context) error {
	const first = 500 * time.Millisecond
	delay := first
	for {
		listened, err := f.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			// It was up: the next outage is a new one, retried quickly
			// again (a database restart is over in seconds).
			delay = first
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

// listen holds one connection, LISTENing, until it fails or ctx ends;
// listened says whether LISTEN was in place.
func (f *Fanout) listen(ctx context.Context) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(f.url)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, err
	}
	select {
	case <-f.listening:
		f.log.Info("Hearing the other server instances again")
	default:
		close(f.listening)
	}
	f.listens.Add(1)
	f.up.Store(true)
	defer f.up.Store(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
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
	if e.Part != nil {
		whole, ok := f.assemble(e.Origin, e.Part)
		if !ok {
			return
		}
		e = envelope{}
		if err := json.Unmarshal(whole, &e); err != nil || e.Part != nil {
			f.log.Warn("Unreadable event in parts from another server instance", "err", err)
			return
		}
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

// assemble keeps a part of an event and returns the whole envelope once
// every part is in. Parts of one event come together; one left incomplete
// (its sender died mid-way, or this listener reconnected) is dropped.
func (f *Fanout) assemble(origin string, p *part) ([]byte, bool) {
	if p.Count <= 0 || p.Count > MaxEvent/partSize+1 || p.Index < 0 || p.Index >= p.Count {
		f.log.Warn("Malformed event part from another server instance", "index", p.Index, "count", p.Count)
		return nil, false
	}
	now := time.Now()
	for k, pa := range f.partial {
		if now.Sub(pa.since) > 30*time.Second {
			delete(f.partial, k)
			f.log.Warn("Dropped an event from another server instance that never arrived whole")
		}
	}
	key := origin + "/" + strconv.FormatUint(p.ID, 10)
	pa := f.partial[key]
	if pa == nil {
		pa = &partial{parts: make([]string, p.Count), since: now}
		f.partial[key] = pa
	}
	if len(pa.parts) != p.Count || pa.parts[p.Index] != "" {
		delete(f.partial, key)
		f.log.Warn("Inconsistent event parts from another server instance")
		return nil, false
	}
	pa.parts[p.Index] = p.Text
	if pa.got++; pa.got < p.Count {
		return nil, false
	}
	delete(f.partial, key)
	whole, err := base64.StdEncoding.DecodeString(strings.Join(pa.parts, ""))
	if err != nil {
		f.log.Warn("Unreadable event in parts from another server instance", "err", err)
		return nil, false
	}
	return whole, true
}
