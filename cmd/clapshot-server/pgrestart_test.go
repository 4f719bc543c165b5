package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// poster posts comments one at a time through one session, each answered
// by its own echo (acknowledged) or an error (refused) before the next.
type poster struct {
	name string
	cl   *wsclient.Client

	mu       sync.Mutex
	acked    []string
	refused  []string
	unclear  []string // errors that do not say the database is away
	hung     []string // neither answer within the bound
	lastAck  time.Time
	sinceMid int // acks after mark was called
	marked   bool
}

// answerBound is how long a command may take to be answered, outage or
// not: anything longer is a hang.
const answerBound = 10 * time.Second

func (p *poster) run(ctx context.Context, mediaID string) {
	for n := 0; ctx.Err() == nil; n++ {
		text := fmt.Sprintf("%s-%d", p.name, n)
		if err := p.cl.Send(ctx, wsclient.AddComment(mediaID, text)); err != nil {
			return
		}
		var why string
		_, _, err := p.cl.Wait(ctx, answerBound, func(m *pb.ServerToClientCmd) bool {
			if commentIs(text)(m) {
				return true
			}
			if e := m.GetError(); e != nil {
				why = e.GetMsg()
				return true
			}
			for _, msg := range m.GetShowMessages().GetMsgs() {
				if msg.GetType() == pb.UserMessage_ERROR {
					why = msg.GetMessage()
					return true
				}
			}
			return false
		})
		p.mu.Lock()
		switch {
		case err != nil && ctx.Err() == nil:
			p.hung = append(p.hung, text)
		case err != nil:
		case why == "":
			p.acked = append(p.acked, text)
			p.lastAck = time.Now()
			if p.marked {
				p.sinceMid++
			}
		case strings.Contains(why, store.UnavailableMessage):
			p.refused = append(p.refused, text)
		default:
			p.unclear = append(p.unclear, text+": "+why)
		}
		p.mu.Unlock()
		// Below the server's rate limit (100 commands a second), as
		// people typing are; longer after an error, as a user would wait
		// before trying again.
		pause := 30 * time.Millisecond
		if why != "" {
			pause = 200 * time.Millisecond
		}
		time.Sleep(pause)
	}
}

func (p *poster) mark() {
	p.mu.Lock()
	p.marked, p.sinceMid = true, 0
	p.mu.Unlock()
}

func (p *poster) acks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *poster) acksSinceMark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sinceMid
}

