// Package media holds the types that flow through the live engine: the
// tracks a camera offers and the access units it sends. It knows nothing
// about RTSP or the outputs, so every part of the engine can share it.
package media

import (
	"bytes"
	"fmt"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	hlscodecs "github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// Codec is a codec the engine passes through.
type Codec int

// The codecs a browser can play from fMP4.
const (
	H264 Codec = iota + 1
	H265
	AAC
	Opus
)

func (c Codec) String() string {
	switch c {
	case H264:
		return "H.264"
	case H265:
		return "H.265"
	case AAC:
		return "AAC"
	case Opus:
		return "Opus"
	}
	return fmt.Sprintf("codec(%d)", int(c))
}

// IsVideo reports whether the codec is a video codec.
func (c Codec) IsVideo() bool { return c == H264 || c == H265 }

// Track is one elementary stream with its decoder parameters. A Track is
// never changed once published: new parameters make a new Track.
type Track struct {
	Codec     Codec
	ClockRate int
	// Video parameter sets (VPS only for H.265).
	VPS, SPS, PPS []byte
	// AAC decoder configuration.
	AACConfig *mpeg4audio.AudioSpecificConfig
	// Opus channel count.
	OpusChannels int
}

// SameParams reports whether two tracks decode with the same parameters.
func (t *Track) SameParams(o *Track) bool {
	if t == nil || o == nil {
		return t == o
	}
	return t.Codec == o.Codec && t.ClockRate == o.ClockRate &&
		bytes.Equal(t.VPS, o.VPS) && bytes.Equal(t.SPS, o.SPS) && bytes.Equal(t.PPS, o.PPS) &&
		t.OpusChannels == o.OpusChannels
}

// HLSCodec is the track as gohlslib describes it.
func (t *Track) HLSCodec() hlscodecs.Codec {
	switch t.Codec {
	case H264:
		return &hlscodecs.H264{SPS: t.SPS, PPS: t.PPS}
	case H265:
		return &hlscodecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
	case AAC:
		return &hlscodecs.MPEG4Audio{Config: *t.AACConfig}
	case Opus:
		return &hlscodecs.Opus{ChannelCount: t.OpusChannels}
	}
	return nil
}

// MP4Codec is the track as an fMP4 sample entry.
func (t *Track) MP4Codec() mp4codecs.Codec {
	switch t.Codec {
	case H264:
		return &mp4codecs.H264{SPS: t.SPS, PPS: t.PPS}
	case H265:
		return &mp4codecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
	case AAC:
		return &mp4codecs.MPEG4Audio{Config: *t.AACConfig}
	case Opus:
		return &mp4codecs.Opus{ChannelCount: t.OpusChannels}
	}
	return nil
}

// CodecString is the RFC 6381 codec name a browser's MediaSource wants
// ("avc1.64001f", "hvc1.1.6.L93.B0", "mp4a.40.2", "opus").
func (t *Track) CodecString() string {
	if t.Codec == Opus {
		return "opus"
	}
	return codecparams.Marshal(t.HLSCodec())
}

// Tracks is what a stream carries: one video track and optionally one
// audio track. Version grows by one whenever a parameter changes (a
// camera sent new SPS/PPS), so that outputs know to start a new init
// segment.
type Tracks struct {
	Video   *Track
	Audio   *Track
	Version int
}

// CodecString joins the tracks' codec names as MSE's addSourceBuffer and
// video-server's first websocket message want them.
func (ts *Tracks) CodecString() string {
	s := ts.Video.CodecString()
	if ts.Audio != nil {
		s += "," + ts.Audio.CodecString()
	}
	return s
}

// Describe is a short human description ("H.264 1920x1080, AAC").
func (ts *Tracks) Describe() string {
	s := ts.Video.Codec.String()
	if w, h := ts.Video.Size(); w > 0 {
		s += fmt.Sprintf(" %dx%d", w, h)
	}
	if ts.Audio != nil {
		s += ", " + ts.Audio.Codec.String()
	}
	return s
}

// Unit is one access unit: a video frame (its NAL units) or a group of
// audio frames that share a packet.
type Unit struct {
	Tracks *Tracks // the tracks in force when the unit arrived
	Video  bool
	// PTS and DTS in the track's clock rate, from a common origin for all
	// tracks of the stream. Audio has DTS == PTS.
	PTS, DTS int64
	// NTP is the unit's wall-clock time (the camera's RTCP sender reports
	// when it sends them, else the arrival time).
	NTP time.Time
	// Key is true for a video frame a decoder can start from.
	Key bool
	// Data is the NAL units of a video frame, or the audio frames.
	Data [][]byte
	// Received is when the last packet of the unit arrived.
	Received time.Time
}

// Track is the unit's track.
func (u *Unit) Track() *Track {
	if u.Video {
		return u.Tracks.Video
	}
	return u.Tracks.Audio
}

// Size returns a video track's picture size, or 0, 0.
func (t *Track) Size() (int, int) {
	return spsSize(t)
}
