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

	realtimeFFmpeg(t)

	args := []string{"-D", dir, "-P", "0.1", "-w", "1", "--bitrate", "0.1"}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	dropIncoming(t, dir, src, "clip.mkv")
	db := openReadOnly(t, dir)
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

	crash(t, p, ffmpegPID)
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
	checkResumed(t, db, filepath.Join(dir, "videos", id), partial, "transcoded_*.mp4", "video.mp4", "transcode")
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

// dropIncoming puts src into the incoming folder as name, the way a
// careful copy does (a hidden name, then a rename).
func dropIncoming(t *testing.T, dir, src, name string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "incoming", ".copying")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "incoming", name)); err != nil {
		t.Fatal(err)
	}
}

// openReadOnly opens the server's database read-only, beside it.
func openReadOnly(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// crash kills only the server process, as the OOM killer would, and
// waits until the ffmpeg it ran (ffmpegPID) has died with it.
func crash(t *testing.T, p *proc, ffmpegPID int64) {
	t.Helper()
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
}

// checkResumed checks a job of kind after a crash and a restart: the
// crashed attempt's output (partial) is gone, one output matching pattern
// is left in mediaDir and link points at it, and the job is done after two
// attempts.
func checkResumed(t *testing.T, db *sql.DB, mediaDir, partial, pattern, link, kind string) {
	t.Helper()
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("%s: the crashed attempt's partial output was not removed", kind)
	}
	outs, _ := filepath.Glob(filepath.Join(mediaDir, pattern))
	target, _ := os.Readlink(filepath.Join(mediaDir, link))
	if len(outs) != 1 || filepath.Base(outs[0]) != target {
		t.Errorf("%s: outputs %v, %s -> %q", kind, outs, link, target)
	}
	var attempts int
	var state string
	db.QueryRow(`SELECT attempts, state FROM ingest_jobs WHERE kind = ?`, kind).Scan(&attempts, &state)
	if attempts != 2 || state != "done" {
		t.Errorf("%s job: %d attempts, %s", kind, attempts, state)
	}
}

// realtimeFFmpeg puts a slow ffmpeg first on the PATH: -re reads the
// input in real time, so a 4 s clip takes 4 s to process whatever the
// machine, without using the CPU.
func realtimeFFmpeg(t *testing.T) {
	t.Helper()
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	wrap := t.TempDir()
	os.WriteFile(filepath.Join(wrap, "ffmpeg"), []byte("#!/bin/sh\nexec "+real+" -re \"$@\"\n"), 0o755)
	t.Setenv("PATH", wrap+":"+os.Getenv("PATH"))
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
