package vsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// archiveVS runs video_server with camID recorded (one-second segments)
// and otherID configured with serving off, and waits for some archive.
func archiveVS(t *testing.T) (api, video, dir string) {
	t.Helper()
	srv := livetest.StartServer(t, "127.0.0.1:0")
	clip, err := livetest.Encode(context.Background(), livetest.CameraOptions{FPS: 25, GOP: 25}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = livetest.Publish(ctx, srv.URL("cam"), clip, livetest.PublishOptions{Loop: true})
	}()
	t.Cleanup(func() { cancel(); <-done })
	dir = t.TempDir()
	api, video, _ = startVS(t, fmt.Sprintf(`
[api]
enabled = true
host = "127.0.0.1"
port = %d
[video]
host = "127.0.0.1"
port = %d
[archive]
recording = true
directory = %q
ms_per_file = 1000
ms_per_part = 250
[[rtsp_streams]]
guid = %q
url = %q
transport = "tcp"
output_types = ["mse"]
[[rtsp_streams]]
guid = %q
url = %q
transport = "tcp"
output_types = ["mse"]
archive = { recording = false, serving = false }
`, port(t), port(t), dir, camID, srv.URL("cam"), otherID, srv.URL("cam")))
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := fetch(t, "GET", api+"/archive/"+camID+"/ranges", "")
		var r struct {
			Ranges []struct{ Start, End time.Time } `json:"ranges"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		if code == 200 && len(r.Ranges) == 1 && r.Ranges[0].End.Sub(r.Ranges[0].Start) >= 4*time.Second {
			return api, video, dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 4 s of archive in 30 s: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestArchiveRanges(t *testing.T) {
	api, _, _ := archiveVS(t)
	code, body := fetch(t, "GET", api+"/archive/"+camID+"/ranges", "")
	var r struct {
		StreamID string `json:"stream_id"`
		Ranges   []struct {
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"ranges"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 200 || r.StreamID != camID || len(r.Ranges) != 1 {
		t.Fatalf("%d %s (%v)", code, body, err)
	}
	if since := time.Since(r.Ranges[0].End); since < 0 || since > 2*time.Second {
		t.Errorf("the range ends %s ago: the open segment should count up to its last part", since)
	}
	for _, tc := range []struct {
		id   string
		code int
		body string
	}{
		{"not-a-uuid", 400, `{"error":"invalid stream_id"}`},
		{"6f0f5ed2-5d80-4f6b-a0b6-1b2c3d4e5f60", 404, `{"error":"no archive segments found"}`},
		{otherID, 404, `{"error":"archive not available: archive serving is off for this stream"}`},
	} {
		code, body := fetch(t, "GET", api+"/archive/"+tc.id+"/ranges", "")
		if code != tc.code || strings.TrimSpace(body) != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.id, code, body, tc.code, tc.body)
		}
	}
	code, body = fetch(t, "GET", api+"/status", "")
	if code != 200 || !strings.Contains(body, `"archive":{"recording":true`) {
		t.Errorf("/status: %d %s", code, body)
	}
	if code, body = fetch(t, "GET", api+"/metrics", ""); !strings.Contains(body, `video_server_archive_segments{stream="`+camID+`"}`) {
		t.Errorf("/metrics: %d, no archive metrics", code)
	}
}

// archiveRange is the recorded range.
func archiveRange(t *testing.T, api string) (start, end time.Time) {
	t.Helper()
	_, body := fetch(t, "GET", api+"/archive/"+camID+"/ranges", "")
	var r struct {
		Ranges []struct {
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"ranges"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Ranges) == 0 {
		t.Fatalf("ranges: %s %v", body, err)
	}
	return r.Ranges[0].Start, r.Ranges[len(r.Ranges)-1].End
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

// Archive playback over video-server's websocket: codec message, init,
// fragments on one continuous timeline across segments, eos; the stream
// written to a file plays in ffprobe. Bad requests are closed with 1011
// and the reason.
func TestArchiveWebsocket(t *testing.T) {
	api, video, _ := archiveVS(t)
	start, _ := archiveRange(t, api)
	ws := strings.Replace(video, "http://", "ws://", 1) + "/ws/archive?stream_id=" + camID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	from := start.Add(1500 * time.Millisecond)
	c, _, err := websocket.Dial(ctx, ws+"&start="+unix(from)+"&duration=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var file bytes.Buffer
	var next uint64
	var frags int
	for i := 0; ; i++ {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ == websocket.MessageText {
			if string(b) != "eos" {
				t.Fatalf("text %q", b)
			}
			break
		}
		switch {
		case i == 0:
			if b[0] != 0x09 || !strings.HasPrefix(string(b[1:]), "avc1.") {
				t.Fatalf("first message %q, want 0x09 + codec", b)
			}
			continue
		case i == 1:
			if string(b[4:8]) != "ftyp" {
				t.Fatalf("second message is not an init segment: %q", b[:8])
			}
		default:
			var parts fmp4.Parts
			if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
				t.Fatalf("fragment %d: %v", i, err)
			}
			vt := parts[0].Tracks[0]
			if vt.BaseTime != next {
				t.Fatalf("fragment %d starts at %d, want %d: the timeline is not continuous", i, vt.BaseTime, next)
			}
			if i == 2 && vt.Samples[0].IsNonSyncSample {
				t.Error("the first fragment does not start with a keyframe")
			}
			for _, s := range vt.Samples {
				next += uint64(s.Duration)
			}
			frags++
		}
		file.Write(b)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after eos: %v, want a normal close", err)
	}
	got := time.Duration(next) * time.Second / 90000
	t.Logf("played %s in %d fragments for a 2 s request", got, frags)
	if got < 2*time.Second || got > 3500*time.Millisecond {
		t.Errorf("played %s for a 2 s request (it may start a GOP early and end a part late)", got)
	}
	path := filepath.Join(t.TempDir(), "played.mp4")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := livetest.FFprobe(t, path); p.Codec != "h264" || p.Frames < 50 {
		t.Errorf("the played stream: %+v (%d fragments), want 2 s of H.264", p, frags)
	}

	for _, tc := range []struct{ query, want string }{
		{"?stream_id=nope&start=1", "Invalid stream_id"},
		{"?stream_id=" + camID, "Invalid start time"},
		{"?stream_id=" + camID + "&start=yesterday", "Invalid start time"},
		{"?stream_id=" + camID + "&start=" + unix(from) + "&duration=-3", "Invalid duration"},
		{"?stream_id=" + camID + "&start=946684800&duration=60", "No segments found for this time range: the archive has "},
		{"?stream_id=" + otherID + "&start=" + unix(from), "Archive not enabled for this stream"},
	} {
		c, _, err := websocket.Dial(ctx, strings.Split(ws, "?")[0]+tc.query, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError || !strings.Contains(ce.Reason, tc.want) {
			t.Errorf("%s: %v, want 1011 %q", tc.query, err, tc.want)
		}
		c.CloseNow()
	}
}

// HLS VOD of a range: ffmpeg plays the playlist (fMP4 segments on one
// timeline) from start to end; bad ranges get clear errors.
func TestArchiveVOD(t *testing.T) {
	api, video, _ := archiveVS(t)
	start, end := archiveRange(t, api)
	pl := video + "/archive/" + camID + "/vod.m3u8"
	code, body := fetch(t, "GET", pl+"?start="+unix(start.Add(500*time.Millisecond))+"&end="+unix(end.Add(-500*time.Millisecond)), "")
	if code != 200 || !strings.Contains(body, "#EXT-X-MAP:URI=\"vod/"+camID) || !strings.Contains(body, "#EXT-X-ENDLIST") ||
		!strings.Contains(body, "#EXT-X-PROGRAM-DATE-TIME:") {
		t.Fatalf("%d\n%s", code, body)
	}
	if m := regexp.MustCompile(`#EXT-X-START:TIME-OFFSET=([0-9.]+)`).FindStringSubmatch(body); m == nil {
		t.Errorf("no EXT-X-START for a start inside the first segment:\n%s", body)
	} else if off, _ := strconv.ParseFloat(m[1], 64); off < 0.45 || off > 0.55 {
		t.Errorf("EXT-X-START offset %s, want 0.5", m[1])
	}
	var listed float64
	for _, line := range strings.Split(body, "\n") {
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(d, ","), 64)
			listed += f
		}
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,codec_name:format=duration",
		"-of", "json", "-allowed_extensions", "ALL", pl+"?start="+unix(start)+"&end="+unix(end)).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe of the playlist: %v\n%s", err, out)
	}
	var probe struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	_ = json.Unmarshal(out, &probe)
	frames := 0
	if len(probe.Streams) > 0 {
		frames, _ = strconv.Atoi(probe.Streams[0].Frames)
	}
	t.Logf("the playlist lists %.2f s; ffprobe decoded %d frames", listed, frames)
	if len(probe.Streams) == 0 || probe.Streams[0].Codec != "h264" || frames < int(listed*25*0.6) {
		t.Errorf("ffprobe: %s; the playlist lists %.1f s", out, listed)
	}
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{pl + "?start=" + unix(end) + "&end=" + unix(start), 400, "the end is not after the start"},
		{pl + "?start=946684800&duration=10", 404, "no archive segments in this time range"},
		{pl + "?duration=10", 400, "need a start"},
		{video + "/archive/" + camID + "/vod/" + camID + "_123.mp4?t=0", 404, "no archive segment"},
		{video + "/archive/" + otherID + "/vod.m3u8", 404, "archive serving is off"},
	} {
		code, body := fetch(t, "GET", tc.path, "")
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d %q", tc.path, code, body, tc.code, tc.want)
		}
	}
}
