package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// A player walks the parts of a time range across segments, on one
// continuous timeline: each segment's parts follow the last one sent,
// whatever gaps the archive has. It starts at the keyframe at or before
// the range's start, so that the first picture decodes.
type player struct {
	st       *Store
	segs     []Segment
	from, to time.Time // to zero: no end
	log      *slog.Logger

	i        int // next segment
	sr       *segReader
	closer   io.Closer
	seg      Segment
	shift    int64 // added to this segment's video times (its timescale)
	started  bool  // a part of this segment was sent
	out      uint64
	lastInit []byte
	gop      []playItem // parts from the last keyframe before the start
	queue    []playItem // parts ready to send
	done     bool
}

// playItem is a new init segment, or a retimed part.
type playItem struct {
	init  []byte // with codec: new codec parameters, before the parts that use them
	codec string
	part  []byte
	at    uint64    // the part's video start on the output timeline, 90 kHz
	dur   uint64    // its video duration, 90 kHz
	wall  time.Time // the part's start on the clock
}

func newPlayer(st *Store, from, to time.Time, log *slog.Logger) *player {
	return &player{st: st, segs: st.Segments(from, to), from: from, to: to, log: log}
}

// next returns the next item; io.EOF at the end of the range.
func (p *player) next(ctx context.Context) (playItem, error) {
	for {
		if len(p.queue) > 0 {
			it := p.queue[0]
			p.queue = p.queue[1:]
			return it, nil
		}
		if p.done {
			return playItem{}, io.EOF
		}
		if p.sr == nil {
			if !p.openNext(ctx) {
				p.done = true
				continue
			}
			if !bytes.Equal(p.sr.init, p.lastInit) {
				p.lastInit = p.sr.init
				return playItem{init: p.sr.init, codec: p.sr.tracks.CodecString()}, nil
			}
		}
		if err := p.readPart(); err != nil {
			return playItem{}, err
		}
	}
}

// openNext opens the next segment that can be read; false at the end.
func (p *player) openNext(ctx context.Context) bool {
	for p.i < len(p.segs) {
		seg := p.segs[p.i]
		p.i++
		rc, err := p.st.Open(ctx, seg)
		if err != nil {
			p.log.Warn("Archive playback: segment cannot be opened; skipped", "segment", seg.Name, "error", err)
			continue
		}
		sr, err := openSegment(rc)
		if err != nil {
			_ = rc.Close()
			p.log.Warn("Archive playback: segment cannot be read; skipped", "segment", seg.Name, "error", err)
			continue
		}
		p.sr, p.closer, p.seg, p.started = sr, rc, seg, false
		return true
	}
	return false
}

func (p *player) closeSegment() {
	if p.closer != nil {
		_ = p.closer.Close()
	}
	p.sr, p.closer, p.gop = nil, nil, nil
}

// readPart reads the current segment's next part into the queue, with
// the parts since the last keyframe before the start when the start is
// reached.
func (p *player) readPart() error {
	pt, err := p.sr.next()
	if err != nil {
		if !errors.Is(err, io.EOF) && !p.seg.open {
			// A torn end is normal for the segment being recorded.
			p.log.Warn("Archive playback: segment ends early; going on with the next", "segment", p.seg.Name, "error", err)
		}
		p.closeSegment()
		return nil
	}
	ts := int64(p.sr.videoTS)
	wall := p.seg.Start.Add(time.Duration(int64(pt.videoBase) * int64(time.Second) / ts))
	if !p.to.IsZero() && !wall.Before(p.to) {
		p.closeSegment()
		p.done = true
		return nil
	}
	wallEnd := wall.Add(time.Duration(int64(pt.videoDur) * int64(time.Second) / ts))
	it := playItem{part: pt.data, at: pt.videoBase, dur: pt.videoDur, wall: wall}
	if !p.started {
		// Until the start, keep the group of pictures it may need.
		if pt.key {
			p.gop = p.gop[:0]
		}
		if pt.key || len(p.gop) > 0 {
			p.gop = append(p.gop, it)
		}
		if !wallEnd.After(p.from) || len(p.gop) == 0 {
			return nil
		}
		p.shift = int64(p.out)*ts/videoTimescale - int64(p.gop[0].at)
		p.started = true
		p.queue, p.gop = p.gop, nil
	} else {
		p.queue = append(p.queue, it)
	}
	for i := range p.queue {
		it := &p.queue[i]
		p.sr.retime(it.part, p.shift)
		it.at = uint64(int64(it.at)+p.shift) * videoTimescale / uint64(ts)
		it.dur = it.dur * videoTimescale / uint64(ts)
		p.out = it.at + it.dur
	}
	return nil
}

// close releases the open segment.
func (p *player) close() { p.closeSegment() }

// ParseTime reads a time given as Unix seconds (video-server's form,
// fractions allowed) or RFC 3339.
func ParseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither Unix seconds nor an RFC 3339 time", s)
	}
	return t, nil
}

// retime moves a part's decode times: video by shift (in its timescale),
// audio by the same time in its own. A time that would go below zero
// becomes zero (audio that starts a moment before the first picture).
func (sr *segReader) retime(data []byte, shift int64) {
	patchTfdt(data, func(id uint32, t uint64) uint64 {
		d := shift
		switch int(id) {
		case sr.videoID:
		case sr.audioID:
			d = shift * int64(sr.audioTS) / int64(sr.videoTS)
		default:
			return t
		}
		return uint64(max(int64(t)+d, 0))
	})
}

// patchTfdt rewrites every traf's baseMediaDecodeTime in a moof (at the
// start of b) through f.
func patchTfdt(b []byte, f func(trackID uint32, t uint64) uint64) {
	if len(b) < 8 || string(b[4:8]) != "moof" {
		return
	}
	moof := b[8:min(int(binary.BigEndian.Uint32(b)), len(b))]
	eachBox(moof, func(typ string, traf []byte) {
		if typ != "traf" {
			return
		}
		var id uint32
		eachBox(traf, func(typ string, box []byte) {
			switch {
			case typ == "tfhd" && len(box) >= 8:
				id = binary.BigEndian.Uint32(box[4:8])
			case typ == "tfdt" && len(box) >= 8 && box[0] == 1 && len(box) >= 12:
				binary.BigEndian.PutUint64(box[4:12], f(id, binary.BigEndian.Uint64(box[4:12])))
			case typ == "tfdt" && len(box) >= 8 && box[0] == 0:
				binary.BigEndian.PutUint32(box[4:8], uint32(f(id, uint64(binary.BigEndian.Uint32(box[4:8])))))
			}
		})
	})
}

// eachBox calls f with each child box's type and payload (after its
// 8-byte header).
func eachBox(b []byte, f func(typ string, payload []byte)) {
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return
		}
		f(string(b[4:8]), b[8:size])
		b = b[size:]
	}
}
