package media

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden argv files in testdata/golden")

func videoInfo() Info {
	return Info{Type: Video, VideoStream: 0, AudioStream: 1, Duration: 2, TotalFrames: 50, FPS: "25.000",
		Bitrate: 8_000_000, Codec: "hevc", AudioCodec: "aac", PixFmt: "yuv420p", Width: 1920, Height: 1080,
		Container: "matroska,webm", Ext: "mkv"}
}

// The argument lists are part of the product: any change shows up here as
// a diff to review. Run `go test ./internal/media -run Golden -update` to
// accept one.
func TestGoldenArgv(t *testing.T) {
	const src = "/data/videos/abcd1234/orig/-my clip; \"final\" 日本.mov"
	dir := "/data/videos/abcd1234/"
	full := Outputs{Video: dir + "transcoded_br4000000_u.mp4", Poster: dir + "thumbs/thumb.webp", Sheet: dir + "thumbs/sheet-10x10.webp"}
	videoOnly := Outputs{Video: full.Video}

	movTimecode := videoInfo()
	movTimecode.VideoStream, movTimecode.AudioStream = 1, 3 // streams 0 and 2 are data/timecode
	movTimecode.Codec, movTimecode.AudioCodec, movTimecode.Container, movTimecode.Ext = "h264", "pcm_s16le", "mov,mp4,m4a,3gp,3g2,mj2", "mov"
	movTimecode.Bitrate = 1_000_000
	silent := videoInfo()
	silent.AudioStream, silent.AudioCodec = -1, ""
	audio := Info{Type: Audio, VideoStream: -1, AudioStream: 0, Duration: 3.5, FPS: "0", Codec: "flac", Container: "flac", Ext: "flac"}
	image := Info{Type: Image, VideoStream: 0, AudioStream: -1, TotalFrames: 1, FPS: "0", Codec: "png", Width: 4000, Height: 3000, Container: "png_pipe", Ext: "png"}
	image2 := image
	image2.Container, image2.Ext, image2.Codec = "image2", "tga", "targa"
	short := videoInfo()
	short.TotalFrames = 1

	type argsFn func() ([]string, error)
	cases := []struct {
		name string
		fn   argsFn
	}{
		{"transcode_video_with_thumbs", func() ([]string, error) {
			return TranscodeArgs(videoInfo(), Decide(videoInfo(), 2_500_000), src, full)
		}},
		{"transcode_video_only", func() ([]string, error) {
			return TranscodeArgs(silent, Decide(silent, 2_500_000), src, videoOnly)
		}},
		{"remux_copy_video_transcode_audio", func() ([]string, error) {
			return TranscodeArgs(movTimecode, Decide(movTimecode, 2_500_000), src, videoOnly)
		}},
		{"remux_copy_all", func() ([]string, error) {
			in := movTimecode
			in.AudioCodec = "aac"
			return TranscodeArgs(in, Decide(in, 2_500_000), src, videoOnly)
		}},
		{"audio_waveform", func() ([]string, error) {
			return TranscodeArgs(audio, Decide(audio, 2_500_000), src, videoOnly)
		}},
		{"image_still_with_poster", func() ([]string, error) {
			return TranscodeArgs(image, Decide(image, 2_500_000), src, Outputs{Video: full.Video, Poster: full.Poster})
		}},
		{"image2_pattern_off", func() ([]string, error) {
			return TranscodeArgs(image2, Decide(image2, 2_500_000), src, videoOnly)
		}},
		{"thumbs_video", func() ([]string, error) {
			return ThumbnailArgs(videoInfo(), src, Outputs{Poster: full.Poster, Sheet: full.Sheet})
		}},
		{"thumbs_one_frame_video", func() ([]string, error) {
			return ThumbnailArgs(short, src, Outputs{Poster: full.Poster, Sheet: full.Sheet})
		}},
		{"thumbs_image", func() ([]string, error) {
			return ThumbnailArgs(image, src, Outputs{Poster: full.Poster, Sheet: full.Sheet})
		}},
		{"nice_wrapped", func() ([]string, error) {
			args, err := ThumbnailArgs(image, src, Outputs{Poster: full.Poster})
			return (&Tools{}).FFmpegCommand(args), err
		}},
		{"script_env", func() ([]string, error) {
			return ScriptEnv(videoInfo(), Decide(videoInfo(), 2_500_000), src, videoOnly, 2_500_000, "ffmpeg")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, err := c.fn()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name, strings.Join(args, "\n")+"\n")
		})
	}
}

// checkGolden compares got with testdata/golden/<name>.txt (rewritten
// with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("argv differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// Properties every command must have, whatever the golden files say.
func TestArgvInvariants(t *testing.T) {
	in := videoInfo()
	args, err := TranscodeArgs(in, Decide(in, 2_500_000), "/x/-a.mkv", Outputs{Video: "/x/o.mp4", Poster: "/x/p.webp", Sheet: "/x/s.webp"})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"-i file:/x/-a.mkv", "-progress pipe:3", "-movflags +faststart", "-map 0:1", "-nostdin"} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in %s", want, joined)
		}
	}
	for _, bad := range []string{"-map 0 ", "scale=1920:-8"} {
		if strings.Contains(joined+" ", bad) {
			t.Errorf("must not contain %q (Clapshot #28/#129, upscaling): %s", bad, joined)
		}
	}
	if _, err := TranscodeArgs(in, Plan{Action: AsIs}, "/x/a", Outputs{Video: "/x/o.mp4"}); err == nil {
		t.Error("an as-is plan has no transcode command")
	}
	if _, err := ThumbnailArgs(Info{Type: Audio, VideoStream: -1}, "/x/a", Outputs{Poster: "p"}); err == nil {
		t.Error("audio has no thumbnails")
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"ffmpeg", "-i", "file:/a b/it's;$x.mov", "", "scale=w='min(1,iw)'"})
	want := `ffmpeg -i 'file:/a b/it'\''s;$x.mov' '' 'scale=w='\''min(1,iw)'\'''`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
