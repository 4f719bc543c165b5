package live_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/mse"
)

// An MP4 file as a source (local_files), looping: the same outputs as a
// camera's, in real time, with one unbroken timeline across the loops.
func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	file := livetest.MP4(t, dir, "clip.mp4", livetest.CameraOptions{Audio: true, BFrames: 2}, 1)
	e, s := newStream(t, live.Options{HLS: live.HLSOptions{SegmentDuration: time.Second, WindowSize: 3}},
		live.StreamConfig{ID: streamID, File: file, Loop: true, MSE: true, LLHLS: true, HLS: true})
	v := s.MSE().Subscribe()
	defer v.Close()
	runEngine(t, e)
	st := waitState(t, s, live.StateOnline, 10*time.Second)
	if st.URL != file || st.Width != 320 || !strings.HasPrefix(st.Codecs, "avc1.") || !strings.Contains(st.Codecs, "mp4a.40.2") {
		t.Errorf("status %+v", st)
	}

	// MSE: 0x09, init, then 75 fragments = 3 passes of the 1 s file, paced.
	msgs := collectMSE(t, v, 2, 10*time.Second)
	if msgs[0][0] != mse.CodecMessageType || string(msgs[1][4:8]) != "ftyp" {
		t.Fatal("MSE did not start with the codec message and init segment")
	}
	start := time.Now()
	var frags [][]byte
	for len(frags) < 75 {
		frags = append(frags, collectMSE(t, v, 1, 10*time.Second)[0])
	}
	took := time.Since(start)
	if took < 2700*time.Millisecond || took > 6*time.Second {
		t.Errorf("75 frames (3 s) took %s to arrive; a file plays in real time", took)
	}
	var last int64 = -1
	for i, b := range frags {
		f := parseFragment(t, b)
		if last >= 0 && int64(f.video.BaseTime) != last+3600 {
			t.Fatalf("fragment %d at %d, after %d: not one frame later (a gap or reset at the loop?)", i, f.video.BaseTime, last)
		}
		last = int64(f.video.BaseTime)
	}
	mp4 := filepath.Join(dir, "mse.mp4")
	if err := os.WriteFile(mp4, bytes.Join(append([][]byte{msgs[1]}, frags...), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, mp4); p.Codec != "h264" || p.Width != 320 || p.Frames < 70 || p.Audio != "aac" {
		t.Fatalf("ffprobe of the MSE bytes: %+v", p)
	}

	// LL-HLS and classic HLS from the same file.
	hs := httptest.NewServer(s.LLHLS())
	defer hs.Close()
	media := regexp.MustCompile(`(?m)^(video\S*\.m3u8)`).FindString(get(t, hs.URL+"/index.m3u8"))
	var pl string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(pl, "#EXTINF") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		pl = get(t, hs.URL+"/"+media)
	}
	initURI := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)
	seg := regexp.MustCompile(`(?m)^\S+_seg\d+\.mp4$`).FindString(pl)
	if initURI == nil || seg == "" || !strings.Contains(pl, "#EXT-X-PROGRAM-DATE-TIME:") {
		t.Fatalf("LL-HLS playlist:\n%s", pl)
	}
	ll := filepath.Join(dir, "ll.mp4")
	if err := os.WriteFile(ll, []byte(get(t, hs.URL+"/"+initURI[1])+get(t, hs.URL+"/"+seg)), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, ll); p.Codec != "h264" || p.Width != 320 || p.Frames < 20 {
		t.Fatalf("ffprobe of an LL-HLS segment: %+v", p)
	}
	hh := httptest.NewServer(s.HLS())
	defer hh.Close()
	var hpl string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(hpl, "#EXTINF") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		hpl = get(t, hh.URL+"/"+regexp.MustCompile(`(?m)^(\S*\.m3u8)`).FindString(get(t, hh.URL+"/index.m3u8")))
	}
	ts := regexp.MustCompile(`(?m)^\S+\.ts$`).FindString(hpl)
	if ts == "" {
		t.Fatalf("classic HLS playlist:\n%s", hpl)
	}
	tsPath := filepath.Join(dir, "seg.ts")
	if err := os.WriteFile(tsPath, []byte(get(t, hh.URL+"/"+ts)), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, tsPath); p.Codec != "h264" || p.Frames < 20 || p.Audio != "aac" {
		t.Fatalf("ffprobe of a classic HLS segment: %+v", p)
	}
}

// A file without loop plays once and then says so; a file that cannot
// play leaves the stream offline with an error naming the file and why.
func TestFileSourceEndsAndFails(t *testing.T) {
	dir := t.TempDir()
	once := livetest.MP4(t, dir, "once.mp4", livetest.CameraOptions{}, 1)
	e := live.New(live.Options{Log: livetest.Logger(t)})
	s, err := e.Add(live.StreamConfig{ID: streamID, File: once, MSE: true})
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.mp4")
	bad, err := e.Add(live.StreamConfig{ID: "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3", File: missing, MSE: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Add(live.StreamConfig{ID: "566bfe72-1f85-4e7d-9c0a-424e6c3b29f4", File: once, URL: "rtsp://a/b", MSE: true}); err == nil {
		t.Error("a stream with both a URL and a file was accepted")
	}
	runEngine(t, e)
	waitState(t, s, live.StateOnline, 10*time.Second)
	online := time.Now()
	st := waitState(t, s, live.StateEnded, 10*time.Second)
	if d := time.Since(online); d < 900*time.Millisecond || !strings.Contains(st.LastError, "played once (loop is off)") {
		t.Errorf("ended after %s with %q, want after the file's 1 s", d, st.LastError)
	}
	if bs := waitState(t, bad, live.StateOffline, 10*time.Second); !strings.Contains(bs.LastError, missing) || !strings.Contains(bs.LastError, "no such file") {
		t.Errorf("missing file: %q", bs.LastError)
	}
}
