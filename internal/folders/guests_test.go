package folders_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// postShare makes a share link as user; it returns the status and token.
func postShare(t *testing.T, s *server, user string, body map[string]any) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+"/api/shares", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Remote-User-Id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Token string
		Error string
	}
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Token, out.Error
}

// A link to a folder: its guests see the folder and the folders below it,
// read only, through the organizer; nothing outside it; and only the
// folder's owner (or an admin) can share it.
func TestFolderShareLink(t *testing.T) { eachBackend(t, testFolderShareLink) }

func testFolderShareLink(t *testing.T, b backend) {
	dir := shortDir(t)
	// With a URL base, media URLs are absolute: a guest's must be below
	// the link all the same.
	s := startWithFixture(t, dir, b, "--url-base", "https://review.example.com/clap")
	c := s.dial(t, "user.num1", "User Number1", false)
	send(t, c, wsclient.OpenNavigationPage(""))
	l := listing(nextPage(t, c))
	homeID := l.GetListingData()["folder_id"]
	home := l.GetListingData()
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Shared"}))
	sharedID := folderID(t, listing(nextPage(t, c)), "Shared")
	send(t, c, wsclient.MoveToFolder(sharedID, []*pb.FolderItemID{wsclient.Media("B1DE0")}, home))
	nextPage(t, c)
	send(t, c, wsclient.OrganizerCmd("open_folder", map[string]any{"id": sharedID}))
	nextPage(t, c)
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Sub"}))
	subID := folderID(t, listing(nextPage(t, c)), "Sub")
	send(t, c, wsclient.MoveToFolder(subID, []*pb.FolderItemID{wsclient.Media("B1DE4")}, home))
	nextPage(t, c)
	for _, id := range []string{"B1DE0", "B1DE4", "22222"} {
		os.WriteFile(filepath.Join(dir, "videos", id, "video.mp4"), []byte("video of "+id), 0o644)
	}

	if code, _, msg := postShare(t, s, "user.num2", map[string]any{"folder_id": sharedID, "permission": "view"}); code != 403 || !strings.Contains(msg, "no longer its sharer's") {
		t.Errorf("another user shares the folder: %d %q", code, msg)
	}
	if code, _, msg := postShare(t, s, "user.num1", map[string]any{"folder_id": "99999", "permission": "view"}); code != 403 || !strings.Contains(msg, "no longer exists") {
		t.Errorf("a folder that does not exist: %d %q", code, msg)
	}
	code, tok, msg := postShare(t, s, "user.num1", map[string]any{"folder_id": sharedID, "folder_title": "Shared", "permission": "comment"})
	if code != 201 {
		t.Fatalf("share the folder: %d %q", code, msg)
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	linkURL := s.base + "/s/" + tok + "/"
	resp, err := hc.Post(linkURL+"api/guest", "application/json", strings.NewReader(`{"name":"Ann"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("join: %v %v", resp, err)
	}
	resp.Body.Close()
	u, _ := url.Parse(linkURL)
	h := http.Header{}
	for _, ck := range jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := wsclient.DialURL(ctx, "ws"+strings.TrimPrefix(linkURL, "http")+"api/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	// The organizer defines no actions for guests.
	if m, _, err := g.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetWelcome() != nil }); err != nil || m.GetWelcome().GetUser().GetName() != "Ann (guest)" {
		t.Fatalf("welcome %v %v", m, err)
	}

	send(t, g, wsclient.OpenNavigationPage(""))
	p := nextPage(t, g)
	gl := listing(p)
	if got := sortedCopy(names(gl)); !slices.Equal(got, []string{"B1DE0", "folder:Sub"}) || gl.GetAllowUpload() || gl.GetAllowReordering() || len(gl.GetPopupActions()) != 0 {
		t.Errorf("guest's page: %v upload=%v reorder=%v actions=%v", got, gl.GetAllowUpload(), gl.GetAllowReordering(), gl.GetPopupActions())
	}
	for _, it := range gl.GetItems() {
		if len(it.GetPopupActions()) != 0 {
			t.Errorf("item actions for a guest: %v", it.GetPopupActions())
		}
		if m := it.GetMediaFile(); m != nil && (!strings.HasPrefix(m.GetPlaybackUrl(), "https://review.example.com/clap/s/"+tok+"/videos/") || m.OrigUrl != nil) {
			t.Errorf("guest's media URLs: playback %q, original %q", m.GetPlaybackUrl(), m.GetOrigUrl())
		}
	}
	if strings.Contains(html(p), "Home") || !strings.Contains(html(p), "Shared") {
		t.Errorf("guest's heading %q", html(p))
	}
	send(t, g, wsclient.OrganizerCmd("open_folder", map[string]any{"id": subID}))
	p = nextPage(t, g)
	if got := names(listing(p)); !slices.Equal(got, []string{"B1DE4"}) || p.GetPageId() != sharedID+"."+subID || !strings.Contains(html(p), ">Shared</a>") {
		t.Errorf("Sub for the guest: %v, page id %q, %q", got, p.GetPageId(), html(p))
	}
	// The page id of a reload: the same folder; one outside: the shared one.
	send(t, g, wsclient.OpenNavigationPage(sharedID+"."+subID))
	if got := names(listing(nextPage(t, g))); !slices.Equal(got, []string{"B1DE4"}) {
		t.Errorf("reload of Sub: %v", got)
	}
	send(t, g, wsclient.OpenNavigationPage(homeID))
	if got := sortedCopy(names(listing(nextPage(t, g)))); !slices.Equal(got, []string{"B1DE0", "folder:Sub"}) {
		t.Errorf("page id of the owner's home: %v", got)
	}

	refused := func(what string, cmd *pb.ClientToServerCmd, want string) {
		t.Helper()
		send(t, g, cmd)
		if _, skipped, err := g.Wait(ctx, 10*time.Second, wsclient.Message(want)); err != nil {
			t.Errorf("%s: %v", what, err)
		} else if slices.ContainsFunc(skipped, wsclient.Page) {
			t.Errorf("%s: a page came: %s", what, wsclient.Describe(skipped))
		}
	}
	refused("open the owner's home", wsclient.OrganizerCmd("open_folder", map[string]any{"id": homeID}), "not in the shared folder")
	refused("make a folder", wsclient.OrganizerCmd("new_folder", map[string]string{"name": "x"}), "Guests cannot new folder")
	refused("move items", wsclient.MoveToFolder(subID, []*pb.FolderItemID{wsclient.Media("B1DE0")}, nil), "Permission denied: move items")
	refused("open a file outside", wsclient.OpenMediaFile("22222"), "not in the shared folder")
	refused("comment outside", wsclient.AddComment("22222", "x"), "not in the shared folder")

	send(t, g, wsclient.OpenMediaFile("B1DE4"))
	if m, _, err := g.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil }); err != nil ||
		m.GetOpenMediaFile().GetMediaFile().GetId() != "B1DE4" || m.GetOpenMediaFile().GetMediaFile().OrigUrl != nil {
		t.Errorf("open a file below the shared folder: %v %v", m, err)
	}
	send(t, g, wsclient.AddComment("B1DE4", "from a guest"))
	if _, _, err := g.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool {
		cs := m.GetAddComments().GetComments()
		return len(cs) == 1 && cs[0].GetUsernameIfnull() == "Ann (guest)"
	}); err != nil {
		t.Errorf("comment in the shared folder: %v", err)
	}
	for _, m := range []struct {
		id   string
		want int
	}{{"B1DE0", 200}, {"B1DE4", 200}, {"22222", 404}} {
		resp, err := hc.Get(linkURL + "videos/" + m.id + "/video.mp4")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != m.want {
			t.Errorf("media %s for the guest: %d", m.id, resp.StatusCode)
		}
	}
}
