package vsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/liveconf"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/vsapi"
)

const (
	camID   = "0742091c-19cd-4658-9b4f-5320da160f45"
	otherID = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
)

func port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(livetest.FreeAddr(t))
	n, _ := strconv.Atoi(p)
	return n
}

// servers is the config's api and video sections, on free loopback ports.
func servers(t *testing.T) string {
	return fmt.Sprintf("[api]\nenabled = true\nhost = \"127.0.0.1\"\nport = %d\n[video]\nhost = \"127.0.0.1\"\nport = %d\n", port(t), port(t))
}

// startVS runs the whole video_server on loopback with a config file.
func startVS(t *testing.T, toml string) (api, video string, eng *live.Engine) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conf.toml")
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	conf, err := liveconf.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- vsapi.Run(ctx, conf, livetest.Logger(t), func(l vsapi.Listeners, e *live.Engine) {
			api, video, eng = "http://"+l.API.String(), "http://"+l.Video.String(), e
			close(ready)
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return api, video, eng
}

func fetch(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVideoServer(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)
	hlsDir := t.TempDir()
	api, video, eng := startVS(t, servers(t)+fmt.Sprintf(`
[hls]
ms_per_segment = 1000
directory = %q
window_size = 3
[cors]
enabled = true
allow_origins = ["http://app.example"]
[[rtsp_streams]]
guid = %q
type = "rtsp"
url = %q
transport = "tcp"
output_types = ["mse", "hls"]
[[rtsp_streams]]
guid = "typo-not-a-uuid"
url = %q
transport = "tcp"
`, hlsDir, camID, srv.URL("cam"), srv.URL("cam")))

	st, _ := eng.Get(camID)
	deadline := time.Now().Add(15 * time.Second)
	for !st.Status().Online && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}

	// /list and /status in video-server's shapes.
	code, body := fetch(t, "GET", api+"/list", "")
	if code != 200 || body != `{"data":[{"stream_id":"`+camID+`"}]}`+"\n" {
		t.Fatalf("/list: %d %s", code, body)
	}
	var status struct {
		API     struct{ Port int }
		Streams map[string]struct {
			URL                  string
			Status               bool
			SupportedOutputTypes []int `json:"supported_output_types"`
			Codecs               []struct{ Codec string }
		}
		HLS map[string]int `json:"hls"`
	}
	code, body = fetch(t, "GET", api+"/status", "")
	if err := json.Unmarshal([]byte(body), &status); err != nil || code != 200 {
		t.Fatalf("/status: %d %s", code, body)
	}
	s := status.Streams[camID]
	if !s.Status || len(s.SupportedOutputTypes) != 2 || len(s.Codecs) == 0 || !strings.HasPrefix(s.Codecs[0].Codec, "avc1.") ||
		status.HLS["hls_ms_per_segment"] != 1000 || status.HLS["hls_window_size"] != 3 {
		t.Fatalf("/status: %s", body)
	}

	// MSE: video-server's reference client protocol.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(video, "http", "ws", 1)+"/ws/live?stream_id="+camID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var msgs [][]byte
	gotPong := false
	for len(msgs) < 30 || !gotPong {
		if len(msgs) == 5 {
			if err := ws.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
				t.Fatal(err)
			}
		}
		typ, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(msgs), err)
		}
		if typ == websocket.MessageText {
			gotPong = gotPong || string(data) == "pong"
			continue
		}
		msgs = append(msgs, data)
	}
	if msgs[0][0] != 9 || !strings.HasPrefix(string(msgs[0][1:]), "avc1.") || string(msgs[1][4:8]) != "ftyp" {
		t.Fatalf("first messages %q %q", msgs[0], msgs[1][:8])
	}
	mp4 := filepath.Join(t.TempDir(), "mse.mp4")
	_ = os.WriteFile(mp4, bytes.Join(msgs[1:], nil), 0o644)
	if p := livetest.FFprobe(t, mp4); p.Codec != "h264" || p.Frames < 25 {
		t.Fatalf("MSE bytes: %+v", p)
	}

	// Classic HLS at video-server's URL, MPEG-TS segments on disk.
	var pl string
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, pl = fetch(t, "GET", video+"/hls/"+camID+".m3u8", "")
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	media := regexp.MustCompile(`(?m)^` + camID + `/\S+\.m3u8$`).FindString(pl)
	if code != 200 || media == "" {
		t.Fatalf("/hls/<uuid>.m3u8: %d\n%s", code, pl)
	}
	var mpl string
	for {
		_, mpl = fetch(t, "GET", video+"/hls/"+media, "")
		if strings.Contains(mpl, ".ts") || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	seg := regexp.MustCompile(`(?m)^\S+\.ts$`).FindString(mpl)
	if seg == "" || !strings.Contains(mpl, "#EXT-X-PROGRAM-DATE-TIME") {
		t.Fatalf("media playlist:\n%s", mpl)
	}
	_, tsData := fetch(t, "GET", video+"/hls/"+camID+"/"+seg, "")
	ts := filepath.Join(t.TempDir(), "seg.ts")
	_ = os.WriteFile(ts, []byte(tsData), 0o644)
	if p := livetest.FFprobe(t, ts); p.Codec != "h264" || p.Frames < 20 {
		t.Fatalf("TS segment: %+v", p)
	}
	if entries, _ := os.ReadDir(filepath.Join(hlsDir, camID)); len(entries) == 0 {
		t.Error("hls.directory holds no segments")
	}

	// Bad input: each answer names the problem.
	for _, tc := range []struct {
		method, url, body string
		code              int
		want              string
		hdr               []string
	}{
		{"GET", video + "/ws/live?stream_id=zzz", "", 400, "invalid stream id", nil},
		{"GET", video + "/ws/live?stream_id=" + otherID, "", 404, otherID, nil},
		{"GET", video + "/hls/nothing.m3u8", "", 400, "no stream UUID", nil},
		{"GET", video + "/hls/" + otherID + ".m3u8", "", 404, "no such stream", nil},
		{"GET", video + "/hls/" + camID + "/nope.ts", "", 404, "no such HLS file", nil},
		{"POST", api + "/enable_camera", "{bad json", 400, "Bad JSON binding", nil},
		{"POST", api + "/enable_camera", `{"guid":"1234","url":"rtsp://a/b"}`, 400, "invalid stream id", nil},
		{"POST", api + "/enable_camera", `{"guid":"` + otherID + `","url":"http://a/b"}`, 400, "rtsp://", nil},
		{"POST", api + "/enable_camera", `{"guid":"` + otherID + `","url":"rtsp://a/b","output_types":["flv"]}`, 400, `unknown output type`, nil},
		{"POST", api + "/disable_camera", `{"guid":"` + otherID + `"}`, 404, "no such stream", nil},
		{"GET", video + "/ws/live?stream_id=" + camID, "", 403, "cors.allow_origins", []string{"Origin", "http://evil.example"}},
	} {
		code, body := fetch(t, tc.method, tc.url, tc.body, tc.hdr...)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d mentioning %q", tc.method, tc.url, tc.body, code, body, tc.code, tc.want)
		}
	}
	// The same refusals reach a browser's WebSocket as close reasons.
	wsBase := strings.Replace(video, "http", "ws", 1)
	livetest.WSRefused(t, wsBase+"/ws/live?stream_id=zzz", nil, "invalid stream id")
	livetest.WSRefused(t, wsBase+"/ws/live?stream_id="+otherID, nil, "no such stream")
	if _, resp, err := websocket.Dial(ctx, wsBase+"/ws/live?stream_id="+camID,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("a websocket from a foreign origin: %v %v, want no upgrade (403)", err, resp)
	}
	// Every goroutine the next stream starts must be gone after
	// disable_camera (HTTP connections kept alive are not the stream's).
	leakOpts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve")}

	code, body = fetch(t, "OPTIONS", api+"/status", "", "Origin", "http://app.example", "Access-Control-Request-Method", "GET")
	if code != 204 {
		t.Errorf("CORS preflight: %d %s", code, body)
	}

	// enable_camera adds a stream that plays; disable_camera stops it and
	// its viewers.
	code, body = fetch(t, "POST", api+"/enable_camera", `{"guid":"`+otherID+`","url":"`+srv.URL("cam")+`","output_types":["mse"]}`)
	if code != 200 || !strings.Contains(body, otherID) {
		t.Fatalf("enable_camera: %d %s", code, body)
	}
	ws2, _, err := websocket.Dial(ctx, strings.Replace(video, "http", "ws", 1)+"/ws/x?stream_id="+otherID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	for range 5 {
		if _, _, err := ws2.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	code, body = fetch(t, "POST", api+"/disable_camera", `{"guid":"`+otherID+`"}`)
	if code != 200 || strings.Contains(body, otherID) {
		t.Fatalf("disable_camera: %d %s", code, body)
	}
	for {
		_, _, err := ws2.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("viewer of a disabled camera closed with %v, want 1001 stream stopped", err)
			}
			break
		}
	}
	ws2.CloseNow()
	if err := goleak.Find(leakOpts...); err != nil {
		t.Errorf("after disable_camera: %v", err)
	}

	_, metrics := fetch(t, "GET", api+"/metrics", "")
	for _, want := range []string{`video_server_stream_up{name="` + camID + `",stream="` + camID + `"} 1`, "video_server_stream_bitrate_bits_per_second", "video_server_stream_viewers", "video_server_stream_reconnects_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := fetch(t, "GET", api+"/debug/pprof/", ""); code != 404 {
		t.Errorf("pprof on the API port without being asked for: %d", code)
	}
}

