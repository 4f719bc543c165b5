// Package queue is the bounded, never-blocking hand-over between one
// producer (a camera's reader, a shared muxer) and one slow consumer (an
// output, a viewer's socket).
//
// A full queue never makes the producer wait: it throws away what is
// queued and then everything up to the next key item (a video keyframe),
// so a consumer that falls behind skips to the next picture it can decode
// and never resumes in the middle of a group of pictures. Sticky items
// (new codec parameters, init segments) are never thrown away.
package queue

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Pop once the queue is closed and drained.
var ErrClosed = errors.New("queue closed")

// Queue holds up to Max ordinary items.
type Queue[T any] struct {
	max int

	mu       sync.Mutex
	items    []entry[T]
	ordinary int  // items that are not sticky
	dropping bool // skipping to the next key item
	overflow bool // ... because the consumer fell behind (counted in dropped)
	dropped  uint64
	closed   bool
	notify   chan struct{}
}

type entry[T any] struct {
	v      T
	sticky bool
}

// New returns a queue for at most max ordinary items. The consumer starts
// at the first key item when waitKey is true (a new viewer joins at a
// keyframe).
func New[T any](max int, waitKey bool) *Queue[T] {
	if max < 1 {
		max = 1
	}
	return &Queue[T]{max: max, dropping: waitKey, notify: make(chan struct{}, 1)}
}

// Push adds an item without ever blocking. key marks an item the consumer
// can resume from; sticky items are always kept. It reports whether the
// item was queued.
func (q *Queue[T]) Push(v T, key, sticky bool) bool {
	return q.push(v, key, sticky, true)
}

// Hold is Push without waking the consumer: the item waits for the next
// Push or Wake. A producer that feeds many consumers holds items to send
// them in batches, one wake-up (and one socket write) per batch instead
// of per item; the bounds and the dropping are the same as Push's.
func (q *Queue[T]) Hold(v T, key bool) bool {
	return q.push(v, key, false, false)
}

// Wake wakes the consumer if anything is queued.
func (q *Queue[T]) Wake() {
	q.mu.Lock()
	n := len(q.items)
	q.mu.Unlock()
	if n > 0 {
		q.signal()
	}
}

func (q *Queue[T]) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *Queue[T]) push(v T, key, sticky, wake bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	switch {
	case sticky:
	case q.dropping && !key:
		if q.overflow {
			q.dropped++
		}
		return false
	case q.ordinary >= q.max:
		// Too far behind: drop the backlog and skip to the next key item.
		q.dropped += uint64(q.ordinary)
		q.dropBacklog()
		if !key {
			q.dropping, q.overflow = true, true
			q.dropped++
			return false
		}
	}
	if !sticky {
		q.dropping, q.overflow = false, false
		q.ordinary++
	}
	q.items = append(q.items, entry[T]{v: v, sticky: sticky})
	if wake {
		q.signal()
	}
	return true
}

// Resync makes the consumer skip to the next key item, dropping what is
// queued (sticky items stay; none of it counts as dropped). Producers call
// it when the stream breaks (the camera reconnects), so nothing stale is
// decoded across the gap.
func (q *Queue[T]) Resync() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropBacklog()
	q.dropping, q.overflow = true, false
}

// dropBacklog throws away the queued ordinary items, keeping sticky ones.
func (q *Queue[T]) dropBacklog() {
	kept := q.items[:0]
	for _, e := range q.items {
		if e.sticky {
			kept = append(kept, e)
		}
	}
	clear(q.items[len(kept):])
	q.items, q.ordinary = kept, 0
}

// Pop waits for the next item, until ctx ends or the queue is closed and
// empty.
func (q *Queue[T]) Pop(ctx context.Context) (T, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			e := q.items[0]
			q.items[0] = entry[T]{}
			q.items = q.items[1:]
			if !e.sticky {
				q.ordinary--
			}
			q.mu.Unlock()
			return e.v, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if err := q.wait(ctx, closed); err != nil {
			var zero T
			return zero, err
		}
	}
}

// PopAll waits until something is queued (as Pop), then takes everything
// queued at once, appended to dst: a consumer that writes to a socket
// sends it in one write.
func (q *Queue[T]) PopAll(ctx context.Context, dst []T) ([]T, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			for _, e := range q.items {
				dst = append(dst, e.v)
			}
			clear(q.items)
			q.items, q.ordinary = q.items[:0], 0
			q.mu.Unlock()
			return dst, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if err := q.wait(ctx, closed); err != nil {
			return dst, err
		}
	}
}

// wait blocks until the queue is signalled, ctx ends or (closed) at once.
func (q *Queue[T]) wait(ctx context.Context, closed bool) error {
	if closed {
		return ErrClosed
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-q.notify:
		return nil
	}
}

// Close stops accepting items; Pop returns what is left, then ErrClosed.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// Dropped is how many items were thrown away so far because the consumer
// fell behind (not those skipped while waiting for the first key item or
// after a Resync).
func (q *Queue[T]) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Len is the number of queued items.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
