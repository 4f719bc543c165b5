package webapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/webapi"
)

// The archive under /api/live/ has the stream's access checks: a user who
// may not watch the stream gets 404 for its ranges, playlist and
// websocket, as for the stream itself.
func TestArchiveAccess(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	clip, err := livetest.Encode(context.Background(), livetest.CameraOptions{FPS: 25, GOP: 25}, 2)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer pcancel()
	wg.Go(func() { _ = livetest.Publish(pctx, srv.URL("cam"), clip, livetest.PublishOptions{Loop: true}) })

	dir := t.TempDir()
	set := archive.Settings{Recording: true, Serving: true, Directory: dir, SegmentDuration: time.Second}
	if err := set.Check(); err != nil {
		t.Fatal(err)
	}
	log := livetest.Logger(t)
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{public: set, private: set}}, archive.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := live.New(live.Options{Log: log, Attach: arch.Record})
	for _, c := range []live.StreamConfig{
		{ID: public, URL: srv.URL("cam"), Transport: "tcp", MSE: true},
		{ID: private, URL: srv.URL("cam"), Transport: "tcp", MSE: true, Users: []string{"alice"}},
	} {
		if _, err := e.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = archive.Run(ctx, e, arch); close(done) }()
	defer func() { cancel(); <-done }()

	mux := http.NewServeMux()
	(&webapi.Handler{
		Engine: e, Archive: arch, Log: log,
		Identity: &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		OriginAllowed: func(r *http.Request) bool {
			return r.Header.Get("Origin") == "" || r.Header.Get("Origin") == "http://"+r.Host
		},
	}).Register(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	get := func(user, path string) (int, string) {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("X-Remote-User-Id", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := "/api/live/streams/"
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("alice", base+private+"/archive/ranges")
		if code == 200 && strings.Contains(body, `"ranges":[{"start"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no archive: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, body := get("bob", base+public)
	var one webapi.Stream
	if err := json.Unmarshal([]byte(body), &one); err != nil || one.Archive != "streams/"+public+"/archive/" || !one.Recording {
		t.Errorf("stream JSON: archive_url %q recording %v (%s)", one.Archive, one.Recording, body)
	}
	if code, body := get("alice", base+private+"/archive/vod.m3u8"); code != 200 || !strings.Contains(body, "#EXT-X-MAP") {
		t.Errorf("alice's playlist: %d %s", code, body)
	}
	for _, path := range []string{"/archive/ranges", "/archive/vod.m3u8", "/archive/vod/" + private + "_1.mp4?t=0", "/archive/ws"} {
		if code, body := get("bob", base+private+path); code != 404 || !strings.Contains(body, "no such stream") {
			t.Errorf("bob %s: %d %s, want 404 no such stream", path, code, body)
		}
	}
	asBob := http.Header{"Origin": {hs.URL}, "X-Remote-User-Id": {"bob"}}
	wsBase := strings.Replace(hs.URL, "http", "ws", 1) + base
	livetest.WSRefused(t, wsBase+private+"/archive/ws?start=1", asBob, "no such stream")

	// Alice plays her stream's archive over the websocket.
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	c, _, err := websocket.Dial(wctx, wsBase+private+"/archive/ws?start=0&duration=0",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {hs.URL}, "X-Remote-User-Id": {"alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, first, err := c.Read(wctx)
	if err != nil || first[0] != 0x09 {
		t.Fatalf("first message %q %v", first, err)
	}
	// A foreign page gets no archive websocket.
	req, _ := http.NewRequest("GET", hs.URL+base+public+"/archive/ws", nil)
	req.Header.Set("Origin", "http://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("foreign origin: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
