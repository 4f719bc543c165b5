package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

func TestDecide(t *testing.T) {
	const target = 2_500_000
	base := Info{Type: Video, VideoStream: 0, AudioStream: 1, Codec: "h264", AudioCodec: "aac", PixFmt: "yuv420p",
		Width: 1920, Height: 1080, Bitrate: 2_000_000, Container: "mov,mp4,m4a,3gp,3g2,mj2", Ext: "mp4", FastStart: true}
	with := func(f func(*Info)) Info { in := base; f(&in); return in }
	cases := []struct {
		name   string
		in     Info
		action Action
		reason string
		vbr    int64
		copyA  bool
	}{
		{"safe mp4", base, AsIs, "", 0, false},
		{"no audio", with(func(i *Info) { i.AudioStream, i.AudioCodec = -1, "" }), AsIs, "", 0, false},
		{"bitrate at 1.2x", with(func(i *Info) { i.Bitrate = 3_000_000 }), AsIs, "", 0, false},
		{"mov", with(func(i *Info) { i.Ext = "mov" }), Remux, "container 'mov' not supported", 0, true},
		{"mkv", with(func(i *Info) { i.Ext, i.Container = "mkv", "matroska,webm" }), Remux, "container 'mkv' not supported", 0, true},
		{"mp4 named but matroska", with(func(i *Info) { i.Container = "matroska,webm" }), Remux, "container 'mp4' not supported", 0, true},
		{"moov at end", with(func(i *Info) { i.FastStart = false }), Remux, "the MP4 index is at the end of the file", 0, true},
		{"pcm audio", with(func(i *Info) { i.AudioCodec = "pcm_s16le" }), Remux, "audio codec 'pcm_s16le' not supported", 0, false},
		{"mov with ac3", with(func(i *Info) { i.Ext, i.AudioCodec = "mov", "ac3" }), Remux, "container 'mov' not supported", 0, false},
		{"hevc", with(func(i *Info) { i.Codec = "hevc" }), Transcode, "codec 'hevc' not supported", 2_000_000, false},
		{"10-bit", with(func(i *Info) { i.PixFmt = "yuv420p10le" }), Transcode, "pixel format 'yuv420p10le' not supported", 2_000_000, false},
		{"4:4:4", with(func(i *Info) { i.PixFmt = "yuv444p" }), Transcode, "pixel format 'yuv444p' not supported", 2_000_000, false},
		{"8K", with(func(i *Info) { i.Width, i.Height = 8000, 8000 }), Transcode, "size 8000x8000 is too large", 2_000_000, false},
		{"high bitrate", with(func(i *Info) { i.Bitrate = 10_000_000 }), Transcode, "bitrate is too high: old 10000000 > new 5000000", 5_000_000, false},
		{"just over", with(func(i *Info) { i.Bitrate = 3_100_000 }), Transcode, "bitrate is too high: old 3100000 > new 2500000", 2_500_000, false},
		{"audio", Info{Type: Audio, AudioStream: 0, Bitrate: 128000}, Transcode, "client cannot playback audio only", target, false},
		{"image", Info{Type: Image, VideoStream: 0}, Transcode, "client cannot 'playback' still images", target, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Decide(c.in, target)
			if p.Action != c.action || p.Reason != c.reason || p.VideoBitrate != c.vbr || p.CopyAudio != c.copyA {
				t.Errorf("got %+v, want %s %q %d copyAudio=%v", p, c.action, c.reason, c.vbr, c.copyA)
			}
		})
	}
}

