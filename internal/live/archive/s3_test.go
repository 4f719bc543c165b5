package archive_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/archive/s3store"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
)

func remoteCount(st *archive.Store) (remote, local int) {
	for _, s := range st.Segments(time.Time{}, time.Time{}) {
		if s.Remote {
			remote++
		} else {
			local++
		}
	}
	return remote, local
}

// Recording to a real S3-compatible server (SeaweedFS): closed segments
// are uploaded and their local copies removed only once confirmed. The
// server is stopped for 30 s mid-recording: recording goes on, the
// segments wait on disk, the error says the store is unreachable, and
// they are uploaded once it is back; the archive has no gap and plays
// from the bucket.
func TestRecordToS3(t *testing.T) {
	srv, client, r, st := s3Rig(t, "/var/archive_data", 3*time.Second)
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s (status %+v)", what, within, st.Status())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("two segments uploaded", 30*time.Second, func() bool { n, _ := remoteCount(st); return n >= 2 })
	for _, s := range st.Segments(time.Time{}, time.Time{}) {
		_, err := os.Stat(filepath.Join(r.set.Directory, s.Name))
		if s.Remote && !os.IsNotExist(err) {
			t.Errorf("%s is uploaded but its local copy is still there (%v)", s.Name, err)
		}
		if s.Remote && s.Key != "var/archive_data/"+s.Name {
			t.Errorf("object key %q", s.Key)
		}
	}

	srv.Stop()
	down := time.Now()
	time.Sleep(30 * time.Second)
	status := st.Status()
	if status.PendingUploads < 20 || status.UploadErrors == 0 || !strings.Contains(status.LastError, "unreachable") {
		t.Errorf("after 30 s without the object store: %+v; want ~30 pending uploads and the reason", status)
	}
	if _, local := remoteCount(st); local < 20 {
		t.Errorf("%d segments kept on disk during the outage", local)
	}
	srv.Start()
	t.Logf("object store back after %s", time.Since(down).Round(time.Second))
	back := time.Now()
	waitFor("the backlog uploaded", 30*time.Second, func() bool { return st.Status().PendingUploads == 0 })
	t.Logf("backlog of 30 s uploaded %s after the store came back", time.Since(back).Round(100*time.Millisecond))
	r.stop()

	// The last segment (closed at the stop) is uploaded at the next start.
	re := upkeepRemote(t, r.set, client)
	remote, local := remoteCount(re)
	if local != 0 || remote < 35 {
		t.Errorf("%d segments in the bucket, %d left on disk", remote, local)
	}
	if rs := re.Ranges(); len(rs) != 1 {
		t.Errorf("ranges %+v: the outage of the object store must not leave a gap", rs)
	}
	files, _ := filepath.Glob(filepath.Join(r.set.Directory, streamID+"_*.mp4"))
	if len(files) != 0 {
		t.Errorf("%d segment files left on disk", len(files))
	}
	// A segment plays from the bucket.
	segs := re.Segments(time.Time{}, time.Time{})
	rc, err := re.Open(context.Background(), segs[len(segs)/2])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	path := filepath.Join(t.TempDir(), "from-s3.mp4")
	_ = os.WriteFile(path, b, 0o644)
	if p := livetest.FFprobe(t, path); p.Codec != "h264" || p.Frames < 20 {
		t.Errorf("a segment from the bucket: %+v", p)
	}
}

