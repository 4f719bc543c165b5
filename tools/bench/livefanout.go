package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/mse"
)

// benchLiveFanout: many MSE viewers on one stream against one viewer, in
// a video_server of its own whose only output is MSE, so that the
// reference (one viewer) is the whole cost of the stream: the RTSP
// session, the depacketizing, the muxing and one viewer's socket. Then
// the kernel's share: the same bytes written by one thread to as many
// loopback sockets, nothing else.
func benchLiveFanout(ctx context.Context, env *Env, rep *Report, sz liveSizes, load *liveLoad, oursBin string) error {
	ours, err := startOurs(ctx, env, oursBin, "fanout")
	if err != nil {
		return err
	}
	defer ours.stop()
	if err := ours.addStream(ctx, load, 0, []string{"mse"}); err != nil {
		return fmt.Errorf("video_server: %w", err)
	}

	env.Logf("   one stream, MSE only: 1 viewer")
	first, err := mseViewer(ctx, ours, 0)
	if err != nil {
		return err
	}
	defer first.close()
	time.Sleep(sz.warm)
	first.record(true)
	cpu1, err := cpuShare(ctx, ours.pid(), sz.measure)
	if err != nil {
		return err
	}
	first.record(false)
	lat1 := first.latencies()

	env.Logf("   %d MSE viewers", sz.viewers)
	var many []*viewer
	defer func() {
		for _, v := range many {
			v.close()
		}
	}()
	for range sz.viewers - 1 {
		v, err := mseViewer(ctx, ours, 0)
		if err != nil {
			return err
		}
		many = append(many, v)
	}
	all := append([]*viewer{first}, many...)
	time.Sleep(sz.warm)
	before := make([]int, len(all))
	for i, v := range all {
		before[i] = countFrames(v)
		v.record(true)
	}
	cpuN, err := cpuShare(ctx, ours.pid(), sz.measure)
	if err != nil {
		return err
	}
	// A viewer that got under 90 % of the frames sent in the window fell
	// behind (and skipped to keyframes).
	sent := int(sz.measure.Seconds() * float64(load.clip.FPS))
	lagging := 0
	var latN []time.Duration
	for i, v := range all {
		v.record(false)
		if countFrames(v)-before[i] < sent*9/10 {
			lagging++
		}
		latN = append(latN, v.latencies()...)
	}
	for _, v := range many {
		v.close()
	}
	many = nil
	if len(lat1) == 0 || len(latN) == 0 {
		return fmt.Errorf("fan-out: no frames measured (1 viewer %d, %d viewers %d)", len(lat1), sz.viewers, len(latN))
	}

	env.Logf("   the kernel's part: the same bytes to %d loopback sockets", sz.viewers-1)
	window := time.Duration(0)
	if sz.viewers > mse.BatchViewers {
		window = mse.BatchWindow
	}
	floor, err := tcpFloor(ctx, load.clip, sz.viewers-1, window, sz.measure)
	if err != nil {
		return err
	}

	extra := float64(sz.viewers - 1)
	perViewer := (cpuN - cpu1) / extra
	batching := "each fragment written when made"
	if window > 0 {
		batching = fmt.Sprintf("above %d viewers fragments go out in batches of %s", mse.BatchViewers, window)
	}
	rep.Rows = append(rep.Rows, Row{
		Metric: fmt.Sprintf("%d MSE viewers on one stream (MSE output only): server CPU (share of one core)", sz.viewers),
		Ours: fmt.Sprintf("%.2f %% (each further viewer +%.4f %%; latency with %d viewers: median %s, p95 %s; %d viewers fell behind)",
			cpuN*100, perViewer*100, sz.viewers, ms(median(latN)), ms(percentile(latN, 95)), lagging),
		Reference: fmt.Sprintf("1 viewer, same process: %.2f %% (latency median %s, p95 %s)", cpu1*100, ms(median(lat1)), ms(percentile(lat1, 95))),
		Ratio:     ratio(cpuN, cpu1),
		Goal:      "≤ 1.2× one viewer's",
		Met:       met(cpuN <= 1.2*cpu1),
	}, Row{
		Metric: fmt.Sprintf("%d MSE viewers: what each further viewer costs, against the kernel's cost of its bytes alone", sz.viewers),
		Ours:   fmt.Sprintf("+%.4f %% of a core per viewer (%s)", perViewer*100, batching),
		Reference: fmt.Sprintf("one thread writing the clip's frames to %d loopback TCP sockets, same batching: +%.4f %% per socket (%.2f %% in all; with it, %d viewers could cost no less than %.2f× one)",
			sz.viewers-1, floor/extra*100, floor*100, sz.viewers, (cpu1+floor)/cpu1),
		Ratio: ratio(perViewer, floor/extra),
	})
	rep.Notes = append(rep.Notes, fmt.Sprintf("The %d-viewer figures come from a video_server of their own with one stream whose only output is MSE, so that the reference, one viewer, is everything the stream costs (RTSP session, depacketizing, muxing, one socket), measured in the same process just before the other viewers join. Latency is from the camera's send to each viewer's receipt, over all viewers. The kernel reference is a goroutine locked to one thread of the benchmark process, timed by that thread's run time, writing each frame of the clip (with its moof and websocket header) to %d loopback sockets read by other goroutines, at %d frames a second and with the server's batching: what the kernel charges the sender for the bytes, whatever the server's code.",
		sz.viewers, sz.viewers-1, load.clip.FPS),
		fmt.Sprintf("Why ≤ 1.2× is out of reach here: it leaves each further viewer %.4f %% of a core (a fifth of the one-viewer figure, shared by %d viewers), and the kernel alone takes %.4f %% per socket to copy %.0f kB/s into loopback TCP (per-byte work that batching cannot remove: larger batches save only the per-call part). The muxing is shared already; what is left per viewer is its queue, one wake-up and one writev per batch.",
			0.2*cpu1/extra*100, sz.viewers-1, floor/extra*100, clipRate(load.clip)/1000))
	return nil
}

