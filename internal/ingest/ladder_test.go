package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

var testLadder = []media.Rung{{Height: 240, Bitrate: 300_000}, {Height: 144, Bitrate: 120_000}}

// With a ladder configured, a new video gets one after its transcode: in
// one ffmpeg run, with progress reports, recorded in media_hls and linked
// as hls/; audio and images get none.
func TestLadderAfterIngest(t *testing.T) {
	mediatest.Require(t)
	tools := &observedTools{Tools: &media.Tools{}}
	h := newHarness(t, func(o *Options) { o.Ladder = testLadder; o.Tools = tools })
	src := t.TempDir()
	opts := mediatest.Options{Seconds: 3, Width: 320, Height: 240, FPS: 25}
	for _, fam := range []string{"hevc_mkv", "audio_wav", "image_png"} {
		spec := mediatest.Families[fam]
		h.submit(mediatest.Make(t, src, spec, opts), spec.Name, "alice", nil)
	}
	h.waitIdle(3 * time.Minute)
	ctx := context.Background()

	m, ok := h.mediaByName("hevc.mkv")
	if !ok || m.RecompressionDone == nil {
		t.Fatalf("video not transcoded: %+v %v", m, h.rec.texts("alice", ""))
	}
	row, err := h.db.GetHLSLadder(ctx, m.ID)
	if err != nil {
		t.Fatalf("no ladder recorded: %v; messages %v", err, h.rec.texts("alice", m.ID))
	}
	var rends []media.Rendition
	if err := json.Unmarshal([]byte(row.Renditions), &rends); err != nil || len(rends) != 2 || rends[0].Name != "240p" || rends[1].Name != "144p" {
		t.Errorf("renditions %s (%v)", row.Renditions, err)
	}
	target, err := os.Readlink(h.l.HLSLink(m.ID))
	if err != nil || !strings.HasPrefix(target, "hls_") || filepath.Base(target) != target {
		t.Fatalf("hls link: %q %v", target, err)
	}
	master, err := os.ReadFile(filepath.Join(h.l.HLSLink(m.ID), mediadir.HLSMaster))
	if err != nil || strings.Count(string(master), "#EXT-X-STREAM-INF:") != 2 {
		t.Errorf("master playlist: %v\n%s", err, master)
	}
	if left, _ := filepath.Glob(filepath.Join(h.l.MediaDir(m.ID), "hls_*")); len(left) != 1 {
		t.Errorf("ladder directories: %v", left)
	}
	// The MP4 is untouched and still what plays progressively.
	if _, err := os.Stat(h.l.VideoLink(m.ID)); err != nil {
		t.Errorf("video.mp4: %v", err)
	}

	var progress []float64
	var ready bool
	for _, msg := range h.rec.all() {
		if msg.MediaFileID != m.ID {
			continue
		}
		if msg.Kind == events.Progress && strings.HasPrefix(msg.Text, "Making the adaptive stream") && msg.Progress != nil {
			progress = append(progress, *msg.Progress)
		}
		ready = ready || (msg.Kind == events.MediaFileUpdated && msg.Text == "Adaptive stream ready")
	}
	if len(progress) == 0 || !ready {
		t.Errorf("progress %v, ready %v: %v", progress, ready, h.rec.texts("alice", m.ID))
	}
	for _, name := range []string{"audio.wav", "picture.png"} {
		o, _ := h.mediaByName(name)
		if _, err := h.db.GetHLSLadder(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s got a ladder: %v", name, err)
		}
	}
	jobs, _ := h.db.ListJobs(ctx)
	ladders := 0
	for _, j := range jobs {
		if j.Kind == KindLadder {
			ladders++
			if j.State != store.JobDone || j.Priority != ladderPriority {
				t.Errorf("ladder job %+v", j)
			}
		}
	}
	if ladders != 1 {
		t.Errorf("%d ladder jobs, want 1", ladders)
	}
}

