package media

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Thumbnail geometry, as in Clapshot.
const (
	ThumbW     = 160
	ThumbH     = 90
	SheetCols  = 10
	SheetRows  = 10
	sheetCount = SheetCols * SheetRows
)

// ProgressFD is the file descriptor ffmpeg writes -progress reports to;
// Run provides it as a pipe.
const ProgressFD = 3

// Outputs are the files an ffmpeg run writes. Empty names are not made.
type Outputs struct {
	Video  string // the browser-safe MP4
	Poster string // thumbs/thumb.webp
	Sheet  string // thumbs/sheet-10x10.webp
	// HLSDir is the directory of an adaptive ladder (LadderArgs), written
	// whole or removed whole.
	HLSDir string
}

// SheetFrames is where a run writes the sheet's 100 frames (raw, in NUT)
// for TileSheet to assemble. The tiles are not made in the same run:
// ffmpeg reports no progress until every output has started, and a tiled
// output starts only once its last frame is in, at the very end.
func (o Outputs) SheetFrames() string {
	if o.Sheet == "" {
		return ""
	}
	return o.Sheet + ".frames.nut"
}

// Paths lists the outputs that are set, intermediate files included.
func (o Outputs) Paths() []string {
	var out []string
	for _, p := range []string{o.Video, o.Poster, o.Sheet, o.SheetFrames(), o.HLSDir} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// commonArgs start every ffmpeg command: no terminal interaction, progress
// reports on ProgressFD, and the input.
func commonArgs(in Info, src string, extraInput ...string) []string {
	args := []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-progress", "pipe:" + strconv.Itoa(ProgressFD)}
	args = append(args, extraInput...)
	if in.Container == "image2" {
		// A file name with % must not be read as an image sequence pattern.
		args = append(args, "-pattern_type", "none")
	}
	return append(args, "-i", inputURL(src))
}

// letterbox scales into a w×h box keeping the aspect ratio and pads the
// rest, as Clapshot's thumbnails do.
func letterbox(w, h int) string {
	return fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2", w, h, w, h)
}

// posterChain picks a representative frame among the first 100 (the
// thumbnail filter), on frames already shrunk so the comparison is cheap.
func posterChain() string {
	return letterbox(ThumbW, ThumbH) + ",thumbnail,trim=end_frame=1,format=yuv420p"
}

// sheetChain selects frame i*N/100 for i = 0..99, like Clapshot's
// select=eq(n\,...)+... expression, in one pass: each frame's timestamp
// becomes its index, and a frame rate of 100/N keeps exactly the frames at
// those indexes (repeating frames when N < 100). Frames are dropped before
// they are shrunk, but repeated only after (one scaling per source frame
// either way). Padding with the last frame guarantees a full sheet when
// the container overstated N.
func sheetChain(totalFrames int64) string {
	n := max(totalFrames, 1)
	pick := fmt.Sprintf("settb=1,setpts=N,fps=fps=%d/%d:round=up", sheetCount, n)
	shrink := letterbox(ThumbW, ThumbH)
	first, second := pick, shrink
	if n < sheetCount {
		first, second = shrink, pick
	}
	// The frames then get timestamps 1 ms apart: ffmpeg's progress time
	// (and speed) is the furthest of all outputs, and the index-as-seconds
	// stamps would run ahead of the video's.
	return fmt.Sprintf("%s,%s,tpad=stop_mode=clone:stop=%d,trim=end_frame=%d,settb=1/1000,setpts=N,format=yuv420p",
		first, second, sheetCount, sheetCount)
}

// sheetFramesOutput writes the sheet's frames for TileSheet.
func sheetFramesOutput(label string, o Outputs) []string {
	// passthrough: every frame written once, whatever its timestamp.
	return []string{"-map", "[" + label + "]", "-fps_mode", "passthrough", "-c:v", "rawvideo", "-f", "nut", "file:" + o.SheetFrames()}
}

// SheetArgs builds the ffmpeg arguments that tile the frames at
// o.SheetFrames() into the sprite sheet o.Sheet.
func SheetArgs(o Outputs) []string {
	args := []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-f", "nut", "-i", "file:" + o.SheetFrames(),
		"-vf", fmt.Sprintf("tile=%dx%d", SheetCols, SheetRows)}
	return append(args, "-frames:v", "1", "-c:v", "libwebp", "-f", "webp", "file:"+o.Sheet)
}

