package review_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/review/render"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func TestWelcomeAndUserRow(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()

	h := http.Header{}
	h.Set("X-Remote-User-Id", "alice")
	h.Set("X-Remote-User-Name", "Alice A.")
	c := s.dialRaw(h)
	w := c.expect("welcome").GetWelcome()
	if w.User.Id != "alice" || w.User.Name != "Alice A." || w.IsAdmin || w.ServerVersion != "0.8.2" {
		t.Errorf("welcome: %v", w)
	}
	acts := c.expect("defineActions").GetDefineActions().GetActions()
	for _, name := range []string{render.ActionRename, render.ActionTrash} {
		a := acts[name]
		if a == nil || a.GetAction().GetCode() == "" || a.GetUiProps().GetLabel() == "" {
			t.Errorf("action %s: %v", name, a)
		}
	}
	if u, err := s.app.DB.GetUser(ctx, "alice"); err != nil || u.Name != "Alice A." {
		t.Errorf("user row: %+v, %v", u, err)
	}

	// The name is updated at every connect; "admin" is admin without the
	// header, and the header decides when present.
	h.Set("X-Remote-User-Name", "Alice Renamed")
	s.dialRaw(h).expect("welcome")
	if u, _ := s.app.DB.GetUser(ctx, "alice"); u.Name != "Alice Renamed" {
		t.Errorf("name not updated: %q", u.Name)
	}
	for _, tc := range []struct {
		id, adminHdr string
		want         bool
	}{{"admin", "", true}, {"admin", "false", false}, {"bob", "1", true}, {"bob", "TRUE", true}, {"bob", "yes", false}} {
		h := http.Header{}
		h.Set("X-Remote-User-Id", tc.id)
		if tc.adminHdr != "" {
			h.Set("X-Remote-User-Is-Admin", tc.adminHdr)
		}
		if got := s.dialRaw(h).expect("welcome").GetWelcome().IsAdmin; got != tc.want {
			t.Errorf("%s admin=%q: isAdmin %v", tc.id, tc.adminHdr, got)
		}
	}

	// No headers: the default user, named after its id.
	anon := s.dialRaw(http.Header{}).expect("welcome").GetWelcome()
	if anon.User.Id != "anonymous" || anon.User.Name != "anonymous" {
		t.Errorf("default user: %v", anon.User)
	}
}

func TestNavigationPage(t *testing.T) {
	s := startServer(t)
	c := s.dial("alice")

	c.send("openNavigationPage", map[string]any{})
	p := c.expect("showPage").GetShowPage()
	if p.GetPageTitle() != "Your Media" || p.PageId != nil || len(p.PageItems) != 2 ||
		p.PageItems[0].GetHtml() != "<h2>You have no media yet.</h2>" || len(p.PageItems[1].GetFolderListing().GetItems()) != 0 {
		t.Errorf("empty page: %v", p)
	}

	s.addMedia("aaaa0001", "alice", "video")
	s.addMedia("aaaa0002", "alice", "audio")
	s.addMedia("bbbb0001", "bob", "video")
	c.send("openNavigationPage", map[string]any{"pageId": "some/page"})
	p = c.expect("showPage").GetShowPage()
	if p.GetPageId() != "some/page" || p.PageItems[0].GetHtml() != "<h2>All your media files</h2>" {
		t.Errorf("page: %v", p)
	}
	fl := p.PageItems[1].GetFolderListing()
	if !fl.AllowUpload || fl.AllowReordering || len(fl.Items) != 2 {
		t.Fatalf("listing: %v", fl)
	}
	// Newest first (added in order, the same second: then by id).
	icons := map[string]string{}
	for _, it := range fl.Items {
		mf := it.GetMediaFile()
		if mf.UserId != "alice" {
			t.Errorf("someone else's media listed: %v", mf)
		}
		if it.GetOpenAction().GetCode() != `clapshot.openMediaFile("`+mf.Id+`")` ||
			strings.Join(it.PopupActions, ",") != "popup_builtin_rename,popup_builtin_trash" {
			t.Errorf("item actions: %v", it)
		}
		if mf.GetProcessingMetadata().FfprobeMetadataAll != nil {
			t.Errorf("raw metadata in the listing")
		}
		icons[mf.Id] = it.GetVis().GetIcon().GetFaClass().GetClasses()
	}
	if icons["aaaa0001"] != "fas fa-video" || icons["aaaa0002"] != "fas fa-volume-high" {
		t.Errorf("icons: %v", icons)
	}
}

