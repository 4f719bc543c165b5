package review_test

import (
	"context"
	"testing"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func TestUserMessages(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	s.addMedia("aaaa0001", "alice", "video")
	a1, a2 := s.dial("alice"), s.dial("alice")
	bob := s.dial("bob")
	a1.openMedia("aaaa0001")
	bob.openMedia("aaaa0001")

	// Pipeline progress: to the owner's sessions and the watchers, each
	// session once (a1 is both), not stored.
	s.app.Events.Publish(ctx, events.Message{Kind: events.Progress, UserID: "alice", MediaFileID: "aaaa0001",
		Text: "Transcoding... 42% done", Progress: new(0.42)})
	for _, c := range []*client{a1, a2, bob} {
		m := c.expectMsg(pb.UserMessage_PROGRESS, "Transcoding... 42% done")
		if m.GetProgress() < 0.419 || m.GetProgress() > 0.421 || m.GetRefs().GetMediaFileId() != "aaaa0001" || m.Id != nil || m.Created != nil {
			t.Errorf("%s: %v", c.name, m)
		}
		c.quiet()
	}
	// A stored kind, while the owner is online: stored as seen.
	s.app.Events.Publish(ctx, events.Message{Kind: events.OK, UserID: "alice", MediaFileID: "aaaa0001", Text: "Media added.", Details: "d"})
	for _, c := range []*client{a1, a2, bob} {
		c.expectMsg(pb.UserMessage_OK, "Media added.")
	}
	msgs, _ := s.app.DB.ListMessagesByUser(ctx, "alice", store.All)
	if len(msgs) != 1 || !msgs[0].Seen || msgs[0].Details != "d" {
		t.Errorf("stored: %+v", msgs)
	}

	// Command errors go to every session of the user, no one else.
	a2.send("renameMediaFile", map[string]any{"mediaFileId": "aaaa0001", "newName": "  !!  "})
	for _, c := range []*client{a1, a2} {
		m := c.expectMsg(pb.UserMessage_ERROR, "Invalid file name (must have letters/numbers)")
		if m.GetUserId() != "alice" || m.GetRefs().GetMediaFileId() != "aaaa0001" {
			t.Errorf("%v", m)
		}
	}
	long := make([]byte, 161)
	for i := range long {
		long[i] = 'x'
	}
	a2.send("renameMediaFile", map[string]any{"mediaFileId": "aaaa0001", "newName": string(long)})
	a1.expectMsg(pb.UserMessage_ERROR, "Name too long (max 160)")
	a2.expectMsg(pb.UserMessage_ERROR, "Name too long (max 160)")
	bob.quiet()

	// An offline user's message is stored unseen; the first listing shows
	// it unseen and marks it, the second shows it seen.
	s.app.DB.EnsureUser(ctx, "carol", "")
	s.app.Events.Publish(ctx, events.Message{Kind: events.Error, UserID: "carol", Text: "Media transcoding failed"})
	carol := s.dial("carol")
	carol.send("listMyMessages", map[string]any{})
	list := carol.expect("showMessages").GetShowMessages().GetMsgs()
	if len(list) != 1 || list[0].Seen || list[0].Type != pb.UserMessage_ERROR || list[0].GetId() == "" || list[0].Created == nil {
		t.Fatalf("first listing: %v", list)
	}
	carol.send("listMyMessages", map[string]any{})
	if list := carol.expect("showMessages").GetShowMessages().GetMsgs(); len(list) != 1 || !list[0].Seen {
		t.Errorf("second listing: %v", list)
	}
}