// runTimeNs sums the run time of a process's threads (first field of
// schedstat). Go's threads live as long as the process.
func runTimeNs(pid int) (int64, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		n, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %w", dir, t.Name(), err)
		}
		sum += n
	}
	return sum, nil
}

// tcpFloor writes the clip's frames, as the server frames them (moof and
// websocket header added, about 120 bytes), to n loopback sockets at the
// clip's rate for d, from one goroutine locked to its thread, and returns
// that thread's CPU use as a share of one core. With window > 0 the
// frames are written in batches of that length, as the server does.
func tcpFloor(ctx context.Context, clip *livetest.Clip, n int, window, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	var readers sync.WaitGroup
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		readers.Go(func() { _, _ = io.Copy(io.Discard, c) })
	}
	var senders []net.Conn
	for range n {
		c, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		senders = append(senders, c)
	}
	sizes := frameSizes(clip)

	type result struct {
		share float64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := syscall.Gettid()
		buf := make([]byte, 0, 1<<20)
		interval := time.Second / time.Duration(clip.FPS)
		t0, err := threadRunNs(tid)
		if err != nil {
			done <- result{err: err}
			return
		}
		start := time.Now()
		var batchStart time.Time
		for i := 0; time.Since(start) < d && ctx.Err() == nil; i++ {
			next := start.Add(time.Duration(i) * interval)
			time.Sleep(time.Until(next))
			if len(buf) == 0 {
				batchStart = next
			}
			buf = slices.Grow(buf, sizes[i%len(sizes)])
			buf = buf[:len(buf)+sizes[i%len(sizes)]]
			if window > 0 && next.Add(interval).Sub(batchStart) <= window {
				continue
			}
			for _, c := range senders {
				if _, err := c.Write(buf); err != nil {
					done <- result{err: fmt.Errorf("kernel reference: %w", err)}
					return
				}
			}
			buf = buf[:0]
		}
		t1, err := threadRunNs(tid)
		done <- result{share: float64(t1-t0) / float64(time.Since(start)), err: err}
	}()
	r := <-done // (within d)
	if r.err == nil {
		r.err = ctx.Err()
	}
	return r.share, r.err
}

func threadRunNs(tid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
}

// clipRate is the bytes per second a viewer of the clip gets, framed as
// tcpFloor frames it.
func clipRate(clip *livetest.Clip) float64 {
	n := 0
	for _, size := range frameSizes(clip) {
		n += size
	}
	return float64(n) / float64(len(clip.AUs)) * float64(clip.FPS)
}

// frameSizes is each frame of the clip as a viewer gets it: its NAL units
// with 4-byte lengths, plus about 120 bytes of moof, mdat and websocket
// headers.
func frameSizes(clip *livetest.Clip) []int {
	sizes := make([]int, len(clip.AUs))
	for i, au := range clip.AUs {
		sizes[i] = 120
		for _, nalu := range au {
			sizes[i] += 4 + len(nalu)
		}
	}
	return sizes
}
