package review_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// waitFor returns the first message that match accepts, skipping others.
func (c *client) waitFor(what string, match func(*pb.ServerToClientCmd) bool) *pb.ServerToClientCmd {
	c.t.Helper()
	for i := 0; i < 50; i++ {
		if cmd, _ := c.next(); match(cmd) {
			return cmd
		}
	}
	c.t.Fatalf("%s: no %s in 50 messages", c.name, what)
	return nil
}

func userMsg(typ pb.UserMessage_Type, text string) func(*pb.ServerToClientCmd) bool {
	return func(c *pb.ServerToClientCmd) bool {
		for _, m := range c.GetShowMessages().GetMsgs() {
			if m.Type == typ && strings.Contains(m.Message+" "+m.GetDetails(), text) {
				return true
			}
		}
		return false
	}
}

// Version stacks over the websocket API: stacking a file onto another (a
// file of another kind, or another user's, refused), the home page showing
// the stack once, openMediaFile listing the versions, and the comments of
// the other versions on request.
func TestVersionStackCommands(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	v1 := s.addMedia("aaaa0001", "alice", "video")
	v2 := s.addMedia("aaaa0002", "alice", "video")
	voice := s.addMedia("aaaa0003", "alice", "audio")
	bobs := s.addMedia("aaaa0004", "bob", "video")
	if _, err := s.app.DB.InsertComment(ctx, store.Comment{MediaFileID: v1.ID, UserID: new("alice"), UsernameIfNull: "alice",
		Comment: "too long in cut 1", Timecode: new("00:00:02:00")}); err != nil {
		t.Fatal(err)
	}
	alice := s.dial("alice")
	homeIDs := func() ([]string, *pb.VersionStack) {
		t.Helper()
		alice.send("openNavigationPage", map[string]any{})
		page := alice.waitFor("the home page", func(c *pb.ServerToClientCmd) bool { return c.GetShowPage() != nil })
		var listed []string
		var stack *pb.VersionStack
		for _, it := range page.GetShowPage().GetPageItems() {
			for _, e := range it.GetFolderListing().GetItems() {
				listed = append(listed, e.GetMediaFile().GetId())
				if vs := e.GetMediaFile().GetVersionStack(); vs != nil {
					stack = vs
				}
			}
		}
		slices.Sort(listed)
		return listed, stack
	}
	// Rendered (and cached) before the stack exists: brought up to date.
	if ids, _ := homeIDs(); len(ids) != 3 {
		t.Fatalf("home page before stacking: %v", ids)
	}

	alice.send("addVersion", map[string]any{"mediaFileId": v2.ID, "versionOf": v1.ID})
	alice.waitFor("the OK", userMsg(pb.UserMessage_OK, "'Clip aaaa0002' is now version 2 of 'Clip aaaa0001'."))

	alice.send("addVersion", map[string]any{"mediaFileId": voice.ID, "versionOf": v1.ID})
	alice.waitFor("the refusal", userMsg(pb.UserMessage_ERROR, "A new version of 'Clip aaaa0001' must be a video like it, but 'Clip aaaa0003' is an audio file"))
	alice.send("addVersion", map[string]any{"mediaFileId": bobs.ID, "versionOf": v1.ID})
	alice.waitFor("the refusal", func(c *pb.ServerToClientCmd) bool {
		for _, m := range c.GetShowMessages().GetMsgs() {
			return m.Type == pb.UserMessage_ERROR
		}
		return false
	})
	alice.send("addVersion", map[string]any{"mediaFileId": v2.ID, "versionOf": v1.ID})
	alice.waitFor("the refusal", userMsg(pb.UserMessage_ERROR, "'Clip aaaa0002' is already a version in a stack"))
	if v, err := s.app.DB.GetVersion(ctx, bobs.ID); err == nil {
		t.Errorf("bob's file was stacked onto alice's: %+v", v)
	}

	// The home page shows the stack once, as version 2.
	listed, stack := homeIDs()
	if !slices.Equal(listed, []string{v2.ID, voice.ID}) {
		t.Errorf("home page lists %v, want the audio file and the stack (as %s) once", listed, v2.ID)
	}
	if stack.GetStackId() != v1.ID || stack.GetVersion() != 2 || stack.GetCount() != 2 || stack.GetHeadId() != v2.ID {
		t.Errorf("the stack's tile: %v", stack)
	}

	// Opening a version lists them all, for the switcher.
	alice.send("openMediaFile", map[string]any{"mediaFileId": v1.ID})
	opened := alice.waitFor("openMediaFile", func(c *pb.ServerToClientCmd) bool { return c.GetOpenMediaFile() != nil })
	vs := opened.GetOpenMediaFile().GetMediaFile().GetVersionStack()
	if vs.GetVersion() != 1 || vs.GetHeadId() != v2.ID || len(vs.GetVersions()) != 2 ||
		vs.GetVersions()[0].GetMediaFileId() != v1.ID || vs.GetVersions()[1].GetTitle() != "Clip aaaa0002" || vs.GetVersions()[1].GetState() != "ready" {
		t.Errorf("openMediaFile's stack: %v", vs)
	}
	alice.expect("addComments")

	// From version 2, the comments of version 1.
	alice.send("listVersionComments", map[string]any{"mediaFileId": v2.ID})
	ac := alice.waitFor("addComments", func(c *pb.ServerToClientCmd) bool { return c.GetAddComments() != nil }).GetAddComments()
	if len(ac.GetComments()) != 1 || ac.GetComments()[0].GetMediaFileId() != v1.ID || ac.GetComments()[0].GetComment() != "too long in cut 1" {
		t.Errorf("other versions' comments: %v", ac)
	}

	// A media file in no stack says nothing of stacks, for Clapshot's client.
	alice.send("openMediaFile", map[string]any{"mediaFileId": voice.ID})
	if om := alice.waitFor("openMediaFile", func(c *pb.ServerToClientCmd) bool { return c.GetOpenMediaFile() != nil }); om.GetOpenMediaFile().GetMediaFile().VersionStack != nil {
		t.Errorf("a plain file has a stack: %v", om)
	}
}

