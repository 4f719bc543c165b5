package live_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// The camera disappears mid-stream (server and ffmpeg killed) and comes
// back on the same port: the same MSE viewer plays again, and LL-HLS lists
// new parts, within 3 s of the camera's return; a recorder's tap is told
// of the restart and resumes at a keyframe.
func TestReconnectAfterCameraReturns(t *testing.T) {
	addr := livetest.FreeAddr(t)
	srv := livetest.StartServer(t, addr)
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)

	e, s := newStream(t, live.Options{}, live.StreamConfig{ID: streamID, URL: srv.URL("cam"), MSE: true, LLHLS: true})
	v := s.MSE().Subscribe()
	defer v.Close()
	tap := s.Subscribe(0)
	defer tap.Close()
	runEngine(t, e)
	waitState(t, s, live.StateOnline, 15*time.Second)
	collectMSE(t, v, 10, 10*time.Second)
	hs := httptest.NewServer(s.LLHLS())
	defer hs.Close()
	parts := func() []string {
		index := get(t, hs.URL+"/index.m3u8")
		media := regexp.MustCompile(`(?m)^(video\S*\.m3u8)`).FindString(index)
		var out []string
		for _, m := range regexp.MustCompile(`#EXT-X-PART:[^\n]*URI="([^"]+)"`).FindAllStringSubmatch(get(t, hs.URL+"/"+media), -1) {
			out = append(out, m[1])
		}
		return out
	}
	var before []string
	for deadline := time.Now().Add(10 * time.Second); len(before) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		before = parts()
	}
	if len(before) == 0 {
		t.Fatal("no LL-HLS parts before the camera went away")
	}

	cam.Stop()
	srv.Close()
	st := waitState(t, s, live.StateOffline, 15*time.Second)
	if st.LastError == "" {
		t.Error("offline without a last error")
	}
	// Stay away a few seconds, so that the backoff has grown.
	time.Sleep(3 * time.Second)
	// Drain what the viewer had queued before the loss.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := v.Next(ctx)
		cancel()
		if err != nil {
			break
		}
	}

	srv2 := livetest.StartServer(t, addr)
	cam2 := livetest.StartCamera(t, srv2.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv2, "cam", cam2)
	back := time.Now()
	collectMSE(t, v, 1, 10*time.Second)
	took := time.Since(back)
	t.Logf("playback resumed %s after the camera's return", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Fatalf("playback resumed %s after the camera's return, want within 3 s", took)
	}
	last := before[len(before)-1]
	for {
		p := parts()
		if len(p) > 0 && !slices.Contains(before, p[len(p)-1]) && p[len(p)-1] != last {
			break
		}
		if time.Since(back) > 3*time.Second {
			t.Fatalf("LL-HLS listed no new part within 3 s of the camera's return (last %s)", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("LL-HLS listed a new part %s after the camera's return", time.Since(back).Round(time.Millisecond))

	// The tap: what it had, then Restart, then a keyframe of the new session.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	restarted := false
	for {
		ev, err := tap.Next(ctx)
		if err != nil {
			t.Fatalf("tap: %v (restart seen: %v)", err, restarted)
		}
		if ev.Restart {
			restarted = true
			continue
		}
		if restarted && ev.Unit != nil && ev.Unit.Video {
			if !ev.Unit.Key || ev.Unit.Received.Before(back.Add(-time.Second)) {
				t.Fatalf("first video unit after Restart: key %v, received %v (camera back at %v)", ev.Unit.Key, ev.Unit.Received, back)
			}
			break
		}
	}
	if st := s.Status(); st.Reconnects < 1 || st.State != live.StateOnline {
		t.Fatalf("status after return: %+v", st)
	}
}

// Removing a stream (disable_camera) ends every goroutine it started: the
// session, the outputs, the viewers' queues.
func TestRemoveLeavesNoGoroutines(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)

	e := live.New(live.Options{Log: livetest.Logger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	opts := []goleak.Option{goleak.IgnoreCurrent()}

	s, err := e.Add(live.StreamConfig{ID: streamID, URL: srv.URL("cam"), MSE: true, LLHLS: true, HLS: true})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, live.StateOnline, 15*time.Second)
	v := s.MSE().Subscribe()
	collectMSE(t, v, 5, 10*time.Second)
	if err := e.Remove(streamID); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.State != live.StateStopped {
		t.Fatalf("state after Remove: %s", st.State)
	}
	if _, err := v.Next(context.Background()); err == nil {
		t.Fatal("viewer still receives after Remove")
	}
	v.Close()
	if err := goleak.Find(opts...); err != nil {
		t.Fatal(err)
	}
	if len(e.Streams()) != 0 {
		t.Fatal("stream still listed")
	}
}

// An on-demand stream connects for its first viewer and disconnects
// IdleTimeout after the last one.
func TestOnDemand(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)

	e := live.New(live.Options{Log: livetest.Logger(t), IdleTimeout: 500 * time.Millisecond})
	s, err := e.Add(live.StreamConfig{ID: streamID, URL: srv.URL("cam"), MSE: true, OnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	time.Sleep(300 * time.Millisecond)
	if st := s.Status(); st.State != live.StateIdle {
		t.Fatalf("on-demand stream without viewers is %s", st.State)
	}
	release := s.Acquire()
	v := s.MSE().Subscribe()
	collectMSE(t, v, 5, 10*time.Second)
	v.Close()
	release()
	waitState(t, s, live.StateIdle, 5*time.Second)
	// And again: a second viewer starts it again.
	release = s.Acquire()
	defer release()
	waitState(t, s, live.StateOnline, 10*time.Second)
}
