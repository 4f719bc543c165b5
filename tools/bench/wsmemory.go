package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func init() {
	register(Suite{Name: "wsmemory", Title: "Memory after large websocket messages", Run: runWSMemory})
}

// wsmemGoalKB is the goal: RSS back under 60 MB within 30 s.
const (
	wsmemGoalKB   = 60 << 10
	wsmemGoalTime = 30 * time.Second
)

// wsmemRun is what one server did with the large frames.
type wsmemRun struct {
	beforeKB, peakKB, afterKB int64
	underGoal                 time.Duration // when RSS was first under the goal; -1 if never
}

func runWSMemory(ctx context.Context, env *Env) (*Report, error) {
	sessions, rounds := 4, 3
	if env.Quick {
		sessions, rounds = 2, 1
	}
	dir := filepath.Join(env.Work, "wsmemory")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ours, ourPID, ref, refPID, stop, err := startWithRef(ctx, env, dir)
	if err != nil {
		return nil, err
	}
	defer stop()

	frames := largeFrames(10 << 20)
	env.Logf("   %d sessions x %d frames of 10 MB, ours", sessions, rounds*len(frames))
	o, err := wsmemMeasure(ctx, ours, ourPID, sessions, rounds, frames)
	if err != nil {
		return nil, fmt.Errorf("ours: %w", err)
	}
	env.Logf("   the same, reference")
	r, err := wsmemMeasure(ctx, ref, refPID, sessions, rounds, frames)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	mb := func(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
	when := func(d time.Duration) string {
		if d < 0 {
			return "never within 30 s"
		}
		return fmt.Sprintf("after %.1f s", d.Seconds())
	}
	rep := &Report{}
	rep.Rows = append(rep.Rows, Row{
		Metric: fmt.Sprintf("RSS 30 s after %d sessions sent %d frames of 10 MB each (sessions still open)", sessions, sessions*rounds*len(frames)),
		Ours: fmt.Sprintf("%s (before %s, peak %s; under 60 MB %s)",
			mb(o.afterKB), mb(o.beforeKB), mb(o.peakKB), when(o.underGoal)),
		Reference: fmt.Sprintf("bare coder/websocket relay: %s (before %s, peak %s; under 60 MB %s)",
			mb(r.afterKB), mb(r.beforeKB), mb(r.peakKB), when(r.underGoal)),
		Ratio: ratio(float64(o.afterKB), float64(r.afterKB)),
		Goal:  "< 60 MB within 30 s",
		Met:   met(o.underGoal >= 0),
	})
	rep.Notes = append(rep.Notes,
		"The frames: 10 MB that is not JSON, an addComment with a 10 MB comment and one with a 10 MB drawing (both for a media file that does not exist), and an unknown command of 10 MB; each session sends them in turn. Ours answers each with an error; the reference (tools/bench/wsref) relays each to every session.",
		"RSS is VmRSS of the server process, polled every 500 ms from the moment the last frame was sent; peak is VmHWM.",
		"The server reads messages into buffers pooled across sessions, drops a buffer that grew past 64 KiB, and after messages of 1 MiB or more calls debug.FreeOSMemory 1 s later, and at most every 10 s while they keep coming (so memory is back within 11 s of the last one). A plain Go server keeps the freed memory until its next garbage collection (up to 2 minutes with little allocation) and gives it back gradually after that.")
	return rep, nil
}

// largeFrames are the kinds of large message a careless or hostile
// client sends.
func largeFrames(size int) [][]byte {
	big := bytes.Repeat([]byte("x"), size)
	wrap := func(prefix, suffix string) []byte {
		return append(append([]byte(prefix), big...), suffix...)
	}
	return [][]byte{
		big,
		wrap(`{"addComment":{"mediaFileId":"nope","comment":"`, `"}}`),
		wrap(`{"addComment":{"mediaFileId":"nope","comment":"c","drawing":"data:image/webp;base64,`, `"}}`),
		wrap(`{"echo":"`, `"}`),
	}
}

// wsmemMeasure opens sessions, sends the frames from each, then follows
// the server's RSS for 30 s while the sessions stay open.
func wsmemMeasure(ctx context.Context, base string, pid, sessions, rounds int, frames [][]byte) (*wsmemRun, error) {
	run := &wsmemRun{underGoal: -1}
	var err error
	if run.beforeKB, err = rssKB(pid); err != nil {
		return nil, err
	}
	var conns []*wsConn
	defer func() { closeAll(conns) }()
	for i := range sessions {
		w, err := dialWS(ctx, base, "big"+strconv.Itoa(i), func([]byte, time.Time) {})
		if err != nil {
			return nil, err
		}
		conns = append(conns, w)
	}
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for _, w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for _, f := range frames {
					if err := w.c.Write(ctx, websocket.MessageText, f); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	sent := time.Now()
	for time.Since(sent) < wsmemGoalTime {
		time.Sleep(500 * time.Millisecond)
		r, err := rssKB(pid)
		if err != nil {
			return nil, err
		}
		run.afterKB = r
		if r < wsmemGoalKB && run.underGoal < 0 {
			run.underGoal = time.Since(sent)
		}
	}
	run.peakKB, err = statusKB(pid, "VmHWM")
	return run, err
}

// statusKB reads a kB field of /proc/<pid>/status.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			return strconv.ParseInt(strings.Fields(l)[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s for %d", field, pid)
}
