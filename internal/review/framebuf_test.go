package review

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

// Only small read buffers are reused: one that grew for a large message is
// dropped, so sessions do not keep their largest message's size.
func TestFrameBufsDropLargeBuffers(t *testing.T) {
	var f frameBufs
	small := f.get()
	small.WriteString("small")
	f.put(small)
	large := f.get()
	large.Write(bytes.Repeat([]byte("x"), maxPooledFrameBuf+1))
	f.put(large)
	for i := 0; i < 100; i++ {
		b := f.get()
		if b == large {
			t.Fatal("a buffer larger than maxPooledFrameBuf came back from the pool")
		}
		if b.Len() != 0 {
			t.Fatalf("a pooled buffer still holds %q", b.String())
		}
		b.Grow(100)
		defer f.put(b)
	}
}

// Large messages in a burst lead to one release after the delay, and
// releases are at least gap apart however often large messages come;
// after stop, none.
func TestMemReleaserOncePerBurst(t *testing.T) {
	var n atomic.Int32
	m := &memReleaser{delay: 50 * time.Millisecond, gap: 300 * time.Millisecond, release: func() { n.Add(1) }}
	for i := 0; i < 10; i++ {
		m.large()
	}
	if n.Load() != 0 {
		t.Fatal("released before the delay")
	}
	waitFor(t, time.Second, func() bool { return n.Load() == 1 })
	start := time.Now()
	m.large() // within the gap: waits for it
	time.Sleep(100 * time.Millisecond)
	if n.Load() != 1 {
		t.Fatalf("%d releases within the gap, want 1", n.Load())
	}
	waitFor(t, 2*time.Second, func() bool { return n.Load() == 2 })
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("second release %v after the first burst's, want about the 300 ms gap", d)
	}
	m.large()
	m.stop()
	m.large()
	time.Sleep(500 * time.Millisecond)
	if n.Load() != 2 {
		t.Errorf("%d releases after stop, want none more", n.Load()-2)
	}
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
