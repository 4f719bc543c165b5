package live_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/mse"
	"github.com/clapshot-go/clapshot/internal/live/queue"
)

// fragment is what a test needs to know about one MSE fragment.
type fragment struct {
	seq   uint32
	video *fmp4.PartTrack
}

func parseFragment(t *testing.T, b []byte) fragment {
	t.Helper()
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
		t.Fatalf("not one fMP4 fragment (%d parts): %v", len(parts), err)
	}
	for _, tr := range parts[0].Tracks {
		if tr.ID == 1 {
			return fragment{seq: parts[0].SequenceNumber, video: tr}
		}
	}
	t.Fatal("fragment without a video track")
	return fragment{}
}

// waitPublisher waits until a livetest.Publish feeds the server's "cam".
func waitPublisher(t *testing.T, srv *livetest.Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !srv.Publishing("cam"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the publisher did not start")
		}
	}
}

// nextFragment skips codec and init messages.
func nextFragment(t *testing.T, v *mse.Viewer) fragment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := v.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Data[0] != mse.CodecMessageType && string(m.Data[4:8]) == "moof" {
			return parseFragment(t, m.Data)
		}
	}
}

// A viewer that stops reading, and a recorder tap that never reads (a slow
// disk), lose what they cannot take and resume at a keyframe; the reader
// and the other viewer do not notice. Every viewer's timeline starts at 0
// and has no gap after a skip.
func TestSlowViewersAndTapsDoNotStall(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)

	e, s := newStream(t, live.Options{ViewerQueue: 10}, live.StreamConfig{ID: streamID, URL: srv.URL("cam"), MSE: true})
	runEngine(t, e)
	waitState(t, s, live.StateOnline, 15*time.Second)
	tap := s.Subscribe(5)
	defer tap.Close()

	// The fast viewer reads everything, in its own goroutine.
	fast := s.MSE().Subscribe()
	defer fast.Close()
	type result struct {
		n, gaps int
		err     error
	}
	fastDone := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	go func() {
		var r result
		var last uint32
		for {
			m, err := fast.Next(ctx)
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) {
					r.err = err
				}
				fastDone <- r
				return
			}
			if m.Data[0] == mse.CodecMessageType || string(m.Data[4:8]) != "moof" {
				continue
			}
			var parts fmp4.Parts
			if err := parts.Unmarshal(m.Data); err != nil {
				r.err = err
				fastDone <- r
				return
			}
			if seq := parts[0].SequenceNumber; last != 0 && seq != last+1 {
				r.gaps++
			}
			last = parts[0].SequenceNumber
			r.n++
		}
	}()

	// A late viewer starts at time 0 on a keyframe, reads a little, then
	// stalls for longer than its queue holds.
	slow := s.MSE().Subscribe()
	defer slow.Close()
	first := nextFragment(t, slow)
	if first.video.BaseTime != 0 || first.video.Samples[0].IsNonSyncSample {
		t.Fatalf("a new viewer's first fragment starts at %d (keyframe: %v), want 0 and a keyframe",
			first.video.BaseTime, !first.video.Samples[0].IsNonSyncSample)
	}
	var before fragment
	for range 5 {
		before = nextFragment(t, slow)
	}
	end := before.video.BaseTime + uint64(before.video.Samples[0].Duration)
	time.Sleep(2 * time.Second)
	after := nextFragment(t, slow)
	if slow.Dropped() == 0 {
		t.Fatal("the stalled viewer dropped nothing (its queue holds 10 fragments, it stalled 2 s at 25 fps)")
	}
	if after.video.Samples[0].IsNonSyncSample {
		t.Error("after skipping, the stalled viewer resumed in the middle of a GOP")
	}
	if after.seq == before.seq+1 {
		t.Error("the stalled viewer's next fragment directly follows the last one; nothing was skipped")
	}
	if after.video.BaseTime != end {
		t.Errorf("after skipping, the timeline continues at %d, want %d (no gap for the player to stall on)", after.video.BaseTime, end)
	}

	r := <-fastDone
	if r.err != nil || r.gaps != 0 || fast.Dropped() != 0 || r.n < 75 {
		t.Fatalf("fast viewer: %d fragments in 4 s, %d gaps, %d dropped, error %v; want about 100 and nothing lost",
			r.n, r.gaps, fast.Dropped(), r.err)
	}

	// The tap that never read lost units, but it starts with the codec
	// parameters and resumes at a keyframe.
	if tap.Dropped() == 0 {
		t.Fatal("a tap of 5 units that was never read dropped nothing")
	}
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer tcancel()
	ev, err := tap.Next(tctx)
	if err != nil || ev.Tracks == nil {
		t.Fatalf("first tap event %+v, %v: want the tracks", ev, err)
	}
	for {
		ev, err = tap.Next(tctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Unit != nil && ev.Unit.Video {
			break
		}
	}
	if !ev.Unit.Key || len(ev.Unit.Data) == 0 || ev.Unit.NTP.IsZero() {
		t.Fatalf("first video unit from the tap after its drops: key %v, %d NAL units, NTP %v", ev.Unit.Key, len(ev.Unit.Data), ev.Unit.NTP)
	}
	if st := s.Status(); st.State != live.StateOnline {
		t.Fatalf("stream %s after the slow consumers", st.State)
	}

	// When the stream goes, the tap ends.
	if err := e.Remove(streamID); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := tap.Next(tctx); err != nil {
			if !errors.Is(err, queue.ErrClosed) {
				t.Fatalf("tap after Remove: %v, want queue.ErrClosed", err)
			}
			break
		}
	}
}

