package archive

import (
	"testing"
	"time"
)

func TestChainStart(t *testing.T) {
	end := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		prevDur time.Duration
		camera  time.Duration // the camera's clock, from end
		want    time.Duration // the start, from end
	}{
		{"on time", 2 * time.Second, 0, 0},
		{"small jitter is followed", 2 * time.Second, 7 * ms, 7 * ms},
		{"busy sender late: 1 % of the segment", 2 * time.Second, 107 * ms, 20 * ms},
		{"busy sender early: 1 % of the segment", 2 * time.Second, -140 * ms, -20 * ms},
		{"long segments: at most half of MergeGap", 10 * time.Minute, 900 * ms, MergeGap / 2},
		{"a clock step is taken", 2 * time.Second, 5 * time.Second, 5 * time.Second},
		{"a step back is taken", 2 * time.Second, -3 * time.Second, -3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chainStart(end, tc.prevDur, end.Add(tc.camera)).Sub(end)
			if got != tc.want {
				t.Errorf("start %s from the last end, want %s", got, tc.want)
			}
			if d := got; tc.camera > -chainStep && tc.camera < chainStep && (d > MergeGap || d < -MergeGap) {
				t.Errorf("a jittering camera left a gap of %s in the ranges", d)
			}
		})
	}
	// A camera whose clock runs 0.1 % fast is followed: the starts stay
	// within one slew of its clock, segment after segment.
	at, camera := end, end
	for range 600 {
		at = chainStart(at, time.Second, camera).Add(time.Second)
		camera = camera.Add(time.Second + time.Millisecond)
	}
	if d := camera.Sub(at); d > 10*ms+time.Millisecond || d < 0 {
		t.Errorf("after 10 min of a fast camera clock the archive is %s behind it", d)
	}
}
