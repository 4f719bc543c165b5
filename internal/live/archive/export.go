package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// MaxExport is the longest range Export makes into one file.
const MaxExport = 4 * time.Hour

// RangeError is a range that cannot be exported; NotFound when the
// archive has nothing in it.
type RangeError struct {
	Msg      string
	NotFound bool
}

func (e *RangeError) Error() string { return e.Msg }

// Exported describes an exported file.
type Exported struct {
	// Start is the clock time of its first frame (the keyframe at or
	// before the range's start), Duration its length.
	Start    time.Time
	Duration time.Duration
	Codec    string
}

// Export writes [from, to) of a stream's archive to dst as one MP4 file
// (moov first), without re-encoding: the segments' parts, concatenated on
// one timeline from the keyframe at or before from, then remuxed by
// ffmpeg -c copy and cut at to. Gaps in the archive are left out. A range
// across a change of codec parameters is refused (one file has one init
// segment). a may be nil.
func (a *Archive) Export(ctx context.Context, id string, from, to time.Time, dst string, log *slog.Logger) (Exported, error) {
	var out Exported
	switch {
	case !to.After(from):
		return out, &RangeError{Msg: "the end is not after the start"}
	case to.Sub(from) > MaxExport:
		return out, &RangeError{Msg: fmt.Sprintf("the range is %s long; at most %s can be exported at once", to.Sub(from).Round(time.Second), MaxExport)}
	}
	st, _, msg := a.lookup(id)
	if st == nil {
		return out, &RangeError{Msg: msg, NotFound: true}
	}
	p := newPlayer(st, from, to, log)
	defer p.close()
	if len(p.segs) == 0 {
		return out, &RangeError{Msg: "no archive segments in this time range: " + describeRanges(st.Ranges()), NotFound: true}
	}
	tmp := dst + ".fmp4.partial"
	f, err := os.Create(tmp)
	if err != nil {
		return out, err
	}
	defer os.Remove(tmp)
	var end uint64
	inits := 0
	for {
		it, err := p.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && it.init != nil {
			if inits++; inits > 1 {
				err = &RangeError{Msg: fmt.Sprintf("the camera's codec parameters change at %s; export up to there, or from there on",
					p.seg.Start.UTC().Format(time.RFC3339))}
			} else {
				out.Codec = it.codec
				_, err = f.Write(it.init)
			}
		} else if err == nil {
			if out.Start.IsZero() {
				out.Start = it.wall
			}
			end = it.at + it.dur
			_, err = f.Write(it.part)
		}
		if err != nil {
			_ = f.Close()
			return out, err
		}
	}
	if err := f.Close(); err != nil {
		return out, err
	}
	if out.Start.IsZero() {
		return out, &RangeError{Msg: "no playable media in this time range", NotFound: true}
	}
	out.Duration = min(time.Duration(end)*time.Second/videoTimescale, to.Sub(out.Start))
	cmd := exec.CommandContext(ctx, "ffmpeg", remuxArgs(tmp, dst, out.Duration)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(dst)
		return out, fmt.Errorf("ffmpeg remux: %w: %s", err, lastLines(b, 5))
	}
	return out, nil
}

// remuxArgs copies every stream of src into an MP4 at dst with its moov
// first, cut at dur.
func remuxArgs(src, dst string, dur time.Duration) []string {
	return []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", src, "-map", "0", "-c", "copy",
		"-t", strconv.FormatFloat(dur.Seconds(), 'f', 3, 64), "-movflags", "+faststart", "-f", "mp4", dst}
}

// lastLines is the end of a tool's output, for an error.
func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' && i < len(b)-1 {
			if lines++; lines == n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