// A camera that changes its resolution in the middle of a session (new
// SPS/PPS in band, none in the SDP): MSE viewers get a new codec message
// and init segment, LL-HLS a new init segment, and both play the new size.
func TestCodecChangeReachesViewers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	small, err := livetest.Encode(ctx, livetest.CameraOptions{Size: "320x240"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	big, err := livetest.Encode(ctx, livetest.CameraOptions{Size: "480x272"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := livetest.StartServer(t, "127.0.0.1:0")
	pubDone := make(chan error, 1)
	go func() {
		pubDone <- livetest.Publish(ctx, srv.URL("cam"), small, livetest.PublishOptions{Then: big})
	}()
	waitPublisher(t, srv)

	e, s := newStream(t, live.Options{}, live.StreamConfig{ID: streamID, URL: srv.URL("cam"), Transport: "tcp", MSE: true, LLHLS: true})
	v := s.MSE().Subscribe()
	defer v.Close()
	runEngine(t, e)

	// Collect the MSE messages until the new size has played a while.
	var inits [][]byte
	var codecs []string
	var afterChange [][]byte
	for len(afterChange) < 40 {
		m, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("MSE viewer: %v (codec messages so far %q)", err, codecs)
		}
		switch {
		case m.Data[0] == mse.CodecMessageType:
			codecs = append(codecs, string(m.Data[1:]))
		case string(m.Data[4:8]) == "ftyp":
			inits = append(inits, bytes.Clone(m.Data))
		case len(inits) == 2:
			afterChange = append(afterChange, bytes.Clone(m.Data))
		}
	}
	if len(codecs) != 2 || len(inits) != 2 {
		t.Fatalf("%d codec messages %q and %d init segments, want 2 of each", len(codecs), codecs, len(inits))
	}
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "after.mp4")
	if err := os.WriteFile(mp4, bytes.Join(append([][]byte{inits[1]}, afterChange...), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, mp4); p.Width != 480 || p.Height != 272 || p.Frames < 35 {
		t.Fatalf("MSE after the change: %+v, want 480x272 and 40 frames", p)
	}
	if st := s.Status(); st.Width != 480 {
		t.Errorf("status after the change: %dx%d", st.Width, st.Height)
	}

	// LL-HLS: the playlist's init segment is the new one.
	hs := httptest.NewServer(s.LLHLS())
	defer hs.Close()
	rec := func(path string) string { return get(t, hs.URL+path) }
	var pl string
	for range 50 {
		index := rec("/index.m3u8")
		media := regexp.MustCompile(`(?m)^(video\S*\.m3u8)`).FindString(index)
		pl = rec("/" + media)
		if strings.Contains(pl, "#EXTINF") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)
	seg := regexp.MustCompile(`(?m)^\S+_seg\d+\.mp4$`).FindString(pl)
	if m == nil || seg == "" {
		t.Fatalf("LL-HLS playlist after the change:\n%s", pl)
	}
	hls := filepath.Join(dir, "hls.mp4")
	if err := os.WriteFile(hls, []byte(rec("/"+m[1])+rec("/"+seg)), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, hls); p.Width != 480 || p.Frames < 10 {
		t.Fatalf("LL-HLS segment after the change: %+v, want 480 wide", p)
	}
	cancel()
	<-pubDone
}

// A camera that goes away and comes back with another resolution (a new
// session with other SPS/PPS): the same MSE viewer gets a new codec
// message and init segment before the new pictures, and plays the new size.
func TestCodecChangeAcrossReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	small, err := livetest.Encode(ctx, livetest.CameraOptions{Size: "320x240"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	big, err := livetest.Encode(ctx, livetest.CameraOptions{Size: "480x272"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	srv := livetest.StartServer(t, "127.0.0.1:0")
	publish := func(clip *livetest.Clip) (stop func()) {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- livetest.Publish(pctx, srv.URL("cam"), clip, livetest.PublishOptions{Loop: true}) }()
		waitPublisher(t, srv)
		return func() {
			pcancel()
			if err := <-done; err != nil {
				t.Errorf("publisher: %v", err)
			}
		}
	}
	stopSmall := publish(small)

	e, s := newStream(t, live.Options{}, live.StreamConfig{ID: streamID, URL: srv.URL("cam"), Transport: "tcp", MSE: true})
	v := s.MSE().Subscribe()
	defer v.Close()
	runEngine(t, e)
	waitState(t, s, live.StateOnline, 10*time.Second)
	first := collectMSE(t, v, 2+10, 10*time.Second)
	if first[0][0] != mse.CodecMessageType || string(first[1][4:8]) != "ftyp" {
		t.Fatal("the viewer did not start with the codec message and init segment")
	}

	stopSmall()
	waitState(t, s, live.StateOffline, 15*time.Second)
	stopBig := publish(big)
	defer stopBig()

	// Skip what was queued before the loss, then: codec, init, fragments.
	var codec string
	var init []byte
	var after [][]byte
	for len(after) < 30 {
		m, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("MSE viewer after the camera's return: %v", err)
		}
		switch {
		case m.Data[0] == mse.CodecMessageType:
			codec, init, after = string(m.Data[1:]), nil, nil
		case string(m.Data[4:8]) == "ftyp":
			init = bytes.Clone(m.Data)
		case init != nil:
			after = append(after, bytes.Clone(m.Data))
		}
	}
	if codec == string(first[0][1:]) || !strings.HasPrefix(codec, "avc1.") {
		t.Errorf("codec message after the change %q (before %q)", codec, first[0][1:])
	}
	mp4 := filepath.Join(t.TempDir(), "after.mp4")
	if err := os.WriteFile(mp4, bytes.Join(append([][]byte{init}, after...), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, mp4); p.Width != 480 || p.Height != 272 || p.Frames < 25 {
		t.Fatalf("MSE after the camera came back: %+v, want 480x272 and 30 frames", p)
	}
	if st := s.Status(); st.Width != 480 || st.Reconnects < 1 {
		t.Errorf("status after the change: %+v", st)
	}
}
