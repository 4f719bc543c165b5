package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// --live-config: the cameras appear under /api/live/ for the users the
// file allows, with metrics; a typo in the file stops the start-up.
func TestLiveCameras(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
	livetest.WaitPublishing(t, srv, "cam", cam)
	dir := t.TempDir()
	conf := filepath.Join(dir, "live.toml")
	// TCP: gortsplib v5.6.5's server races when two sessions SETUP over UDP
	// at once (ServerStream.readerAdd reads other sessions' medias unlocked).
	_ = os.WriteFile(conf, []byte(fmt.Sprintf(`
[[rtsp_streams]]
guid = "0742091c-19cd-4658-9b4f-5320da160f45"
name = "Lobby"
url = %q
transport = "tcp"
[[rtsp_streams]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
name = "Office"
url = %q
transport = "tcp"
users = ["alice"]
`, srv.URL("cam"), srv.URL("cam"))), 0o644)
	p := start(t, nil, "--data-dir", filepath.Join(dir, "data"), "--live-config", conf)
	p.waitHealthy(t)

	list := func(user string) []string {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/api/live/streams", p.port), nil)
		req.Header.Set("X-Remote-User-Id", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Streams []struct {
				Name   string
				Online bool
			}
		}
		_ = json.NewDecoder(resp.Body).Decode(&res)
		var out []string
		for _, s := range res.Streams {
			out = append(out, fmt.Sprintf("%s:%v", s.Name, s.Online))
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Join(list("alice"), ",") != "Lobby:true,Office:true" {
		if time.Now().After(deadline) {
			t.Fatalf("alice sees %v; output:\n%s", list("alice"), p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := strings.Join(list("bob"), ","); got != "Lobby:true" {
		t.Errorf("bob sees %s", got)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/metrics", p.port))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `clapshot_live_stream_up{name="Lobby"`) {
		t.Errorf("metrics lack clapshot_live_stream_up")
	}

	bad := filepath.Join(dir, "typo.toml")
	_ = os.WriteFile(bad, []byte("[[rtsp_streams]]\nguid = \"0742091c-19cd-4658-9b4f-5320da160f45\"\nurll = \"rtsp://x/y\"\n"), 0o644)
	q := start(t, nil, "--data-dir", filepath.Join(dir, "data2"), "--live-config", bad)
	if rc := q.wait(t, 20*time.Second); rc == 0 || !strings.Contains(q.out.String(), `rtsp_streams.urll`) || !strings.Contains(q.out.String(), `did you mean`) {
		t.Fatalf("typo in the live config: rc %d, output:\n%s", rc, q.out)
	}
}
