package live_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
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

const streamID = "0742091c-19cd-4658-9b4f-5320da160f45"

// newStream makes an engine (logging to the test) with one stream.
func newStream(t *testing.T, opt live.Options, cfg live.StreamConfig) (*live.Engine, *live.Stream) {
	t.Helper()
	opt.Log = livetest.Logger(t)
	e := live.New(opt)
	s, err := e.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, s
}

// runEngine runs e until the test ends.
func runEngine(t *testing.T, e *live.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("engine did not stop within 15 s")
		}
	})
}

func waitState(t *testing.T, s *live.Stream, want live.State, within time.Duration) live.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := s.Status()
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream state %q (last error %q), want %q within %s", st.State, st.LastError, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextMsg reads a viewer's next message through the public websocket-free
// path: a Subscribe'd viewer.
func collectMSE(t *testing.T, v *mse.Viewer, n int, within time.Duration) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out [][]byte
	for len(out) < n {
		m, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, bytes.Clone(m.Data)) // Data is reused by the next call
	}
	return out
}

func TestCameraToMSEAndLLHLS(t *testing.T) {
	for _, tc := range []struct{ codec, probe, mime string }{
		{"h264", "h264", "avc1."},
		{"h265", "hevc", "hvc1."},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			srv := livetest.StartServer(t, "127.0.0.1:0")
			cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{Codec: tc.codec, Audio: tc.codec == "h264"})
			livetest.WaitPublishing(t, srv, "cam", cam)

			e, s := newStream(t, live.Options{}, live.StreamConfig{ID: streamID, URL: srv.URL("cam"), Transport: "tcp", MSE: true, LLHLS: true})
			v := s.MSE().Subscribe()
			defer v.Close()
			runEngine(t, e)
			st := waitState(t, s, live.StateOnline, 15*time.Second)

			// MSE: codec message, init segment, then one fragment per frame.
			msgs := collectMSE(t, v, 2+50, 15*time.Second)
			if msgs[0][0] != mse.CodecMessageType || !strings.HasPrefix(string(msgs[0][1:]), tc.mime) {
				t.Fatalf("first message %q, want 0x09 + %s...", msgs[0], tc.mime)
			}
			if tc.codec == "h264" && !strings.Contains(string(msgs[0]), ",mp4a.40.2") {
				t.Errorf("codec message %q lacks the AAC track", msgs[0][1:])
			}
			if string(msgs[1][4:8]) != "ftyp" {
				t.Fatalf("second message is not an init segment: %q", msgs[1][:8])
			}
			// The sample entry of the init segment names the codec too.
			if entry := strings.TrimSuffix(tc.mime, "."); !bytes.Contains(msgs[1], []byte(entry)) {
				t.Fatalf("init segment has no %s sample entry", entry)
			}
			for i, m := range msgs[2:] {
				if string(m[4:8]) != "moof" || bytes.Count(m, []byte("moof")) != 1 {
					t.Fatalf("message %d is not one moof+mdat fragment", i+2)
				}
			}
			dir := t.TempDir()
			mp4 := filepath.Join(dir, "mse.mp4")
			if err := os.WriteFile(mp4, bytes.Join(msgs[1:], nil), 0o644); err != nil {
				t.Fatal(err)
			}
			p := livetest.FFprobe(t, mp4)
			if p.Codec != tc.probe || p.Width != 320 || p.Height != 240 || p.Frames < 45 {
				t.Fatalf("ffprobe of the MSE bytes: %+v, want %s 320x240 and about 50 frames", p, tc.probe)
			}
			if tc.codec == "h264" && p.Audio != "aac" {
				t.Errorf("MSE audio %q, want aac", p.Audio)
			}
			if st.Width != 320 || !strings.HasPrefix(st.Codecs, tc.mime) {
				t.Errorf("status %+v", st)
			}

			// LL-HLS from the same stream.
			hs := httptest.NewServer(s.LLHLS())
			defer hs.Close()
			index := get(t, hs.URL+"/index.m3u8")
			if !strings.Contains(index, `CODECS="`+tc.mime) {
				t.Fatalf("multivariant playlist:\n%s", index)
			}
			media := regexp.MustCompile(`(?m)^(video\S*\.m3u8)`).FindString(index)
			var pl string
			deadline := time.Now().Add(15 * time.Second)
			for {
				pl = get(t, hs.URL+"/"+media)
				if strings.Count(pl, "#EXTINF") >= 1 || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			for _, want := range []string{"#EXT-X-PART:", "#EXT-X-PRELOAD-HINT", "CAN-BLOCK-RELOAD=YES", "#EXT-X-PROGRAM-DATE-TIME:"} {
				if !strings.Contains(pl, want) {
					t.Fatalf("media playlist lacks %s:\n%s", want, pl)
				}
			}
			pdt := regexp.MustCompile(`#EXT-X-PROGRAM-DATE-TIME:(\S+)`).FindAllStringSubmatch(pl, -1)
			last, err := time.Parse(time.RFC3339Nano, pdt[len(pdt)-1][1])
			if err != nil || time.Since(last) > 10*time.Second || time.Until(last) > time.Second {
				t.Fatalf("PROGRAM-DATE-TIME %v is not the wall clock (now %v)", last, time.Now())
			}
			initURI := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)[1]
			seg := regexp.MustCompile(`(?m)^\S+_seg\d+\.mp4$`).FindString(pl)
			ts := filepath.Join(dir, "hls.mp4")
			if err := os.WriteFile(ts, []byte(get(t, hs.URL+"/"+initURI)+get(t, hs.URL+"/"+seg)), 0o644); err != nil {
				t.Fatal(err)
			}
			if os.Getenv("LIVE_KEEP") != "" {
				_ = os.WriteFile("/tmp/hls-"+tc.codec+".mp4", []byte(get(t, hs.URL+"/"+initURI)+get(t, hs.URL+"/"+seg)), 0o644)
				t.Log(pl)
			}
			hp := livetest.FFprobe(t, ts)
			if hp.Codec != tc.probe || hp.Width != 320 || hp.Frames < 20 {
				t.Fatalf("ffprobe of an LL-HLS segment: %+v", hp)
			}
			if got := get(t, hs.URL+"/nonexistent.mp4"); !strings.Contains(got, "404") {
				t.Errorf("unknown HLS file answered %q", got)
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.Status + " " + string(b)
	}
	return string(b)
}

func TestBadStreamConfig(t *testing.T) {
	e := live.New(live.Options{})
	for _, tc := range []struct {
		cfg  live.StreamConfig
		want error
	}{
		{live.StreamConfig{ID: "not-a-uuid", URL: "rtsp://x/y", MSE: true}, live.ErrInvalidID},
		{live.StreamConfig{ID: streamID, URL: "rtsp://x/y"}, live.ErrNoOutput},
	} {
		if _, err := e.Add(tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("Add(%+v) = %v, want %v", tc.cfg, err, tc.want)
		}
	}
	if _, err := e.Get("1b4e28ba-2fa1-11d2-883f-0016d3cca427"); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	if err := e.Remove("zzz"); !errors.Is(err, live.ErrInvalidID) {
		t.Errorf("Remove invalid: %v", err)
	}
}