// scaleChain fits video into MaxOutputDimension² without upscaling, then
// pads odd sizes to even ones (H.264 4:2:0 needs even dimensions, and a
// 1×1 source must still encode).
func scaleChain() string {
	m := MaxOutputDimension
	return fmt.Sprintf("scale=w='min(%d,iw)':h='min(%d,ih)':force_original_aspect_ratio=decrease,pad=ceil(iw/2)*2:ceil(ih/2)*2", m, m)
}

// waveformGraph is Clapshot's audio visualisation: a 1920×720 waveform
// picture (peaks in dark grey, averages on top) with a white cursor that
// crosses it in the file's duration.
func waveformGraph(audioStream int, duration float64) string {
	d := strconv.FormatFloat(duration, 'f', -1, 64)
	return "color=c=white:s=2x720[cursor];" +
		fmt.Sprintf("[0:%d]asplit=2[wa][wb];", audioStream) +
		"[wa]showwavespic=s=1920x720:split_channels=1:draw=scale:filter=peak:colors=#181818[peak];" +
		"[wb]showwavespic=s=1920x720:split_channels=1:draw=scale:filter=average[avg];" +
		"[peak][avg]overlay[wave];" +
		fmt.Sprintf("[wave]loop=loop=-1:size=1:start=0,fps=30,trim=duration=%s[waveloop];", d) +
		fmt.Sprintf("[waveloop][cursor]overlay=(W*t)/(%s):0:shortest=1,format=yuv420p[vout]", d)
}

func mp4Output(path string) []string {
	// faststart: playback starts before the whole file is downloaded.
	// write_tmcd 0: never carry a QuickTime timecode track into the MP4.
	return []string{"-movflags", "+faststart", "-write_tmcd", "0", "-f", "mp4", "file:" + path}
}

func aacArgs(bitrate string) []string {
	return []string{"-c:a", "aac", "-b:a", bitrate, "-ac", "2"}
}

func webpOutput(label, path string) []string {
	return []string{"-map", "[" + label + "]", "-frames:v", "1", "-c:v", "libwebp", "-f", "webp", "file:" + path}
}

// thumbOutput is the output of a poster (a WebP) or of the sheet's frames.
func thumbOutput(t graphOutput, o Outputs) []string {
	if t.label == "sheet" {
		return sheetFramesOutput(t.label, o)
	}
	return webpOutput(t.label, t.path)
}

// TranscodeArgs builds the ffmpeg arguments (without the program name)
// that carry out plan. Streams are mapped explicitly (primary video and
// first audio only), so data, timecode, subtitle and attachment streams
// never reach the MP4 muxer (Clapshot #28, #129). When out.Poster or
// out.Sheet are set, the thumbnails come from the same decode as the video
// (the sheet's frames, for TileSheet).
func TranscodeArgs(in Info, plan Plan, src string, out Outputs) ([]string, error) {
	if out.Video == "" {
		return nil, errors.New("transcode: no output file")
	}
	switch plan.Action {
	case Remux:
		return remuxArgs(in, plan, src, out)
	case Transcode:
	default:
		return nil, fmt.Errorf("transcode: nothing to do for action %q", plan.Action)
	}
	bitrate := strconv.FormatInt(max(plan.VideoBitrate, 1000), 10)
	switch in.Type {
	case Audio:
		if in.AudioStream < 0 {
			return nil, errors.New("transcode: no audio stream")
		}
		// ultrafast: the picture is a still graphic with a moving line,
		// which every preset encodes alike at this bitrate (74 dB PSNR
		// between ultrafast and faster), at half the CPU time.
		args := commonArgs(in, src)
		args = append(args, "-filter_complex", waveformGraph(in.AudioStream, in.Duration),
			"-map", "[vout]", "-map", fmt.Sprintf("0:%d", in.AudioStream),
			"-c:v", "libx264", "-preset", "ultrafast", "-b:v", bitrate)
		args = append(args, aacArgs("384k")...)
		return append(args, mp4Output(out.Video)...), nil
	case Image:
		graph := fmt.Sprintf("[0:%d]", in.VideoStream)
		video := scaleChain() + ",loop=loop=-1:size=1,format=yuv420p"
		if out.Poster != "" {
			graph += "split=2[img][p];[img]" + video + "[vout];[p]" + posterChain() + "[poster]"
		} else {
			graph += video + "[vout]"
		}
		args := commonArgs(in, src)
		args = append(args, "-filter_complex", graph, "-map", "[vout]",
			"-c:v", "libx264", "-tune", "stillimage", "-b:v", bitrate, "-t", "1", "-r", "24")
		args = append(args, mp4Output(out.Video)...)
		if out.Poster != "" {
			args = append(args, webpOutput("poster", out.Poster)...)
		}
		return args, nil
	}
	if in.VideoStream < 0 {
		return nil, errors.New("transcode: no video stream")
	}
	graph, labels := videoGraph(in, out)
	args := commonArgs(in, src)
	args = append(args, "-filter_complex", graph, "-map", "[vout]")
	if in.AudioStream >= 0 {
		args = append(args, "-map", fmt.Sprintf("0:%d", in.AudioStream))
	}
	// veryfast, not Clapshot's faster: at the same bitrate the picture is
	// as good (SSIM 0.9780 both, and 0.859 vs 0.861 on noisy 1080p) for
	// 22-47 % less CPU time; see docs/transcoding.md.
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-b:v", bitrate)
	if in.AudioStream >= 0 {
		args = append(args, aacArgs("128000")...)
	}
	args = append(args, mp4Output(out.Video)...)
	for _, l := range labels {
		args = append(args, thumbOutput(l, out)...)
	}
	return args, nil
}

