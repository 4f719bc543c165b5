package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// Reading segments back: a sequential walk over top-level boxes (so it
// works the same on a local file and on an object streamed from S3),
// mediacommon's fmp4 for the init segment and the parts, and a small
// in-place rewrite of each part's decode times for playback.

// maxBox bounds a top-level box read into memory (a part is about a
// second of media: a few MB even at high bitrates).
const maxBox = 256 << 20

// errNotFragmented is a file that is an MP4, but not one we can stream
// from (video-server's progressive files, moov at the end).
var errNotFragmented = errors.New("not a fragmented MP4 (the moov has no mvex, or comes after the media)")

// truncatedError is a file that ends in the middle of a box: what a crash
// during a write leaves. Good is the length of the complete part of it.
type truncatedError struct {
	Good int64
	Err  error
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("truncated or corrupt after byte %d: %v", e.Good, e.Err)
}

func (e *truncatedError) Unwrap() error { return e.Err }

// segReader reads one segment from the start.
type segReader struct {
	r   io.Reader
	off int64 // bytes consumed

	init    []byte
	tracks  *media.Tracks
	videoID int
	audioID int
	videoTS uint32
	audioTS uint32
}

// part is one moof+mdat of a segment.
type part struct {
	data []byte // moof then mdat
	off  int64  // where it starts in the file
	// Video decode time and duration in the video timescale.
	videoBase uint64
	videoDur  uint64
	key       bool // the first video sample is a sync sample
}

// readBox reads one whole top-level box. It returns io.EOF at a clean end
// of file and a *truncatedError for a box cut short.
func (sr *segReader) readBox() (typ string, box []byte, err error) {
	var hdr [16]byte
	n, err := io.ReadFull(sr.r, hdr[:8])
	if errors.Is(err, io.EOF) {
		return "", nil, io.EOF
	}
	if err != nil {
		return "", nil, &truncatedError{sr.off, fmt.Errorf("box header: %d of 8 bytes", n)}
	}
	size := uint64(binary.BigEndian.Uint32(hdr[:4]))
	typ = string(hdr[4:8])
	hlen := 8
	switch size {
	case 1:
		if _, err := io.ReadFull(sr.r, hdr[8:16]); err != nil {
			return "", nil, &truncatedError{sr.off, errors.New("64-bit box size cut short")}
		}
		size, hlen = binary.BigEndian.Uint64(hdr[8:16]), 16
	case 0:
		return "", nil, &truncatedError{sr.off, fmt.Errorf("box %q without a size (an unfinished write)", typ)}
	}
	if size < uint64(hlen) || size > maxBox {
		return "", nil, &truncatedError{sr.off, fmt.Errorf("box %q of impossible size %d", typ, size)}
	}
	box = make([]byte, size)
	copy(box, hdr[:hlen])
	if n, err := io.ReadFull(sr.r, box[hlen:]); err != nil {
		return "", nil, &truncatedError{sr.off, fmt.Errorf("box %q: %d of %d bytes", typ, n+hlen, size)}
	}
	sr.off += int64(size)
	return typ, box, nil
}

// openSegment reads the init segment (ftyp, moov) of r.
func openSegment(r io.Reader) (*segReader, error) {
	sr := &segReader{r: r}
	var init []byte
	for {
		typ, box, err := sr.readBox()
		if errors.Is(err, io.EOF) {
			return nil, &truncatedError{0, errors.New("no moov (an empty or unfinished file)")}
		}
		if err != nil {
			if te := (*truncatedError)(nil); errors.As(err, &te) {
				te.Good = 0 // without the init, nothing of the file is usable
			}
			return nil, err
		}
		switch typ {
		case "ftyp", "free", "skip", "uuid":
			init = append(init, box...)
			continue
		case "moov":
			init = append(init, box...)
		case "mdat", "moof":
			return nil, errNotFragmented
		default:
			return nil, fmt.Errorf("unexpected box %q before the moov: not an MP4 segment", typ)
		}
		break
	}
	if !bytes.Contains(init, []byte("mvex")) {
		return nil, errNotFragmented
	}
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(init)); err != nil {
		return nil, fmt.Errorf("init segment: %w", err)
	}
	sr.init = init
	sr.tracks = &media.Tracks{}
	for _, t := range in.Tracks {
		mt := trackOf(t.Codec, int(t.TimeScale))
		switch {
		case mt == nil:
		case mt.Codec.IsVideo() && sr.tracks.Video == nil:
			sr.tracks.Video, sr.videoID, sr.videoTS = mt, t.ID, t.TimeScale
		case !mt.Codec.IsVideo() && sr.tracks.Audio == nil:
			sr.tracks.Audio, sr.audioID, sr.audioTS = mt, t.ID, t.TimeScale
		}
	}
	if sr.tracks.Video == nil {
		return nil, errors.New("init segment: no H.264 or H.265 video track")
	}
	return sr, nil
}

// trackOf maps an fMP4 sample entry back to the engine's track.
func trackOf(c mp4codecs.Codec, rate int) *media.Track {
	switch c := c.(type) {
	case *mp4codecs.H264:
		return &media.Track{Codec: media.H264, ClockRate: rate, SPS: c.SPS, PPS: c.PPS}
	case *mp4codecs.H265:
		return &media.Track{Codec: media.H265, ClockRate: rate, VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}
	case *mp4codecs.MPEG4Audio:
		cfg := c.Config
		return &media.Track{Codec: media.AAC, ClockRate: rate, AACConfig: &cfg}
	case *mp4codecs.Opus:
		return &media.Track{Codec: media.Opus, ClockRate: rate, OpusChannels: c.ChannelCount}
	}
	return nil
}

// next returns the next part; io.EOF at the clean end of the file.
func (sr *segReader) next() (*part, error) {
	for {
		start := sr.off
		typ, box, err := sr.readBox()
		if err != nil {
			return nil, err
		}
		if typ != "moof" {
			if typ == "mdat" {
				return nil, &truncatedError{start, errors.New("mdat without a moof")}
			}
			continue // prft, free, sidx...: nothing to play
		}
		typ, mdat, err := sr.readBox()
		if errors.Is(err, io.EOF) {
			err = errors.New("moof without its mdat")
		}
		if err == nil && typ != "mdat" {
			err = fmt.Errorf("moof followed by %q", typ)
		}
		if err != nil {
			if te := (*truncatedError)(nil); errors.As(err, &te) {
				err = te.Err
			}
			return nil, &truncatedError{start, err}
		}
		p := &part{data: append(box, mdat...), off: start}
		var ps fmp4.Parts
		if err := ps.Unmarshal(p.data); err != nil || len(ps) != 1 {
			return nil, &truncatedError{start, fmt.Errorf("part: %v", err)}
		}
		for _, t := range ps[0].Tracks {
			if t.ID != sr.videoID || len(t.Samples) == 0 {
				continue
			}
			p.videoBase = t.BaseTime
			p.key = !t.Samples[0].IsNonSyncSample
			for _, s := range t.Samples {
				p.videoDur += uint64(s.Duration)
			}
		}
		return p, nil
	}
}
