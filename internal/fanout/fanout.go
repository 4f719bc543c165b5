// Package fanout passes events between server instances that share one
// PostgreSQL database: what the clients of one instance do (a comment
// added, a notification for a user) reaches the clients connected to the
// others. The events travel through the database's LISTEN/NOTIFY
// (postgres.go), or through a NATS server when one is configured
// (nats.go); each instance ignores its own events, which it has already
// delivered locally.
//
// Delivery is at most once: an instance whose connection drops misses
// what is published until it is back (it logs the gap). What is stored is
// never lost: clients see it when they next open the page.
package fanout

import (
	"context"
	"crypto/rand"
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
)

// MaxEvent bounds an event sent in parts.
const MaxEvent = 8 << 20

// envelopeRoom is what a part's own envelope needs beside its text.
const envelopeRoom = 300

// transport carries envelopes (JSON text) between the instances.
type transport interface {
	// name is what Status and the logs call it.
	name() string
	// maxPayload is the largest message; a larger event is sent in parts.
	maxPayload() int
	// send publishes the messages in order, together where it can (the
	// parts of one event).
	send(ctx context.Context, msgs []string) error
	// run receives until ctx ends, handing each message to f.dispatch
	// and telling f when the link comes up (f.linkUp) and goes down
	// (f.linkDown).
	run(ctx context.Context, f *Fanout) error
	// close releases what send holds, after run has returned.
	close()
}

// Handler receives the data of one event from another instance.
type Handler func(ctx context.Context, data []byte)

// Fanout publishes this instance's events and hands other instances'
// events to the registered handlers.
type Fanout struct {
	t      transport
	origin string
	log    *slog.Logger

	mu        sync.RWMutex
	handlers  map[string]Handler
	nextID    atomic.Uint64
	partial   map[string]*partial // events arriving in parts, by origin/id (listen's goroutine only)
	listening chan struct{}       // closed once the link is first up
	listens   atomic.Int64        // how many times the link came up
	up        atomic.Bool         // the link is up now
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

func newFanout(t transport, log *slog.Logger) *Fanout {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Fanout{t: t, origin: hex.EncodeToString(b), log: log.With("transport", t.name()),
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
// times its link came up (1 after the start, one more after each
// reconnection), for /api/health?details=1.
func (f *Fanout) Status() map[string]any {
	return map[string]any{"transport": f.t.name(), "listening": f.up.Load(), "listens": f.listens.Load()}
}

// linkUp records that events published from now on reach this instance.
func (f *Fanout) linkUp() {
	select {
	case <-f.listening:
		f.log.Info("Hearing the other server instances again")
	default:
		close(f.listening)
	}
	f.listens.Add(1)
	f.up.Store(true)
}

// linkDown records that this instance no longer hears the others.
func (f *Fanout) linkDown(err error, retryIn time.Duration) {
	f.up.Store(false)
	f.log.Warn("Lost the link that hears other server instances; events they publish meanwhile are missed", "err", err, "retry_in", retryIn.String())
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
	if len(b) <= f.t.maxPayload() {
		return f.t.send(ctx, []string{string(b)})
	}
	if len(b) > MaxEvent {
		return fmt.Errorf("event of %d bytes is over the limit of %d", len(b), MaxEvent)
	}
	text := base64.StdEncoding.EncodeToString(b)
	id := f.nextID.Add(1)
	size := f.partSize()
	count := (len(text) + size - 1) / size
	parts := make([]string, 0, count)
	for i := range count {
		p, err := json.Marshal(envelope{Origin: f.origin, Part: &part{ID: id, Index: i, Count: count,
			Text: text[i*size : min((i+1)*size, len(text))]}})
		if err != nil {
			return err
		}
		parts = append(parts, string(p))
	}
	return f.t.send(ctx, parts)
}

// partSize is the base64 text of an event in one part, leaving room for
// the part's own envelope.
func (f *Fanout) partSize() int { return f.t.maxPayload() - envelopeRoom }

// Run listens until ctx ends, reconnecting when the link is lost, and
// then releases the link.
func (f *Fanout) Run(ctx context.Context) error {
	defer f.Close()
	return f.t.run(ctx, f)
}

// Close releases the link of a fanout that only publishes (one that
// Runs releases it when Run returns); publishing after it fails.
func (f *Fanout) Close() { f.t.close() }

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
	if p.Count <= 0 || p.Count > MaxEvent/f.partSize()+1 || p.Index < 0 || p.Index >= p.Count {
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
