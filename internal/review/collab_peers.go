package review

// Collab rooms across server instances: a room is kept by each instance
// that has members in it; what happens in it (reports, joins, leaves) is
// told to the other instances through Options.Peers, whose members see it
// as if it happened on theirs.

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// PeerCollabKind is the kind of the collab events other server instances
// publish (see Options.Peers).
const PeerCollabKind = "collab"

// maxPeerRooms bounds the states kept of rooms that have no member here,
// for a late joiner on this instance.
const maxPeerRooms = 4096

type peerCollab struct {
	Room  string `json:"r"`
	Media string `json:"m"`
	// Event is a report (the protobuf CollabEvent), Message a line for
	// the members ("'x' joined collab"); one of the two.
	Event   []byte `json:"e,omitempty"`
	Message string `json:"msg,omitempty"`
}

// peerRoom is the last state of a room reported by another instance while
// no session here was in it.
type peerRoom struct {
	mediaFileID string
	last        *pb.ServerToClientCmd_CollabEvent
	at          time.Time
}

// publishCollab tells the other instances of an event in room r.
func (h *Hub) publishCollab(r *room, ev *pb.ServerToClientCmd_CollabEvent, message string) {
	if h.opt.Peers == nil {
		return
	}
	e := peerCollab{Room: r.id, Media: r.mediaFileID, Message: message}
	if ev != nil {
		b, err := proto.Marshal(ev)
		if err != nil {
			h.log.Warn("Cannot encode a collab report for the other server instances", "err", err)
			return
		}
		e.Event = b
	}
	h.opt.Peers.Publish(h.ctx, PeerCollabKind, e)
}

// PeerCollab shows a collab event from another instance to this one's
// members of the room, or keeps the room's state for a later joiner here.
func (h *Hub) PeerCollab(_ context.Context, data []byte) {
	var e peerCollab
	if err := json.Unmarshal(data, &e); err != nil || e.Room == "" {
		h.log.Warn("Unreadable collab event from another server instance", "err", err)
		return
	}
	var ev *pb.ServerToClientCmd_CollabEvent
	if e.Event != nil {
		ev = &pb.ServerToClientCmd_CollabEvent{}
		if err := proto.Unmarshal(e.Event, ev); err != nil {
			h.log.Warn("Unreadable collab report from another server instance", "err", err)
			return
		}
	}
	h.mu.Lock()
	r := h.rooms[e.Room]
	if r == nil {
		if ev != nil {
			h.keepPeerRoom(e.Room, peerRoom{mediaFileID: e.Media, last: ev, at: time.Now()})
		}
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	if r.mediaFileID != e.Media {
		return // a room of the same id on another file: refused here as there
	}
	if ev != nil {
		r.relay(ev)
		return
	}
	sendAll(r.memberList(), encode(messagesCmd(&pb.UserMessage{Type: pb.UserMessage_OK, Message: e.Message})))
}

// keepPeerRoom records a room's state from another instance (h.mu held).
func (h *Hub) keepPeerRoom(id string, p peerRoom) {
	if _, ok := h.peerRooms[id]; !ok && len(h.peerRooms) >= maxPeerRooms {
		oldest, at := "", time.Time{}
		for k, v := range h.peerRooms {
			if oldest == "" || v.at.Before(at) {
				oldest, at = k, v.at
			}
		}
		delete(h.peerRooms, oldest)
	}
	h.peerRooms[id] = p
}
