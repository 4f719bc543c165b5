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
// (the height keeps the aspect ratio).
const StillWidth = 640

// seekStillCost and passSpeed pick how stills are made: seeking costs
// about this many seconds per frame whatever the file's length, one
// decoding pass about the media's duration divided by passSpeed.
const (
	seekStillCost = 0.15
	passSpeed     = 20.0
)

// stillFilter shrinks a frame for a report and gives it square pixels in
// the JPEG encoder's pixel format.
func stillFilter() string {
	return fmt.Sprintf("scale=%d:-2:flags=bicubic,format=yuvj420p", StillWidth)
}

// SeekStillArgs makes a still of one frame by seeking to it: ffmpeg seeks
// to the keyframe before and decodes up to the first frame whose time is
// at least the given one, so the target is a quarter frame before the
// frame's start (seeking is relative to the file's start time).
func SeekStillArgs(src string, frame int64, fps float64, out string) []string {
	at := (float64(frame) - 0.25) / fps
	return []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error",
		"-ss", strconv.FormatFloat(max(0, at), 'f', 6, 64), "-i", inputURL(src),
		"-map", "0:v:0", "-frames:v", "1", "-vf", stillFilter(), "-q:v", "4", "-f", "image2", out}
}

// PassStillsArgs makes stills of frames (ascending, no repeats) in one
// decoding pass from the start, picking them by number; decoding ends at
// the last one. The k-th frame asked for goes to outPattern's k-th file
// (image2's %06d numbering from 1).
func PassStillsArgs(src string, frames []int64, outPattern string) []string {
	var sel strings.Builder
	for i, f := range frames {
		if i > 0 {
			sel.WriteByte('+')
		}
		sel.WriteString("eq(n\\," + strconv.FormatInt(f, 10) + ")")
	}
	last := frames[len(frames)-1]
	graph := "trim=end_frame=" + strconv.FormatInt(last+1, 10) + ",select='" + sel.String() + "'," + stillFilter()
	return []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error", "-i", inputURL(src),
		"-map", "0:v:0", "-vf", graph, "-fps_mode", "passthrough", "-q:v", "4", "-f", "image2", outPattern}
}

// Stills writes a JPEG still of each frame of the video src into dir as
// <frame>.jpg (dir must exist). Frames past the end of the video get no
// file. Files appear whole (written aside, then renamed), so a reader
// never sees half a JPEG. duration is the video's length in seconds; it
// decides between seeking to each frame and one pass through the file.
func (t *Tools) Stills(ctx context.Context, src string, fps, duration float64, frames []int64, dir string) error {
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

	tail := &Tail{Max: 4096}
	run := func(args []string) error {
		if err := Run(ctx, t.FFmpegCommand(args), RunOptions{Stderr: tail}); err != nil {
			if msg := tail.LastLines(3); msg != "" {
				return fmt.Errorf("stills of %s: %w: %s", src, err, msg)
			}
			return fmt.Errorf("stills of %s: %w", src, err)
		}
		return nil
	}
	made := map[int64]string{}
	if float64(len(frames))*seekStillCost <= duration/passSpeed || len(frames) <= 2 {
		for _, f := range frames {
			out := filepath.Join(tmp, strconv.FormatInt(f, 10)+".jpg")
			if err := run(SeekStillArgs(src, f, fps, out)); err != nil {
				return err
			}
			made[f] = out
		}
	} else {
		if err := run(PassStillsArgs(src, frames, filepath.Join(tmp, "%06d.jpg"))); err != nil {
			return err
		}
		for i, f := range frames {
			made[f] = filepath.Join(tmp, fmt.Sprintf("%06d.jpg", i+1))
		}
	}
	for f, path := range made {
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			continue // past the end
		}
		if err := os.Rename(path, filepath.Join(dir, strconv.FormatInt(f, 10)+".jpg")); err != nil {
			return fmt.Errorf("stills of %s: %w", src, err)
		}
	}
	return nil
}