func TestOpenMediaFileAndComments(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	alice := s.dial("alice")
	bob := s.dial("bob")
	carol := s.dial("carol") // not watching

	alice.send("openMediaFile", map[string]any{"mediaFileId": "nope0000"})
	m := alice.expectMsg(pb.UserMessage_ERROR, "No such media file.")
	if m.GetRefs().GetMediaFileId() != "nope0000" {
		t.Errorf("refs: %v", m.Refs)
	}

	for _, c := range []*client{alice, bob} {
		c.send("openMediaFile", map[string]any{"mediaFileId": "aaaa0001"})
		mf := c.expect("openMediaFile").GetOpenMediaFile().GetMediaFile()
		if mf.Id != "aaaa0001" || mf.GetPlaybackUrl() != "videos/aaaa0001/orig/clip%20aaaa0001.mp4" ||
			mf.GetDuration().GetTotalFrames() != 300 || mf.GetTitle() != "Clip aaaa0001" {
			t.Errorf("openMediaFile: %v", mf)
		}
		if n := len(c.expect("addComments").GetAddComments().GetComments()); n != 0 {
			t.Errorf("comments: %d", n)
		}
	}

	// A comment with a drawing: stored as a file, sent inlined to every
	// watcher (and not to carol, who does not watch).
	bob.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "Hello", "timecode": "00:00:01:05", "drawing": webpURL})
	var id string
	for _, c := range []*client{alice, bob} {
		cs := c.expect("addComments").GetAddComments().GetComments()
		if len(cs) != 1 || cs[0].Comment != "Hello" || cs[0].GetUserId() != "bob" || cs[0].UsernameIfnull != "Name of bob" ||
			cs[0].GetTimecode() != "00:00:01:05" || !strings.HasPrefix(cs[0].GetDrawing(), "data:image/webp;base64,") ||
			strings.HasSuffix(cs[0].GetDrawing(), "=") || cs[0].Created == nil {
			t.Fatalf("%s got %v", c.name, cs)
		}
		id = cs[0].Id
	}
	carol.quiet()
	stored, err := s.app.DB.ListCommentsByMediaFile(context.Background(), "aaaa0001", struct{ Num, Size int }{})
	if err != nil || len(stored) != 1 || len(*stored[0].Drawing) != 16+5 {
		t.Fatalf("stored: %+v, %v", stored, err)
	}

	// A reply, then the parent cannot be deleted; edit is delComment +
	// addComments to the watchers.
	alice.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "a reply", "parentId": id})
	reply := alice.expect("addComments").GetAddComments().GetComments()[0]
	bob.expect("addComments")
	if reply.GetParentId() != id || reply.Drawing != nil {
		t.Errorf("reply: %v", reply)
	}
	bob.send("delComment", map[string]any{"commentId": id})
	msg := bob.expectMsg(pb.UserMessage_ERROR, "Failed to delete comment.")
	if msg.GetDetails() != "Comment has replies. Cannot delete." {
		t.Errorf("details %q", msg.GetDetails())
	}
	bob.send("editComment", map[string]any{"commentId": id, "newComment": "Hello again"})
	for _, c := range []*client{alice, bob} {
		if got := c.expect("delComment").GetDelComment().GetCommentId(); got != id {
			t.Errorf("delComment %q", got)
		}
		cs := c.expect("addComments").GetAddComments().GetComments()
		if cs[0].Comment != "Hello again" || cs[0].Edited == nil || !strings.HasPrefix(cs[0].GetDrawing(), "data:") {
			t.Errorf("edited: %v", cs[0])
		}
	}
	alice.send("delComment", map[string]any{"commentId": reply.Id})
	for _, c := range []*client{alice, bob} {
		c.expect("delComment")
	}
	bob.send("delComment", map[string]any{"commentId": id})
	for _, c := range []*client{alice, bob} {
		c.expect("delComment")
	}

	// Reopening shows what is left: nothing.
	alice.send("openMediaFile", map[string]any{"mediaFileId": "aaaa0001"})
	alice.expect("openMediaFile")
	if n := len(alice.expect("addComments").GetAddComments().GetComments()); n != 0 {
		t.Errorf("%d comments left", n)
	}
	carol.quiet()
}
