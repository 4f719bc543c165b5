package review_test

import (
	"testing"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// openMedia opens a media file and consumes the two replies.
func (c *client) openMedia(id string) {
	c.t.Helper()
	c.send("openMediaFile", map[string]any{"mediaFileId": id})
	c.expect("openMediaFile")
	c.expect("addComments")
}

func (c *client) expectCollabEvent() *pb.ServerToClientCmd_CollabEvent {
	c.t.Helper()
	return c.expect("collabEvent").GetCollabEvent()
}

func TestCollabThreeClients(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	s.addMedia("aaaa0002", "alice", "video")
	alice, bob, carol := s.dial("alice"), s.dial("bob"), s.dial("carol")

	alice.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 1})
	alice.expectMsg(pb.UserMessage_ERROR, "Report rejected: no active collab session.")

	join := func(c *client, room, media string) {
		c.send("joinCollab", map[string]any{"collabId": room, "mediaFileId": media})
	}
	alice.openMedia("aaaa0001")
	join(alice, "room1", "aaaa0001")
	alice.expectMsg(pb.UserMessage_OK, "'Name of alice' joined collab")
	bob.openMedia("aaaa0001")
	join(bob, "room1", "aaaa0001")
	alice.expectMsg(pb.UserMessage_OK, "'Name of bob' joined collab")
	bob.expectMsg(pb.UserMessage_OK, "'Name of bob' joined collab")
	// Joining again (the client does it twice on load) changes nothing.
	join(bob, "room1", "aaaa0001")
	bob.quiet()

	// The first joiner fixed the media file.
	join(carol, "room1", "aaaa0002")
	m := carol.expectMsg(pb.UserMessage_ERROR, "Failed to join collab session: Mismatching media file id for pre-existing collab")
	if m.GetRefs().GetMediaFileId() != "aaaa0002" {
		t.Errorf("refs %v", m.Refs)
	}

	// A report reaches everyone, the sender too, with the real loop flag
	// (Clapshot sent the paused flag) and the loop range.
	alice.send("collabReport", map[string]any{"paused": false, "loop": true, "seekTimeSec": 2.5,
		"subtitleId": "7", "loopStartSec": 2, "loopEndSec": 4})
	for _, c := range []*client{alice, bob} {
		ev := c.expectCollabEvent()
		if ev.FromUser != "Name of alice" || ev.Paused || !ev.Loop || ev.SeekTimeSec != 2.5 || ev.GetSubtitleId() != "7" ||
			ev.GetLoopStartSec() != 2 || ev.GetLoopEndSec() != 4 {
			t.Errorf("%s: %v", c.name, ev)
		}
	}
	// What Clapshot's client sends: no loop range.
	bob.sendRaw(`{"collabReport":{"paused":true,"loop":false,"seekTimeSec":3.04001,"drawing":"` + webpURL + `"},"cookies":{}}`)
	for _, c := range []*client{alice, bob} {
		ev := c.expectCollabEvent()
		if ev.FromUser != "Name of bob" || !ev.Paused || ev.Loop || ev.SeekTimeSec != 3.04001 || ev.GetDrawing() != webpURL ||
			ev.LoopStartSec != nil {
			t.Errorf("%s: %v", c.name, ev)
		}
	}

	// A late joiner gets the current state at once: after joining when its
	// player already shows the file ...
	carol.openMedia("aaaa0001")
	join(carol, "room1", "aaaa0001")
	for _, c := range []*client{alice, bob, carol} {
		c.expectMsg(pb.UserMessage_OK, "'Name of carol' joined collab")
	}
	if ev := carol.expectCollabEvent(); ev.FromUser != "Name of bob" || !ev.Paused || ev.SeekTimeSec != 3.04001 || ev.GetDrawing() != webpURL {
		t.Errorf("late join state: %v", ev)
	}
	alice.quiet()

	// ... or right after opening it, when it joined first.
	dave := s.dial("dave")
	join(dave, "room1", "aaaa0001")
	for _, c := range []*client{alice, bob, carol, dave} {
		c.expectMsg(pb.UserMessage_OK, "'Name of dave' joined collab")
	}
	dave.quiet()
	dave.openMedia("aaaa0001")
	if ev := dave.expectCollabEvent(); ev.SeekTimeSec != 3.04001 {
		t.Errorf("state after open: %v", ev)
	}

	// While playing, a late joiner starts where playback is now.
	alice.send("collabReport", map[string]any{"paused": false, "seekTimeSec": 10})
	for _, c := range []*client{alice, bob, carol, dave} {
		c.expectCollabEvent()
	}
	dave.send("leaveCollab", map[string]any{})
	for _, c := range []*client{alice, bob, carol, dave} {
		c.expectMsg(pb.UserMessage_OK, "'Name of dave' left collab")
	}
	join(dave, "room1", "aaaa0001")
	for _, c := range []*client{alice, bob, carol, dave} {
		c.expectMsg(pb.UserMessage_OK, "'Name of dave' joined collab")
	}
	if ev := dave.expectCollabEvent(); ev.Paused || ev.SeekTimeSec <= 10 || ev.SeekTimeSec > 10+waitTime.Seconds() {
		t.Errorf("playing state: %v", ev)
	}

	// Leaving: announced to the room, the leaver included; then reports
	// are rejected and the others no longer hear from the leaver.
	carol.send("leaveCollab", map[string]any{})
	for _, c := range []*client{alice, bob, carol, dave} {
		c.expectMsg(pb.UserMessage_OK, "'Name of carol' left collab")
	}
	carol.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 1})
	carol.expectMsg(pb.UserMessage_ERROR, "Report rejected")
	bob.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 5})
	for _, c := range []*client{alice, bob, dave} {
		c.expectCollabEvent()
	}
	carol.quiet()

	// A disconnected member just disappears; the room lives on.
	dave.conn.CloseNow()
	alice.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 6})
	for _, c := range []*client{alice, bob} {
		if ev := c.expectCollabEvent(); ev.SeekTimeSec != 6 {
			t.Errorf("%v", ev)
		}
	}

	// Bad reports.
	alice.send("collabReport", map[string]any{"paused": true, "seekTimeSec": "NaN"})
	alice.expectMsg(pb.UserMessage_ERROR, "Cmd 'CollabReport' failed: seekTimeSec")
	alice.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 1, "loopStartSec": 3, "loopEndSec": 2})
	alice.expectMsg(pb.UserMessage_ERROR, "loop range")
	alice.send("joinCollab", map[string]any{"collabId": "", "mediaFileId": "aaaa0001"})
	alice.expectMsg(pb.UserMessage_ERROR, "collab id")
	bob.quiet()
}
