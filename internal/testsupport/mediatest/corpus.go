package mediatest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// CorpusVersion changes whenever the corpus changes (it names caches).
const CorpusVersion = "v1"

// corpusItem is one file of the benchmark corpus.
type corpusItem struct {
	name    string
	seconds float64
	args    func(o Options) []string
}

func scaled(o Options, w, h int) Options {
	o.Width, o.Height = w, h
	return o
}

// corpus is a fixed mix of what reviewers upload: camera and phone files,
// web video, intermediates, audio, a still. Every file is made from
// deterministic lavfi sources.
func corpus(quick bool) []corpusItem {
	src := func(o Options) []string {
		return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d:duration=%g", o.Width, o.Height, o.FPS, o.Seconds),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=330:sample_rate=48000:duration=%g", o.Seconds)}
	}
	x264 := func(rate string) []string {
		return []string{"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", rate, "-maxrate", rate, "-bufsize", rate}
	}
	items := []corpusItem{
		{"camera-1080p.mp4", 30, func(o Options) []string {
			return append(append(src(o), x264("2M")...), "-c:a", "aac", "-movflags", "+faststart")
		}},
		{"camera-1080p.mov", 30, func(o Options) []string {
			return append(append(src(o), x264("2M")...), "-c:a", "aac")
		}},
		{"screen-720p.mkv", 20, func(o Options) []string {
			return append(append(src(scaled(o, o.Width*2/3, o.Height*2/3)), x264("1500k")...), "-c:a", "aac")
		}},
		{"iphone-hevc-1080p.mp4", 20, func(o Options) []string {
			return append(src(o), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-b:v", "1500k",
				"-tag:v", "hvc1", "-c:a", "aac", "-movflags", "+faststart")
		}},
		{"web-vp9-720p.webm", 20, func(o Options) []string {
			return append(src(scaled(o, o.Width*2/3, o.Height*2/3)), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
				"-b:v", "1M", "-c:a", "libopus")
		}},
		{"edit-prores-1080p.mov", 10, func(o Options) []string {
			return append(src(o), "-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le")
		}},
		{"export-1080p-8mbps.mp4", 15, func(o Options) []string {
			return append(append(src(o), x264("8M")...), "-c:a", "aac", "-movflags", "+faststart")
		}},
		{"broadcast-576p.ts", 15, func(o Options) []string {
			return append(src(scaled(o, 720, 576)), "-c:v", "mpeg2video", "-b:v", "5M", "-c:a", "mp2")
		}},
		{"phone-360p.mov", 10, func(o Options) []string {
			return append(append(src(scaled(o, 640, 360)), x264("800k")...), "-c:a", "aac")
		}},
		{"interview.wav", 30, func(o Options) []string {
			return []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=220:sample_rate=48000:duration=%g", o.Seconds), "-ac", "2", "-c:a", "pcm_s16le"}
		}},
		{"voice-memo.mp3", 15, func(o Options) []string {
			return []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%g", o.Seconds), "-c:a", "libmp3lame", "-b:a", "96k"}
		}},
		{"storyboard.png", 0, func(o Options) []string {
			return []string{"-f", "lavfi", "-i", "testsrc2=size=4000x3000:rate=1", "-frames:v", "1"}
		}},
	}
	if quick {
		for i := range items {
			items[i].seconds /= 6
		}
	}
	return items
}

// MakeCorpus writes the benchmark corpus into dir (files already there are
// kept: the corpus is deterministic) and returns the paths and the total
// duration in seconds. Quick makes it about six times shorter and smaller.
func MakeCorpus(ctx context.Context, dir string, quick bool) ([]string, float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	base := Options{Width: 1920, Height: 1080, FPS: 30}
	if quick {
		base = Options{Width: 640, Height: 360, FPS: 30}
	}
	var paths []string
	total := 0.0
	for _, it := range corpus(quick) {
		o := base
		o.Seconds = it.seconds
		p := filepath.Join(dir, it.name)
		if _, err := os.Stat(p); err != nil {
			// Encoded under a temporary name: an interrupted run leaves no
			// half file that a later run would take for complete.
			tmp := filepath.Join(dir, ".tmp-"+it.name)
			if err := FFmpeg(ctx, append(it.args(o), tmp)...); err != nil {
				return nil, 0, err
			}
			if err := os.Rename(tmp, p); err != nil {
				return nil, 0, err
			}
		}
		paths = append(paths, p)
		total += it.seconds
	}
	return paths, total, nil
}
