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
	srv := livetest.StartS3(t)
	client, err := s3store.New(s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	cam := livetest.StartServer(t, "127.0.0.1:0")
	publish(t, cam.URL("cam"), encodeClip(t))
	r := newRig(t, cam.URL("cam"), rigOptions{
		set:    archive.Settings{SegmentDuration: time.Second, Storage: archive.StorageMinio, Bucket: "archive", Path: "/var/archive_data"},
		remote: client, retryMax: 3 * time.Second,
	})
	st, err := r.arch.Store(streamID)
	if err != nil {
		t.Fatal(err)
	}
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