// A collab room carries the compare view (our extension) like the rest of
// its state: to every member, and to a late joiner; bad values are refused.
func TestCollabMirrorsCompare(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	s.addMedia("aaaa0002", "alice", "video")
	alice, bob := s.dial("alice"), s.dial("bob")
	alice.openMedia("aaaa0001")
	alice.send("joinCollab", map[string]any{"collabId": "cmp", "mediaFileId": "aaaa0001"})
	alice.expectMsg(pb.UserMessage_OK, "joined")
	alice.send("collabReport", map[string]any{"paused": true, "seekTimeSec": 2.5,
		"compareMediaFileId": "aaaa0002", "compareMode": "wipe", "wipePosition": 0.25})
	ev := alice.expectCollabEvent()
	if ev.GetCompareMediaFileId() != "aaaa0002" || ev.GetCompareMode() != "wipe" || ev.GetWipePosition() != 0.25 {
		t.Errorf("event: %v", ev)
	}
	bob.openMedia("aaaa0001")
	bob.send("joinCollab", map[string]any{"collabId": "cmp", "mediaFileId": "aaaa0001"})
	late := bob.waitFor("the room's state", func(c *pb.ServerToClientCmd) bool { return c.GetCollabEvent() != nil }).GetCollabEvent()
	if late.GetCompareMediaFileId() != "aaaa0002" || late.GetCompareMode() != "wipe" || late.GetWipePosition() != 0.25 || late.GetSeekTimeSec() != 2.5 {
		t.Errorf("late joiner: %v", late)
	}
	for _, bad := range []map[string]any{{"compareMode": "overlay"}, {"compareMode": "wipe", "wipePosition": 1.5}} {
		bad["paused"], bad["seekTimeSec"] = true, 1
		alice.send("collabReport", bad)
		alice.waitFor("the refusal", userMsg(pb.UserMessage_ERROR, "Cmd 'CollabReport' failed"))
	}
}