// pprof answers only when the file asks for it, on its own listener.
func TestPprofOnlyWhenAsked(t *testing.T) {
	pp := port(t)
	api, video, _ := startVS(t, fmt.Sprintf("[api]\nenabled = true\nhost = \"127.0.0.1\"\nport = %d\n[video]\nhost = \"127.0.0.1\"\nport = %d\n[pprof]\nenabled = true\nport = %d\n", port(t), port(t), pp))
	if code, body := fetch(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", pp), ""); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof: %d", code)
	}
	for _, u := range []string{api, video} {
		if code, _ := fetch(t, "GET", u+"/debug/pprof/", ""); code != 404 {
			t.Errorf("%s/debug/pprof/: %d, want 404", u, code)
		}
	}
	if code, body := fetch(t, "GET", api+"/list", ""); code != 200 || body != `{"data":[]}`+"\n" {
		t.Errorf("/list without streams: %d %s", code, body)
	}
}

// The on-demand health probe in video-server's /status fields and in
// /metrics: an idle camera on a closed port, one that answers.
func TestHealthCheckStatus(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)
	api, _, eng := startVS(t, servers(t)+fmt.Sprintf(`
[on_demand]
enabled = true
health_check = true
health_interval_ms = 200
health_timeout_ms = 1000
[[rtsp_streams]]
guid = %q
url = "rtsp://%s/cam"
[[rtsp_streams]]
guid = %q
url = %q
transport = "tcp"
`, camID, livetest.FreeAddr(t), otherID, srv.URL("cam")))

	type status struct {
		Streams map[string]struct {
			State           string     `json:"state"`
			LastHealthCheck *time.Time `json:"last_health_check"`
			LastHealthError string     `json:"last_health_error"`
			Reachable       *bool      `json:"reachable"`
		} `json:"streams"`
		OnDemand map[string]any `json:"on_demand"`
	}
	var st status
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := fetch(t, "GET", api+"/status", "")
		st = status{}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/status: %v: %s", err, body)
		}
		if st.Streams[camID].LastHealthCheck != nil && st.Streams[otherID].LastHealthCheck != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health checks in /status within 10 s: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	bad, good := st.Streams[camID], st.Streams[otherID]
	if bad.State != "idle" || bad.LastHealthError != "camera unreachable: connection refused" || bad.Reachable == nil || *bad.Reachable {
		t.Errorf("camera on a closed port: %+v", bad)
	}
	if good.State != "idle" || good.LastHealthError != "" || good.Reachable == nil || !*good.Reachable {
		t.Errorf("camera that answers: %+v", good)
	}
	if st.OnDemand["health_check"] != true || st.OnDemand["health_interval_ms"] != 200.0 || st.OnDemand["health_timeout_ms"] != 1000.0 {
		t.Errorf("/status on_demand: %v", st.OnDemand)
	}
	_, metrics := fetch(t, "GET", api+"/metrics", "")
	for _, want := range []string{
		`video_server_stream_health_check_up{name="` + camID + `",stream="` + camID + `"} 0`,
		`video_server_stream_health_check_up{name="` + otherID + `",stream="` + otherID + `"} 1`,
		`video_server_stream_health_check_error_info{error="camera unreachable: connection refused",name="` + camID + `",stream="` + camID + `"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if s, _ := eng.Get(otherID); s.Status().State != live.StateIdle {
		t.Errorf("the probed camera's stream is %s, want idle (a probe does not start it)", s.Status().State)
	}
}

// local_files in video_server: the file plays like a camera, on the same
// routes.
func TestLocalFile(t *testing.T) {
	file := livetest.MP4(t, t.TempDir(), "lobby.mp4", livetest.CameraOptions{}, 1)
	api, video, eng := startVS(t, servers(t)+fmt.Sprintf(`
[[local_files]]
guid = %q
file = %q
loop = true
output_types = ["mse", "llhls"]
`, camID, file))
	st, err := eng.Get(camID)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !st.Status().Online; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the file did not play: %+v", st.Status())
		}
	}
	_, body := fetch(t, "GET", api+"/status", "")
	var status struct {
		Streams map[string]struct {
			URL    string `json:"url"`
			Status bool   `json:"status"`
			Codecs []struct {
				Codec string `json:"codec"`
				Width int    `json:"width"`
			} `json:"codecs"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil {
		t.Fatal(err)
	}
	if s := status.Streams[camID]; s.URL != file || !s.Status || len(s.Codecs) != 1 || s.Codecs[0].Width != 320 {
		t.Errorf("/status of the file: %s", body)
	}
	if code, pl := fetch(t, "GET", video+"/llhls/"+camID+"/index.m3u8", ""); code != 200 || !strings.Contains(pl, `CODECS="avc1.`) {
		t.Errorf("LL-HLS playlist of the file: %d %s", code, pl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(video, "http", "ws", 1)+"/ws/live?stream_id="+camID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 3 {
		_, m, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("MSE message %d: %v", i, err)
		}
		if want := [][]byte{{0x09}, []byte("ftyp"), []byte("moof")}[i]; !bytes.Contains(m[:min(len(m), 8)], want) {
			t.Fatalf("MSE message %d starts %q, want %q", i, m[:min(len(m), 8)], want)
		}
	}
}
