package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// The adaptive ladder with --hls-ladder: kill -9 while it is being made,
// and the next start removes the partial ladder and makes it again from
// the job row; the finished ladder is served at /videos/<id>/hls/ like the
// other media files.
func TestCrashDuringLadderResumes(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	// Plays as it is: only thumbnails and the ladder are made.
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Options{Seconds: 4, Width: 320, Height: 240, FPS: 24})
	realtimeFFmpeg(t)

	args := []string{"-D", dir, "-P", "0.1", "-w", "1", "--hls-ladder", "--hls-ladder-rungs", "240:0.3,144:0.15"}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	dropIncoming(t, dir, src, "clip.mp4")
	db := openReadOnly(t, dir)
	var ffmpegPID int64
	var partial string
	deadline := time.Now().Add(90 * time.Second)
	for partial == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no ladder started; server output:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
		var pid sql.NullInt64
		var outputs sql.NullString
		if db.QueryRow(`SELECT pid, outputs FROM ingest_jobs WHERE kind = 'ladder' AND state = 'running'`).Scan(&pid, &outputs) != nil || !pid.Valid {
			continue
		}
		dirs := regexp.MustCompile(`[^"]*/hls_[^"]*`).FindAllString(outputs.String, -1)
		if len(dirs) == 1 {
			if segs, _ := filepath.Glob(filepath.Join(dirs[0], "240p", "seg_*.m4s")); len(segs) > 0 {
				ffmpegPID, partial = pid.Int64, dirs[0]
			}
		}
	}
	crash(t, p, ffmpegPID)

	p2 := start(t, nil, args...)
	p2.waitHealthy(t)
	var id string
	deadline = time.Now().Add(90 * time.Second)
	for db.QueryRow(`SELECT media_file_id FROM media_hls`).Scan(&id) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no ladder after the restart; output:\n%s", p2.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkResumed(t, db, filepath.Join(dir, "videos", id), partial, "hls_*", "hls", "ladder")

	// Served like every media file, with the types players expect.
	base := fmt.Sprintf("http://127.0.0.1:%d/videos/%s/hls/", p2.port, id)
	get := func(rel, wantType string) string { t.Helper(); return getTyped(t, base+rel, wantType) }
	master := get("master.m3u8", "application/vnd.apple.mpegurl")
	if !strings.Contains(master, "240p/index.m3u8") || !strings.Contains(master, "144p/index.m3u8") {
		t.Errorf("master playlist:\n%s", master)
	}
	playlist := get("144p/index.m3u8", "application/vnd.apple.mpegurl")
	get("144p/seg_00000.m4s", "video/iso.segment")
	if m := regexp.MustCompile(`URI="([^"]+)"`).FindStringSubmatch(playlist); m != nil {
		get("144p/"+m[1], "video/mp4")
	} else {
		t.Errorf("no init section in\n%s", playlist)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if rc := p2.wait(t, 20*time.Second); rc != 0 {
		t.Errorf("exit %d:\n%s", rc, p2.out)
	}
}

// getTyped fetches url, which must answer 200 with a body of content
// type wantType, and returns the body.
func getTyped(t *testing.T, url, wantType string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != wantType || len(body) == 0 {
		t.Errorf("GET %s: %d %q, %d bytes", url, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	return string(body)
}
