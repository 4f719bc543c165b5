package review_test

import (
	"strings"
	"testing"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Comment notifications in the app reach only the user they are for, and
// not while that user watches the file (the comment arrives in the list
// anyway): another watcher never sees someone else's notification.
func TestCommentNotificationsArePersonal(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	alice := s.dial("alice") // the owner, on the home page
	bob := s.dial("bob")
	carol := s.dial("carol")
	dave := s.dial("dave") // watches, not mentioned
	for _, u := range []string{"carol", "dave"} {
		if err := s.app.DB.EnsureUser(t.Context(), u, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client{bob, carol, dave} {
		c.send("openMediaFile", map[string]any{"mediaFileId": "aaaa0001"})
		c.expect("openMediaFile")
		c.expect("addComments")
	}

	bob.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "@carol see the logo", "timecode": "00:00:01:05"})
	for _, c := range []*client{bob, carol, dave} {
		c.expect("addComments")
	}
	m := alice.expectMsg(pb.UserMessage_OK, `Name of bob commented on "Clip aaaa0001"`)
	if m.GetUserId() != "alice" || m.GetRefs().GetMediaFileId() != "aaaa0001" || m.GetRefs().GetCommentId() == "" || m.GetDetails() != "@carol see the logo" {
		t.Errorf("alice's notification: %v", m)
	}
	// carol is mentioned but watching; dave and bob are not concerned.
	for _, c := range []*client{bob, carol, dave} {
		c.quiet()
	}

	// carol leaves (a new session on the home page): a mention now reaches
	// her message list.
	carol.conn.CloseNow()
	carol = s.dial("carol")
	dave.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "agree, @carol"})
	bob.expect("addComments")
	dave.expect("addComments")
	m = carol.expectMsg(pb.UserMessage_OK, "Name of dave mentioned you")
	if !strings.Contains(m.GetDetails(), "agree") {
		t.Errorf("carol's notification: %v", m)
	}
	alice.expectMsg(pb.UserMessage_OK, "Name of dave commented")
	bob.quiet()
	dave.quiet()
}
