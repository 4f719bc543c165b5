package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
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
		info.FastStart, err = FastStart(path)
		if err != nil {
			return p, info, err
		}
	}
	return p, info, nil
}

// FastStart reports whether an ISO-BMFF (MP4/MOV) file has its moov box
// before its first mdat box. It reads only box headers.
func FastStart(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var off int64
	hdr := make([]byte, 16)
	for i := 0; i < 1000; i++ {
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("read MP4 box at %d: %w", off, err)
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		switch size {
		case 1:
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				return false, fmt.Errorf("read MP4 box at %d: %w", off, err)
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
		case 0:
			return typ == "moov", nil // the box runs to the end of the file
		}
		switch typ {
		case "moov":
			return true, nil
		case "mdat", "moof":
			// A fragmented file starts with moov (handled above); an mdat
			// first means the index is at the end.
			return false, nil
		}
		if size < 8 {
			return false, fmt.Errorf("malformed MP4 box %q at %d", typ, off)
		}
		off += size
	}
	return false, nil
}
