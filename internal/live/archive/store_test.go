package archive_test

import (
	"bytes"
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// recordSome records n closed one-second segments into a new directory
// and stops.
func recordSome(t *testing.T, n int) *rig {
	t.Helper()
	srv := livetest.StartServer(t, "127.0.0.1:0")
	publish(t, srv.URL("cam"), encodeClip(t))
	r := newRig(t, srv.URL("cam"), rigOptions{set: archive.Settings{SegmentDuration: time.Second, PartDuration: 250 * time.Millisecond}})
	waitSegments(t, r.arch, n, 30*time.Second)
	r.stop()
	return r
}

// Damage on disk is found when the store opens: a segment cut short (as
// by a crash in the middle of a write) is truncated to its last complete
// part and still plays; a file that is not a segment, and one listed in
// the index but gone, are reported and left out; a file the index does
// not know is scanned and measured. Nothing crashes.
func TestDamagedFilesOnDisk(t *testing.T) {
	r := recordSome(t, 3)
	dir := r.set.Directory
	st := r.reopen()
	segs := st.Segments(time.Time{}, time.Time{})
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	// Cut the second segment in the middle of its last part, and remove it
	// from the index by rewriting the index without it (a crash leaves
	// the open segment unlisted).
	cut := segs[1]
	path := filepath.Join(dir, cut.Name)
	if err := os.Truncate(path, cut.Size-700); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, streamID+".index.jsonl")
	b, _ := os.ReadFile(idx)
	var kept []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.Contains(line, cut.Name) {
			kept = append(kept, line)
		}
	}
	// A torn last line, as a crash during an append leaves.
	kept = append(kept, `{"name":"`+streamID+`_1.mp4","sta`)
	if err := os.WriteFile(idx, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The third segment's file is gone; a garbage file carries a segment name.
	_ = os.Remove(filepath.Join(dir, segs[2].Name))
	garbage := filepath.Join(dir, streamID+"_1700000000000.mp4")
	_ = os.WriteFile(garbage, bytes.Repeat([]byte("garbage!"), 100), 0o644)
	// video-server's own files are progressive MP4 (moov at the end).
	progressive := filepath.Join(dir, streamID+"_1700000100.mp4")
	if out, err := exec("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5", "-t", "1", "-c:v", "libx264", "-f", "mp4", progressive); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}

	st2 := r.reopen()
	got := st2.Segments(time.Time{}, time.Time{})
	if len(got) != len(segs)-1 {
		t.Fatalf("%d segments after the damage, want %d (the missing one left out, the garbage not counted): %+v", len(got), len(segs)-1, got)
	}
	var repaired archive.Segment
	for _, seg := range got {
		if seg.Name == cut.Name {
			repaired = seg
		}
	}
	if repaired.Name == "" || repaired.Duration >= cut.Duration || repaired.Duration < cut.Duration/4 {
		t.Errorf("cut segment: %+v, was %+v: want it measured again, shorter", repaired, cut)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != repaired.Size {
		t.Errorf("cut segment not truncated to its complete parts: %v size %d, want %d", err, fi.Size(), repaired.Size)
	}
	if p := livetest.FFprobe(t, path); p.Frames == 0 {
		t.Errorf("repaired segment does not play: %+v", p)
	}
	if _, err := os.Stat(garbage); err != nil {
		t.Errorf("the unreadable file must be left alone: %v", err)
	}
	// The ranges show the hole where the missing segment was.
	if rs := st2.Ranges(); len(rs) < 2 {
		t.Errorf("ranges %+v: want a gap where a segment is missing", rs)
	}
}

// Retention removes the oldest segments beyond the byte budget and those
// older than the age limit, from the disk and from the index.
func TestRetention(t *testing.T) {
	r := recordSome(t, 4)
	all := r.reopen().Segments(time.Time{}, time.Time{})
	var total int64
	for _, s := range all {
		total += s.Size
	}
	// Keep about half the bytes.
	set := r.set
	set.MaxBytes = total / 2
	st := upkeep(t, set, func(n int) bool { return n < len(all) })
	left := st.Segments(time.Time{}, time.Time{})
	var kept int64
	for _, s := range left {
		kept += s.Size
	}
	if kept > set.MaxBytes || len(left) == 0 || left[len(left)-1].Name != all[len(all)-1].Name {
		t.Errorf("kept %d bytes in %d segments (budget %d); want the newest kept within budget", kept, len(left), set.MaxBytes)
	}
	if n := len(segmentFiles(t, set.Directory)); n != len(left) {
		t.Errorf("%d files on disk, %d in the store", n, len(left))
	}

	// By age: everything ended more than a second ago.
	time.Sleep(1100 * time.Millisecond)
	set.MaxBytes, set.MaxAge = 0, time.Second
	st = upkeep(t, set, func(n int) bool { return n == 0 })
	if n := len(st.Segments(time.Time{}, time.Time{})); n != 0 {
		t.Errorf("%d segments older than the age limit kept", n)
	}
	if n := len(segmentFiles(t, set.Directory)); n != 0 {
		t.Errorf("%d files left", n)
	}
	if st := r.reopen(); len(st.Segments(time.Time{}, time.Time{})) != 0 {
		t.Error("the index still lists deleted segments")
	}
}

func exec(name string, args ...string) ([]byte, error) {
	return osexec.Command(name, args...).CombinedOutput()
}

// upkeep runs an archive (no recording) with set until done says the
// number of segments left is right, or 5 s.
func upkeep(t *testing.T, set archive.Settings, done func(segments int) bool) *archive.Store {
	t.Helper()
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{streamID: set}, SweepInterval: 50 * time.Millisecond},
		archive.Options{Log: livetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = arch.Run(ctx); close(stopped) }()
	st, err := arch.Store(streamID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !done(len(st.Segments(time.Time{}, time.Time{}))) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-stopped
	arch.Close()
	return st
}
