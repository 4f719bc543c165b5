package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"go.uber.org/goleak"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// waitHealth waits until the stream's last health check says want (""
// for a camera that answers).
func waitHealth(t *testing.T, s *live.Stream, want string, within time.Duration) live.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := s.Status()
		if st.LastHealthCheck != nil && (want == "" && *st.Reachable || want != "" && !*st.Reachable && strings.Contains(st.LastHealthError, want)) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("health after %s: checked %v, reachable %v, error %q; want %q", within, st.LastHealthCheck, st.Reachable, st.LastHealthError, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Idle on-demand cameras are probed with DESCRIBE every interval: the
// status says whether each answers, or why not; a probe never starts
// the stream and stops when a viewer starts it or the stream is removed.
func TestHealthProbe(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	srv.User, srv.Pass = "cam", "secret"
	cam := livetest.StartCamera(t, "rtsp://cam:secret@"+srv.Addr()+"/cam", livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)
	audio := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeAudio,
		Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}}}}
	if _, err := srv.AddStream("audio", audio); err != nil {
		t.Fatal(err)
	}

	silent := livetest.SilentCamera(t)
	const interval = 200 * time.Millisecond
	e := live.New(live.Options{Log: livetest.Logger(t), IdleTimeout: 300 * time.Millisecond,
		HealthCheck: true, HealthInterval: interval, HealthTimeout: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	leaks := []goleak.Option{goleak.IgnoreCurrent()}

	ids := []string{streamID, "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3", "566bfe72-1f85-4e7d-9c0a-424e6c3b29f4",
		"566bfe72-1f85-4e7d-9c0a-424e6c3b29f5", "566bfe72-1f85-4e7d-9c0a-424e6c3b29f6"}
	add := func(id, url string) *live.Stream {
		s, err := e.Add(live.StreamConfig{ID: id, URL: url, Transport: "tcp", MSE: true, OnDemand: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := add(ids[0], "rtsp://cam:secret@"+srv.Addr()+"/cam")
	for i, tc := range []struct{ url, want string }{
		{"rtsp://cam:wrong@" + srv.Addr() + "/cam", "wrong credentials (401 Unauthorized)"},
		{"rtsp://" + livetest.FreeAddr(t) + "/cam", "camera unreachable: connection refused"},
		{"rtsp://" + silent + "/cam", "camera timed out: no answer to DESCRIBE within 500ms"},
		{"rtsp://cam:secret@" + srv.Addr() + "/audio", "no H.264 or H.265 video: the camera offers Opus"},
	} {
		s := add(ids[i+1], tc.url)
		if st := waitHealth(t, s, tc.want, 5*time.Second); st.State != live.StateIdle {
			t.Errorf("%s: state %s, want idle", tc.url, st.State)
		}
	}
	first := waitHealth(t, good, "", 5*time.Second)
	if first.State != live.StateIdle || first.LastHealthError != "" {
		t.Fatalf("good camera: %+v", first)
	}
	// Probed again and again, never played.
	d0, _, _ := srv.Requests()
	time.Sleep(5 * interval)
	if d, setups, plays := srv.Requests(); d-d0 < 3 || setups != 0 || plays != 0 {
		t.Fatalf("while idle: %d more DESCRIBE (want one per %s per stream), %d SETUP, %d PLAY", d-d0, interval, setups, plays)
	}
	if st := good.Status(); !st.LastHealthCheck.After(*first.LastHealthCheck) {
		t.Errorf("last health check %v did not move on from %v", st.LastHealthCheck, first.LastHealthCheck)
	}

	// A viewer starts the stream: the good camera's probe stops (one
	// DESCRIBE for the session only, whatever the time online).
	for _, id := range ids[1:] {
		if err := e.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	release := good.Acquire()
	waitState(t, good, live.StateOnline, 10*time.Second)
	d1, _, plays1 := srv.Requests()
	time.Sleep(5 * interval)
	if d, _, plays := srv.Requests(); d != d1 || plays != plays1 {
		t.Fatalf("online: %d more DESCRIBE, %d more PLAY; the probe should have stopped", d-d1, plays-plays1)
	}
	// The last viewer leaves: idle again, and probed again.
	release()
	waitState(t, good, live.StateIdle, 5*time.Second)
	before := *good.Status().LastHealthCheck
	deadline := time.Now().Add(5 * time.Second)
	for st := good.Status(); !st.LastHealthCheck.After(before); st = good.Status() {
		if time.Now().After(deadline) {
			t.Fatal("no health check after the stream went idle again")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Removing the stream ends its probe with it.
	if err := e.Remove(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := goleak.Find(leaks...); err != nil {
		t.Fatal(err)
	}
}
