package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

// buildWorker builds clapshot-worker next to the server binary, once.
func buildWorker(t *testing.T) string {
	t.Helper()
	workerOnce.Do(func() {
		workerBin = filepath.Join(filepath.Dir(serverBin), "clapshot-worker")
		out, err := exec.Command("go", "build", "-o", workerBin, "../clapshot-worker").CombinedOutput()
		if err != nil {
			workerErr = fmt.Errorf("build clapshot-worker: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerBin
}

// A server with --remote-workers leaves the transcode of an upload to
// clapshot-worker processes. The first worker is killed (SIGKILL, its
// ffmpeg left running) mid-transcode; a second takes the job over once
// its lease runs out, and finishes it. The uploader, connected to the
// server, sees the workers' progress and the result.
func TestWorkerKilledMidJob(t *testing.T) {
	mediatest.Require(t)
	pgtest.Require(t)
	bin := buildWorker(t)
	// Long enough to be caught transcoding (HEVC in, H.264 out).
	clipPath := mediatest.Make(t, t.TempDir(), mediatest.Families["hevc_mkv"], mediatest.Options{Seconds: 40, Width: 640, Height: 360, FPS: 25})
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u := pgtest.NewDatabase(t)
	common := []string{"-D", dir, "--db-url", u, "--job-lease", "3s"}
	srv := start(t, nil, append(common, "-P", "0.1", "--remote-workers")...)
	srv.waitHealthy(t)
	worker := func() *proc {
		p := startCmd(t, []string{bin}, append(common, "-w", "1", "-d")...)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("worker output:\n%s", p.out)
			}
		})
		return p
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", srv.out)
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.port)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	alice, err := wsclient.Dial(ctx, base, wsclient.User{ID: "alice", Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	pg, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()

	if code, body := uploadMultipart(t, base+"/", "alice", "long.mkv", clip); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var jobID, pid int64
	// The server files the upload but does not transcode it.
	waitFor(t, time.Minute, "the transcode job queued", func() bool {
		return pg.QueryRow(`SELECT id FROM ingest_jobs WHERE kind = 'transcode' AND state = 'queued'`).Scan(&jobID) == nil
	})
	time.Sleep(time.Second)
	var state string
	if err := pg.QueryRow(`SELECT state FROM ingest_jobs WHERE id = $1`, jobID).Scan(&state); err != nil || state != "queued" {
		t.Fatalf("with --remote-workers the server took the transcode: %s %v", state, err)
	}

	w1 := worker()
	waitFor(t, time.Minute, "the first worker transcoding", func() bool {
		return pg.QueryRow(`SELECT pid FROM ingest_jobs WHERE id = $1 AND state = 'running' AND pid IS NOT NULL`, jobID).Scan(&pid) == nil
	})
	progress := func(m *pb.ServerToClientCmd) bool {
		for _, msg := range m.GetShowMessages().GetMsgs() {
			if msg.GetType() == pb.UserMessage_PROGRESS && strings.HasPrefix(msg.GetMessage(), "Transcoding") {
				return true
			}
		}
		return false
	}
	if _, all, err := alice.Wait(ctx, 30*time.Second, progress); err != nil {
		t.Fatalf("no transcode progress from the worker reached the uploader: %v (%s)", err, wsclient.Describe(all))
	}
	if err := syscall.Kill(-w1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-w1.done
	if err := syscall.Kill(int(pid), 0); err != nil {
		t.Logf("the dead worker's ffmpeg (pid %d) is gone already: %v", pid, err)
	}
	killedAt := time.Now()

	w2 := worker()
	var mediaID string
	waitFor(t, 3*time.Minute, "the second worker finishing the transcode", func() bool {
		return pg.QueryRow(`SELECT media_file_id FROM ingest_jobs WHERE id = $1 AND state = 'done'`, jobID).Scan(&mediaID) == nil
	})
	t.Logf("transcode finished %v after the first worker was killed", time.Since(killedAt).Round(time.Millisecond))
	var attempts int
	if err := pg.QueryRow(`SELECT attempts FROM ingest_jobs WHERE id = $1`, jobID).Scan(&attempts); err != nil || attempts != 2 {
		t.Errorf("attempts %d (%v), want 2: one killed, one finished", attempts, err)
	}
	// Any process on the queue (the server or the second worker) takes
	// the job over, and says so.
	if !strings.Contains(w2.out.String()+srv.out.String(), "stopped renewing its lease") {
		t.Error("no process said it took over the dead worker's job")
	}
	if processAlive(int(pid)) {
		t.Errorf("the killed worker's ffmpeg (pid %d) is still running", pid)
	}
	if _, all, err := alice.Wait(ctx, 30*time.Second, func(m *pb.ServerToClientCmd) bool {
		for _, msg := range m.GetShowMessages().GetMsgs() {
			if msg.GetType() == pb.UserMessage_OK && msg.GetRefs().GetMediaFileId() == mediaID && strings.Contains(msg.GetMessage(), "ranscod") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("the uploader was not told of the finished transcode: %v (%s)", err, wsclient.Describe(all))
	}
	resp, err := http.Get(base + "/videos/" + mediaID + "/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the transcoded video: %d", resp.StatusCode)
	}
	var failed int
	if err := pg.QueryRow(`SELECT count(*) FROM ingest_jobs WHERE state IN ('failed', 'running', 'queued')`).Scan(&failed); err != nil || failed > 0 {
		t.Errorf("%d jobs not done (%v)", failed, err)
	}
}