// A disk that fills up while the ladder is written: the user is told why,
// the partial ladder is removed, the progressive MP4 (here the original,
// which plays as it is) stays.
func TestDiskFullDuringLadder(t *testing.T) {
	mediatest.Require(t)
	tmp := t.TempDir()
	// A noisy H.264 MP4 at 16 Mbit/s that plays as it is: the ladder's
	// 12 Mbit/s rung is megabytes more than the disk has left, while the
	// thumbnails (the sprite sheet's raw frames, 2.1 MB for a moment) fit.
	src := mediatest.MakeArgs(t, tmp, "noise.mp4", "-f", "lavfi", "-i",
		"nullsrc=s=320x240:r=25:d=6,geq=lum='random(1)*255':cb=128:cr=128", "-c:v", "libx264", "-preset", "ultrafast",
		"-b:v", "16M", "-maxrate", "16M", "-bufsize", "32M", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	st, _ := os.Stat(src)
	dir := t.TempDir()
	videos := filepath.Join(dir, "videos")
	os.MkdirAll(videos, 0o755)
	var tools *media.Tools
	margin := int64(3 << 20)
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+itoa(st.Size()+margin), "tmpfs", videos).Run(); err == nil {
		t.Cleanup(func() { exec.Command("umount", "-l", videos).Run() })
	} else {
		if _, err := exec.LookPath("prlimit"); err != nil {
			t.Skip("cannot mount a tmpfs and prlimit is missing (apt-get install util-linux)")
		}
		// Per file: the sheet's frames fit, a 2 s segment at 12 Mbit/s
		// (3 MB) does not.
		wrapper := filepath.Join(t.TempDir(), "ffmpeg-limited")
		os.WriteFile(wrapper, []byte("#!/bin/sh\nexec prlimit --fsize="+itoa(5<<19)+" -- ffmpeg \"$@\"\n"), 0o755)
		tools = &media.Tools{FFmpeg: wrapper}
		t.Log("no tmpfs (", err, "); ffmpeg runs with a file size limit")
	}
	h := newHarnessIn(t, dir, func(o *Options) {
		if tools != nil {
			o.Tools = tools
		}
		o.Workers = 1 // the thumbnails, then the ladder
		o.TargetBitrate = 20_000_000
		o.Ladder = []media.Rung{{Height: 240, Bitrate: 12_000_000}}
	})
	h.submit(src, "noise.mp4", "kim", nil)
	h.waitIdle(3 * time.Minute)

	m, ok := h.mediaByName("noise.mp4")
	if !ok || m.ThumbsDone == nil {
		t.Fatalf("the file must be listed with its thumbnails: %+v %v", m, h.rec.texts("kim", ""))
	}
	msg, ok := h.errorFor("kim", "noise.mp4")
	if !ok || msg.Text != "Adaptive stream failed" ||
		!(strings.Contains(msg.Details, "No space left on device") || strings.Contains(msg.Details, "File too large") ||
			strings.Contains(msg.Details, "file size limit exceeded")) {
		t.Fatalf("message: %+v (all: %v)", msg, h.rec.texts("kim", ""))
	}
	t.Log("the user was told:", msg.Details)
	if left, _ := filepath.Glob(filepath.Join(h.l.MediaDir(m.ID), "hls*")); len(left) != 0 {
		t.Errorf("partial ladder left behind: %v", left)
	}
	if _, err := h.db.GetHLSLadder(context.Background(), m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed ladder was recorded: %v", err)
	}
	orig, err := os.ReadFile(filepath.Join(h.l.OrigDir(m.ID), "noise.mp4"))
	want, _ := os.ReadFile(src)
	if err != nil || string(orig) != string(want) {
		t.Errorf("the MP4 that plays was damaged or lost: %v", err)
	}
	jobs, _ := h.db.ListJobsForMedia(context.Background(), m.ID)
	for _, j := range jobs {
		if j.Kind == KindLadder && (j.State != store.JobFailed || j.Error == "") {
			t.Errorf("ladder job %s: %q", j.State, j.Error)
		}
	}
}
