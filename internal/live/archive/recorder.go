package archive

import (
	"context"
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/media"
)

// Retry after a failed create or write: from 1 s, doubling to 30 s. The
// recorder keeps taking units meanwhile (and drops them), so the camera
// and the viewers never notice.
const (
	writeRetryMin = time.Second
	writeRetryMax = 30 * time.Second
)

// chainSlack is how far a continuing segment's clock may be from the end
// of the one before and still start exactly there.
const chainSlack = 50 * time.Millisecond

// recorder turns a stream's tap into segments.
type recorder struct {
	store *Store
	fs    FS
	set   Settings

	w           *segWriter
	tracks      *media.Tracks
	lastDropped uint64
	dropPending bool      // units were lost: the next keyframe starts a new segment
	continues   bool      // the next segment follows the last one without a gap
	chainEnd    time.Time // where the last segment ended, when continues
	retryAt     time.Time
	backoff     time.Duration
}

// run records until the tap ends (the stream stopped) or ctx ends; the
// open segment is then finished.
func (r *recorder) run(ctx context.Context, tap *live.Tap) {
	defer r.closeSegment(0)
	for {
		ev, err := tap.Next(ctx)
		if err != nil {
			return
		}
		if d := tap.Dropped(); d != r.lastDropped {
			r.store.dropped(d - r.lastDropped)
			r.store.log.Warn("Archive: the disk did not keep up; units dropped, recording resumes at the next keyframe in a new segment",
				"dropped", d-r.lastDropped, "dropped_total", d)
			r.lastDropped, r.dropPending = d, true
		}
		switch {
		case ev.Restart:
			r.closeSegment(0) // the timeline starts again: a new file
		case ev.Tracks != nil:
			if r.w != nil && !sameTracks(r.w.tracks, ev.Tracks) {
				r.closeSegment(0)
				r.continues = true // new parameters, same timeline
			}
			r.tracks = ev.Tracks
		case ev.Unit != nil:
			r.unit(ev.Unit)
		}
	}
}

func sameTracks(a, b *media.Tracks) bool {
	if !a.Video.SameParams(b.Video) || (a.Audio == nil) != (b.Audio == nil) {
		return false
	}
	return a.Audio == nil || a.Audio.SameParams(b.Audio)
}

func (r *recorder) unit(u *media.Unit) {
	if r.tracks == nil || u.Tracks.Video == nil {
		return
	}
	w := r.w
	if !u.Video {
		if w != nil {
			w.addAudio(u)
		}
		return
	}
	if w != nil && u.Tracks != w.tracks && !sameTracks(u.Tracks, w.tracks) {
		r.closeSegment(0)
		w = nil
	}
	if w == nil {
		if u.Key {
			r.openSegment(u)
		}
		return
	}
	if u.DTS <= w.pending.DTS {
		return // not after the last frame: no place on the timeline
	}
	if u.Key && (r.dropPending || time.Duration(u.DTS-w.startDTS)*time.Second/videoTimescale >= r.set.SegmentDuration) {
		if r.dropPending {
			r.closeSegment(0) // a gap: the file ends at its last frame
		} else {
			r.closeSegment(u.DTS) // the cut: the file ends where this keyframe begins
			r.continues = true
		}
		r.openSegment(u)
		return
	}
	before := w.size
	if err := w.video(u, r.set.PartDuration); err != nil {
		r.writeFailed(err)
		return
	}
	if w.size != before {
		r.store.progress(w.size, w.duration())
	}
}

// openSegment starts a file with keyframe k, unless a failure is being
// waited out.
func (r *recorder) openSegment(k *media.Unit) {
	r.dropPending = false
	if time.Now().Before(r.retryAt) {
		r.continues = false
		return
	}
	// The camera's clock names the file, unless it is far from ours. A
	// segment that continues the last one starts exactly where that one
	// ended (so that ranges have no false gaps), unless the camera's
	// clock has moved away from the media's by more than chainSlack.
	start := k.NTP
	if d := start.Sub(k.Received); !k.Received.IsZero() && (d > 30*time.Second || d < -30*time.Second) {
		start = k.Received
	}
	if d := start.Sub(r.chainEnd); r.continues && d < chainSlack && d > -chainSlack {
		start = r.chainEnd
	}
	r.continues = false
	if !start.Equal(k.NTP) {
		k = new(*k)
		k.NTP = start
	}
	w, err := createSegment(r.fs, r.set.Directory, r.store.id, k, r.set.PartDuration)
	if err != nil {
		r.writeFailed(err)
		return
	}
	r.backoff = 0
	r.w = w
	r.store.begin(w.segment())
}

// closeSegment finishes the open file (nextDTS: where its last frame
// ends, 0 if unknown) and hands it to the store.
func (r *recorder) closeSegment(nextDTS int64) {
	r.continues = false // unless the caller says so
	w := r.w
	if w == nil {
		return
	}
	r.w = nil
	if err := w.finish(nextDTS); err != nil {
		r.store.fail("write", err) // what is complete stays
	}
	seg := w.segment()
	r.chainEnd = seg.End()
	r.store.closed(seg)
}

// writeFailed ends the open file with what it has and waits before the
// next try; the recorded segments are untouched.
func (r *recorder) writeFailed(err error) {
	r.store.fail("write", err)
	r.continues = false
	if w := r.w; w != nil {
		r.w = nil
		w.abort()
		r.store.closed(w.segment())
	}
	r.backoff = min(max(r.backoff*2, writeRetryMin), writeRetryMax)
	r.retryAt = time.Now().Add(r.backoff)
}
