package source

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

type auDecoder interface {
	Decode(*rtp.Packet) ([][]byte, error)
}

type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// videoPath turns RTP into video units: it reassembles access units,
// follows parameter-set changes, waits for a keyframe and computes DTS.
type videoPath struct {
	s     *session
	medi  *description.Media
	codec media.Codec
	dec   auDecoder
	dts   dtsExtractor
	pps   ppsSet // H.264 picture parameter set ids seen
	// Rate-limits decode-error logs.
	lastErrLog time.Time
}

func newVideoPath(s *session, medi *description.Media, f format.Format) (*videoPath, error) {
	p := &videoPath{s: s, medi: medi}
	var err error
	switch f := f.(type) {
	case *format.H264:
		p.codec = media.H264
		p.dec, err = f.CreateDecoder()
		if f.PPS != nil {
			p.pps.add(ppsID(f.PPS))
		}
	case *format.H265:
		p.codec = media.H265
		p.dec, err = f.CreateDecoder()
	}
	if err != nil {
		return nil, fmt.Errorf("video decoder: %w", err)
	}
	return p, nil
}

func (p *videoPath) newExtractor() dtsExtractor {
	if p.codec == media.H264 {
		ex := &h264.DTSExtractor{}
		ex.Initialize()
		return ex
	}
	ex := &h265.DTSExtractor{}
	ex.Initialize()
	return ex
}

func (p *videoPath) onPacket(pkt *rtp.Packet) {
	s := p.s
	s.stats.Packets.Add(1)
	s.stats.Bytes.Add(uint64(len(pkt.Payload)))
	pts, ok := s.c.PacketPTS(p.medi, pkt)
	if !ok {
		return
	}
	au, err := p.dec.Decode(pkt)
	if err != nil {
		if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph265.ErrMorePacketsNeeded) &&
			!errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) && !errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
			p.decodeError(err)
		}
		return
	}
	if err := plausible(p.codec, au, &p.pps); err != nil {
		p.decodeError(err)
		return
	}
	tracks, changed := p.updateParams(au)
	if changed {
		s.sink.SetTracks(tracks)
	}
	if len(tracks.Video.SPS) == 0 || len(tracks.Video.PPS) == 0 {
		return // parameters not known yet (neither in the SDP nor in-band)
	}
	key := p.isKey(au)
	if key {
		au = tracks.Video.WithParams(au)
	}
	s.mu.Lock()
	started := s.started
	if !started && key {
		s.started = true
	}
	s.mu.Unlock()
	if !started {
		if !key {
			return
		}
		p.dts = p.newExtractor()
		if s.onPlaying != nil {
			s.onPlaying()
		}
	}
	if p.dts == nil {
		if !key {
			return
		}
		p.dts = p.newExtractor()
	}
	dts, err := p.dts.Extract(au, pts)
	if err != nil {
		p.decodeError(fmt.Errorf("timestamps: %w", err))
		p.dts = nil // start again at the next keyframe
		return
	}
	if key {
		s.lastKey.Store(time.Now().UnixNano())
		s.everKey.Store(true)
	}
	s.stats.Units.Add(1)
	s.sink.WriteUnit(&media.Unit{
		Tracks: tracks, Video: true, PTS: pts, DTS: dts, Key: key, Data: au,
		NTP: s.wallClock(p.medi, pkt, pts, 90000), Received: time.Now(),
	})
}

func (p *videoPath) decodeError(err error) {
	p.s.stats.DecodeErrors.Add(1)
	if time.Since(p.lastErrLog) > 10*time.Second {
		p.lastErrLog = time.Now()
		p.s.log.Warn("Live stream: undecodable video (repeats are not logged for 10 s)", "error", err,
			"undecodable_total", p.s.stats.DecodeErrors.Load())
	}
}

func (p *videoPath) isKey(au [][]byte) bool {
	if p.codec == media.H264 {
		return h264.IsRandomAccess(au)
	}
	return h265.IsRandomAccess(au)
}

// updateParams looks for in-band parameter sets; a change makes a new
// Tracks version, which the outputs answer with a new init segment.
func (p *videoPath) updateParams(au [][]byte) (*media.Tracks, bool) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.tracks.Video
	next := *cur
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		if p.codec == media.H264 {
			switch h264.NALUType(nalu[0] & 0x1f) {
			case h264.NALUTypeSPS:
				next.SPS = nalu
			case h264.NALUTypePPS:
				next.PPS = nalu
			}
			continue
		}
		switch h265.NALUType((nalu[0] >> 1) & 0b111111) {
		case h265.NALUType_VPS_NUT:
			next.VPS = nalu
		case h265.NALUType_SPS_NUT:
			next.SPS = nalu
		case h265.NALUType_PPS_NUT:
			next.PPS = nalu
		}
	}
	if bytes.Equal(next.SPS, cur.SPS) && bytes.Equal(next.PPS, cur.PPS) && bytes.Equal(next.VPS, cur.VPS) && s.tracks.Version > 0 {
		return s.tracks, false
	}
	if len(next.SPS) == 0 || len(next.PPS) == 0 {
		return s.tracks, false
	}
	next.SPS, next.PPS, next.VPS = clone(next.SPS), clone(next.PPS), clone(next.VPS)
	t := &media.Tracks{Video: &next, Audio: s.tracks.Audio, Version: s.tracks.Version + 1}
	s.tracks = t
	return t, true
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// audioPath passes AAC or Opus through, once video has started.
type audioPath struct {
	s    *session
	medi *description.Media
	aac  interface {
		Decode(*rtp.Packet) ([][]byte, error)
	}
	opus interface {
		Decode(*rtp.Packet) ([]byte, error)
	}
	rate   int
	frames int64 // AAC samples per frame
}

func newAudioPath(s *session, medi *description.Media, f format.Format) (*audioPath, error) {
	p := &audioPath{s: s, medi: medi, rate: f.ClockRate()}
	var err error
	switch f := f.(type) {
	case *format.MPEG4Audio:
		p.aac, err = f.CreateDecoder()
		p.frames = 1024
		if f.Config != nil && f.Config.FrameLengthFlag {
			p.frames = 960
		}
	case *format.Opus:
		p.opus, err = f.CreateDecoder()
	}
	return p, err
}

func (p *audioPath) onPacket(pkt *rtp.Packet) {
	s := p.s
	s.stats.Bytes.Add(uint64(len(pkt.Payload)))
	pts, ok := s.c.PacketPTS(p.medi, pkt)
	if !ok {
		return
	}
	var data [][]byte
	if p.aac != nil {
		aus, err := p.aac.Decode(pkt)
		if err != nil {
			return
		}
		data = aus
	} else {
		pk, err := p.opus.Decode(pkt)
		if err != nil {
			return
		}
		data = [][]byte{pk}
	}
	s.mu.Lock()
	started, tracks := s.started, s.tracks
	s.mu.Unlock()
	if !started || tracks.Version == 0 || tracks.Audio == nil {
		return
	}
	s.sink.WriteUnit(&media.Unit{
		Tracks: tracks, PTS: pts, DTS: pts, Data: data,
		NTP: s.wallClock(p.medi, pkt, pts, p.rate), Received: time.Now(),
	})
}
