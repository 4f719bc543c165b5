package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The incoming folder: a file is taken only once it is complete, as its
// owner (whose users row is created), under a name with every awkward
// character; hidden files are left alone; an empty file is reported.
func TestIncomingFolder(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil) // polls every 50 ms
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	data, _ := os.ReadFile(src)

	owner, ownerName := "root", "root"
	uid := -1
	if os.Getuid() == 0 {
		if u, err := user.Lookup("nobody"); err == nil {
			owner, ownerName = u.Username, u.Name
			uid, _ = strconv.Atoi(u.Uid)
		}
	} else if u, err := user.Current(); err == nil {
		owner, ownerName = u.Username, u.Name
	}
	if ownerName == "" {
		ownerName = owner
	}

	// Written slowly: a chunk every 30 ms, longer than several polls.
	odd := `-take 2; "final" 日本.mp4`
	slow := filepath.Join(h.l.Incoming(), odd)
	f, err := os.Create(slow)
	if err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		f.Chown(uid, -1)
	}
	step := len(data)/20 + 1
	for off := 0; off < len(data); off += step {
		f.Write(data[off:min(off+step, len(data))])
		time.Sleep(30 * time.Millisecond)
		if _, ok := h.mediaByName(odd); ok {
			t.Fatal("a file still being written was taken")
		}
		if _, err := os.Stat(slow); err != nil {
			t.Fatalf("a file still being written was moved away (after %d of %d bytes)", off, len(data))
		}
	}
	f.Close()
	os.WriteFile(filepath.Join(h.l.Incoming(), ".partial-rsync-tmp"), data, 0o644)
	os.WriteFile(filepath.Join(h.l.Incoming(), "empty.mp4"), nil, 0o644)
	if uid >= 0 {
		os.Chown(filepath.Join(h.l.Incoming(), "empty.mp4"), uid, -1)
	}

	waitFor(t, 30*time.Second, "the incoming file to be ingested", func() bool { _, ok := h.mediaByName(odd); return ok })
	m, _ := h.mediaByName(odd)
	if m.UserID != owner {
		t.Errorf("owner %q, want the file's owner %q", m.UserID, owner)
	}
	got, _ := os.ReadFile(filepath.Join(h.l.OrigDir(m.ID), odd))
	if !bytes.Equal(got, data) {
		t.Error("ingested file differs from what was written")
	}
	u, err := h.db.GetUser(context.Background(), owner)
	if err != nil || u.Name != ownerName {
		t.Errorf("user row for the owner: %+v %v (want name %q)", u, err, ownerName)
	}
	waitFor(t, 30*time.Second, "the empty file to be reported", func() bool { _, ok := h.errorFor(owner, "empty.mp4"); return ok })
	if _, err := os.Stat(filepath.Join(h.l.Rejected(), "empty.mp4")); err != nil {
		t.Error("empty file not kept in rejected/")
	}
	if _, err := os.Stat(filepath.Join(h.l.Incoming(), ".partial-rsync-tmp")); err != nil {
		t.Error("a hidden file was taken")
	}
	h.waitIdle(time.Minute)
}

// The same file from the same user is a duplicate (Clapshot's OK message,
// without a media id); from another user it is a file of its own.
func TestDuplicates(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	h.submit(src, "clip.mp4", "gina", nil)
	h.waitIdle(time.Minute)
	h.submit(src, "clip.mp4", "gina", nil)
	h.submit(src, "clip.mp4", "hank", nil)
	h.waitIdle(time.Minute)

	all, _ := h.db.ListMediaFiles(context.Background(), store.All)
	if len(all) != 2 {
		t.Fatalf("%d media files, want 2 (gina's and hank's)", len(all))
	}
	var dup *events.Message
	for _, m := range h.rec.all() {
		if m.Text == "Media file already exists" {
			m := m
			dup = &m
		}
	}
	if dup == nil || dup.UserID != "gina" || dup.MediaFileID != "" || dup.Kind != events.OK {
		t.Fatalf("duplicate message: %+v", dup)
	}
	if got := h.rejected(); len(got) != 1 || got[0] != "clip.mp4" {
		t.Errorf("the duplicate copy must be kept in rejected/: %v", got)
	}
}

