package livetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"
)

// Clip is a pre-encoded test picture: its access units (NAL units
// without start codes), replayed by Publish without any encoding cost.
type Clip struct {
	Codec string // "h264" or "h265"
	FPS   int
	AUs   [][][]byte
}

// Encode has ffmpeg encode seconds of the test picture (burnt-in clock
// and all) into a Clip. The video has no audio.
func Encode(ctx context.Context, o CameraOptions, seconds float64) (*Clip, error) {
	if o.FPS == 0 {
		o.FPS = 25
	}
	o.Audio = false
	muxer, bsf := "h264", "h264_metadata=aud=insert"
	if o.Codec == "h265" {
		muxer, bsf = "hevc", "hevc_metadata=aud=insert"
	}
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, encoderArgs(o)...)
	args = append(args, "-t", strconv.FormatFloat(seconds, 'f', -1, 64), "-bsf:v", bsf, "-f", muxer, "-")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %w: %s", err, stderr.String())
	}
	aus := SplitAnnexB(out, o.Codec)
	if len(aus) == 0 {
		return nil, errors.New("ffmpeg produced no access units")
	}
	return &Clip{Codec: o.Codec, FPS: o.FPS, AUs: aus}, nil
}

// SplitAnnexB splits an Annex B stream with access unit delimiters into
// access units (the delimiters dropped). mediacommon's unmarshaler caps the
// NAL units per call, so whole files are split here.
func SplitAnnexB(b []byte, codec string) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	for _, nalu := range bytes.Split(b, []byte{0, 0, 1}) {
		// A 4-byte start code leaves a zero at the end of the previous piece.
		nalu = bytes.TrimRight(nalu, "\x00")
		if len(nalu) == 0 {
			continue
		}
		if isAUD(nalu, codec) {
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, nalu)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

func isAUD(nalu []byte, codec string) bool {
	if codec == "h265" {
		return h265.NALUType((nalu[0]>>1)&0x3f) == h265.NALUType_AUD_NUT
	}
	return h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter
}

// stampUUID marks the SEI (user data unregistered) that carries a frame's
// send time; it has no zero bytes, so no emulation prevention is needed.
var stampUUID = []byte("clapshot-stamp!!")

// stampSEI is an SEI NAL unit with t as 16 hex digits.
func stampSEI(codec string, t time.Time) []byte {
	payload := append(append([]byte(nil), stampUUID...), hex.EncodeToString(uint64Bytes(uint64(t.UnixNano())))...)
	var nalu []byte
	if codec == "h265" {
		nalu = []byte{byte(h265.NALUType_PREFIX_SEI_NUT) << 1, 1}
	} else {
		nalu = []byte{byte(h264.NALUTypeSEI)}
	}
	nalu = append(nalu, 5, byte(len(payload)))
	nalu = append(nalu, payload...)
	return append(nalu, 0x80)
}

func uint64Bytes(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

// Stamps finds the send times of the frames in b (fMP4 fragments, MPEG-TS,
// anything that carries the NAL units unchanged), in order.
func Stamps(b []byte) []time.Time {
	var out []time.Time
	for {
		i := bytes.Index(b, stampUUID)
		if i < 0 || i+len(stampUUID)+16 > len(b) {
			return out
		}
		b = b[i+len(stampUUID):]
		raw, err := hex.DecodeString(string(b[:16]))
		if err != nil {
			continue
		}
		var ns int64
		for _, c := range raw {
			ns = ns<<8 | int64(c)
		}
		out = append(out, time.Unix(0, ns))
	}
}

// PublishOptions adjust Publish.
type PublishOptions struct {
	// Stamp puts each frame's send time in an SEI NAL unit (see Stamps).
	Stamp bool
	// Loop replays the clip until ctx ends (else it is sent once).
	Loop bool
	// Then is sent after the clip (once, with its parameter sets in band):
	// a camera that changes its resolution mid-session.
	Then *Clip
}

// Publish sends the clip to url over RTSP (ANNOUNCE and RECORD over TCP),
// paced in real time, with RTCP sender reports carrying the send time. It
// returns when ctx ends (nil) or the clip is sent, or on an error.
func Publish(ctx context.Context, url string, clip *Clip, o PublishOptions) error {
	var forma format.Format
	var enc encoderFunc
	switch clip.Codec {
	case "h265":
		f := &format.H265{PayloadTyp: 96}
		e, err := f.CreateEncoder()
		if err != nil {
			return err
		}
		forma, enc = f, e.Encode
	default:
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
		e, err := f.CreateEncoder()
		if err != nil {
			return err
		}
		forma, enc = f, e.Encode
	}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Protocol: &tcp}
	if err := c.StartRecording(url, desc); err != nil {
		return fmt.Errorf("publish to %s: %w", url, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	frame := time.Second / time.Duration(clip.FPS)
	start := time.Now()
	n := 0
	send := func(au [][]byte) error {
		at := start.Add(time.Duration(n) * frame)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		now := time.Now()
		if o.Stamp {
			au = withStamp(clip.Codec, au, now)
		}
		pkts, err := enc(au)
		if err != nil {
			return err
		}
		ts := uint32(int64(n) * 90000 / int64(clip.FPS))
		for _, p := range pkts {
			p.Timestamp += ts
			if err := c.WritePacketRTPWithNTP(desc.Medias[0], p, now); err != nil {
				return err
			}
		}
		n++
		return nil
	}
	for {
		for _, au := range clip.AUs {
			if err := send(au); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if !o.Loop {
			break
		}
	}
	if o.Then != nil {
		for _, au := range o.Then.AUs {
			if err := send(au); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// withStamp puts the stamp SEI before the first picture of the unit.
func withStamp(codec string, au [][]byte, t time.Time) [][]byte {
	out := make([][]byte, 0, len(au)+1)
	done := false
	for _, nalu := range au {
		if !done && isVCL(nalu, codec) {
			out = append(out, stampSEI(codec, t))
			done = true
		}
		out = append(out, nalu)
	}
	return out
}

func isVCL(nalu []byte, codec string) bool {
	if codec == "h265" {
		return (nalu[0]>>1)&0x3f < 32
	}
	t := nalu[0] & 0x1f
	return t >= 1 && t <= 5
}

// encoderFunc is the RTP encoder of either codec.
type encoderFunc func([][]byte) ([]*rtp.Packet, error)
