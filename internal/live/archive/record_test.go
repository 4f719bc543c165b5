package archive_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

const streamID = "0742091c-19cd-4658-9b4f-5320da160f45"

// rig is an engine with one camera stream recorded by an archive.
type rig struct {
	t      *testing.T
	eng    *live.Engine
	stream *live.Stream
	arch   *archive.Archive
	set    archive.Settings
	remote archive.Remote
	stop   func()
}

type rigOptions struct {
	set      archive.Settings
	fs       archive.FS
	queue    int
	stream   live.StreamConfig
	remote   archive.Remote
	retryMax time.Duration
}

// newRig starts the engine and the archive on url; stop (also at the end
// of the test) stops the engine, which finishes the open segment.
func newRig(t *testing.T, url string, o rigOptions) *rig {
	t.Helper()
	if o.set.Directory == "" {
		o.set.Directory = t.TempDir()
	}
	o.set.Recording, o.set.Serving = true, true
	if err := o.set.Check(); err != nil {
		t.Fatal(err)
	}
	log := livetest.Logger(t)
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{streamID: o.set}, QueueUnits: o.queue, UploadRetryMax: o.retryMax},
		archive.Options{FS: o.fs, Log: log, Remote: o.remote})
	if err != nil {
		t.Fatal(err)
	}
	eng := live.New(live.Options{Log: log, Attach: arch.Record, ReconnectMax: 500 * time.Millisecond})
	cfg := o.stream
	cfg.ID, cfg.URL, cfg.Transport = streamID, url, "tcp"
	if !cfg.HLS && !cfg.LLHLS {
		cfg.MSE = true
	}
	st, err := eng.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = eng.Run(ctx) })
	actx, acancel := context.WithCancel(context.Background())
	wg.Go(func() { _ = arch.Run(actx) })
	var once sync.Once
	r := &rig{t: t, eng: eng, stream: st, arch: arch, set: o.set, remote: o.remote}
	r.stop = func() {
		once.Do(func() {
			cancel()
			acancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Error("engine and archive did not stop within 20 s")
			}
			arch.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// store is the stream's store, opened afresh from disk (as at a restart).
func (r *rig) reopen() *archive.Store {
	r.t.Helper()
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{streamID: r.set}},
		archive.Options{Log: livetest.Logger(r.t), Remote: r.remote})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(arch.Close)
	st, err := arch.Store(streamID)
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

// waitSegments waits until the store holds n closed segments.
func waitSegments(t *testing.T, arch *archive.Archive, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, ok := arch.Status(streamID)
		closed := st.Segments
		if st.Writing {
			closed--
		}
		if ok && closed >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d closed segments after %s, want %d (status %+v)", closed, within, n, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, streamID+"_*.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Recording with a real camera (ffmpeg, H.264 + AAC): segments cut at the
// first keyframe after ms_per_file, each a playable fMP4 with its real
// duration, contiguous, and found again from the index after a restart.
func TestRecordSegments(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{Audio: true, GOP: 25, FPS: 25})
	livetest.WaitPublishing(t, srv, "cam", cam)
	r := newRig(t, srv.URL("cam"), rigOptions{set: archive.Settings{SegmentDuration: 2 * time.Second}})
	waitSegments(t, r.arch, 3, 30*time.Second)
	r.stop()

	st := r.reopen()
	segs := st.Segments(time.Time{}, time.Time{})
	if len(segs) < 4 {
		t.Fatalf("%d segments, want at least 4 (3 closed + the one finished at stop)", len(segs))
	}
	for i, seg := range segs {
		p := livetest.FFprobe(t, filepath.Join(r.set.Directory, seg.Name))
		if p.Codec != "h264" || p.Audio != "aac" || p.Width != 320 || p.Frames == 0 {
			t.Errorf("segment %d %s: ffprobe %+v", i, seg.Name, p)
		}
		if !strings.HasPrefix(seg.Codec, "avc1.") || !strings.Contains(seg.Codec, "mp4a.40.2") {
			t.Errorf("segment %d codec %q", i, seg.Codec)
		}
		// 25 fps, a keyframe every second: the cut after 2 s is at 2 s.
		if i < len(segs)-1 {
			if seg.Duration < 1950*time.Millisecond || seg.Duration > 2100*time.Millisecond {
				t.Errorf("segment %d lasts %s, want 2 s (the first keyframe after ms_per_file)", i, seg.Duration)
			}
			if frames := p.Frames; frames < 48 || frames > 52 {
				t.Errorf("segment %d has %d frames, want 50", i, frames)
			}
			gap := segs[i+1].Start.Sub(seg.End())
			if gap < -archive.MergeGap || gap > archive.MergeGap {
				t.Errorf("segment %d ends %s before the next starts", i, gap)
			}
		}
	}
	var total time.Duration
	for _, seg := range segs {
		total += seg.Duration
	}
	if rs := st.Ranges(); len(rs) != 1 {
		t.Errorf("ranges %+v, want one", rs)
	} else if d := rs[0].End.Sub(rs[0].Start); d < total-100*time.Millisecond || d > total+time.Second {
		t.Errorf("range of %s, want the recording's %s", d, total)
	}
	if _, err := os.Stat(filepath.Join(r.set.Directory, streamID+".index.jsonl")); err != nil {
		t.Error(err)
	}
}

// A slow disk never stalls the camera's reader: the viewers keep getting
// every frame, the recorder drops units up to the next keyframe, counts
// and logs them, and starts a new segment after the gap.
func TestSlowDiskDropsNotStalls(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	clip := encodeClip(t)
	publish(t, srv.URL("cam"), clip)
	slow := &faultFS{delay: 400 * time.Millisecond}
	r := newRig(t, srv.URL("cam"), rigOptions{
		set: archive.Settings{SegmentDuration: time.Second, PartDuration: 100 * time.Millisecond}, fs: slow, queue: 8,
	})
	v := r.stream.MSE().Subscribe()
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Wait for the first fragment, then count for 3 s.
	for {
		m, err := v.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Data) > 0 && m.Data[0] != 0x09 && len(m.Data) > 8 && string(m.Data[4:8]) == "moof" {
			break
		}
	}
	start, n := time.Now(), 0
	for time.Since(start) < 3*time.Second {
		if _, err := v.Next(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 65 {
		t.Errorf("the viewer got %d fragments in 3 s at 25 fps while the disk was slow: the reader stalled", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := r.arch.Status(streamID)
		if st.DroppedUnits > 0 && st.Segments >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v: want dropped units and a new segment after the gap", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	slow.setDelay(0)
	r.stop()
	for _, f := range segmentFiles(t, r.set.Directory) {
		if p := livetest.FFprobe(t, f); p.Frames == 0 {
			t.Errorf("%s: no frames", f)
		}
	}
	if st := r.reopen(); len(st.Ranges()) < 2 {
		t.Errorf("ranges %+v: the dropped units should leave a gap", st.Ranges())
	}
}

// A failing disk (no space left): the error is reported in the status
// and the log, what was recorded stays playable, and recording resumes
// once the disk has room again.
func TestWriteErrorKeepsRecorded(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	publish(t, srv.URL("cam"), encodeClip(t))
	fs := &faultFS{}
	r := newRig(t, srv.URL("cam"), rigOptions{set: archive.Settings{SegmentDuration: time.Second}, fs: fs})
	waitSegments(t, r.arch, 2, 20*time.Second)
	fs.setFull(true)
	deadline := time.Now().Add(10 * time.Second)
	var st archive.RecorderStatus
	for {
		st, _ = r.arch.Status(streamID)
		if st.WriteErrors > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write error reported: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(st.LastError, "no space left on device") {
		t.Errorf("last error %q, want it to say the disk is full", st.LastError)
	}
	before := st.Segments
	time.Sleep(1500 * time.Millisecond)
	fs.setFull(false)
	waitSegments(t, r.arch, before+1, 20*time.Second)
	r.stop()
	files := segmentFiles(t, r.set.Directory)
	for _, f := range files {
		if p := livetest.FFprobe(t, f); p.Frames == 0 {
			t.Errorf("%s: no frames", f)
		}
	}
	if st := r.reopen(); len(st.Segments(time.Time{}, time.Time{})) != len(files) {
		t.Errorf("%d segments in the index, %d files", len(st.Segments(time.Time{}, time.Time{})), len(files))
	}
}

// faultFS is the real file system with an injected delay per write, or
// ENOSPC on every write while full.
type faultFS struct {
	mu    sync.Mutex
	delay time.Duration
	full  atomic.Bool
}

func (f *faultFS) setDelay(d time.Duration) { f.mu.Lock(); f.delay = d; f.mu.Unlock() }
func (f *faultFS) setFull(v bool)           { f.full.Store(v) }

func (f *faultFS) Create(path string) (archive.File, error) {
	if f.full.Load() {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOSPC}
	}
	file, err := archive.OSFS{}.Create(path)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Remove(path string) error { return os.Remove(path) }

type faultFile struct {
	archive.File
	fs *faultFS
}

func (f *faultFile) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	d := f.fs.delay
	f.fs.mu.Unlock()
	time.Sleep(d)
	if f.fs.full.Load() {
		// A partial write, as a full disk does.
		n, _ := f.File.Write(b[:len(b)/2])
		return n, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
	}
	return f.File.Write(b)
}

func encodeClip(t *testing.T) *livetest.Clip {
	t.Helper()
	clip, err := livetest.Encode(context.Background(), livetest.CameraOptions{FPS: 25, GOP: 25}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// publish replays clip to url in a loop until the test ends.
func publish(t *testing.T, url string, clip *livetest.Clip) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- livetest.Publish(ctx, url, clip, livetest.PublishOptions{Loop: true}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Log("publisher:", err)
		}
	})
}
