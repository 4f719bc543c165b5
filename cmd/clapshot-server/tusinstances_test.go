package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// Resumable uploads through several instances on one PostgreSQL
// database, which share the uploads (the data directory's upload/tus/,
// or the media store's) and, through tuslock, their locks.

// tusCluster is two instances and where their uploads are.
type tusCluster struct {
	*instances
	st   *objstore.Store // the media store; nil: the data directory
	clip []byte          // the file the tests upload, as clip.mp4
}

// tusModes are where the uploads are kept: the shared data directory
// (tusd's file store), or the media store (tusd's s3store on one
// SeaweedFS bucket).
var tusModes = []struct {
	name    string
	objects bool
}{{"data directory", false}, {"media store", true}}

// tusClip is a clip of noise (it does not compress): about 7 MB, so
// that with the media store PATCHes become real parts.
func tusClip(t *testing.T) []byte {
	t.Helper()
	p := mediatest.MakeArgs(t, t.TempDir(), "noise.mp4", "-f", "lavfi", "-i", "nullsrc=s=640x360:r=25:d=1,geq=random(1)*255:128:128",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eachTusMode runs test in each mode, with two fresh instances and an
// upload of the clip (clip.mp4, alice's) created on the first.
func eachTusMode(t *testing.T, test func(t *testing.T, c *tusCluster, onA *tusClient)) {
	for _, m := range tusModes {
		t.Run(m.name, func(t *testing.T) {
			c := newTusCluster(t, m.objects)
			test(t, c, newTusUpload(t, c.base(0), "alice", "clip.mp4", int64(len(c.clip))))
		})
	}
}

func newTusCluster(t *testing.T, objects bool) *tusCluster {
	t.Helper()
	mediatest.Require(t)
	c := &tusCluster{clip: tusClip(t)}
	var mediaURL string
	if objects {
		_, c.st, mediaURL = s3Server(t)
	}
	c.instances = &instances{cluster: startCluster(t, clusterOptions{servers: 2, mediaURL: mediaURL})}
	return c
}

func (c *tusCluster) base(i int) string { return c.url(i) + "/" }

// locks counts the advisory locks held in the database (tus uploads'
// only: the server's own are taken in transactions, and released at
// their end).
func (c *tusCluster) locks(t *testing.T) int { return pgtest.AdvisoryLocks(t, c.pg) }

// waitLocked waits until an upload's lock is held (a request reached
// tusd's handler).
func (c *tusCluster) waitLocked(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "the upload's lock to be taken", func() bool { return c.locks(t) == 1 })
}

// ingestedOnce waits until the work is done and the clip is alice's one
// media file, and checks that its original is the clip, byte for byte.
func (c *tusCluster) ingestedOnce(t *testing.T) {
	t.Helper()
	var id string
	waitFor(t, 3*time.Minute, "the upload to be processed", func() bool {
		var pending, files int
		if c.pg.QueryRow(`SELECT count(*) FROM ingest_jobs WHERE state IN ('queued', 'running')`).Scan(&pending) != nil || pending > 0 {
			return false
		}
		return c.pg.QueryRow(`SELECT count(*), min(id) FROM media_files WHERE user_id = 'alice' AND duration IS NOT NULL`).Scan(&files, &id) == nil && files > 0
	})
	var files, ingests, failed int
	if err := c.pg.QueryRow(`SELECT (SELECT count(*) FROM media_files),
		(SELECT count(*) FROM ingest_jobs WHERE kind = 'ingest'), (SELECT count(*) FROM ingest_jobs WHERE state = 'failed')`).
		Scan(&files, &ingests, &failed); err != nil {
		t.Fatal(err)
	}
	if files != 1 || ingests != 1 || failed != 0 {
		t.Errorf("%d media files, %d ingest jobs, %d failed jobs; want 1, 1, 0", files, ingests, failed)
	}
	var orig []byte
	var err error
	if c.st != nil {
		orig, err = c.st.Read(context.Background(), "videos/"+id+"/orig/clip.mp4")
	} else {
		orig, err = os.ReadFile(filepath.Join(c.dir, "videos", id, "orig", "clip.mp4"))
	}
	if err != nil || !bytes.Equal(orig, c.clip) {
		t.Fatalf("stored original: %d bytes (%v), want the %d uploaded, byte for byte", len(orig), err, len(c.clip))
	}
	if n := c.locks(t); n != 0 {
		t.Errorf("%d advisory locks left", n)
	}
}

// on is the same upload through another instance.
func (tc *tusClient) on(base string) *tusClient {
	u, err := url.Parse(tc.loc)
	if err != nil {
		tc.t.Fatal(err)
	}
	other := *tc
	other.base, other.loc = base, strings.TrimSuffix(base, "/")+u.Path
	return &other
}

type patchResult struct {
	code int
	body string
	err  error
}

// startPatch begins a PATCH of n bytes at offset whose body is what the
// test writes to the returned pipe; the outcome arrives on the channel.
func (tc *tusClient) startPatch(offset, n int64) (*io.PipeWriter, <-chan patchResult) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PATCH", tc.loc, pr)
	req.ContentLength = n
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("X-Remote-User-Id", tc.user)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	res := make(chan patchResult, 1)
	go func() {
		// Its own client: the stalled request's connection is not
		// reused.
		resp, err := (&http.Client{Transport: &http.Transport{}, Timeout: time.Minute}).Do(req)
		if err != nil {
			res <- patchResult{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- patchResult{code: resp.StatusCode, body: string(b)}
	}()
	return pw, res
}

func waitPatch(t *testing.T, res <-chan patchResult) patchResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(time.Minute):
		t.Fatal("PATCH did not end within a minute")
	}
	return patchResult{}
}

