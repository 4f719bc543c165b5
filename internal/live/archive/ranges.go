package archive

import "time"

// Range is a stretch of time the archive has without a gap.
type Range struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// MergeGap is the largest distance between one segment's end and the
// next one's start that still counts as continuous. A segment that
// follows the previous without a break starts exactly where it ends (see
// recorder.openSegment), so this only absorbs rounding and the camera's
// clock corrections.
const MergeGap = 100 * time.Millisecond

// Ranges lists the recorded ranges, from the segments' measured starts and
// durations (the open segment up to what is written); segments further
// apart than MergeGap leave a gap.
func (s *Store) Ranges() []Range {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Range{}
	for i := range s.segs {
		out = addRange(out, &s.segs[i])
	}
	if s.open != nil && s.open.Duration > 0 {
		out = addRange(out, s.open)
	}
	return out
}

// addRange extends the last range with seg, or starts a new one.
func addRange(out []Range, seg *Segment) []Range {
	start, end := seg.Start.UTC().Truncate(time.Millisecond), seg.End().UTC().Truncate(time.Millisecond)
	if n := len(out); n > 0 && !start.After(out[n-1].End.Add(MergeGap)) {
		if end.After(out[n-1].End) {
			out[n-1].End = end
		}
		return out
	}
	return append(out, Range{Start: start, End: end})
}