// The operator's transcode script replaces ffmpeg for transcodes: it gets
// the documented variables and progress pipe; its failure reaches the user
// with its own words, and the original stays.
func TestTranscodeScript(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	ok := filepath.Join(dir, "ok.sh")
	os.WriteFile(ok, []byte(`#!/bin/sh
set -e
echo "$CLAPSHOT_MEDIA_TYPE $CLAPSHOT_REASON $CLAPSHOT_TARGET_BITRATE" >> "`+marker+`"
[ -n "$CLAPSHOT_DEFAULT_COMMAND" ] && [ -n "$CLAPSHOT_PROGRESS_PIPE" ] && [ -n "$CLAPSHOT_OUTPUT_FILE" ]
printf 'frame=1\nprogress=continue\n' > "$CLAPSHOT_PROGRESS_PIPE"
eval "exec $CLAPSHOT_DEFAULT_COMMAND"
`), 0o755)
	h := newHarness(t, func(o *Options) { o.TranscodeScript = ok })
	src := mediatest.Make(t, dir, mediatest.Families["vp9_webm"], mediatest.Small)
	h.submit(src, "vp9.webm", "ivy", nil)
	h.waitIdle(time.Minute)
	m, found := h.mediaByName("vp9.webm")
	if !found || m.RecompressionDone == nil || m.HasThumbnail == nil {
		t.Fatalf("not transcoded with thumbnails: %+v; %v", m, h.rec.texts("ivy", ""))
	}
	if b, _ := os.ReadFile(marker); string(b) != "video codec 'vp9' not supported 300000\n" {
		t.Errorf("script saw %q", b)
	}
	if out := probeFile(t, h.l.VideoLink(m.ID)); out.vcodec != "h264" || !out.faststart {
		t.Errorf("output %+v", out)
	}
	var sawProgress bool
	for _, msg := range h.rec.all() {
		sawProgress = sawProgress || (msg.Kind == events.Progress && strings.HasPrefix(msg.Text, "Transcoding..."))
	}
	if !sawProgress {
		t.Error("no progress from the script's pipe")
	}
	h.stop()
	h.stop = nil

	bad := filepath.Join(dir, "bad.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\necho 'GPU 0 is busy, try later' >&2\ntouch \"$CLAPSHOT_OUTPUT_FILE\"\nexit 3\n"), 0o755)
	h = newHarness(t, func(o *Options) { o.TranscodeScript = bad })
	h.submit(src, "vp9.webm", "ivy", nil)
	h.waitIdle(time.Minute)
	msg, found := h.errorFor("ivy", "vp9.webm")
	if !found || msg.Text != "Media transcoding failed" || !strings.Contains(msg.Details, "exit status 3") ||
		!strings.Contains(msg.Details, "GPU 0 is busy") {
		t.Fatalf("failure message: %+v", msg)
	}
	m, _ = h.mediaByName("vp9.webm")
	if m.RecompressionDone != nil {
		t.Error("marked transcoded")
	}
	if _, err := os.Stat(filepath.Join(h.l.OrigDir(m.ID), "vp9.webm")); err != nil {
		t.Error("original lost after a failed transcode")
	}
	leftovers, _ := filepath.Glob(filepath.Join(h.l.MediaDir(m.ID), "transcoded_*"))
	if len(leftovers) != 0 {
		t.Errorf("partial output left: %v", leftovers)
	}
	jobs, _ := h.db.ListJobsForMedia(context.Background(), m.ID)
	var failed bool
	for _, j := range jobs {
		failed = failed || (j.Kind == KindTranscode && j.State == store.JobFailed && strings.Contains(j.Log, "GPU 0 is busy"))
	}
	if !failed {
		t.Errorf("the job must keep the script's stderr: %+v", jobs)
	}
}

// Deleting a media file stops its running job without an error message.
func TestTrashStopsRunningJob(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow.sh")
	os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755)
	h := newHarness(t, func(o *Options) { o.TranscodeScript = slow })
	src := mediatest.Make(t, dir, mediatest.Families["hevc_mkv"], mediatest.Small)
	h.submit(src, "x.mkv", "jo", nil)
	var id string
	waitFor(t, 30*time.Second, "the transcode to start", func() bool {
		running, _ := h.db.ListJobs(context.Background(), store.JobRunning)
		for _, j := range running {
			if j.Kind == KindTranscode && j.PID != nil {
				id = *j.MediaFileID
				return true
			}
		}
		return false
	})
	res, err := mediadir.Trash(context.Background(), h.db, h.l, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.waitIdle(15 * time.Second)
	if time.Since(start) > 10*time.Second {
		t.Error("the job was not stopped promptly")
	}
	if _, found := h.errorFor("jo", "x.mkv"); found {
		t.Error("an error was sent for a deleted file")
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "orig", "x.mkv")); err != nil {
		t.Error("original not in the trash")
	}
}

