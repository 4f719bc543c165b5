package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

const camID = "0742091c-19cd-4658-9b4f-5320da160f45"

// child is video_server running as a child process.
type child struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

func startChild(t *testing.T, conf string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDEO_SERVER_MAIN=1", "VIDEO_SERVER_ARGS=-conf "+conf)
	c := &child{cmd: cmd, out: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return c
}

type rangesJSON struct {
	StreamID string `json:"stream_id"`
	Ranges   []struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"ranges"`
}

func getRanges(api string) (int, rangesJSON, string) {
	var r rangesJSON
	resp, err := http.Get(api + "/archive/" + camID + "/ranges")
	if err != nil {
		return 0, r, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &r)
	return resp.StatusCode, r, string(b)
}

// kill -9 of video_server while it records loses at most the part being
// gathered: every file on disk plays, the next start finds and measures
// the segment that was open, and the ranges end where the kill was.
func TestArchiveSurvivesKill9(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{Audio: true})
	livetest.WaitPublishing(t, srv, "cam", cam)
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "mp4")
	apiPort := freePort(t)
	conf := filepath.Join(dir, "conf.toml")
	_ = os.WriteFile(conf, []byte(fmt.Sprintf(`
[api]
enabled = true
host = "127.0.0.1"
port = %s
[video]
host = "127.0.0.1"
port = %s
[archive]
recording = true
directory = %q
ms_per_file = 3000
ms_per_part = 500
[[rtsp_streams]]
guid = %q
url = %q
transport = "tcp"
output_types = ["mse"]
`, apiPort, freePort(t), mp4, camID, srv.URL("cam"))), 0o644)
	api := "http://127.0.0.1:" + apiPort

	c := startChild(t, conf)
	deadline := time.Now().Add(40 * time.Second)
	for {
		code, r, _ := getRanges(api)
		if code == 200 && len(r.Ranges) == 1 && r.Ranges[0].End.Sub(r.Ranges[0].Start) > 7500*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 7.5 s of archive after 40 s: %d %+v\n%s", code, r, c.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Kill at a moment that has nothing to do with the parts' timing.
	time.Sleep(time.Duration(300+time.Now().UnixNano()%400) * time.Millisecond)
	killed := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()

	files, _ := filepath.Glob(filepath.Join(mp4, camID+"_*.mp4"))
	if len(files) < 3 {
		t.Fatalf("%d segment files, want at least 3", len(files))
	}
	for _, f := range files {
		if p := livetest.FFprobe(t, f); p.Codec != "h264" || p.Audio != "aac" || p.Frames == 0 {
			t.Errorf("%s after kill -9: %+v", filepath.Base(f), p)
		}
	}

	// The next start scans the open segment and serves it.
	c2 := startChild(t, conf)
	deadline = time.Now().Add(20 * time.Second)
	var r rangesJSON
	for {
		var code int
		code, r, _ = getRanges(api)
		if code == 200 && len(r.Ranges) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ranges after the restart: %d\n%s", code, c2.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = c2.cmd.Process.Signal(syscall.SIGTERM)
	if err := c2.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	// The first range is the recording before the kill: it ends within a
	// part (500 ms), a frame and the camera's delay of the kill.
	lost := killed.Sub(r.Ranges[0].End)
	t.Logf("lost at kill -9: %s of media; ranges %+v", lost, r.Ranges)
	if lost > 1500*time.Millisecond || lost < -500*time.Millisecond {
		t.Errorf("the archive ends %s before the kill, want at most a part (500 ms) and a frame", lost)
	}
	for _, f := range files {
		if p := livetest.FFprobe(t, f); p.Frames == 0 {
			t.Errorf("%s after the restart: %+v", filepath.Base(f), p)
		}
	}
	if !strings.Contains(c2.out.String(), "Archive: recording") {
		t.Errorf("no recording after the restart:\n%s", c2.out.String())
	}
}
