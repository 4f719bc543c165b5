package review

// The collab commands: join a room, report the player's state to it.

import (
	"errors"
	"fmt"
	"math"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// MaxCollabIDLength bounds collab ids (made up by clients, kept in memory).
const MaxCollabIDLength = 256

func (s *session) joinCollab(c *pb.ClientToServerCmd_JoinCollab) error {
	h := s.hub
	if r := h.roomOf(s); r != nil && r.id == c.CollabId {
		return nil // the client joins twice on load; the second is a no-op
	}
	if c.CollabId == "" || len(c.CollabId) > MaxCollabIDLength {
		return fmt.Errorf("collab id must be 1 to %d characters", MaxCollabIDLength)
	}
	h.leaveRoom(s, false)
	m, ok, err := s.getMedia(c.MediaFileId)
	if !ok {
		return err
	}
	if err := s.authorize(otherOp("join collab", pb.AuthzUserActionRequest_OtherOp_JOIN_COLLAB_SESSION, new(c.CollabId))); err != nil {
		return err
	}
	r, err := h.joinRoom(s, c.CollabId, m.ID)
	if err != nil {
		s.userError(&pb.UserMessage{Message: "Failed to join collab session: " + err.Error(), Refs: mediaRefs(m.ID)}, false)
		return nil
	}
	line := "'" + s.user.UserName + "' joined collab"
	sendAll(r.memberList(), encode(messagesCmd(&pb.UserMessage{Type: pb.UserMessage_OK, Message: line})))
	h.publishCollab(r, nil, line)
	// A late joiner starts where the room is, if its player is open on the
	// room's file (otherwise when it opens it: see sendOpenMediaFile).
	if h.watchingOf(s) == m.ID {
		if st := r.state(); st != nil {
			s.send(encode(collabEventCmd(st)))
		}
	}
	return nil
}

func (s *session) collabReport(c *pb.ClientToServerCmd_CollabReport) error {
	r := s.hub.roomOf(s)
	if r == nil {
		s.userError(&pb.UserMessage{Message: "Report rejected: no active collab session."}, false)
		return nil
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(c.SeekTimeSec) || c.SeekTimeSec < 0 {
		return fmt.Errorf("seekTimeSec %v must be a position in seconds", c.SeekTimeSec)
	}
	if (c.LoopStartSec == nil) != (c.LoopEndSec == nil) {
		return errors.New("loopStartSec and loopEndSec go together")
	}
	if c.LoopStartSec != nil && !(finite(*c.LoopStartSec) && finite(*c.LoopEndSec) && *c.LoopStartSec >= 0 && *c.LoopStartSec < *c.LoopEndSec) {
		return fmt.Errorf("loop range %v..%v must be positions in seconds, start before end", *c.LoopStartSec, *c.LoopEndSec)
	}
	if err := checkCompare(c, finite); err != nil {
		return err
	}
	s.hub.publishCollab(r, r.report(s.user.UserName, c), "")
	return nil
}

// checkCompare validates a report's compare view (our extension).
func checkCompare(c *pb.ClientToServerCmd_CollabReport, finite func(float64) bool) error {
	switch c.GetCompareMode() {
	case "", "side", "wipe":
	default:
		return fmt.Errorf("compareMode %q must be \"side\" or \"wipe\"", c.GetCompareMode())
	}
	if len(c.GetCompareMediaFileId()) > 256 {
		return errors.New("compareMediaFileId is too long")
	}
	if w := c.WipePosition; w != nil && !(finite(*w) && *w >= 0 && *w <= 1) {
		return fmt.Errorf("wipePosition %v must be between 0 and 1", *w)
	}
	return nil
}
