package review

import (
	"errors"
	"math"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// room is a collaborative viewing session: everyone in it sees what the
// last reporter did (play, pause, seek, drawing, subtitle, loop). Its
// state is owned by its lock; membership changes also hold the hub's lock
// (always taken first), so the rooms map, the members and each session's
// room field agree.
type room struct {
	id          string
	mediaFileID string // fixed by the first joiner

	mu      sync.Mutex
	members map[*session]struct{}
	last    *pb.ServerToClientCmd_CollabEvent
	lastAt  time.Time
}

var errMismatchingMedia = errors.New("Mismatching media file id for pre-existing collab")

func (r *room) memberList() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.members))
	for s := range r.members {
		out = append(out, s)
	}
	return out
}

// joinRoom adds s to the room collabID, creating it for mediaFileID. An
// existing room keeps the media file its first joiner chose.
func (h *Hub) joinRoom(s *session, collabID, mediaFileID string) (*room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[collabID]
	if r == nil {
		r = &room{id: collabID, mediaFileID: mediaFileID, members: map[*session]struct{}{}}
		// Members on other instances may have played it already.
		if p, ok := h.peerRooms[collabID]; ok {
			delete(h.peerRooms, collabID)
			if p.mediaFileID == mediaFileID {
				r.last, r.lastAt = p.last, p.at
			}
		}
		h.rooms[collabID] = r
		h.opt.Metrics.CollabRooms(len(h.rooms))
	} else if r.mediaFileID != mediaFileID {
		return nil, errMismatchingMedia
	}
	r.mu.Lock()
	r.members[s] = struct{}{}
	r.mu.Unlock()
	s.room = r
	return r, nil
}

// leaveRoom takes s out of its room, announcing it to the room (the
// leaver included, as in Clapshot) if asked; the last one out removes the
// room.
func (h *Hub) leaveRoom(s *session, announce bool) {
	if r, line := h.leave(s, announce); line != "" {
		h.publishCollab(r, nil, line)
	}
}

// leave is leaveRoom under the locks; it returns the room left and the
// line announced, for the other instances.
func (h *Hub) leave(s *session, announce bool) (*room, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := s.room
	if r == nil {
		return nil, ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var line string
	if announce {
		line = "'" + s.user.UserName + "' left collab"
		b := encode(messagesCmd(&pb.UserMessage{Type: pb.UserMessage_OK, Message: line}))
		for m := range r.members {
			m.send(b)
		}
	}
	delete(r.members, s)
	if len(r.members) == 0 && h.rooms[r.id] == r {
		delete(h.rooms, r.id)
		h.opt.Metrics.CollabRooms(len(h.rooms))
		if r.last != nil && h.opt.Peers != nil {
			// Others may still be in it elsewhere; a member coming back
			// here starts where it was.
			h.keepPeerRoom(r.id, peerRoom{mediaFileID: r.mediaFileID, last: r.last, at: r.lastAt})
		}
	}
	s.room = nil
	return r, line
}

// roomOf is the room s is in, or nil.
func (h *Hub) roomOf(s *session) *room {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return s.room
}

// report relays a member's playback state to every member, the sender
// included, and keeps it as the room's state for late joiners. Holding the
// room's lock while queueing keeps every member's event order the same as
// the order of the state.
func (r *room) report(from string, rep *pb.ClientToServerCmd_CollabReport) *pb.ServerToClientCmd_CollabEvent {
	ev := &pb.ServerToClientCmd_CollabEvent{
		FromUser:     from,
		Paused:       rep.Paused,
		Loop:         rep.Loop, // Clapshot sent the paused flag here
		SeekTimeSec:  rep.SeekTimeSec,
		Drawing:      rep.Drawing,
		SubtitleId:   rep.SubtitleId,
		LoopStartSec: rep.LoopStartSec,
		LoopEndSec:   rep.LoopEndSec,

		CompareMediaFileId: rep.CompareMediaFileId,
		CompareMode:        rep.CompareMode,
		WipePosition:       rep.WipePosition,
	}
	r.relay(ev)
	return ev
}

// relay sends a report to every member and keeps it as the room's state.
func (r *room) relay(ev *pb.ServerToClientCmd_CollabEvent) {
	b := encode(&pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_CollabEvent_{CollabEvent: ev}})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.lastAt = ev, time.Now()
	for s := range r.members {
		s.send(b)
	}
}

// state is the room's current playback state for a late joiner, or nil
// before anyone reported. While playing, the position has moved on since
// the report (wrapping inside the loop range when looping).
func (r *room) state() *pb.ServerToClientCmd_CollabEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil
	}
	ev := proto.CloneOf(r.last)
	if !ev.Paused {
		ev.SeekTimeSec += time.Since(r.lastAt).Seconds()
		if ev.Loop && ev.LoopStartSec != nil && ev.LoopEndSec != nil {
			start, end := *ev.LoopStartSec, *ev.LoopEndSec
			if span := end - start; span > 0 && ev.SeekTimeSec > end {
				ev.SeekTimeSec = start + math.Mod(ev.SeekTimeSec-start, span)
			}
		}
	}
	return ev
}
