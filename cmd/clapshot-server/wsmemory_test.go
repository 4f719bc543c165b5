package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// procStatusKB reads a field (VmRSS, VmHWM) of /proc/<pid>/status, in kB.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// After sessions send large frames (10 MB commands, valid and not), the
// server's memory comes back down: buffers sized for one big message are
// not kept for the session's life, and the memory is given back to the
// system soon after, not at the next garbage collection whenever that is.
func TestMemoryAfterLargeFrames(t *testing.T) {
	dir := t.TempDir()
	p := start(t, nil, "-D", dir)
	p.waitHealthy(t)
	pid := p.cmd.Process.Pid
	base := procStatusKB(t, pid, "VmRSS")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	big := bytes.Repeat([]byte("x"), 10<<20)
	frames := [][]byte{
		big, // not JSON
		append(append([]byte(`{"addComment":{"mediaFileId":"nope","comment":"`), big...), `"}}`...),
		append(append([]byte(`{"addComment":{"mediaFileId":"nope","comment":"c","drawing":"data:image/webp;base64,`), big...), `"}}`...),
		append(append([]byte(`{"echo":"`), big...), `"}`...),
	}
	const sessions = 4
	var conns []*websocket.Conn
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := 0; i < sessions; i++ {
		c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/api/ws", p.port), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(64 << 20)
		conns = append(conns, c)
		// Keep reading what the server says (welcome, errors).
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 3; round++ {
				for _, f := range frames {
					if err := c.Write(ctx, websocket.MessageText, f); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sending: %v", err)
	}
	// The sessions stay open, as a browser tab would.
	defer func() {
		for _, c := range conns {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}()
	// The last messages are being handled; the peak is for the log.
	time.Sleep(500 * time.Millisecond)
	peak := procStatusKB(t, pid, "VmHWM")
	t.Logf("RSS before %d kB, peak %d kB", base, peak)

	const limitKB = 60 << 10
	deadline := time.Now().Add(30 * time.Second)
	for {
		rss := procStatusKB(t, pid, "VmRSS")
		if rss < limitKB {
			t.Logf("RSS %d kB after %v", rss, 30*time.Second-time.Until(deadline))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RSS still %d kB 30 s after the large frames (before: %d kB, peak %d kB), want < %d kB",
				rss, base, peak, limitKB)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
