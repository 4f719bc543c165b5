package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// The demo's camera and video_server, on free ports: the camera publishes,
// video_server pulls it and ffprobe reads a 320x240 picture back from its
// LL-HLS output; Ctrl-C (the context) stops everything.
func TestDemoLive(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "video_server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/clapshot-go/clapshot/cmd/video_server").CombinedOutput(); err != nil {
		t.Fatalf("go build video_server: %v\n%s", err, out)
	}
	rtsp := livetest.FreeAddr(t)
	ports := make([]int, 2)
	for i := range ports {
		p, err := testkit.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	const id = "0742091c-19cd-4658-9b4f-5320da160f45"
	conf := filepath.Join(dir, "live.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[api]
enabled = true
host = "127.0.0.1"
port = %d

[video]
host = "127.0.0.1"
port = %d

[[rtsp_streams]]
guid = %q
url = "rtsp://%s/cam"
output_types = ["llhls", "mse"]
`, ports[0], ports[1], id, rtsp)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var said []string
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{rtsp: rtsp, path: "cam", videoServer: bin, conf: conf, dir: filepath.Join(dir, "work"),
			camera: livetest.CameraOptions{Size: "320x240", FPS: 25}}, func(s string) {
			mu.Lock()
			said = append(said, s)
			mu.Unlock()
		})
	}()

	url := fmt.Sprintf("http://127.0.0.1:%d/llhls/%s/index.m3u8", ports[1], id)
	var out []byte
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, gerr := http.Get(url)
		if gerr != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		out, err = exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
			"-of", "csv=p=0", url).Output()
		if err == nil {
			break
		}
	}
	// (ffprobe lists the video once per HLS program.)
	if f := strings.Fields(string(out)); err != nil || len(f) == 0 || f[0] != "320,240" {
		t.Fatalf("ffprobe %s: %q, %v", url, out, err)
	}
	mu.Lock()
	text := strings.Join(said, "\n")
	mu.Unlock()
	for _, want := range []string{"Test camera: rtsp://" + rtsp + "/cam", url, "/ws/live?stream_id=" + id} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo did not say %q:\n%s", want, text)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop within 20 s")
	}
}