// Cleanup removes cut-off uploads and empty directories, keeps anything
// complete, and purges trash past the retention.
func TestCleanup(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.TrashRetention = 24 * time.Hour; o.Poll = 0 })
	stale := filepath.Join(h.l.Upload(), "11111111-stale")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, "cut.mp4"+partialSuffix), []byte("half"), 0o644)
	orphan := filepath.Join(h.l.Upload(), "22222222-orphan")
	os.MkdirAll(orphan, 0o755)
	os.WriteFile(filepath.Join(orphan, "whole.mp4"), []byte("complete"), 0o644)
	empty := filepath.Join(h.l.Upload(), "33333333-empty")
	os.MkdirAll(empty, 0o755)
	busy, done, _ := h.p.NewUploadDir()
	os.WriteFile(filepath.Join(busy, "in-flight.mp4"+partialSuffix), []byte("still coming"), 0o644)
	oldTrash := filepath.Join(h.l.Trash(), "aaaaaaaa_20200101-000000")
	newTrash := filepath.Join(h.l.Trash(), "bbbbbbbb_"+time.Now().UTC().Format("20060102-150405"))
	os.MkdirAll(oldTrash, 0o755)
	os.MkdirAll(newTrash, 0o755)

	h.p.Cleanup(context.Background())
	for _, gone := range []string{stale, orphan, empty, oldTrash} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed", gone)
		}
	}
	for _, kept := range []string{filepath.Join(busy, "in-flight.mp4"+partialSuffix), newTrash, filepath.Join(h.l.Rejected(), "whole.mp4")} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
	done()
}

// Media from before (Clapshot's) without thumbnails get them at start-up.
func TestBackfillThumbnails(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	l := mediadir.Layout{DataDir: dir}
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db.UpsertUser(ctx, "old", "Old")
	name, typ := "legacy.mp4", "video"
	db.InsertMediaFile(ctx, store.MediaFile{ID: "0ld0ld00", UserID: "old", OrigFilename: &name, MediaType: &typ})
	os.MkdirAll(l.OrigDir("0ld0ld00"), 0o755)
	b, _ := os.ReadFile(src)
	os.WriteFile(filepath.Join(l.OrigDir("0ld0ld00"), name), b, 0o644)
	db.Close()

	h := newHarnessIn(t, dir, nil)
	h.waitIdle(time.Minute)
	m, err := h.db.GetMediaFile(ctx, "0ld0ld00")
	if err != nil || m.ThumbsDone == nil || m.ThumbSheetCols == nil {
		t.Fatalf("not back-filled: %+v %v", m, err)
	}
	if _, err := os.Stat(l.Sheet("0ld0ld00", 10, 10)); err != nil {
		t.Error(err)
	}
}

// A graceful shutdown stops a running job and puts it back in the queue;
// the next start finishes it.
func TestShutdownRequeuesRunningJob(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	slow := filepath.Join(t.TempDir(), "slow.sh")
	os.WriteFile(slow, []byte("#!/bin/sh\ntouch \"$CLAPSHOT_OUTPUT_FILE\"\nexec sleep 60\n"), 0o755)
	h := newHarnessIn(t, dir, func(o *Options) { o.TranscodeScript = slow })
	h.submit(mediatest.Make(t, t.TempDir(), mediatest.Families["hevc_mkv"], mediatest.Small), "x.mkv", "lee", nil)
	var partial string
	waitFor(t, 30*time.Second, "the transcode to start", func() bool {
		running, _ := h.db.ListJobs(context.Background(), store.JobRunning)
		for _, j := range running {
			if j.Kind == KindTranscode && j.PID != nil && len(j.Outputs) > 0 {
				partial = j.Outputs[0]
				return true
			}
		}
		return false
	})
	t0 := time.Now()
	h.stop()
	h.stop = nil
	if time.Since(t0) > 10*time.Second {
		t.Errorf("shutdown took %v", time.Since(t0))
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Error("partial output of the stopped attempt left behind")
	}

	h = newHarnessIn(t, dir, nil)
	h.waitIdle(time.Minute)
	m, _ := h.mediaByName("x.mkv")
	if m.RecompressionDone == nil {
		t.Fatalf("not finished after the restart: %v", h.rec.texts("lee", ""))
	}
	jobs, _ := h.db.ListJobsForMedia(context.Background(), m.ID)
	for _, j := range jobs {
		if j.Kind == KindTranscode && (j.Attempts != 2 || j.State != store.JobDone) {
			t.Errorf("transcode job: %d attempts, %s", j.Attempts, j.State)
		}
	}
	if _, found := h.errorFor("lee", "x.mkv"); found {
		t.Error("an interrupted job is not an error")
	}
}

