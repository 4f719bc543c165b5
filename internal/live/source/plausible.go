package source

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// A camera that sends garbage RTP makes the depacketizer produce "frames"
// out of random bytes, and now and then a "keyframe", which would keep
// the no-keyframe watchdog quiet forever and feed noise to every viewer.
// These checks reject access units that cannot be from a real encoder;
// random payloads pass them about once in a few hundred packets, and the
// garbage watchdog in Run catches the rest.

var errImplausible = errors.New("not a valid access unit")

// ppsSet holds the H.264 picture parameter set ids a camera has sent.
type ppsSet [4]uint64

func (p *ppsSet) add(id int) {
	if id >= 0 && id < 256 {
		p[id/64] |= 1 << (id % 64)
	}
}

func (p *ppsSet) has(id int) bool { return id >= 0 && id < 256 && p[id/64]&(1<<(id%64)) != 0 }

func (p *ppsSet) empty() bool { return *p == ppsSet{} }

// plausible checks every NAL unit's header and, for H.264 slices, the
// start of the slice header against the picture parameter sets the camera
// has sent (in the SDP or in band).
func plausible(codec media.Codec, au [][]byte, pps *ppsSet) error {
	pictures := 0
	for _, nalu := range au {
		if len(nalu) == 0 {
			return fmt.Errorf("%w: an empty NAL unit", errImplausible)
		}
		if nalu[0]&0x80 != 0 {
			return fmt.Errorf("%w: forbidden_zero_bit set", errImplausible)
		}
		var err error
		if codec == media.H265 {
			err = plausibleH265(nalu)
		} else {
			err = plausibleH264(nalu, pps, pictures == 0)
		}
		if err != nil {
			return err
		}
		if codec == media.H265 && (nalu[0]>>1)&0x3f < 32 || codec == media.H264 && isH264Picture(nalu) {
			pictures++
		}
	}
	if pictures == 0 {
		return fmt.Errorf("%w: no picture in it", errImplausible)
	}
	return nil
}

func isH264Picture(nalu []byte) bool {
	t := h264.NALUType(nalu[0] & 0x1f)
	return t == h264.NALUTypeNonIDR || t == h264.NALUTypeIDR
}

func plausibleH265(nalu []byte) error {
	if len(nalu) < 3 {
		return fmt.Errorf("%w: an H.265 NAL unit of %d bytes", errImplausible, len(nalu))
	}
	typ := (nalu[0] >> 1) & 0x3f
	layer := (nalu[0]&1)<<5 | nalu[1]>>3
	tid := nalu[1] & 7
	switch {
	case layer != 0:
		return fmt.Errorf("%w: H.265 layer %d (only single-layer streams are passed through)", errImplausible, layer)
	case tid == 0:
		return fmt.Errorf("%w: H.265 temporal id 0", errImplausible)
	case typ >= 10 && typ <= 15, typ >= 22 && typ <= 31, typ >= 41:
		return fmt.Errorf("%w: reserved H.265 NAL unit type %d", errImplausible, typ)
	}
	return nil
}

// first is true for the first slice of the access unit, which starts at
// macroblock 0 (arbitrary slice order is a Baseline-profile option no
// camera uses).
func plausibleH264(nalu []byte, known *ppsSet, first bool) error {
	typ := h264.NALUType(nalu[0] & 0x1f)
	refIDC := nalu[0] >> 5
	switch typ {
	case h264.NALUTypeNonIDR, h264.NALUTypeIDR:
	case h264.NALUTypeSPS, h264.NALUTypePPS:
		if refIDC == 0 {
			return fmt.Errorf("%w: H.264 %v with nal_ref_idc 0", errImplausible, typ)
		}
		if typ == h264.NALUTypePPS {
			known.add(ppsID(nalu))
		}
		return nil
	case h264.NALUTypeSEI, h264.NALUTypeAccessUnitDelimiter, h264.NALUTypeEndOfSequence, h264.NALUTypeEndOfStream,
		h264.NALUTypeFillerData, h264.NALUTypePrefix, h264.NALUTypeSubsetSPS, h264.NALUTypeSliceExtension:
		return nil
	default:
		// Data partitions (2-4) are Extended profile, which no browser
		// decodes; the rest is reserved or RTP-only.
		return fmt.Errorf("%w: H.264 NAL unit type %d", errImplausible, typ)
	}
	if typ == h264.NALUTypeIDR && refIDC == 0 {
		return fmt.Errorf("%w: H.264 IDR slice with nal_ref_idc 0", errImplausible)
	}
	// first_mb_in_slice, slice_type, pic_parameter_set_id (exp-Golomb),
	// from the first bytes without emulation prevention.
	head := nalu[1:min(len(nalu), 24)]
	head = h264.EmulationPreventionRemove(head)
	pos := 0
	firstMB, err := bits.ReadGolombUnsigned(head, &pos)
	if err != nil || first && firstMB != 0 {
		return fmt.Errorf("%w: H.264 picture starting at macroblock %d", errImplausible, firstMB)
	}
	sliceType, err := bits.ReadGolombUnsigned(head, &pos)
	if err != nil || sliceType > 9 {
		return fmt.Errorf("%w: H.264 slice type %d", errImplausible, sliceType)
	}
	if typ == h264.NALUTypeIDR && sliceType%5 != 2 && sliceType%5 != 4 {
		return fmt.Errorf("%w: H.264 IDR slice of type %d (not I or SI)", errImplausible, sliceType)
	}
	pps, err := bits.ReadGolombUnsigned(head, &pos)
	if err != nil || !known.empty() && !known.has(int(pps)) {
		return fmt.Errorf("%w: H.264 slice refers to picture parameter set %d, which the camera never sent", errImplausible, pps)
	}
	return nil
}

// ppsID reads the id of an H.264 picture parameter set (-1 if unknown).
func ppsID(pps []byte) int {
	if len(pps) < 2 {
		return -1
	}
	head := h264.EmulationPreventionRemove(pps[1:min(len(pps), 16)])
	pos := 0
	id, err := bits.ReadGolombUnsigned(head, &pos)
	if err != nil {
		return -1
	}
	return int(id)
}