type graphOutput struct{ label, path string }

// videoGraph is the filter graph of a video transcode: the scaled video
// and, from the same decoded frames, the poster and the sheet.
func videoGraph(in Info, out Outputs) (string, []graphOutput) {
	var thumbs []graphOutput
	if out.Poster != "" {
		thumbs = append(thumbs, graphOutput{"poster", out.Poster})
	}
	if out.Sheet != "" {
		thumbs = append(thumbs, graphOutput{"sheet", out.Sheet})
	}
	video := scaleChain() + ",format=yuv420p"
	src := fmt.Sprintf("[0:%d]", in.VideoStream)
	if len(thumbs) == 0 {
		return src + video + "[vout]", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%ssplit=%d[v]", src, len(thumbs)+1)
	for _, t := range thumbs {
		b.WriteString("[" + t.label + "in]")
	}
	b.WriteString(";[v]" + video + "[vout]")
	for _, t := range thumbs {
		b.WriteString(";[" + t.label + "in]" + thumbChain(t.label, in) + "[" + t.label + "]")
	}
	return b.String(), thumbs
}

func thumbChain(label string, in Info) string {
	if label == "poster" {
		return posterChain()
	}
	return sheetChain(in.TotalFrames)
}

func remuxArgs(in Info, plan Plan, src string, out Outputs) ([]string, error) {
	if in.VideoStream < 0 {
		return nil, errors.New("remux: no video stream")
	}
	// genpts: raw elementary streams carry no timestamps for the muxer.
	args := commonArgs(in, src, "-fflags", "+genpts")
	args = append(args, "-map", fmt.Sprintf("0:%d", in.VideoStream))
	if in.AudioStream >= 0 {
		args = append(args, "-map", fmt.Sprintf("0:%d", in.AudioStream))
	}
	args = append(args, "-c:v", "copy")
	if in.AudioStream >= 0 {
		if plan.CopyAudio {
			args = append(args, "-c:a", "copy")
		} else {
			args = append(args, aacArgs("128000")...)
		}
	}
	return append(args, mp4Output(out.Video)...), nil
}

// ThumbnailArgs builds the ffmpeg arguments that write the poster and (for
// video) the sprite sheet's frames in one decode of the source; TileSheet
// then makes the sheet.
func ThumbnailArgs(in Info, src string, out Outputs) ([]string, error) {
	if in.VideoStream < 0 {
		return nil, errors.New("thumbnails: no video or image stream")
	}
	var thumbs []graphOutput
	if out.Poster != "" {
		thumbs = append(thumbs, graphOutput{"poster", out.Poster})
	}
	if out.Sheet != "" && in.Type == Video {
		thumbs = append(thumbs, graphOutput{"sheet", out.Sheet})
	}
	if len(thumbs) == 0 {
		return nil, errors.New("thumbnails: no output file")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[0:%d]", in.VideoStream)
	if len(thumbs) > 1 {
		b.WriteString("split=2[posterin][sheetin];[posterin]" + posterChain() + "[poster];[sheetin]" + sheetChain(in.TotalFrames) + "[sheet]")
	} else {
		b.WriteString(thumbChain(thumbs[0].label, in) + "[" + thumbs[0].label + "]")
	}
	args := commonArgs(in, src)
	args = append(args, "-filter_complex", b.String())
	for _, t := range thumbs {
		args = append(args, thumbOutput(t, out)...)
	}
	return args, nil
}
