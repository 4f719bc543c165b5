package review_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
)

// A comment event from another server instance reaches this instance's
// watchers of the file: the comment it carries (no database read), or,
// from an older instance that sends only the id, the comment read from
// the shared database. An event that does not agree with itself, or
// names a comment that is gone, shows nothing.
func TestPeerCommentEvents(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	ctx := context.Background()
	stored, err := s.app.DB.InsertComment(ctx, store.Comment{MediaFileID: "aaaa0001", UserID: new("alice"),
		UsernameIfNull: "Alice", Comment: "as stored"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.dial("alice")
	c.openMedia("aaaa0001")
	carried := stored
	carried.Comment = "as carried" // the database says otherwise: the event's copy is shown

	tests := []struct {
		name  string
		event map[string]any
		want  string // the comment text shown; "" for nothing
	}{
		{"carries the comment", map[string]any{"op": "add", "m": "aaaa0001", "id": stored.ID, "c": carried}, "as carried"},
		{"id only (older instance)", map[string]any{"op": "add", "m": "aaaa0001", "id": stored.ID}, "as stored"},
		{"carried comment of another file", map[string]any{"op": "add", "m": "aaaa0001", "id": stored.ID,
			"c": store.Comment{ID: stored.ID, MediaFileID: "ffff0001", Comment: "elsewhere"}}, ""},
		{"id of a deleted comment", map[string]any{"op": "add", "m": "aaaa0001", "id": stored.ID + 1000}, ""},
		{"no media file", map[string]any{"op": "add", "id": stored.ID}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			s.app.Review.PeerComment(ctx, data)
			if tc.want == "" {
				c.quiet()
				return
			}
			cs := c.expect("addComments").GetAddComments().GetComments()
			if len(cs) != 1 || cs[0].GetComment() != tc.want {
				t.Fatalf("shown %v, want one comment %q", cs, tc.want)
			}
		})
	}
	s.app.Review.PeerComment(ctx, []byte(`{"op":"del","m":"aaaa0001","id":`+jsonInt(stored.ID)+`}`))
	if id := c.expect("delComment").GetDelComment().GetCommentId(); id != jsonInt(stored.ID) {
		t.Fatalf("deleted comment %q, want %d", id, stored.ID)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
