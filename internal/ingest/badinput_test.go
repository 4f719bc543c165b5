package ingest

import (
	"bytes"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// Files that cannot be media are rejected with a message that names the
// file and the reason, the original is kept byte for byte in rejected/,
// and the server carries on. Awkward but valid media end up playable.
func TestBadInput(t *testing.T) {
	mediatest.Require(t)
	results := &jobResults{}
	h := newHarness(t, func(o *Options) { o.Metrics = results })
	dir := t.TempDir()
	small := mediatest.Small

	// Inputs that must be rejected: name, content, words the reason contains.
	type reject struct {
		name   string
		make   func() string
		reason string
	}
	slowMP4 := mediatest.Make(t, dir, mediatest.Families["h264_mp4_no_faststart"], mediatest.Options{Seconds: 2, Width: 160, Height: 120, FPS: 24})
	whole, _ := os.ReadFile(slowMP4)
	// An interrupted copy of a fast-start MP4: the index is whole and
	// describes every frame, but most of the frames are not there.
	fastMP4 := mediatest.Make(t, dir, mediatest.Families["h264_mp4"], mediatest.Options{Seconds: 4, Width: 160, Height: 120, FPS: 24})
	fastWhole, _ := os.ReadFile(fastMP4)
	rnd := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(rnd)
	rejects := []reject{
		{"zero.mp4", func() string { return mediatest.WriteFile(t, dir, "zero.mp4", nil) }, "empty (0 bytes)"},
		{"truncated.mp4", func() string { return mediatest.WriteFile(t, dir, "truncated.mp4", whole[:len(whole)/2]) }, "moov atom not found"},
		{"cut-fast-start.mp4", func() string {
			return mediatest.WriteFile(t, dir, "cut-fast-start.mp4", fastWhole[:len(fastWhole)*3/10])
		}, "truncated"},
		{"notes.mp4", func() string {
			return mediatest.WriteFile(t, dir, "notes.mp4", []byte(strings.Repeat("Meeting notes, not a video.\n", 50)))
		}, "not a media file ffmpeg can read"},
		{"random.mov", func() string { return mediatest.WriteFile(t, dir, "random.mov", rnd) }, "not a media file ffmpeg can read"},
		{"subtitles-only.mkv", func() string {
			srt := mediatest.WriteFile(t, dir, "s.srt", []byte("1\n00:00:00,000 --> 00:00:01,000\nhello\n"))
			return mediatest.MakeArgs(t, dir, "subtitles-only.mkv", "-i", srt, "-c:s", "srt")
		}, "No video, audio or image track found"},
	}

	// Inputs that must work, with what the result must look like.
	type accept struct {
		name         string
		make         func() string
		action       media.Action
		w, h, frames int
	}
	accepts := []accept{
		{"datatracks.mov", func() string {
			bin := mediatest.WriteFile(t, dir, "d.bin", bytes.Repeat([]byte{1, 2, 3, 4}, 500))
			return mediatest.MakeArgs(t, dir, "datatracks.mov", append(small.Video(), "-f", "data", "-i", bin,
				"-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
				"-c:a", "pcm_s16le", "-c:d", "copy", "-tag:d", "gpmd", "-timecode", "01:00:00:00")...)
		}, media.Remux, 160, 120, 0},
		{"one-pixel.mkv", func() string {
			return mediatest.MakeArgs(t, dir, "one-pixel.mkv", "-f", "lavfi", "-i", "color=c=red:s=2x2:d=1:r=24", "-vf", "scale=1:1", "-c:v", "ffv1")
		}, media.Transcode, 2, 2, 0},
		{"huge-8000.mkv", func() string {
			return mediatest.MakeArgs(t, dir, "huge-8000.mkv", "-f", "lavfi", "-i", "color=c=blue:s=8000x8000:r=10", "-frames:v", "2", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p")
		}, media.Transcode, 1920, 1920, 0},
		{"one-frame.mp4", func() string {
			return mediatest.MakeArgs(t, dir, "one-frame.mp4", "-f", "lavfi", "-i", small.TestSrc(), "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
		}, media.AsIs, 160, 120, 1},
		{"ten-bit.mp4", func() string {
			return mediatest.MakeArgs(t, dir, "ten-bit.mp4", "-f", "lavfi", "-i", small.TestSrc(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-movflags", "+faststart")
		}, media.Transcode, 160, 120, 0},
		{"four-four-four.mp4", func() string {
			return mediatest.MakeArgs(t, dir, "four-four-four.mp4", "-f", "lavfi", "-i", small.TestSrc(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-movflags", "+faststart")
		}, media.Transcode, 160, 120, 0},
		{"alpha.mov", func() string {
			return mediatest.MakeArgs(t, dir, "alpha.mov", "-f", "lavfi", "-i", small.TestSrc()+",format=rgba,colorchannelmixer=aa=0.5", "-c:v", "png")
		}, media.Transcode, 160, 120, 0},
		{"phone-rotated.mp4", func() string {
			// An iPhone-style HEVC with a 90° display matrix: the transcode
			// must turn the picture, and leave no rotation behind.
			p := mediatest.MakeArgs(t, dir, "raw-rot.mp4", append(small.Video(), "-c:v", "libx265", "-preset", "ultrafast",
				"-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac")...)
			return mediatest.MakeArgs(t, dir, "phone-rotated.mp4", "-i", p, "-c", "copy", "-metadata:s:v:0", "rotate=90")
		}, media.Transcode, 120, 160, 0},
		{"vfr.mkv", func() string {
			return mediatest.MakeArgs(t, dir, "vfr.mkv", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=1.5",
				"-vf", "select='lt(n\\,15)+not(mod(n\\,3))'", "-vsync", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
		}, media.Remux, 160, 120, 25},
	}

	for _, r := range rejects {
		h.submit(r.make(), r.name, "frank", nil)
	}
	for _, a := range accepts {
		h.submit(a.make(), a.name, "frank", nil)
	}
	h.waitIdle(3 * time.Minute)

	for _, r := range rejects {
		t.Run("reject/"+r.name, func(t *testing.T) {
			msg, ok := h.errorFor("frank", r.name)
			if !ok {
				t.Fatalf("no error naming the file; messages: %v", h.rec.texts("frank", ""))
			}
			if msg.Text != "Error reading media file metadata." || !strings.Contains(msg.Details, r.reason) {
				t.Errorf("message %q / %q, want the reason %q", msg.Text, msg.Details, r.reason)
			}
			src, _ := os.ReadFile(filepath.Join(dir, r.name))
			kept, err := os.ReadFile(filepath.Join(h.l.Rejected(), r.name))
			if err != nil || !bytes.Equal(src, kept) {
				t.Errorf("original not kept intact in rejected/: %v", err)
			}
			if _, ingested := h.mediaByName(r.name); ingested {
				t.Error("a rejected file was recorded")
			}
		})
	}
	for _, a := range accepts {
		t.Run("accept/"+a.name, func(t *testing.T) {
			m, ok := h.mediaByName(a.name)
			if !ok {
				t.Fatalf("not ingested: %v", h.rec.texts("frank", ""))
			}
			playable := filepath.Join(h.l.OrigDir(m.ID), a.name)
			if a.action != media.AsIs {
				if m.RecompressionDone == nil {
					t.Fatalf("not converted: %v", h.rec.texts("frank", m.ID))
				}
				playable = h.l.VideoLink(m.ID)
			}
			out := probeFile(t, playable)
			if out.vcodec != "h264" || (out.pixfmt != "yuv420p" && out.pixfmt != "yuvj420p") || !out.faststart {
				t.Errorf("not browser-safe: %+v", out)
			}
			if out.width != a.w || out.height != a.h {
				t.Errorf("size %dx%d, want %dx%d", out.width, out.height, a.w, a.h)
			}
			if a.action == media.Transcode && out.rotated {
				t.Error("rotation left in a transcoded file")
			}
			if a.frames > 0 && *m.TotalFrames != int64(a.frames) {
				t.Errorf("total_frames %d, want %d", *m.TotalFrames, a.frames)
			}
			if math.Abs(out.vdur-*m.Duration) > 0.11 {
				t.Errorf("duration %g, source %g", out.vdur, *m.Duration)
			}
			if m.HasThumbnail == nil || !*m.HasThumbnail {
				t.Error("no thumbnail")
			}
			if p := probeFile(t, h.l.Sheet(m.ID, 10, 10)); p.width != 1600 || p.height != 900 {
				t.Errorf("sheet %dx%d", p.width, p.height)
			}
		})
	}
	if got := len(h.rejected()); got != len(rejects) {
		t.Errorf("rejected/ holds %d files, want %d: %v", got, len(rejects), h.rejected())
	}
	if done, failed := results.counts(); done != len(accepts) || failed != len(rejects) {
		t.Errorf("metrics: %d ingest jobs done and %d failed, want %d and %d", done, failed, len(accepts), len(rejects))
	}

	// Still running: a good file goes through after all that.
	good := mediatest.Make(t, dir, mediatest.Families["h264_mp4"], small)
	h.submit(good, "after.mp4", "frank", nil)
	h.waitIdle(time.Minute)
	if _, ok := h.mediaByName("after.mp4"); !ok {
		t.Error("the pipeline stopped working after bad input")
	}
}

// jobResults counts the pipeline's ingest job results, as the metrics do.
type jobResults struct {
	mu           sync.Mutex
	done, failed int
}

func (r *jobResults) UploadFinished(string, int64, error)            {}
func (r *jobResults) TranscodeFinished(string, time.Duration, error) {}
func (r *jobResults) IngestJobFinished(_ time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		r.failed++
	} else {
		r.done++
	}
}

func (r *jobResults) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done, r.failed
}
