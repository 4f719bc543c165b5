package archive

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/media"
)

// BenchmarkRecord writes 10 s of 720p H.264 at 2 Mbit/s (real ffmpeg
// output) into a segment, against the reference of writing the same
// payload bytes raw, a second at a time with an fsync each, in the same
// run. It reports the bytes written per byte received (write
// amplification) and the recorder's time per second of media.
//
//	go test -run '^$' -bench Record ./internal/live/archive/
func BenchmarkRecord(b *testing.B) {
	clip, err := livetest.Encode(context.Background(), livetest.CameraOptions{Size: "1280x720", FPS: 25, GOP: 25, Bitrate: "2M"}, 10)
	if err != nil {
		b.Skip("ffmpeg: ", err)
	}
	tracks := &media.Tracks{Video: &media.Track{Codec: media.H264, ClockRate: 90000}, Version: 1}
	var payload int64
	units := make([]*media.Unit, len(clip.AUs))
	start := time.Now()
	for i, au := range clip.AUs {
		key := false
		for _, nalu := range au {
			switch h264.NALUType(nalu[0] & 0x1f) {
			case h264.NALUTypeSPS:
				tracks.Video.SPS = nalu
			case h264.NALUTypePPS:
				tracks.Video.PPS = nalu
			case h264.NALUTypeIDR:
				key = true
			}
			payload += int64(len(nalu))
		}
		ts := int64(i) * 3600
		units[i] = &media.Unit{Tracks: tracks, Video: true, PTS: ts, DTS: ts, Key: key, Data: au,
			NTP: start.Add(time.Duration(i) * 40 * time.Millisecond)}
	}
	dir := b.TempDir()
	var written int64
	b.Run("archive", func(b *testing.B) {
		for i := range b.N {
			d := filepath.Join(dir, "a", time.Now().Format("150405.000000000"))
			_ = os.MkdirAll(d, 0o755)
			w, err := createSegment(OSFS{}, d, "0742091c-19cd-4658-9b4f-5320da160f45", units[0], time.Second)
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range units[1:] {
				if err := w.video(u, time.Second); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.finish(0); err != nil {
				b.Fatal(err)
			}
			written = w.size
			if i == 0 {
				b.ReportMetric(float64(written)/float64(payload), "written/received")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10, "µs/s-of-media")
	})
	b.Run("raw", func(b *testing.B) {
		for range b.N {
			f, err := os.Create(filepath.Join(dir, "raw-"+time.Now().Format("150405.000000000")))
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			for i, au := range clip.AUs {
				for _, nalu := range au {
					buf = append(buf, nalu...)
				}
				if (i+1)%25 == 0 || i == len(clip.AUs)-1 {
					if _, err := f.Write(buf); err != nil {
						b.Fatal(err)
					}
					_ = f.Sync()
					buf = buf[:0]
				}
			}
			_ = f.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10, "µs/s-of-media")
	})
}

// BenchmarkRanges: the ranges of 30 days of one-minute segments (43,200,
// with a gap every day), the bound being 50 ms.
func BenchmarkRanges(b *testing.B) {
	st := &Store{}
	t0 := time.Now().Add(-30 * 24 * time.Hour)
	for i := range 30 * 24 * 60 {
		start := t0.Add(time.Duration(i) * time.Minute)
		if i%1440 == 0 {
			start = start.Add(5 * time.Second)
		}
		st.segs = append(st.segs, Segment{Name: segmentName("0742091c-19cd-4658-9b4f-5320da160f45", start), Start: start, Duration: time.Minute})
	}
	b.ResetTimer()
	for range b.N {
		if n := len(st.Ranges()); n != 30 {
			b.Fatalf("%d ranges, want 30", n)
		}
	}
}
