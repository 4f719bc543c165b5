// Package mediatest generates media files with ffmpeg's lavfi sources, for
// tests and benchmarks: every container/codec family the pipeline must
// handle, and the awkward inputs it must survive. Nothing is stored in the
// repository; files are made at test time in a few hundred milliseconds.
package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Spec describes one generated file.
type Spec struct {
	// Name is the file name (its extension picks the container).
	Name string
	// Args are ffmpeg arguments between the common prefix and the output.
	Args func(o Options) []string
}

// Options scale the generated media.
type Options struct {
	Seconds float64
	Width   int
	Height  int
	FPS     int
}

// Small are the options for tests: tiny and quick to encode.
var Small = Options{Seconds: 1, Width: 160, Height: 120, FPS: 24}

func (o Options) size() string { return fmt.Sprintf("%dx%d", o.Width, o.Height) }
func (o Options) dur() string  { return strconv.FormatFloat(o.Seconds, 'f', -1, 64) }

// TestSrc is a moving test picture.
func (o Options) TestSrc() string {
	return fmt.Sprintf("testsrc=size=%s:rate=%d:duration=%s", o.size(), o.FPS, o.dur())
}

// Sine is a tone of the same duration.
func (o Options) Sine() string {
	return fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%s", o.dur())
}

// Video is a test picture with a tone.
func (o Options) Video() []string {
	return []string{"-f", "lavfi", "-i", o.TestSrc(), "-f", "lavfi", "-i", o.Sine()}
}

// Families are the container/codec families of the test matrix,
// keyed by a short name.
var Families = map[string]Spec{
	"h264_mp4": {Name: "h264.mp4", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "60k", "-c:a", "aac", "-b:a", "32k", "-movflags", "+faststart")
	}},
	"h264_mov": {Name: "h264.mov", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "60k", "-c:a", "aac", "-b:a", "32k")
	}},
	"h264_mp4_pcm": {Name: "h264-pcm.mp4", Args: func(o Options) []string {
		// MP4 cannot hold PCM; MOV can, and many cameras write it so.
		return append(o.Video(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "60k", "-c:a", "pcm_s16le", "-f", "mov")
	}},
	"h264_mp4_high_bitrate": {Name: "h264-high.mp4", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-qp", "0", "-c:a", "aac", "-movflags", "+faststart")
	}},
	"h264_mp4_no_faststart": {Name: "h264-slow.mp4", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "60k", "-c:a", "aac", "-b:a", "32k")
	}},
	"vp9_webm": {Name: "vp9.webm", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k", "-c:a", "libopus")
	}},
	"prores_mov": {Name: "prores.mov", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le")
	}},
	"hevc_mkv": {Name: "hevc.mkv", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "aac")
	}},
	"mpeg2_ts": {Name: "mpeg2.ts", Args: func(o Options) []string {
		return append(o.Video(), "-c:v", "mpeg2video", "-c:a", "mp2")
	}},
	"audio_wav": {Name: "tone.wav", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.Sine(), "-c:a", "pcm_s16le"}
	}},
	"audio_mp3": {Name: "tone.mp3", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.Sine(), "-c:a", "libmp3lame", "-b:a", "64k"}
	}},
	"audio_flac": {Name: "tone.flac", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.Sine(), "-c:a", "flac"}
	}},
	"audio_ogg": {Name: "tone.ogg", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.Sine(), "-c:a", "libvorbis"}
	}},
	"image_png": {Name: "picture.png", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.TestSrc(), "-frames:v", "1"}
	}},
	"image_jpeg": {Name: "picture.jpg", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.TestSrc(), "-frames:v", "1", "-pix_fmt", "yuvj420p"}
	}},
	"image_webp": {Name: "picture.webp", Args: func(o Options) []string {
		return []string{"-f", "lavfi", "-i", o.TestSrc(), "-frames:v", "1", "-c:v", "libwebp"}
	}},
}

// Generate writes spec to dir with options o and returns the path.
func Generate(ctx context.Context, dir string, spec Spec, o Options) (string, error) {
	out := filepath.Join(dir, spec.Name)
	return out, FFmpeg(ctx, append(spec.Args(o), out)...)
}

// FFmpeg runs ffmpeg quietly with args (which end with the output).
func FFmpeg(ctx context.Context, args ...string) error {
	full := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, "ffmpeg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg %v: %v: %s", args, err, stderr.String())
	}
	return nil
}

// Require skips the test when ffmpeg or ffprobe is not installed: the only
// reason a media test may skip.
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install ffmpeg)", tool)
		}
	}
}

// Make generates a file in dir for a test, failing it on error.
func Make(t testing.TB, dir string, spec Spec, o Options) string {
	t.Helper()
	p, err := Generate(context.Background(), dir, spec, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// MakeArgs runs ffmpeg with args and output dir/name for a test.
func MakeArgs(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := FFmpeg(context.Background(), append(args, p)...); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteFile writes bytes for a test.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