func TestAnalyzeSelection(t *testing.T) {
	cases := []struct {
		name, json string
		want       Info
		err        string
	}{
		{"cover art is not video", `{"format":{"format_name":"mp3","duration":"3.0"},"streams":[
			{"index":0,"codec_type":"audio","codec_name":"mp3","channels":2,"duration":"3.0","bit_rate":"128000"},
			{"index":1,"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1}}]}`,
			Info{Type: Audio, VideoStream: -1, AudioStream: 0, Duration: 3, FPS: "0", Bitrate: 128000, Codec: "mp3", AudioCodec: "mp3"}, ""},
		{"rotated phone video", `{"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"2.0","bit_rate":"900"},"streams":[
			{"index":0,"codec_type":"data","codec_name":"none"},
			{"index":1,"codec_type":"video","codec_name":"h264","pix_fmt":"yuv420p","width":1920,"height":1080,"avg_frame_rate":"30000/1001","nb_frames":"60","duration":"2.002","bit_rate":"800","side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
			{"index":2,"codec_type":"audio","codec_name":"aac","channels":2}]}`,
			Info{Type: Video, VideoStream: 1, AudioStream: 2, Duration: 2.002, TotalFrames: 60, FPS: "29.970", Bitrate: 800, Codec: "h264", AudioCodec: "aac", PixFmt: "yuv420p", Width: 1080, Height: 1920, Rotation: 270}, ""},
		{"png", `{"format":{"format_name":"png_pipe"},"streams":[{"index":0,"codec_type":"video","codec_name":"png","width":64,"height":48,"pix_fmt":"rgb24"}]}`,
			Info{Type: Image, VideoStream: 0, AudioStream: -1, TotalFrames: 1, FPS: "0", Codec: "png", PixFmt: "rgb24", Width: 64, Height: 48}, ""},
		{"subtitles only", `{"format":{"format_name":"srt"},"streams":[{"index":0,"codec_type":"subtitle","codec_name":"subrip"}]}`, Info{}, "no video, audio or image track found"},
		{"matroska estimate", `{"format":{"format_name":"matroska,webm","duration":"2.0","bit_rate":"5000"},"streams":[{"index":0,"codec_type":"video","codec_name":"vp9","width":16,"height":16,"avg_frame_rate":"25/1"}]}`,
			Info{Type: Video, VideoStream: 0, AudioStream: -1, Duration: 2, TotalFrames: 50, FPS: "25.000", Bitrate: 5000, Codec: "vp9", Width: 16, Height: 16}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseProbe([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Analyze(p, "/x/f.bin", 1000)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Container, got.Ext, got.FrameCountEstimated = "", "", false
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestReadProgress(t *testing.T) {
	in := "frame=12\nfps=0.00\nout_time_us=500000\nspeed=N/A\nprogress=continue\n" +
		"frame=50\nfps=48.5\nout_time_ms=2000000\nspeed= 2.2x\nprogress=end\n"
	var got []Progress
	if err := ReadProgress(strings.NewReader(in), func(p Progress) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	want := []Progress{{Frame: 12, OutTime: 500 * time.Millisecond}, {Frame: 50, FPS: 48.5, Speed: "2.2x", OutTime: 2 * time.Second, End: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// The sprite sheet must show frame i*N/100 in tile i, exactly as
// Clapshot's select expression did, for short and long videos alike. Each
// generated frame's brightness is its index, so the tiles can be read back.
func TestSheetPicksClapshotFrames(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	tools := &Tools{NoNice: true}
	for _, n := range []int64{1, 37, 150} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := mediatest.MakeArgs(t, dir, fmt.Sprintf("g%d.mkv", n), "-f", "lavfi", "-i",
				fmt.Sprintf("nullsrc=s=32x18:r=25,trim=end_frame=%d,geq=lum='16+N':cb=128:cr=128", n), "-c:v", "ffv1")
			in := Info{Type: Video, VideoStream: 0, TotalFrames: n}
			raw := filepath.Join(dir, fmt.Sprintf("s%d.yuv", n))
			out := Outputs{Sheet: raw}
			args, err := ThumbnailArgs(in, src, out)
			if err != nil {
				t.Fatal(err)
			}
			if err := Run(context.Background(), tools.FFmpegCommand(args), RunOptions{}); err != nil {
				t.Fatal(err)
			}
			// The same tiling, raw output instead of WebP so pixels are exact.
			args = SheetArgs(out)
			for i, a := range args {
				if a == "libwebp" {
					args[i] = "rawvideo"
				}
				if a == "webp" {
					args[i] = "rawvideo"
				}
			}
			if err := Run(context.Background(), tools.FFmpegCommand(args), RunOptions{}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			const w = ThumbW * SheetCols
			for i := int64(0); i < sheetCount; i++ {
				x, y := (i%SheetCols)*ThumbW+ThumbW/2, (i/SheetCols)*ThumbH+ThumbH/2
				got := int64(data[y*w+x]) - 16
				if want := i * n / sheetCount; got != want {
					t.Fatalf("tile %d shows frame %d, want %d", i, got, want)
				}
			}
		})
	}
}

func TestRunProgressCancelAndFailure(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	tools := &Tools{}
	src := mediatest.Make(t, dir, mediatest.Families["h264_mp4"], mediatest.Small)
	_, in, err := tools.Inspect(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if in.Type != Video || in.TotalFrames != 24 || in.FPS != "24.000" || !in.FastStart || in.Width != 160 {
		t.Fatalf("inspect: %+v", in)
	}

	// Progress reports arrive, the last one is the end.
	out := filepath.Join(dir, "out.mp4")
	args, err := TranscodeArgs(in, Plan{Action: Transcode, VideoBitrate: 100000}, src, Outputs{Video: out})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reports []Progress
	var pid int
	tail := &Tail{Max: 4096}
	err = Run(context.Background(), tools.FFmpegCommand(args), RunOptions{Stderr: tail,
		Progress: func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() },
		Started:  func(p int) { pid = p }})
	if err != nil {
		t.Fatal(err, tail.String())
	}
	if pid == 0 || len(reports) == 0 || !reports[len(reports)-1].End || reports[len(reports)-1].Frame != 24 {
		t.Fatalf("pid %d, reports %+v", pid, reports)
	}

	// A failing run reports the exit status, and stderr names the problem.
	tail = &Tail{Max: 4096}
	err = Run(context.Background(), tools.FFmpegCommand([]string{"-nostdin", "-i", "file:" + filepath.Join(dir, "missing.mp4"), filepath.Join(dir, "x.mp4")}), RunOptions{Stderr: tail})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Cmd != "ffmpeg" || !strings.Contains(tail.LastLines(2), "No such file") {
		t.Fatalf("err %v, stderr %q", err, tail.String())
	}

	// Cancelling kills the whole process group promptly.
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan int, 1)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	t0 := time.Now()
	err = Run(ctx, []string{"sh", "-c", "sleep 30 & sleep 30"}, RunOptions{Started: func(p int) { started <- p }})
	if !errors.Is(err, context.Canceled) || time.Since(t0) > 10*time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(t0))
	}
}

func TestFastStart(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	fast := mediatest.Make(t, dir, mediatest.Families["h264_mp4"], mediatest.Small)
	slow := mediatest.Make(t, dir, mediatest.Families["h264_mp4_no_faststart"], mediatest.Small)
	for p, want := range map[string]bool{fast: true, slow: false} {
		got, err := FastStart(p)
		if err != nil || got != want {
			t.Errorf("%s: faststart %v (%v), want %v", filepath.Base(p), got, err, want)
		}
	}
	junk := mediatest.WriteFile(t, dir, "junk.mp4", []byte("\x00\x00\x00\x02free"))
	if _, err := FastStart(junk); err == nil {
		t.Error("a malformed box must be an error")
	}
}

// A fast-start MP4 cut short (an interrupted copy) probes as if whole:
// its index is at the front. Inspect must refuse it, saying it is
// truncated and how much of it would play.
func TestInspectRefusesTruncatedMP4(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	whole := mediatest.Make(t, dir, mediatest.Families["h264_mp4"], mediatest.Options{Seconds: 10, Width: 160, Height: 120, FPS: 25})
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	tools := &Tools{}
	if _, _, err := tools.Inspect(context.Background(), whole); err != nil {
		t.Fatalf("the whole file: %v", err)
	}
	cut := mediatest.WriteFile(t, dir, "cut.mp4", data[:len(data)*3/10])
	_, _, err = tools.Inspect(context.Background(), cut)
	var te *TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("a file cut to 30%%: %v, want a TruncatedError", err)
	}
	if te.Size != int64(len(data)*3/10) || te.Want != int64(len(data)) {
		t.Errorf("sizes %d of %d, want %d of %d", te.Size, te.Want, len(data)*3/10, len(data))
	}
	if te.Duration != 10 || te.Playable <= 0.5 || te.Playable >= 6 {
		t.Errorf("playable %.2f s of %.2f, want a part of 10 s", te.Playable, te.Duration)
	}
	for _, want := range []string{"truncated", "interrupted", fmt.Sprintf("%.1f s of 10.0 s", te.Playable)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

// Thumbnails made in the same run as the video must not hold back
// progress reports (a tiled output starts only at the end, and ffmpeg
// reports nothing until every output has started), and TileSheet then
// makes the sheet from the frames and removes them.
func TestProgressWhileMakingThumbnails(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	tools := &Tools{NoNice: true}
	src := mediatest.MakeArgs(t, dir, "long.mkv", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=8", "-c:v", "mpeg4", "-q:v", "5")
	_, in, err := tools.Inspect(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	out := Outputs{Video: filepath.Join(dir, "out.mp4"), Poster: filepath.Join(dir, "thumb.webp"), Sheet: filepath.Join(dir, "sheet.webp")}
	args, err := TranscodeArgs(in, Plan{Action: Transcode, VideoBitrate: 2_000_000}, src, out)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var partial []int64
	var furthest time.Duration
	tail := &Tail{Max: 4096}
	err = Run(context.Background(), tools.FFmpegCommand(args), RunOptions{Stderr: tail, Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		furthest = max(furthest, p.OutTime)
		if !p.End && p.Frame < in.TotalFrames {
			partial = append(partial, p.Frame)
		}
	}})
	if err != nil {
		t.Fatal(err, tail.String())
	}
	mu.Lock()
	if len(partial) == 0 {
		t.Errorf("no progress report before the end of a %d-frame transcode", in.TotalFrames)
	}
	// The time reported is the video's, not the thumbnails' own timestamps.
	if furthest.Seconds() > in.Duration+0.5 {
		t.Errorf("progress time %v for a %.1f s video", furthest, in.Duration)
	}
	mu.Unlock()
	if _, err := tools.TileSheet(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out.SheetFrames()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sheet's frames were left behind: %v", err)
	}
	p, err := tools.Probe(context.Background(), out.Sheet)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Streams[0]; s.Width != ThumbW*SheetCols || s.Height != ThumbH*SheetRows {
		t.Errorf("sheet is %dx%d", s.Width, s.Height)
	}
}