// A job's spec keeps an incoming file's name exactly, UTF-8 or not: the
// job moves the file from there after a restart.
func TestSpecKeepsNonUTF8From(t *testing.T) {
	in := ingestSpec{Path: "/d/upload/u/_.mp4", Title: "\ufffd.mp4", From: "/d/incoming/\xff\xfe.mp4", UserID: "alice"}
	var out ingestSpec
	if err := decodeSpec(store.Job{ID: 1, Spec: encodeSpec(in)}, &out); err != nil {
		t.Fatal(err)
	}
	if out.From != in.From || out.Path != in.Path || out.Title != in.Title || out.UserID != in.UserID {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	plain := ingestSpec{Path: "/d/upload/u/a.mp4", From: "/d/incoming/a.mp4"}
	if s := encodeSpec(plain); strings.Contains(s, "from_bytes") || !strings.Contains(s, `"from":"/d/incoming/a.mp4"`) {
		t.Errorf("a UTF-8 From is written as text: %s", s)
	}
}

// An ingest job put back in the queue after it recorded its media file
// (a requeue racing its finish) finds the file recorded and leaves it:
// the media file, its original and its comments stay.
func TestIngestRunAgainAfterRecordKeepsTheMedia(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	h.submit(mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small), "again.mp4", "lee", nil)
	h.waitIdle(time.Minute)
	m, ok := h.mediaByName("again.mp4")
	if !ok {
		t.Fatalf("not added: %v", h.rec.texts("lee", ""))
	}
	ctx := context.Background()
	if _, err := h.db.SQL().ExecContext(ctx, "UPDATE ingest_jobs SET state = 'queued' WHERE kind = ?", KindIngest); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(time.Minute)
	if _, err := h.db.GetMediaFile(ctx, m.ID); err != nil {
		t.Fatalf("media file gone after the ingest ran again: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.l.OrigDir(m.ID), "again.mp4")); err != nil {
		t.Errorf("original moved away: %v", err)
	}
	if msg, found := h.errorFor("lee", "again.mp4"); found {
		t.Errorf("the second run reported an error: %+v", msg)
	}
}

// With a shared queue, other instances write into the same upload/
// directory and only they know their uploads are in flight: cleanup takes
// a directory only once it has been left untouched for a while.
func TestCleanupSharedUploadDirs(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Lease = time.Minute; o.Poll = 0 })
	fresh := filepath.Join(h.l.Upload(), "44444444-other-instance")
	os.MkdirAll(fresh, 0o755)
	os.WriteFile(filepath.Join(fresh, "coming.mp4"+partialSuffix), []byte("still coming"), 0o644)
	stale := filepath.Join(h.l.Upload(), "55555555-cut-off")
	os.MkdirAll(stale, 0o755)
	cut := filepath.Join(stale, "cut.mp4"+partialSuffix)
	os.WriteFile(cut, []byte("half"), 0o644)
	old := time.Now().Add(-2 * sharedUploadGrace)
	os.Chtimes(cut, old, old)
	os.Chtimes(stale, old, old)

	h.p.Cleanup(context.Background())
	if _, err := os.Stat(filepath.Join(fresh, "coming.mp4"+partialSuffix)); err != nil {
		t.Errorf("another instance's upload in flight was removed: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an upload cut off long ago was kept: %v", err)
	}
}
