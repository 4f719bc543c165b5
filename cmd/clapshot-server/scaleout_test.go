package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// upload is one clip sent through one server instance.
type upload struct {
	user, name string
	via        int // the server
	clip       []byte
	mediaID    string
}

// ingestSeen is what an uploader's session heard about one media file.
type ingestSeen struct{ added, progress, transcoded bool }

// The whole of "beyond one machine" at once: two server instances
// (--remote-workers) and two clapshot-worker processes on one PostgreSQL
// database and one S3 bucket, each worker with a data directory of its
// own. Uploads through both instances are transcoded by the workers, both
// of which get work; the uploaders' sessions hear of progress and results
// on their own instance; originals and transcodes are objects, played
// through either instance with ranges; comments and a collab session
// cross instances; a worker killed mid-job (SIGKILL) leaves its job to the
// other after the lease.
func TestScaleOut(t *testing.T) {
	mediatest.Require(t)
	pgtest.Require(t)
	began := time.Now()
	// Distinct clips (a media file's id comes from its content), made
	// before ffmpeg is slowed down below.
	var ups []*upload
	for i, u := range []struct {
		user string
		via  int
	}{{"alice", 0}, {"alice", 0}, {"alice", 0}, {"alice", 0}, {"carol", 1}} {
		b := clipBytes(t, "hevc_mkv", mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 24 + i})
		ups = append(ups, &upload{user: u.user, name: fmt.Sprintf("clip%d.mkv", i), via: u.via, clip: b})
	}
	long := clipBytes(t, "hevc_mkv", mediatest.Options{Seconds: 6, Width: 320, Height: 240, FPS: 24})
	_, st, mediaURL := s3Server(t)
	// Every transcode takes the clip's duration without using the CPU
	// (ffmpeg -re): the jobs outlast the workers' polls, so both get
	// some, and one can be caught running.
	realtimeFFmpeg(t)
	c := startCluster(t, clusterOptions{servers: 2, workers: 2, mediaURL: mediaURL, serverArgs: []string{"--remote-workers"}, lease: "3s"})
	t.Logf("cluster up after %v", time.Since(began).Round(time.Millisecond))
	sessions := map[string]*wsclient.Client{"alice": c.dial(t, 0, "alice"), "carol": c.dial(t, 1, "carol")}
	for _, u := range ups {
		if code, body := uploadMultipart(t, c.url(u.via)+"/", u.user, u.name, u.clip); code != 200 {
			t.Fatalf("upload %s through server %d: %d %s", u.name, u.via, code, body)
		}
	}
	uploaded := time.Now()

	// Each uploader hears, on its own instance, of each of its files:
	// added (by whichever server ingested it), the worker's progress,
	// the worker's result.
	for user, cl := range sessions {
		seen := map[string]*ingestSeen{}
		mine := 0
		for _, u := range ups {
			if u.user == user {
				mine++
			}
		}
		done := func() bool {
			n := 0
			for _, s := range seen {
				if s.added && s.progress && s.transcoded {
					n++
				}
			}
			return n == mine
		}
		if _, all, err := cl.Wait(c.ctx, 2*time.Minute, func(m *pb.ServerToClientCmd) bool {
			for _, msg := range m.GetShowMessages().GetMsgs() {
				id := msg.GetRefs().GetMediaFileId()
				if id == "" {
					continue
				}
				if seen[id] == nil {
					seen[id] = &ingestSeen{}
				}
				s := seen[id]
				switch {
				case msg.GetType() == pb.UserMessage_MEDIA_FILE_ADDED:
					s.added = true
				case msg.GetType() == pb.UserMessage_PROGRESS && strings.HasPrefix(msg.GetMessage(), "Transcoding"):
					s.progress = true
				case msg.GetType() == pb.UserMessage_OK && msg.GetMessage() == "Media transcoded.":
					s.transcoded = true
				case msg.GetType() == pb.UserMessage_ERROR:
					t.Errorf("%s was told of an error: %s %s", user, msg.GetMessage(), msg.GetDetails())
				}
			}
			return done()
		}); err != nil {
			t.Fatalf("%s's session: %v; heard %+v (%s)", user, err, seen, wsclient.Describe(all))
		}
	}
	t.Logf("5 uploads added and transcoded %v after the last was sent", time.Since(uploaded).Round(time.Millisecond))

	// The workers did the transcodes, both of them; the servers none.
	rows, err := c.pg.Query(`SELECT j.id, j.media_file_id, m.orig_filename FROM ingest_jobs j JOIN media_files m ON m.id = j.media_file_id
		WHERE j.kind = 'transcode' AND j.state = 'done'`)
	if err != nil {
		t.Fatal(err)
	}
	by := transcodedBy(c.workers)
	perWorker := make([]int, len(c.workers))
	for rows.Next() {
		var job int64
		var id, name string
		if err := rows.Scan(&job, &id, &name); err != nil {
			t.Fatal(err)
		}
		for _, u := range ups {
			if u.name == name {
				u.mediaID = id
			}
		}
		w, ok := by[job]
		if !ok {
			t.Errorf("transcode job %d (%s) was not done by a worker", job, name)
			continue
		}
		perWorker[w]++
	}
	rows.Close()
	t.Logf("transcodes per worker: %v", perWorker)
	for w, n := range perWorker {
		if n == 0 {
			t.Errorf("worker %d transcoded nothing of %d jobs", w, len(ups))
		}
	}
	for i, p := range c.procs {
		if strings.Contains(p.out.String(), `msg="Media transcoded"`) {
			t.Errorf("server %d transcoded with --remote-workers", i)
		}
	}
	// The workers read and wrote their own spools only (their logs name
	// every file ffmpeg got): on machines of their own, the servers'
	// data directory is not there.
	for w, p := range c.workers {
		if strings.Contains(p.out.String(), c.dir) {
			t.Errorf("worker %d used the servers' data directory %s", w, c.dir)
		}
	}

	// The originals and transcodes are objects, played through both
	// instances with ranges; the workers' spools empty again.
	for _, u := range ups {
		if u.mediaID == "" {
			t.Fatalf("%s: no transcoded media file", u.name)
		}
		media := "videos/" + u.mediaID + "/"
		waitObjects(t, st, media+"orig/"+u.name, media+"video.mp4", media+"thumbs/thumb.webp")
		if orig, err := st.Read(context.Background(), media+"orig/"+u.name); err != nil || !bytes.Equal(orig, u.clip) {
			t.Errorf("%s: the stored original is %d bytes (%v), want the %d uploaded", u.name, len(orig), err, len(u.clip))
		}
		checkRangeGet(t, c, st, media+"video.mp4")
	}
	for w := range c.workers {
		// (The worker's data directory is its spool.)
		waitFor(t, 20*time.Second, fmt.Sprintf("worker %d's spool to empty", w), func() bool {
			left, _ := filepath.Glob(filepath.Join(workerDir(c.workers[w]), "videos", "*", "*"))
			return len(left) == 0
		})
	}
	if left, _ := filepath.Glob(filepath.Join(c.dir, "videos", "*", "transcoded_*")); len(left) > 0 {
		t.Errorf("transcodes in the servers' data directory: %q", left)
	}

	// Comments cross instances, both ways.
	m0 := ups[0].mediaID
	alice := c.open(t, sessions["alice"], m0)
	bob := c.open(t, c.dial(t, 1, "bob"), m0)
	c.send(t, alice, wsclient.AddComment(m0, "from A"))
	c.expect(t, bob, "A's comment on B", commentIs("from A"))
	c.send(t, bob, wsclient.AddComment(m0, "from B"))
	c.expect(t, alice, "B's comment on A", commentIs("from B"))

	// A collab session spanning both mirrors playback.
	c.joinCollab(t, alice, "scale", m0)
	c.expect(t, alice, "alice joined", wsclient.Message("'alice' joined collab"))
	c.joinCollab(t, bob, "scale", m0)
	c.expect(t, alice, "bob's join seen on A", wsclient.Message("'bob' joined collab"))
	c.collabReport(t, alice, &pb.ClientToServerCmd_CollabReport{Paused: false, SeekTimeSec: 0.75})
	c.expect(t, bob, "alice's play on B", collabEvent("alice", 0.75, ""))
	c.collabReport(t, bob, &pb.ClientToServerCmd_CollabReport{Paused: true, SeekTimeSec: 1.5})
	c.expect(t, alice, "bob's pause on A", collabEvent("bob", 1.5, ""))

	// A worker killed mid-transcode: the other takes the job over after
	// the lease.
	if code, body := uploadMultipart(t, c.url(0)+"/", "alice", "long.mkv", long); code != 200 {
		t.Fatalf("upload long.mkv: %d %s", code, body)
	}
	var jobID, ffmpeg int64
	var mediaID string
	waitFor(t, time.Minute, "the long clip's transcode running", func() bool {
		return c.pg.QueryRow(`SELECT j.id, j.pid, j.media_file_id FROM ingest_jobs j JOIN media_files m ON m.id = j.media_file_id
			WHERE j.kind = 'transcode' AND j.state = 'running' AND j.pid IS NOT NULL AND m.orig_filename = 'long.mkv'`).Scan(&jobID, &ffmpeg, &mediaID) == nil
	})
	victim := -1
	for w, p := range c.workers {
		if parentPID(int(ffmpeg)) == p.cmd.Process.Pid {
			victim = w
		}
	}
	if victim < 0 {
		t.Fatalf("the transcode's ffmpeg (pid %d) is no worker's child", ffmpeg)
	}
	time.Sleep(500 * time.Millisecond) // into the run
	kill9(t, c.workers[victim])
	killed := time.Now()
	survivor := 1 - victim
	waitFor(t, time.Minute, "the other worker to finish the killed worker's job", func() bool {
		var state string
		return c.pg.QueryRow(`SELECT state FROM ingest_jobs WHERE id = $1`, jobID).Scan(&state) == nil && state == "done"
	})
	t.Logf("worker %d killed mid-transcode; worker %d finished the job %v later", victim, survivor, time.Since(killed).Round(time.Millisecond))
	var attempts int
	if err := c.pg.QueryRow(`SELECT attempts FROM ingest_jobs WHERE id = $1`, jobID).Scan(&attempts); err != nil || attempts != 2 {
		t.Errorf("attempts %d (%v), want 2: one killed, one finished", attempts, err)
	}
	if w, ok := transcodedBy(c.workers)[jobID]; !ok || w != survivor {
		t.Errorf("job %d finished by worker %d (%v), want worker %d", jobID, w, ok, survivor)
	}
	waitObjects(t, st, "videos/"+mediaID+"/video.mp4")
	checkRangeGet(t, c, st, "videos/"+mediaID+"/video.mp4")
	c.expect(t, alice, "the long clip's result on A", func(m *pb.ServerToClientCmd) bool {
		for _, msg := range m.GetShowMessages().GetMsgs() {
			if msg.GetType() == pb.UserMessage_OK && msg.GetRefs().GetMediaFileId() == mediaID && msg.GetMessage() == "Media transcoded." {
				return true
			}
		}
		return false
	})
	// The servers' copies of the first originals are gone too (they
	// look every 30 s for stored media files whose jobs are all done).
	waitFor(t, 30*time.Second, "the servers' data directory to keep no file of the first uploads", func() bool {
		for _, u := range ups {
			if left, _ := filepath.Glob(filepath.Join(c.dir, "videos", u.mediaID, "*")); len(left) > 0 {
				return false
			}
		}
		return true
	})
	var unfinished int
	if err := c.pg.QueryRow(`SELECT count(*) FROM ingest_jobs WHERE state <> 'done'`).Scan(&unfinished); err != nil || unfinished > 0 {
		t.Errorf("%d jobs not done (%v)", unfinished, err)
	}
	t.Logf("TestScaleOut took %v", time.Since(began).Round(time.Millisecond))
}

// checkRangeGet fetches a range of an object through every server (the
// redirect to the store followed) and compares it with the object.
func checkRangeGet(t *testing.T, c *cluster, st *objstore.Store, key string) {
	t.Helper()
	want, err := st.Read(context.Background(), key)
	if err != nil || len(want) < 2000 {
		t.Fatalf("%s in the store: %d bytes, %v", key, len(want), err)
	}
	for i := range c.procs {
		resp, part := get(t, c.url(i)+"/"+key, "bytes=1000-1999")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, want[1000:2000]) {
			t.Errorf("server %d: GET %s bytes=1000-1999: %s, %d bytes", i, key, resp.Status, len(part))
		}
	}
}

// workerDir is a worker's -D.
func workerDir(p *proc) string {
	for i, a := range p.cmd.Args {
		if a == "-D" && i+1 < len(p.cmd.Args) {
			return p.cmd.Args[i+1]
		}
	}
	return ""
}
