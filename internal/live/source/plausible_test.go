package source

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/media"
)

// Real encoder output passes; random bytes (what a broken camera's RTP
// payloads depacketize to) almost never do, and almost never as a
// keyframe, which is what kept the no-keyframe watchdog quiet before.
func TestPlausible(t *testing.T) {
	for _, tc := range []struct {
		codec string
		c     media.Codec
	}{{"h264", media.H264}, {"h265", media.H265}} {
		t.Run(tc.codec, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			clip, err := livetest.Encode(ctx, livetest.CameraOptions{Codec: tc.codec}, 2)
			if err != nil {
				t.Fatal(err)
			}
			var pps ppsSet
			for i, au := range clip.AUs {
				if err := plausible(tc.c, au, &pps); err != nil {
					t.Fatalf("access unit %d of ffmpeg's output: %v", i, err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			const n = 20000
			passed, keys := 0, 0
			for range n {
				b := make([]byte, 1+rng.IntN(300))
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				au := [][]byte{b}
				if plausible(tc.c, au, &pps) != nil {
					continue
				}
				passed++
				if tc.c == media.H264 && h264.IsRandomAccess(au) || tc.c == media.H265 && h265.IsRandomAccess(au) {
					keys++
				}
			}
			t.Logf("random NAL units passing: %d of %d (%d as keyframes)", passed, n, keys)
			if passed > n/50 || keys > n/500 {
				t.Fatalf("%d of %d random NAL units pass (%d as keyframes); want under 2 %% (0.2 %%)", passed, n, keys)
			}
		})
	}
}
