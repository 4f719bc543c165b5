package media

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

func spsSize(t *Track) (int, int) {
	switch t.Codec {
	case H264:
		var sps h264.SPS
		if sps.Unmarshal(t.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	case H265:
		var sps h265.SPS
		if sps.Unmarshal(t.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	}
	return 0, 0
}

// WithParams puts the track's parameter sets in front of a keyframe that
// lacks them (cameras often send them only in the SDP, MP4 files keep
// them in the sample entry), so that every keyframe can start a decoder
// and a DTS extractor.
func (t *Track) WithParams(au [][]byte) [][]byte {
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		if t.Codec == H264 && h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS ||
			t.Codec == H265 && h265.NALUType((nalu[0]>>1)&0b111111) == h265.NALUType_SPS_NUT {
			return au
		}
	}
	out := make([][]byte, 0, len(au)+3)
	if t.Codec == H265 && len(t.VPS) > 0 {
		out = append(out, t.VPS)
	}
	out = append(out, t.SPS, t.PPS)
	return append(out, au...)
}
