package live

import (
	"context"
	"slices"

	"github.com/clapshot-go/clapshot/internal/live/media"
	"github.com/clapshot-go/clapshot/internal/live/queue"
)

// Event is one item a Tap delivers; exactly one field is set.
type Event struct {
	// Tracks are new codec parameters (the first event of every tap once
	// the camera's are known, then on every change): the units after it
	// use them, and a muxer starts a new init segment.
	Tracks *media.Tracks
	// Unit is an access unit with its timestamps and the Tracks it uses.
	Unit *media.Unit
	// Restart says the camera reconnected: timestamps start again from
	// another origin, and the next unit is a keyframe.
	Restart bool
}

// Tap is a bounded subscription to a stream's media, the way in for every
// output and for a recorder. The camera's reader never waits for a tap: a
// tap that falls more than its size behind loses what it had queued and
// resumes at the next keyframe (never in the middle of a group of
// pictures); Tracks and Restart events are never dropped.
type Tap struct {
	s *Stream
	q *queue.Queue[Event]
}

// Subscribe adds a tap that may fall size units behind (0: the engine's
// QueueUnits). Its first event is the current Tracks when they are known,
// then units from the next keyframe on. A tap does not keep an on-demand
// stream connected; hold it with Acquire as well. The tap ends (Next
// returns queue.ErrClosed) when the stream stops.
func (s *Stream) Subscribe(size int) *Tap {
	if size <= 0 {
		size = s.e.opt.QueueUnits
	}
	t := &Tap{s: s, q: queue.New[Event](size, true)}
	s.tapMu.Lock()
	defer s.tapMu.Unlock()
	if s.stopped {
		t.q.Close()
		return t
	}
	s.mu.Lock()
	cur := s.tracks
	s.mu.Unlock()
	if cur != nil {
		t.q.Push(Event{Tracks: cur}, false, true)
	}
	taps := slices.Clone(*s.taps.Load())
	s.taps.Store(new(append(taps, t)))
	return t
}

// Next waits for the tap's next event. It returns queue.ErrClosed once the
// stream stopped (or the tap was closed) and everything queued was read.
func (t *Tap) Next(ctx context.Context) (Event, error) { return t.q.Pop(ctx) }

// Dropped is how many units the tap lost by falling behind.
func (t *Tap) Dropped() uint64 { return t.q.Dropped() }

// Close unsubscribes the tap.
func (t *Tap) Close() {
	s := t.s
	s.tapMu.Lock()
	taps := slices.DeleteFunc(slices.Clone(*s.taps.Load()), func(x *Tap) bool { return x == t })
	s.taps.Store(&taps)
	s.tapMu.Unlock()
	t.q.Close()
}

// SetTracks implements source.Sink.
func (s *Stream) SetTracks(t *media.Tracks) {
	s.tapMu.Lock()
	defer s.tapMu.Unlock()
	s.mu.Lock()
	prev := s.tracks
	s.tracks = t
	s.mu.Unlock()
	if prev != nil && !prev.Video.SameParams(t.Video) {
		s.log.Info("Live stream: codec parameters changed; viewers get a new init segment", "tracks", t.Describe())
	}
	for _, tap := range *s.taps.Load() {
		tap.q.Push(Event{Tracks: t}, false, true)
	}
	s.handleInline(Event{Tracks: t})
}

// WriteUnit implements source.Sink. It never blocks.
func (s *Stream) WriteUnit(u *media.Unit) {
	// Audio of a stream without video could resume anywhere; with video,
	// only a keyframe is a place to resume.
	key := u.Key || !u.Video && u.Tracks.Video == nil
	for _, tap := range *s.taps.Load() {
		tap.q.Push(Event{Unit: u}, key, false)
	}
	s.handleInline(Event{Unit: u})
}

// restartTaps tells every tap that the camera reconnected.
func (s *Stream) restartTaps() {
	for _, tap := range *s.taps.Load() {
		tap.q.Resync()
		tap.q.Push(Event{Restart: true}, false, true)
	}
	s.handleInline(Event{Restart: true})
}

// closeTaps ends every tap: the stream stopped.
func (s *Stream) closeTaps() {
	s.tapMu.Lock()
	s.stopped = true
	taps := *s.taps.Load()
	s.tapMu.Unlock()
	for _, tap := range taps {
		tap.q.Close()
	}
}
