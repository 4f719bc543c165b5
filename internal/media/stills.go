package media

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// StillWidth is the width of the frame stills that comment reports show
// (the height keeps the aspect ratio): sharp in the report's frame column
// of about 350 CSS pixels on a high-density screen.
const StillWidth = 640

// seekStillCost and passSpeed decide how stills are made: a seek costs
// about this many seconds whatever the file's length, decoding through
// the file about its duration divided by passSpeed. Frames closer than
// what a seek costs are decoded through; farther ones start a new run
// with a seek.
const (
	seekStillCost = 0.15
	passSpeed     = 20.0
	// maxStillsPerRun bounds one ffmpeg run's select expression, which
	// grows with each frame (ffmpeg gives up on one of ~1 000 terms).
	maxStillsPerRun = 100
)

// runGap is how many frames apart two stills may be and still be made in
// one run (a variable for the tests).
var runGap = func(fps float64) int64 { return max(1, int64(seekStillCost*passSpeed*fps)) }

// stillFilter shrinks a frame for a report and gives it square pixels in
// the JPEG encoder's pixel format.
func stillFilter() string {
	return fmt.Sprintf("scale=%d:-2:flags=bicubic,format=yuvj420p", StillWidth)
}

// StillsArgs makes stills of frames (ascending, no repeats, close
// together) in one ffmpeg run: it seeks to the first (ffmpeg seeks to the
// keyframe before and drops frames until the time asked for, so the
// target is a quarter frame before the frame's start), then decodes
// through to the last, picking frames by number from the first. The k-th
// frame asked for goes to outPattern's k-th file (image2's %06d from 1).
func StillsArgs(src string, frames []int64, fps float64, outPattern string) []string {
	first, last := frames[0], frames[len(frames)-1]
	var sel strings.Builder
	for i, f := range frames {
		if i > 0 {
			sel.WriteByte('+')
		}
		sel.WriteString("eq(n\\," + strconv.FormatInt(f-first, 10) + ")")
	}
	args := []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error"}
	if first > 0 {
		at := (float64(first) - 0.25) / fps
		args = append(args, "-ss", strconv.FormatFloat(at, 'f', 6, 64))
	}
	graph := "trim=end_frame=" + strconv.FormatInt(last-first+1, 10) + ",select='" + sel.String() + "'," + stillFilter()
	return append(args, "-i", inputURL(src),
		"-map", "0:v:0", "-vf", graph, "-fps_mode", "passthrough", "-q:v", "4", "-f", "image2", outPattern)
}

// stillRuns splits ascending frames into the runs StillsArgs makes: a new
// run starts where the next frame is more than gap frames on, or after
// maxPer frames.
func stillRuns(frames []int64, gap int64, maxPer int) [][]int64 {
	var runs [][]int64
	for i, f := range frames {
		if i == 0 || f-frames[i-1] > gap || len(runs[len(runs)-1]) >= maxPer {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], f)
	}
	return runs
}

// Stills writes a JPEG still of each frame of the video src into dir as
// <frame>.jpg (dir must exist). Frames past the end of the video get no
// file. Files appear whole (written aside, then renamed), so a reader
// never sees half a JPEG. A run that fails leaves its frames out and the
// others are still made; the first failure is returned.
func (t *Tools) Stills(ctx context.Context, src string, fps float64, frames []int64, dir string) error {
	if fps <= 0 {
		return fmt.Errorf("stills of %s: no frame rate", src)
	}
	frames = slices.Clone(frames)
	slices.Sort(frames)
	frames = slices.Compact(frames)
	for len(frames) > 0 && frames[0] < 0 {
		frames = frames[1:]
	}
	if len(frames) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".stills-")
	if err != nil {
		return fmt.Errorf("stills of %s: %w", src, err)
	}
	defer os.RemoveAll(tmp)

	var firstErr error
	for i, run := range stillRuns(frames, runGap(fps), maxStillsPerRun) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runDir := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.Mkdir(runDir, 0o755); err != nil {
			return fmt.Errorf("stills of %s: %w", src, err)
		}
		tail := &Tail{Max: 4096}
		if err := Run(ctx, t.FFmpegCommand(StillsArgs(src, run, fps, filepath.Join(runDir, "%06d.jpg"))), RunOptions{Stderr: tail}); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("stills of %s (frames %d-%d): %w: %s", src, run[0], run[len(run)-1], err, tail.LastLines(3))
			}
			continue
		}
		for k, f := range run {
			path := filepath.Join(runDir, fmt.Sprintf("%06d.jpg", k+1))
			if st, err := os.Stat(path); err != nil || st.Size() == 0 {
				continue // past the end
			}
			if err := os.Rename(path, filepath.Join(dir, strconv.FormatInt(f, 10)+".jpg")); err != nil {
				return fmt.Errorf("stills of %s: %w", src, err)
			}
		}
	}
	return firstErr
}
