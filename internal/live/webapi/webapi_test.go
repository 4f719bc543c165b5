package webapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/webapi"
)

const (
	public  = "0742091c-19cd-4658-9b4f-5320da160f45"
	private = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
	admins  = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
)

func TestLiveAPI(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)

	e := live.New(live.Options{Log: livetest.Logger(t)})
	// TCP: gortsplib's server (the test camera's) races when two UDP
	// readers from one address SETUP at the same moment.
	for _, c := range []live.StreamConfig{
		{ID: public, Name: "Lobby", URL: srv.URL("cam"), Transport: "tcp", MSE: true, LLHLS: true},
		{ID: private, Name: "Office", URL: srv.URL("cam"), Transport: "tcp", MSE: true, Users: []string{"alice"}},
		{ID: admins, Name: "Server room", URL: srv.URL("cam"), Transport: "tcp", LLHLS: true, AdminsOnly: true},
	} {
		if _, err := e.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	mux := http.NewServeMux()
	h := &webapi.Handler{
		Engine:   e,
		Identity: &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		OriginAllowed: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return o == "" || o == "http://"+r.Host
		},
		Log: livetest.Logger(t),
	}
	h.Register(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	get := func(user, path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		if user != "" {
			req.Header.Set("X-Remote-User-Id", user)
			req.Header.Set("X-Remote-User-Is-Admin", map[bool]string{true: "true", false: "false"}[user == "admin"])
		}
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
	visible := func(user string) []string {
		code, body := get(user, "/api/live/streams")
		if code != 200 {
			t.Fatalf("%s: %d %s", user, code, body)
		}
		var res struct{ Streams []webapi.Stream }
		_ = json.Unmarshal([]byte(body), &res)
		var names []string
		for _, s := range res.Streams {
			names = append(names, s.Name)
		}
		return names
	}
	for user, want := range map[string]string{"bob": "Lobby", "alice": "Lobby,Office", "admin": "Lobby,Office,Server room", "": "Lobby"} {
		if got := strings.Join(visible(user), ","); got != want {
			t.Errorf("%q sees %q, want %q", user, got, want)
		}
	}

	st, _ := e.Get(public)
	deadline := time.Now().Add(15 * time.Second)
	for !st.Status().Online && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	code, body := get("bob", "/api/live/streams/"+public)
	var one webapi.Stream
	_ = json.Unmarshal([]byte(body), &one)
	if one.URL != "" {
		t.Errorf("a user sees the camera's URL %q (administrators only)", one.URL)
	}
	var asAdmin webapi.Stream
	_, adminBody := get("admin", "/api/live/streams/"+public)
	if _ = json.Unmarshal([]byte(adminBody), &asAdmin); !strings.HasPrefix(asAdmin.URL, "rtsp://127.0.0.1:") {
		t.Errorf("an administrator sees the camera's URL %q", asAdmin.URL)
	}
	if code != 200 || !one.Online || one.LLHLS != "streams/"+public+"/llhls/index.m3u8" || one.MSE != "streams/"+public+"/mse" || one.HLS != "" ||
		!strings.HasPrefix(one.Codecs, "avc1.") || one.Width != 320 {
		t.Fatalf("stream: %d %s", code, body)
	}
	code, body = get("bob", "/api/live/streams/"+public+"/llhls/index.m3u8")
	if code != 200 || !strings.Contains(body, "#EXT-X-STREAM-INF") {
		t.Fatalf("LL-HLS playlist: %d %s", code, body)
	}

	for _, tc := range []struct {
		user, path string
		hdr        []string
		code       int
		want       string
	}{
		{"bob", "/api/live/streams/" + private, nil, 404, "no such stream"},
		{"bob", "/api/live/streams/" + private + "/mse", nil, 404, "no such stream"},
		{"alice", "/api/live/streams/" + admins + "/llhls/index.m3u8", nil, 404, "no such stream"},
		{"bob", "/api/live/streams/not-a-uuid", nil, 400, "invalid stream id"},
		{"bob", "/api/live/streams/9b2f1c1e-3d2a-4a9e-8c1e-7f6b5a4d3c2b", nil, 404, "no such stream"},
		{"bob", "/api/live/streams/" + private + "/llhls/index.m3u8", nil, 404, "no such stream"},
		{"alice", "/api/live/streams/" + private + "/llhls/index.m3u8", nil, 404, "has no llhls output"},
		{"bob", "/api/live/streams/" + public + "/mse", []string{"Origin", "http://evil.example"}, 403, "not allowed"},
	} {
		code, body := get(tc.user, tc.path, tc.hdr...)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d mentioning %q", tc.user, tc.path, code, body, tc.code, tc.want)
		}
	}

	// Refusals reach the page's WebSocket as close reasons (same origin).
	wsBase := strings.Replace(hs.URL, "http", "ws", 1) + "/api/live/streams/"
	asBob := http.Header{"Origin": {hs.URL}, "X-Remote-User-Id": {"bob"}}
	livetest.WSRefused(t, wsBase+private+"/mse", asBob, "no such stream")
	livetest.WSRefused(t, wsBase+"not-a-uuid/mse", asBob, "invalid stream id")

	// The MSE websocket, same-origin, as the page opens it.
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	ws, _, err := websocket.Dial(wctx, strings.Replace(hs.URL, "http", "ws", 1)+"/api/live/streams/"+public+"/mse",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {hs.URL}, "X-Remote-User-Id": {"bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var msgs [][]byte
	for len(msgs) < 27 {
		_, data, err := ws.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, data)
	}
	if msgs[0][0] != 9 || string(msgs[1][4:8]) != "ftyp" {
		t.Fatalf("MSE start %q", msgs[0])
	}
	mp4 := filepath.Join(t.TempDir(), "live.mp4")
	_ = os.WriteFile(mp4, bytes.Join(msgs[1:], nil), 0o644)
	if p := livetest.FFprobe(t, mp4); p.Codec != "h264" || p.Frames < 20 {
		t.Fatalf("MSE bytes: %+v", p)
	}
	if v := st.Status().Viewers; v < 1 {
		t.Errorf("viewers %d with a websocket open", v)
	}

	// Identity headers from an untrusted peer are refused, not ignored.
	h.Identity = &auth.Resolver{DefaultUser: "anonymous"}
	if code, body := get("alice", "/api/live/streams"); code != 403 || !strings.Contains(body, "trusted proxy") {
		t.Errorf("untrusted identity: %d %s", code, body)
	}
}
