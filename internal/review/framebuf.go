package review

import (
	"bytes"
	"runtime/debug"
	"sync"
	"time"
)

// Memory for client messages. Almost every message is a few hundred
// bytes; a few (a drawing, a subtitle file, or an attacker's junk) are
// megabytes. Read buffers are pooled across sessions, but only small ones
// go back to the pool: a buffer that grew for a large message is dropped
// once the message is handled, so one big message does not pin its size
// for the rest of a session's life (before, each session kept a buffer as
// large as the largest message it had ever received).
//
// Dropping is not enough for the process's memory to shrink: with little
// allocation afterwards the next garbage collection can be minutes away,
// and the runtime gives freed memory back to the system only gradually
// after it. So after large messages the hub asks the runtime to collect and
// return it (debug.FreeOSMemory): releaseDelay after a large message, and
// while they keep coming at most every releaseGap (so memory is back at
// most releaseGap+releaseDelay after the last one), so that a client
// sending big messages all the time cannot make the server do little else.
const (
	// maxPooledFrameBuf is the largest read buffer kept for reuse.
	maxPooledFrameBuf = 64 << 10
	// largeMessage is the size from which a message asks for a release.
	largeMessage = 1 << 20
	// releaseDelay is how long after the first large message of a burst
	// the memory is released.
	releaseDelay = time.Second
	// releaseGap is the least time between two releases.
	releaseGap = 10 * time.Second
)

// frameBufs pools the sessions' read buffers.
type frameBufs struct{ pool sync.Pool }

func (f *frameBufs) get() *bytes.Buffer {
	if b, ok := f.pool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// put keeps b for reuse if it is small; a large one is left to the
// garbage collector.
func (f *frameBufs) put(b *bytes.Buffer) {
	if b.Cap() > maxPooledFrameBuf {
		return
	}
	b.Reset()
	f.pool.Put(b)
}

// memReleaser returns memory to the system a while after large messages.
type memReleaser struct {
	delay, gap time.Duration // releaseDelay, releaseGap
	release    func()        // debug.FreeOSMemory; tests count calls

	mu      sync.Mutex
	pending *time.Timer
	last    time.Time
	stopped bool
}

func newMemReleaser() *memReleaser {
	return &memReleaser{delay: releaseDelay, gap: releaseGap, release: debug.FreeOSMemory}
}

// large notes that a large message was handled and its memory is garbage.
func (m *memReleaser) large() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending != nil || m.stopped {
		return // a release is already due; it covers this message too
	}
	delay := m.delay
	if next := time.Until(m.last.Add(m.gap)); next > delay {
		delay = next
	}
	m.pending = time.AfterFunc(delay, m.fire)
}

func (m *memReleaser) fire() {
	m.mu.Lock()
	m.pending = nil
	m.last = time.Now()
	stopped := m.stopped
	m.mu.Unlock()
	if !stopped {
		m.release()
	}
}

// stop cancels a pending release; later large messages schedule none.
func (m *memReleaser) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	if m.pending != nil {
		m.pending.Stop()
		m.pending = nil
	}
}
