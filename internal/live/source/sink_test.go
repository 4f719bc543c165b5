package source_test

import (
	"sync"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// lockedSink counts video units; UDP delivers on several goroutines.
type lockedSink struct {
	mu        sync.Mutex
	units     int
	firstKey  bool
	firstSeen bool
}

func (s *lockedSink) SetTracks(*media.Tracks) {}

func (s *lockedSink) WriteUnit(u *media.Unit) {
	if !u.Video {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.firstSeen {
		s.firstSeen, s.firstKey = true, u.Key
	}
	s.units++
}

func (s *lockedSink) get() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units, s.firstKey
}