// An upload started on A is resumed on B: HEAD on B says where A left
// it, PATCHes on B send the rest, and the file is ingested once, byte
// for byte.
func TestTusResumedOnAnotherInstance(t *testing.T) {
	eachTusMode(t, func(t *testing.T, c *tusCluster, onA *tusClient) {
		size := int64(len(c.clip))
		half := size / 2
		if code, body, off := onA.send("PATCH", 0, half, bytes.NewReader(c.clip[:half])); code != 204 || off != half {
			t.Fatalf("PATCH on A: %d %q, offset %d", code, body, off)
		}
		onB := onA.on(c.base(1))
		if code, off := onB.offset(); code != 200 || off != half {
			t.Fatalf("HEAD on B: %d, offset %d; want 200, %d (A's)", code, off, half)
		}
		if code := onB.finish(c.clip, 3<<20); code != 204 {
			t.Fatalf("last PATCH on B: %d", code)
		}
		c.ingestedOnce(t)
	})
}

// Two PATCHes of the same upload at once, on A and B: A's has the lock
// and has not written yet; B's asks A (through LISTEN/NOTIFY) to
// release it, A's request is stopped with tusd's 400
// ERR_UPLOAD_INTERRUPTED, and B's, once it has the lock, writes the
// whole file. What A's client sends afterwards is not written: the file
// is the clip, byte for byte. (With tusd's memorylocker, a lock per
// process, B would not wait, and A's bytes would be appended to B's.)
func TestTusConcurrentPatchesOnTwoInstances(t *testing.T) {
	eachTusMode(t, func(t *testing.T, c *tusCluster, onA *tusClient) {
		size := int64(len(c.clip))
		pw, resA := onA.startPatch(0, size)
		defer pw.Close()
		c.waitLocked(t)

		start := time.Now()
		code, body, off := onA.on(c.base(1)).send("PATCH", 0, size, bytes.NewReader(c.clip))
		took := time.Since(start)
		t.Logf("B's PATCH: %d after %v (%.1f MB)", code, took, float64(size)/1e6)
		if code != 204 || off != size {
			t.Fatalf("PATCH on B: %d %q, offset %d; want 204 with all %d bytes", code, body, off, size)
		}
		// A's client goes on sending: a different file of the same
		// length.
		go func() {
			_, _ = pw.Write(bytes.Repeat([]byte{0xAA}, int(size)))
			pw.Close()
		}()
		r := waitPatch(t, resA)
		t.Logf("A's PATCH: %d %q %v", r.code, first(r.body, 120), r.err)
		if r.err == nil && (r.code != http.StatusBadRequest || !strings.Contains(r.body, "ERR_UPLOAD_INTERRUPTED")) {
			t.Errorf("A's PATCH: %d %q; want 400 ERR_UPLOAD_INTERRUPTED", r.code, r.body)
		}
		c.ingestedOnce(t)
	})
}

// A is killed (SIGKILL) in the middle of a PATCH, holding the upload's
// lock: PostgreSQL drops the lock with A's connection, HEAD on B answers
// at once with what was stored, and B takes the rest; the file is
// ingested once, byte for byte.
func TestTusInstanceKilledMidPatch(t *testing.T) {
	eachTusMode(t, func(t *testing.T, c *tusCluster, onA *tusClient) {
		size := int64(len(c.clip))
		// Over S3's 5 MiB minimum: with the media store, a whole
		// part. (A shorter one is kept as the .part object, which
		// s3store takes out of the store when the next PATCH starts:
		// killed then, the upload resumes from before it.)
		const firstPatch = 6 << 20
		if code, body, off := onA.send("PATCH", 0, firstPatch, bytes.NewReader(c.clip[:firstPatch])); code != 204 || off != firstPatch {
			t.Fatalf("first PATCH on A: %d %q, offset %d", code, body, off)
		}
		pw, resA := onA.startPatch(firstPatch, size-firstPatch)
		defer pw.Close()
		if _, err := pw.Write(c.clip[firstPatch : firstPatch+1<<20]); err != nil {
			t.Fatal(err)
		}
		c.waitLocked(t)
		if c.st == nil {
			// A writes what arrives as it arrives.
			data := filepath.Join(c.dir, "upload", "tus", path.Base(onA.loc))
			waitFor(t, 10*time.Second, "A to write the second PATCH's first MiB", func() bool {
				st, err := os.Stat(data)
				return err == nil && st.Size() == firstPatch+1<<20
			})
		}

		a := c.procs[0]
		killed := time.Now()
		if err := syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-a.done
		waitFor(t, 10*time.Second, "A's lock to go", func() bool { return c.locks(t) == 0 })
		t.Logf("lock gone %v after SIGKILL", time.Since(killed))
		// The client notices when it next sends.
		pw.CloseWithError(errors.New("client gave up"))
		if r := waitPatch(t, resA); r.err == nil {
			t.Errorf("A's PATCH answered %d %q though A was killed", r.code, r.body)
		}

		onB := onA.on(c.base(1))
		start := time.Now()
		code, off := onB.offset()
		t.Logf("HEAD on B: %d, offset %d, in %v", code, off, time.Since(start))
		// The data directory has every byte A received; the media
		// store, the first PATCH: the second's MiB was in A's spool,
		// waiting to fill a part.
		want := int64(firstPatch + 1<<20)
		if c.st != nil {
			want = firstPatch
		}
		if code != 200 || off != want {
			t.Fatalf("HEAD on B: %d, offset %d; want 200, %d", code, off, want)
		}
		if code := onB.finish(c.clip, 3<<20); code != 204 {
			t.Fatalf("last PATCH on B: %d", code)
		}
		c.ingestedOnce(t)
	})
}
