package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// kill -9 in the middle of a transcode: the ffmpeg it started dies with it,
// and the next start removes the partial output and finishes the job.
func TestCrashDuringTranscodeResumes(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["hevc_mkv"], mediatest.Options{Seconds: 4, Width: 320, Height: 240, FPS: 24})

	// A slow ffmpeg: -re reads the input in real time, so the 4 s clip
	// takes 4 s to transcode whatever the machine, without using the CPU.
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	wrap := t.TempDir()
	os.WriteFile(filepath.Join(wrap, "ffmpeg"), []byte("#!/bin/sh\nexec "+real+" -re \"$@\"\n"), 0o755)
	t.Setenv("PATH", wrap+":"+os.Getenv("PATH"))

	args := []string{"-D", dir, "-P", "0.1", "-w", "1", "--bitrate", "0.1"}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	data, _ := os.ReadFile(src)
	os.WriteFile(filepath.Join(dir, "incoming", ".copying"), data, 0o644)
	os.Rename(filepath.Join(dir, "incoming", ".copying"), filepath.Join(dir, "incoming", "clip.mkv"))

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ffmpegPID int64
	var partial string
	deadline := time.Now().Add(60 * time.Second)
	for partial == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no transcode started; server output:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
		var pid sql.NullInt64
		var outputs sql.NullString
		if db.QueryRow(`SELECT pid, outputs FROM ingest_jobs WHERE kind = 'transcode' AND state = 'running'`).Scan(&pid, &outputs) != nil || !pid.Valid {
			continue
		}
		var files []string
		json.Unmarshal([]byte(outputs.String), &files)
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 0 && strings.Contains(f, "transcoded_") {
				ffmpegPID, partial = pid.Int64, f
			}
		}
	}

	// Crash: only the server process, as the OOM killer would.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	gone := time.Now().Add(10 * time.Second)
	for processAlive(int(ffmpegPID)) {
		if time.Now().After(gone) {
			t.Fatalf("ffmpeg (pid %d) outlived the killed server", ffmpegPID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("expected the crash to leave a partial output: %v", err)
	}

	p2 := start(t, nil, args...)
	p2.waitHealthy(t)
	var id string
	deadline = time.Now().Add(90 * time.Second)
	for {
		var done sql.NullString
		err := db.QueryRow(`SELECT id, recompression_done FROM media_files`).Scan(&id, &done)
		if err == nil && done.Valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not transcoded after the restart; output:\n%s", p2.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Error("the crashed attempt's partial output was not removed")
	}
	outs, _ := filepath.Glob(filepath.Join(dir, "videos", id, "transcoded_*.mp4"))
	link, _ := os.Readlink(filepath.Join(dir, "videos", id, "video.mp4"))
	if len(outs) != 1 || filepath.Base(outs[0]) != link {
		t.Errorf("transcodes %v, video.mp4 -> %q", outs, link)
	}
	var attempts int
	var state string
	db.QueryRow(`SELECT attempts, state FROM ingest_jobs WHERE kind = 'transcode'`).Scan(&attempts, &state)
	if attempts != 2 || state != "done" {
		t.Errorf("job: %d attempts, %s", attempts, state)
	}
	var rows, transcoded int
	db.QueryRow(`SELECT count(*) FROM media_files`).Scan(&rows)
	db.QueryRow(`SELECT count(*) FROM messages WHERE message = 'Media transcoded.'`).Scan(&transcoded)
	if rows != 1 || transcoded != 1 {
		t.Errorf("%d media rows, %d 'Media transcoded.' messages; want 1 and 1", rows, transcoded)
	}
	if _, err := os.Stat(filepath.Join(dir, "videos", id, "thumbs", "sheet-10x10.webp")); err != nil {
		t.Error("no thumbnails after the resumed transcode")
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if rc := p2.wait(t, 20*time.Second); rc != 0 {
		t.Errorf("exit %d:\n%s", rc, p2.out)
	}
}

// processAlive: running and not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}
