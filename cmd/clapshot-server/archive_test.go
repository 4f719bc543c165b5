package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// "Send to review": a recorded range of a camera becomes a normal media
// file of the user (remuxed, not re-encoded), through the ingest
// pipeline; a user who may not watch the camera cannot, and bad ranges
// get clear errors.
func TestArchiveSendToReview(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{Audio: true})
	livetest.WaitPublishing(t, srv, "cam", cam)
	dir := t.TempDir()
	conf := filepath.Join(dir, "live.toml")
	_ = os.WriteFile(conf, []byte(fmt.Sprintf(`
[archive]
recording = true
directory = %q
ms_per_file = 2000
[[rtsp_streams]]
guid = "0742091c-19cd-4658-9b4f-5320da160f45"
name = "Lobby"
url = %q
transport = "tcp"
users = ["alice"]
`, filepath.Join(dir, "mp4"), srv.URL("cam"))), 0o644)
	data := filepath.Join(dir, "data")
	// High bitrate target: the pipeline has no reason to transcode.
	p := start(t, nil, "--data-dir", data, "--live-config", conf, "--bitrate", "50")
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/api/live/streams/0742091c-19cd-4658-9b4f-5320da160f45/archive/", p.port)
	call := func(method, path, user, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Remote-User-Id", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var ranges struct {
		Ranges []struct{ Start, End time.Time } `json:"ranges"`
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		code, body := call("GET", "ranges", "alice", "")
		_ = json.Unmarshal([]byte(body), &ranges)
		if code == 200 && len(ranges.Ranges) == 1 && ranges.Ranges[0].End.Sub(ranges.Ranges[0].Start) > 7*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 7 s of archive: %d %s\n%s", code, body, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	from := ranges.Ranges[0].Start.Add(1500 * time.Millisecond)
	to := from.Add(5 * time.Second)
	rng := func(a, b time.Time) string {
		return fmt.Sprintf(`{"start":%q,"end":%q}`, a.Format(time.RFC3339Nano), b.Format(time.RFC3339Nano))
	}
	for _, tc := range []struct {
		user, body string
		code       int
		want       string
	}{
		{"bob", rng(from, to), 404, "no such stream"},
		{"alice", rng(to, from), 400, "the end is not after the start"},
		{"alice", rng(from, from.Add(5*time.Hour)), 400, "at most 4h0m0s"},
		{"alice", rng(from.Add(-48*time.Hour), from.Add(-47*time.Hour)), 404, "no archive segments in this time range"},
		{"alice", `{"start":"yesterday","end":"today"}`, 400, "neither Unix seconds nor an RFC 3339 time"},
	} {
		if code, body := call("POST", "review", tc.user, tc.body); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.user, tc.body, code, body, tc.code, tc.want)
		}
	}
	code, body := call("POST", "review", "alice", rng(from, to))
	var res struct {
		ID       string  `json:"media_file_id"`
		Title    string  `json:"title"`
		Duration float64 `json:"duration"`
	}
	if err := json.Unmarshal([]byte(body), &res); code != 202 || err != nil || res.ID == "" {
		t.Fatalf("send to review: %d %s", code, body)
	}
	if res.Duration < 5 || res.Duration > 6.5 || !strings.HasPrefix(res.Title, "Lobby ") {
		t.Errorf("exported %+v for a 5 s range", res)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var owner, title string
	var dur sql.NullFloat64
	deadline = time.Now().Add(60 * time.Second)
	for {
		err := db.QueryRow(`SELECT user_id, title, duration FROM media_files WHERE id = ?`, res.ID).Scan(&owner, &title, &dur)
		if err == nil && dur.Valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media file %s not ingested (%v):\n%s", res.ID, err, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("sent %+v; media file duration %.2f s", res, dur.Float64)
	if owner != "alice" || title != res.Title || dur.Float64 < 4.9 || dur.Float64 > 6.5 {
		t.Errorf("media file: owner %q title %q duration %v", owner, title, dur.Float64)
	}
	orig, _ := filepath.Glob(filepath.Join(data, "videos", res.ID, "orig", "*"))
	if len(orig) != 1 {
		t.Fatalf("orig files %v", orig)
	}
	if pr := livetest.FFprobe(t, orig[0]); pr.Codec != "h264" || pr.Audio != "aac" || pr.Frames < 120 {
		t.Errorf("the exported file: %+v", pr)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if rc := p.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("exit %d:\n%s", rc, p.out)
	}
}