// s3Rig records a test camera into 1 s segments uploaded to a real S3
// server (bucket "archive", objects under path).
func s3Rig(t *testing.T, path string, retryMax time.Duration) (*s3test.S3Server, *s3store.Client, *rig, *archive.Store) {
	t.Helper()
	srv := s3test.Start(t)
	client, err := s3store.New(s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	cam := livetest.StartServer(t, "127.0.0.1:0")
	publish(t, cam.URL("cam"), encodeClip(t))
	r := newRig(t, cam.URL("cam"), rigOptions{
		set:    archive.Settings{SegmentDuration: time.Second, Storage: archive.StorageMinio, Bucket: "archive", Path: path},
		remote: client, retryMax: retryMax,
	})
	st, err := r.arch.Store(streamID)
	if err != nil {
		t.Fatal(err)
	}
	return srv, client, r, st
}

// upkeepRemote opens the archive again with the object store and waits
// until nothing is left to upload.
func upkeepRemote(t *testing.T, set archive.Settings, remote archive.Remote) *archive.Store {
	t.Helper()
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{streamID: set}},
		archive.Options{Log: livetest.Logger(t), Remote: remote})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = arch.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped; arch.Close() }()
	st, err := arch.Store(streamID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for st.Status().PendingUploads > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return st
}

// A lost index (the local disk replaced, the file deleted) is rebuilt
// from the bucket: the uploaded segments are listed, measured from their
// objects, and the ranges are the same as before; an object under the
// stream's prefix that is not a segment is left out and kept.
func TestRebuildIndexFromBucket(t *testing.T) {
	_, client, r, st := s3Rig(t, "/cams", 2*time.Second)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n, _ := remoteCount(st); n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 4 segments uploaded in 30 s: %+v", st.Status())
		}
	}
	r.stop()
	before := upkeepRemote(t, r.set, client)
	want := before.Ranges()
	segs := before.Segments(time.Time{}, time.Time{})
	if n, local := remoteCount(before); local != 0 || n < 4 {
		t.Fatalf("%d segments uploaded, %d left on disk", n, local)
	}
	// Not a segment, under a segment's name, beside them in the bucket.
	junk := filepath.Join(t.TempDir(), streamID+"_1000.mp4")
	_ = os.WriteFile(junk, []byte("not an mp4"), 0o644)
	if err := client.Upload(context.Background(), "archive", "cams/"+streamID+"_1000.mp4", junk, nil); err != nil {
		t.Fatal(err)
	}

	index := filepath.Join(r.set.Directory, streamID+".index.jsonl")
	if err := os.Remove(index); err != nil {
		t.Fatal(err)
	}
	after := upkeepRemote(t, r.set, client)
	got := after.Segments(time.Time{}, time.Time{})
	if len(got) != len(segs) {
		t.Fatalf("rebuilt %d segments, the index had %d", len(got), len(segs))
	}
	for i, s := range got {
		w := segs[i]
		if s.Name != w.Name || !s.Remote || s.Key != "cams/"+s.Name || s.Size != w.Size || s.Codec != w.Codec || s.Init != w.Init {
			t.Errorf("segment %d rebuilt as %+v, was %+v", i, s, w)
		}
		// The name keeps the first frame's time to the millisecond; the
		// duration is measured from the object as it was from the file.
		if d := s.Start.Sub(w.Start); d < -time.Millisecond || d > time.Millisecond || s.Duration != w.Duration {
			t.Errorf("segment %s: start %s duration %s, was %s %s", s.Name, s.Start, s.Duration, w.Start, w.Duration)
		}
	}
	rs := after.Ranges()
	if len(rs) != len(want) {
		t.Fatalf("ranges %+v, were %+v", rs, want)
	}
	for i := range rs {
		if d := rs[i].End.Sub(want[i].End); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("range %d ends %s, ended %s", i, rs[i].End, want[i].End)
		}
	}
	// The index is written again, and the foreign object is still there.
	if b, err := os.ReadFile(index); err != nil || strings.Count(string(b), "\n") < len(segs) {
		t.Errorf("index after the rebuild: %v, %d lines", err, strings.Count(string(b), "\n"))
	}
	if objs, err := client.List(context.Background(), "archive", "cams/"); err != nil || len(objs) != len(segs)+1 {
		t.Errorf("bucket after the rebuild: %d objects (%v), want %d", len(objs), err, len(segs)+1)
	}
}
