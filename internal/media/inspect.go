package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Inspect probes a file and analyses it: primary stream, figures, whether
// an MP4 is fast-start, and, when the container does not record it, the
// exact frame count (one demux pass, no decoding).
func (t *Tools) Inspect(ctx context.Context, path string) (*Probe, Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, Info{}, err
	}
	if st.Size() == 0 {
		return nil, Info{}, errors.New("the file is empty (0 bytes)")
	}
	p, err := t.Probe(ctx, path)
	if err != nil {
		return nil, Info{}, err
	}
	info, err := Analyze(p, path, st.Size())
	if err != nil {
		return p, info, err
	}
	if info.Type == Video && info.FrameCountEstimated {
		if n, err := t.CountPackets(ctx, path, info.VideoStream); err == nil && n > 0 {
			info.TotalFrames = n
			info.FrameCountEstimated = false
		}
	}
	if strings.Contains(info.Container, "mp4") {
		l, err := readBoxLayout(path)
		if err != nil {
			return p, info, err
		}
		info.FastStart = l.fastStart
		if err := t.checkComplete(ctx, path, st.Size(), l, info); err != nil {
			return p, info, err
		}
	}
	return p, info, nil
}

// FastStart reports whether an ISO-BMFF (MP4/MOV) file has its moov box
// before its first mdat box. It reads only box headers.
func FastStart(path string) (bool, error) {
	l, err := readBoxLayout(path)
	return l.fastStart, err
}

// TruncatedError is an MP4/MOV file with fewer bytes than its boxes
// describe: an interrupted copy or upload. With the index (moov) at the
// front, ffprobe reads it as if whole; only the frames past the cut are
// missing, and playback would stop there.
type TruncatedError struct {
	Size, Want int64   // bytes in the file; bytes its boxes describe
	Duration   float64 // seconds the index describes
	Playable   float64 // seconds whose frames are in the file (0: unknown)
}

func (e *TruncatedError) Error() string {
	msg := fmt.Sprintf("the file is truncated (an interrupted copy or upload?): it has %d of the %d bytes its index describes", e.Size, e.Want)
	if e.Playable > 0 && e.Duration > 0 {
		msg += fmt.Sprintf("; only %.1f s of %.1f s would play", e.Playable, e.Duration)
	}
	return msg + ". Copy or upload the whole file again."
}

// boxLayout is what the top-level boxes of an ISO-BMFF file say.
type boxLayout struct {
	fastStart bool  // moov before the first mdat/moof
	end       int64 // where the last box ends, as its header declares
}

// readBoxLayout walks the top-level box headers (nothing else is read).
func readBoxLayout(path string) (boxLayout, error) {
	var l boxLayout
	f, err := os.Open(path)
	if err != nil {
		return l, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return l, err
	}
	var off int64
	seenData := false
	hdr := make([]byte, 16)
walk:
	for i := 0; i < 10000; i++ {
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			if errors.Is(err, io.EOF) {
				if off < st.Size() {
					// A box header cut in half: the file ends mid-box.
					l.end = off + 8
				}
				break walk
			}
			return l, fmt.Errorf("read MP4 box at %d: %w", off, err)
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		switch size {
		case 1:
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				l.end = off + 16 // the file ends inside the header
				break walk
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
		case 0:
			size = st.Size() - off // the box runs to the end of the file
		}
		if size < 8 {
			return l, fmt.Errorf("malformed MP4 box %q at %d", typ, off)
		}
		switch typ {
		case "moov":
			l.fastStart = l.fastStart || !seenData
		case "mdat", "moof":
			seenData = true
		}
		off += size
		l.end = off
		if off >= st.Size() {
			break
		}
	}
	return l, nil
}

// checkComplete refuses an MP4/MOV whose boxes run past the end of the
// file, naming how much of it would play.
func (t *Tools) checkComplete(ctx context.Context, path string, size int64, l boxLayout, info Info) error {
	if l.end <= size {
		return nil
	}
	te := &TruncatedError{Size: size, Want: l.end, Duration: info.Duration}
	stream := info.VideoStream
	if info.Type == Audio {
		stream = info.AudioStream
	}
	if end, err := t.LastPacketEnd(ctx, path, stream); err == nil {
		te.Playable = end
	}
	return te
}

// LastPacketEnd is where the last readable packet of a stream ends, in
// seconds: for a cut file, how much of it plays. It demuxes the stream
// (no decoding) up to the first packet that is missing.
func (t *Tools) LastPacketEnd(ctx context.Context, path string, stream int) (float64, error) {
	args := []string{"-v", "quiet", "-hide_banner", "-select_streams", strconv.Itoa(stream),
		"-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", inputURL(path)}
	out, err := t.output(ctx, t.ffprobe(), args)
	if err != nil {
		return 0, err
	}
	var end float64
	for _, line := range strings.Split(string(out), "\n") {
		pts, dur, _ := strings.Cut(strings.TrimSpace(line), ",")
		if e := parseFloat(pts) + parseFloat(strings.TrimSuffix(dur, ",")); e > end {
			end = e
		}
	}
	return end, nil
}
