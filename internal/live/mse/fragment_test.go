package mse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// Our fragments are byte for byte what mediacommon's fmp4.Part.Marshal
// writes for the same samples: video alone or with audio, keyframes and
// not, with and without composition offsets.
func TestFragmentMatchesMediacommon(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bytesN := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 200 {
		var ours []fragTrack
		var ref fmp4.Part
		ref.SequenceNumber = rng.Uint32()
		nalus := make([][]byte, 1+rng.IntN(4))
		for j := range nalus {
			nalus[j] = bytesN(1 + rng.IntN(3000))
		}
		video := fragSample{dur: 3000 + uint32(rng.IntN(10)), nonSync: rng.IntN(3) != 0, nalus: nalus}
		if rng.IntN(2) == 0 {
			video.cto = int32(rng.IntN(9000)) - 3000
		}
		vbase := rng.Uint64() >> 8
		ours = append(ours, fragTrack{id: 1, base: vbase, samples: []fragSample{video}})
		payload, err := h264.AVCC(nalus).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		ref.Tracks = append(ref.Tracks, &fmp4.PartTrack{ID: 1, BaseTime: vbase, Samples: []*fmp4.Sample{{
			Duration: video.dur, PTSOffset: video.cto, IsNonSyncSample: video.nonSync, Payload: payload,
		}}})
		if n := rng.IntN(4); n > 0 {
			at := fragTrack{id: 2, base: rng.Uint64() >> 8}
			rt := &fmp4.PartTrack{ID: 2, BaseTime: at.base}
			for range n {
				s := fragSample{dur: 1024, payload: bytesN(1 + rng.IntN(400))}
				at.samples = append(at.samples, s)
				rt.Samples = append(rt.Samples, &fmp4.Sample{Duration: s.dur, Payload: s.payload})
			}
			ours, ref.Tracks = append(ours, at), append(ref.Tracks, rt)
		}
		got, tfdt := marshalFragment(ref.SequenceNumber, ours)
		var want seekablebuffer.Buffer
		if err := ref.Marshal(&want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("case %d: %d bytes differ from mediacommon's %d", i, len(got), len(want.Bytes()))
		}
		var off [2]int
		if err := findTFDT(got, &off); err != nil || off != tfdt {
			t.Fatalf("case %d: tfdt offsets %v, the boxes say %v (%v)", i, tfdt, off, err)
		}
		if binary.BigEndian.Uint64(got[tfdt[0]:]) != vbase {
			t.Fatalf("case %d: video decode time not at %d", i, tfdt[0])
		}
	}
}

// BenchmarkFragment compares the two writers on a 2 Mbit/s 30 fps frame.
func BenchmarkFragment(b *testing.B) {
	nalus := [][]byte{make([]byte, 30), make([]byte, 8000)}
	b.Run("ours", func(b *testing.B) {
		for range b.N {
			marshalFragment(1, []fragTrack{{id: 1, base: 90000, samples: []fragSample{{dur: 3000, nonSync: true, nalus: nalus}}}})
		}
	})
	b.Run("mediacommon", func(b *testing.B) {
		for range b.N {
			payload, _ := h264.AVCC(nalus).Marshal()
			var buf seekablebuffer.Buffer
			_ = fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: 90000,
				Samples: []*fmp4.Sample{{Duration: 3000, IsNonSyncSample: true, Payload: payload}}}}}.Marshal(&buf)
		}
	})
}

// findTFDT finds, by walking the boxes, the baseMediaDecodeTime of the first two track fragments
// of a moof (mediacommon writes tfdt version 1, 64 bits).
func findTFDT(b []byte, out *[2]int) error {
	moof, ok := boxAt(b, 0, "moof")
	if !ok {
		return errors.New("no moof box")
	}
	n := 0
	for off := 8; off+8 <= moof && n < 2; {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size < 8 || off+size > moof {
			return errors.New("malformed moof")
		}
		if string(b[off+4:off+8]) == "traf" {
			for c := off + 8; c+8 <= off+size; {
				csize := int(binary.BigEndian.Uint32(b[c:]))
				if csize < 8 {
					return errors.New("malformed traf")
				}
				if string(b[c+4:c+8]) == "tfdt" {
					if b[c+8] != 1 || csize < 20 {
						return errors.New("tfdt is not version 1")
					}
					out[n] = c + 12
					n++
					break
				}
				c += csize
			}
		}
		off += size
	}
	if n == 0 {
		return errors.New("no tfdt box")
	}
	return nil
}

// boxAt checks that the box at off has the type and returns its end.
func boxAt(b []byte, off int, typ string) (int, bool) {
	if len(b) < off+8 || string(b[off+4:off+8]) != typ {
		return 0, false
	}
	end := off + int(binary.BigEndian.Uint32(b[off:]))
	return end, end <= len(b) && end >= off+8
}