// PostgreSQL restarted under load: two instances (--remote-workers) and
// a worker, a client on each instance posting comments without pause,
// a transcode running. While the database is away every
// comment is refused at once with a message saying so (none hangs), the
// readiness check says so, and an upload is refused; once it is back,
// the processes recover by themselves (no restart): comments are
// accepted again, every acknowledged comment is stored exactly once,
// comments cross instances again (LISTEN re-established), the transcode
// is recorded once, and the job queue takes a new upload through.
func TestPostgresRestartUnderLoad(t *testing.T) {
	mediatest.Require(t)
	pg := pgtest.StartServer(t) // this test's own: it is restarted
	began := time.Now()
	clip := clipBytes(t, "h264_mp4", mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 30})
	// A transcode starts before the outage and ends during it (ffmpeg
	// -re: in real time; 10 s, so that a loaded machine's slow start
	// still leaves most of it for the outage).
	long := clipBytes(t, "hevc_mkv", mediatest.Options{Seconds: 10, Width: 320, Height: 240, FPS: 24})
	realtimeFFmpeg(t)
	in := startInstancesWith(t, clusterOptions{servers: 2, workers: 1, dbURL: pg.NewDatabase(t), serverArgs: []string{"--remote-workers"}})
	if code, body := uploadMultipart(t, in.url(0)+"/", "alice", "long.mkv", long); code != 200 {
		t.Fatalf("upload long.mkv: %d %s", code, body)
	}
	var longJob, ffmpeg int64
	waitFor(t, time.Minute, "the worker transcoding long.mkv", func() bool {
		return in.pg.QueryRow(`SELECT j.id, j.pid FROM ingest_jobs j JOIN media_files m ON m.id = j.media_file_id
			WHERE j.kind = 'transcode' AND j.state = 'running' AND j.pid IS NOT NULL AND m.orig_filename = 'long.mkv'`).Scan(&longJob, &ffmpeg) == nil
	})
	posters := []*poster{{name: "alice", cl: in.watch(t, 0, "alice")}, {name: "bob", cl: in.watch(t, 1, "bob")}}
	ctx, stop := context.WithCancel(in.ctx)
	var wg sync.WaitGroup
	for _, p := range posters {
		wg.Add(1)
		go func() { defer wg.Done(); p.run(ctx, in.mediaID) }()
	}
	stopPosters := sync.OnceFunc(func() { stop(); wg.Wait() })
	defer stopPosters()
	time.Sleep(2 * time.Second)

	if err := pg.Halt(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	if !processAlive(int(ffmpeg)) {
		t.Fatal("the transcode ended before PostgreSQL stopped: nothing here would test recording it across the outage")
	}
	t.Logf("PostgreSQL stopped after %d and %d comments", posters[0].acks(), posters[1].acks())
	time.Sleep(time.Second)
	for i := range in.procs {
		resp, err := http.Get(in.url(i) + "/api/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("server %d: /api/ready answers %s with the database away", i, resp.Status)
		}
	}
	if code, body := uploadMultipart(t, in.url(0)+"/", "alice", "during.mp4", clip); code != http.StatusServiceUnavailable || !strings.Contains(body, store.UnavailableMessage) {
		t.Errorf("an upload with the database away was answered %d %q", code, body)
	}
	time.Sleep(3 * time.Second)
	waitFor(t, 20*time.Second, "the transcode's ffmpeg to end", func() bool { return !processAlive(int(ffmpeg)) })
	time.Sleep(1500 * time.Millisecond) // the worker tries to record it
	for _, p := range posters {
		p.mark()
	}
	if err := pg.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL back after %v", time.Since(down).Round(time.Millisecond))
	back := time.Now()
	waitFor(t, 30*time.Second, "both clients' comments accepted again", func() bool {
		return posters[0].acksSinceMark() >= 3 && posters[1].acksSinceMark() >= 3
	})
	t.Logf("comments accepted again %v after PostgreSQL was back", time.Since(back).Round(time.Millisecond))
	stopPosters()

	for _, p := range posters {
		t.Logf("%s: %d acknowledged, %d refused", p.name, len(p.acked), len(p.refused))
		if len(p.refused) == 0 {
			t.Errorf("%s: no comment was refused while the database was away", p.name)
		}
		if len(p.unclear) > 0 {
			t.Errorf("%s: errors that do not say the database is away: %q", p.name, p.unclear)
		}
		if len(p.hung) > 0 {
			t.Errorf("%s: comments answered neither way within %v: %q", p.name, answerBound, p.hung)
		}
		for _, text := range p.acked {
			var n int
			if err := in.pg.QueryRow(`SELECT count(*) FROM comments WHERE comment = $1`, text).Scan(&n); err != nil || n != 1 {
				t.Errorf("acknowledged comment %q is stored %d times (%v)", text, n, err)
			}
		}
		stored := 0
		for _, text := range p.refused {
			var n int
			if err := in.pg.QueryRow(`SELECT count(*) FROM comments WHERE comment = $1`, text).Scan(&n); err != nil || n > 1 {
				t.Errorf("refused comment %q is stored %d times (%v)", text, n, err)
			}
			stored += n
		}
		if stored > 0 {
			t.Logf("%s: %d of the refused comments were stored all the same (the connection died after the commit)", p.name, stored)
		}
	}

	// LISTEN is back on both instances, and comments cross again.
	waitFor(t, 30*time.Second, "both instances hearing each other again", func() bool {
		for i := range in.procs {
			if h := in.health(t, i); !h.Instances.Listening || h.Instances.Listens < 2 {
				return false
			}
		}
		return true
	})
	for _, way := range []struct{ from, to int }{{0, 1}, {1, 0}} {
		text := fmt.Sprintf("after the restart, from %d", way.from)
		in.send(t, posters[way.from].cl, wsclient.AddComment(in.mediaID, text))
		in.expect(t, posters[way.to].cl, fmt.Sprintf("a comment from server %d on server %d", way.from, way.to), commentIs(text))
	}

	// The transcode that ended during the outage is recorded once it is
	// over (not run again), and its uploader told, once.
	waitFor(t, time.Minute, "the transcode across the outage recorded", func() bool {
		var state string
		return in.pg.QueryRow(`SELECT state FROM ingest_jobs WHERE id = $1`, longJob).Scan(&state) == nil && state == "done"
	})
	var attempts, told int
	if err := in.pg.QueryRow(`SELECT attempts FROM ingest_jobs WHERE id = $1`, longJob).Scan(&attempts); err != nil || attempts != 1 {
		t.Errorf("the transcode across the outage: attempts %d (%v), want 1", attempts, err)
	}
	if err := in.pg.QueryRow(`SELECT count(*) FROM messages WHERE user_id = 'alice' AND message = 'Media transcoded.'`).Scan(&told); err != nil || told != 1 {
		t.Errorf("alice was told of the transcode %d times (%v)", told, err)
	}
	// Which way it went depends on where the worker was when the database
	// went: retrying the record (logged), or held in a call that the
	// database answered once back. Either way: done once, told once.
	if strings.Contains(in.workers[0].out.String(), "Cannot record a finished job: the database does not answer; retrying") {
		t.Log("the worker retried recording the transcode while the database was away")
	} else {
		t.Log("the worker's recording of the transcode waited for the database")
	}

	// The job queue: an upload is ingested and thumbnailed (by the
	// worker).
	if code, body := uploadMultipart(t, in.url(1)+"/", "bob", "after.mp4", clip); code != 200 {
		t.Fatalf("upload after the restart: %d %s", code, body)
	}
	var id string
	waitFor(t, time.Minute, "the upload after the restart processed", func() bool {
		return in.pg.QueryRow(`SELECT id FROM media_files WHERE orig_filename = 'after.mp4' AND thumbs_done IS NOT NULL`).Scan(&id) == nil
	})
	for i := range in.procs {
		if resp, _ := get(t, in.url(i)+"/videos/"+id+"/orig/after.mp4", "bytes=0-99"); resp.StatusCode != http.StatusPartialContent {
			t.Errorf("server %d: the new upload: %s", i, resp.Status)
		}
		select {
		case <-in.procs[i].done:
			t.Errorf("server %d exited", i)
		default:
		}
	}
	t.Logf("TestPostgresRestartUnderLoad took %v", time.Since(began).Round(time.Millisecond))
}
