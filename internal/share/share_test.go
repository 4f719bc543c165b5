package share_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Owners make, list and revoke links; what they type is checked, and only
// an owner (or an admin) may share a file.
func TestOwnerAPI(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name string
		user string
		body any
		code int
		want string
	}{
		{"no target", "alice", map[string]any{"permission": "view"}, 400, "either media_file_id or folder_id"},
		{"two targets", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "folder_id": "3"}, 400, "either media_file_id or folder_id"},
		{"bad permission", "alice", map[string]any{"permission": "edit", "media_file_id": m.ID}, 400, "must be view, comment or download"},
		{"expiry in the past", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "expires": "2001-01-01T00:00:00Z"}, 400, "in the past"},
		{"expiry not a time", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "expires": "tomorrow"}, 400, "not a time"},
		{"expiry too far", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "expires": "2999-01-01T00:00:00Z"}, 400, "too far"},
		{"short passphrase", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "passphrase": "abc"}, 400, "at least 6"},
		{"label too long", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "label": strings.Repeat("x", 201)}, 400, "at most 200"},
		{"unknown field", "alice", map[string]any{"permission": "view", "media_file_id": m.ID, "token": "mine"}, 400, "unknown field"},
		{"not JSON", "alice", "permission=view", 400, "invalid JSON"},
		{"unknown media file", "alice", map[string]any{"permission": "view", "media_file_id": "nope"}, 404, `no media file "nope"`},
		{"someone else's file", "bob", map[string]any{"permission": "view", "media_file_id": m.ID}, 403, "Permission denied: share media file"},
		{"folder without an organizer", "alice", map[string]any{"permission": "view", "folder_id": "7"}, 403, "needs an organizer"},
		{"a guest id from the proxy", "guest:abc:1", map[string]any{"permission": "view", "media_file_id": m.ID}, 403, "reserved for guests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.api("POST", "/api/shares", tc.user, tc.body)
			if code != tc.code || !strings.Contains(fmt.Sprint(out["error"]), tc.want) {
				t.Errorf("%d %v, want %d %q", code, out, tc.code, tc.want)
			}
		})
	}
	// A form post (what another site could make a browser send) is refused.
	code, _, b := do(t, nil, "POST", e.srv.Base+"/api/shares", nil, userHeader("alice", false))
	if code != http.StatusUnsupportedMediaType {
		t.Errorf("no JSON content type: %d %s", code, b)
	}
	if links, _ := e.db().ListShareLinks(context.Background(), store.ShareLinkFilter{}); len(links) != 0 {
		t.Fatalf("refused requests stored links: %v", links)
	}

	code, out := e.api("POST", "/api/shares", "alice", map[string]any{"media_file_id": m.ID, "permission": "comment",
		"passphrase": "open sesame", "expires": future, "label": " for the agency "})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	link := out["link"].(map[string]any)
	tok := out["token"].(string)
	if link["permission"] != "comment" || link["has_passphrase"] != true || link["label"] != "for the agency" || link["state"] != "active" ||
		link["media_title"] != "Clip aaaa0001" || link["created_by"] != "alice" || link["expires"] == nil {
		t.Errorf("link %v", link)
	}
	// Only hashes are stored: neither the secret nor the passphrase.
	row, err := e.db().GetShareLink(context.Background(), tok[:12])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row.SecretSHA256, tok[12:]) || !strings.HasPrefix(*row.PassphraseHash, "$argon2id$v=19$") || strings.Contains(*row.PassphraseHash, "sesame") {
		t.Errorf("stored %+v", row)
	}
	if e.link("root", map[string]any{"media_file_id": m.ID, "permission": "view"}) == "" {
		t.Fatal("admin cannot share")
	}

	for _, c := range []struct {
		user, query string
		code, n     int
	}{
		{"alice", "?media_file_id=" + m.ID, 200, 2},
		{"alice", "", 200, 1}, // her own
		{"root", "", 200, 2},  // an admin: all
		{"bob", "?media_file_id=" + m.ID, 403, 0},
		{"bob", "", 200, 0},
		{"alice", "?media_file_id=nope", 404, 0},
	} {
		code, out := e.api("GET", "/api/shares"+c.query, c.user, nil)
		links, _ := out["links"].([]any)
		if code != c.code || len(links) != c.n {
			t.Errorf("%s lists %q: %d, %d links (%v)", c.user, c.query, code, len(links), out)
		}
	}

	if code, out := e.api("DELETE", "/api/shares/"+tok[:12], "bob", nil); code != 403 || !strings.Contains(fmt.Sprint(out["error"]), "only the link's maker") {
		t.Errorf("bob revokes: %d %v", code, out)
	}
	if code, out := e.api("DELETE", "/api/shares/nosuchlinkid", "alice", nil); code != 404 {
		t.Errorf("revoke unknown: %d %v", code, out)
	}
	code, out = e.api("DELETE", "/api/shares/"+tok[:12], "alice", nil)
	if code != 200 || out["already_revoked"] != false || out["link"].(map[string]any)["state"] != "revoked" {
		t.Errorf("revoke: %d %v", code, out)
	}
	if code, out = e.api("DELETE", "/api/shares/"+tok[:12], "alice", nil); code != 200 || out["already_revoked"] != true {
		t.Errorf("revoke again: %d %v", code, out)
	}
}

// A guest opens the link, gives a name, watches and comments: the comment
// is "Ann (guest)" with no user id, and the guest sees only the link's
// file, through the link's own URLs.
func TestGuestJourney(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	e.addMedia("bbbb0002", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "comment"})
	g := e.guest(tok)

	code, h, _ := do(t, g.c, "GET", e.srv.Base+"/s/"+tok+"?vid=x", nil, nil)
	if code != http.StatusMovedPermanently || h.Get("Location") != tok+"/?vid=x" {
		t.Errorf("/s/<token>: %d %q", code, h.Get("Location"))
	}
	code, h, _ = g.do("GET", "", nil)
	if code != 200 || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page: %d, Referrer-Policy %q", code, h.Get("Referrer-Policy"))
	}
	code, _, b := g.do("GET", "api/guest", nil)
	var info map[string]any
	json.Unmarshal(b, &info)
	if code != 200 || info["needs_passphrase"] != false || info["permission"] != "comment" || info["kind"] != "media" || info["guest"] != nil {
		t.Errorf("info before joining: %d %s", code, b)
	}
	if strings.Contains(string(b), m.ID) {
		t.Errorf("the media file is named before the guest joined: %s", b)
	}
	if _, err := g.dial(); err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "Enter your name") {
		t.Errorf("websocket before joining: %v", err)
	}
	if code, _, _ := g.do("GET", "videos/"+m.ID+"/video.mp4", nil); code != http.StatusUnauthorized {
		t.Errorf("media before joining: %d", code)
	}
	for _, name := range []string{"", "   ", "!!!", strings.Repeat("a", 61), "Ann\u202e"} {
		if code, _, out := g.join(name, ""); code != 400 {
			t.Errorf("name %q: %d %v", name, code, out)
		}
	}
	code, h, out := g.join("  Ann   Smith ", "")
	self, _ := out["guest"].(map[string]any)
	if code != 200 || self["name"] != "Ann Smith" || self["display_name"] != "Ann Smith (guest)" || self["media_file_id"] != m.ID || self["title"] != "Clip aaaa0001" {
		t.Fatalf("join: %d %v", code, out)
	}
	if sc := h.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || !strings.HasPrefix(sc, "clapshot_share_"+tok[:12]+"=") {
		t.Errorf("cookie %q", sc)
	}

	c, w := g.mustDial()
	if w.GetUser().GetName() != "Ann Smith (guest)" || !strings.HasPrefix(w.GetUser().GetId(), "guest:"+tok[:12]+":") || w.GetIsAdmin() {
		t.Errorf("welcome %v", w)
	}
	got := roundTrip(t, c, wsclient.OpenMediaFile(m.ID))
	var mf *pb.MediaFile
	for _, x := range got {
		if x.GetOpenMediaFile() != nil {
			mf = x.GetOpenMediaFile().GetMediaFile()
		}
	}
	if mf == nil || mf.GetPlaybackUrl() != "videos/"+m.ID+"/video.mp4" || mf.OrigUrl != nil || mf.GetProcessingMetadata().GetFfprobeMetadataAll() != "" {
		t.Fatalf("guest's media file: %v (all: %s)", mf, wsclient.Describe(got))
	}
	got = roundTrip(t, c, wsclient.AddComment(m.ID, "Looks great"))
	var added *pb.Comment
	for _, x := range got {
		if cs := x.GetAddComments().GetComments(); len(cs) == 1 {
			added = cs[0]
		}
	}
	if added == nil || added.GetUsernameIfnull() != "Ann Smith (guest)" || added.GetUserId() != "" {
		t.Fatalf("guest's comment: %v (all: %s)", added, wsclient.Describe(got))
	}
	id, _ := strconv.ParseInt(added.GetId(), 10, 64)
	row, err := e.db().GetComment(context.Background(), id)
	if err != nil || row.UserID != nil || row.UsernameIfNull != "Ann Smith (guest)" {
		t.Errorf("stored comment %+v, %v", row, err)
	}
	if _, err := e.db().GetUser(context.Background(), w.GetUser().GetId()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a guest became a user: %v", err)
	}

	// Media: the link's file through the link's path; not the original
	// (no download permission, and it is transcoded); not another file.
	for _, c := range []struct {
		sub  string
		code int
		body string
	}{
		{"videos/" + m.ID + "/video.mp4", 200, "transcoded " + m.ID},
		{"videos/" + m.ID + "/orig/clip.mov", 404, ""},
		{"videos/bbbb0002/video.mp4", 404, ""},
		{"videos/nosuchid/video.mp4", 404, ""},
		{"videos/" + m.ID + "/../bbbb0002/video.mp4", 0, ""}, // 0: anything but the file
	} {
		code, _, b := g.do("GET", c.sub, nil)
		if c.code == 0 && (code == 200 || strings.Contains(string(b), "transcoded")) || c.code != 0 && code != c.code || (c.body != "" && string(b) != c.body) {
			t.Errorf("%s: %d %q", c.sub, code, b)
		}
	}
	if code, _, b := g.do("GET", "api/health", nil); code != 200 || string(b) != "I'm alive!" {
		t.Errorf("health: %d %q", code, b)
	}
	// The same browser again: it is still the guest, until the link ends.
	code, _, b = g.do("GET", "api/guest", nil)
	if json.Unmarshal(b, &info); code != 200 || info["guest"].(map[string]any)["name"] != "Ann Smith" {
		t.Errorf("info after joining: %d %s", code, b)
	}
}

// Unknown, tampered, malformed, revoked and expired links are refused on
// every route, with one answer for unknown and tampered ones (which
// links exist is not told).
func TestBadLinks(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	good := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view"})
	revoked := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view"})
	expired := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view"})
	// Joined before they stopped working, so the cookie is there too.
	joined := map[string]*guest{}
	for _, tok := range []string{revoked, expired} {
		g := e.guest(tok)
		if code, _, out := g.join("Ann", ""); code != 200 {
			t.Fatalf("join: %d %v", code, out)
		}
		joined[tok] = g
	}
	if code, out := e.api("DELETE", "/api/shares/"+revoked[:12], "alice", nil); code != 200 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	if _, err := e.db().SQL().Exec("UPDATE share_links SET expires = '2020-01-01 00:00:00' WHERE id = ?", expired[:12]); err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	const unknown = "This share link does not exist"
	for _, tc := range []struct {
		name, token string
		code        int
		want        string
	}{
		{"unknown id", "AAAAAAAAAAAA" + good[12:], 404, unknown},
		{"tampered secret", flip(good, 20), 404, unknown},
		{"tampered id", flip(good, 3), 404, unknown},
		{"too short", good[:35], 404, "not a share link"},
		{"too long", good + "A", 404, "not a share link"},
		{"bad characters", good[:30] + "%21%21%21%21%21%21", 404, "not a share link"},
		{"revoked", revoked, 410, "revoked"},
		{"expired", expired, 410, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := joined[tc.token]
			if g == nil {
				g = e.guest(tc.token)
			}
			for _, sub := range []string{"api/guest", "api/health", "api/ws", "videos/" + m.ID + "/video.mp4"} {
				code, _, b := g.do("GET", sub, nil)
				if code != tc.code || !strings.Contains(string(b), tc.want) {
					t.Errorf("GET %s: %d %q, want %d %q", sub, code, b, tc.code, tc.want)
				}
			}
			code, _, b := g.do("POST", "api/guest", map[string]string{"name": "Mallory"})
			if code != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("join: %d %q", code, b)
			}
		})
	}
	if n, _ := e.db().CountShareGuests(context.Background(), []string{good[:12], revoked[:12], expired[:12]}); n[good[:12]] != 0 || n[revoked[:12]] != 1 || n[expired[:12]] != 1 {
		t.Errorf("guests stored for refused joins: %v", n)
	}
}

// Revoking a link, or its expiry, ends its guests' open sessions at once,
// with the reason (close code 1008); reconnecting is refused.
func TestLinkEndClosesSessions(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "comment"})
	other := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "comment"})
	soon := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	expiring := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "comment", "expires": soon.Format(time.RFC3339)})

	open := func(tok string) (*guest, *wsclient.Client) {
		g := e.guest(tok)
		if code, _, out := g.join("Ann", ""); code != 200 {
			t.Fatalf("join: %d %v", code, out)
		}
		c, _ := g.mustDial()
		roundTrip(t, c, wsclient.OpenMediaFile(m.ID))
		return g, c
	}
	closed := func(c *wsclient.Client, want string) {
		t.Helper()
		_, _, err := c.Wait(context.Background(), wait, func(*pb.ServerToClientCmd) bool { return false })
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != want {
			t.Errorf("session end: %v, want 1008 %q", err, want)
		}
	}
	g1, c1 := open(tok)
	_, c1b := open(tok)
	_, c2 := open(other)
	_, c3 := open(expiring)

	start := time.Now()
	code, out := e.api("DELETE", "/api/shares/"+tok[:12], "alice", nil)
	if code != 200 || out["sessions_closed"] != 2.0 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	closed(c1, "This share link has been revoked.")
	closed(c1b, "This share link has been revoked.")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sessions closed %v after the revocation", d)
	}
	if _, err := g1.dial(); err == nil || !strings.Contains(err.Error(), "HTTP 410") {
		t.Errorf("reconnect after revocation: %v", err)
	}
	// Another link's guest is untouched.
	if got := roundTrip(t, c2, wsclient.AddComment(m.ID, "still here")); len(got) == 0 || got[len(got)-1].GetAddComments() == nil {
		t.Errorf("other link's session: %s", wsclient.Describe(got))
	}

	closed(c3, "This share link has expired.")
	if late := time.Since(soon); late > 2*time.Second || late < -100*time.Millisecond {
		t.Errorf("expired session closed %v after the expiry", late)
	}
}

// Wrong passphrases are limited per client and per link: then even the
// right one waits (429 with Retry-After), and the limits are counted
// separately for other clients and other links.
func TestPassphraseBruteForce(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view", "passphrase": "correct horse"})
	attacker := e.guest(tok)
	attacker.ip = "198.51.100.7"

	if code, _, out := attacker.join("Eve", ""); code != 401 || !strings.Contains(fmt.Sprint(out["error"]), "needs a passphrase") {
		t.Errorf("no passphrase: %d %v", code, out)
	}
	for i := range 5 {
		if code, _, out := attacker.join("Eve", fmt.Sprintf("guess %d", i)); code != 401 || out["error"] != "Wrong passphrase." {
			t.Fatalf("guess %d: %d %v", i, code, out)
		}
	}
	code, h, out := attacker.join("Eve", "guess 5")
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != 429 || retry < 1 || retry > 60 || !strings.Contains(fmt.Sprint(out["error"]), "Too many wrong passphrases") {
		t.Errorf("6th guess: %d Retry-After %q %v", code, h.Get("Retry-After"), out)
	}
	if code, _, _ := attacker.join("Eve", "correct horse"); code != 429 {
		t.Errorf("the right passphrase while limited: %d", code)
	}
	// Another client is not held up by this one.
	ann := e.guest(tok)
	ann.ip = "203.0.113.5"
	if code, _, out := ann.join("Ann", "correct horse"); code != 200 {
		t.Errorf("another client: %d %v", code, out)
	}
	// Many clients together are held up by the link's own limit (10).
	for i := range 5 {
		g := e.guest(tok)
		g.ip = fmt.Sprintf("192.0.2.%d", i+1)
		g.join("Eve", "wrong")
	}
	late := e.guest(tok)
	late.ip = "192.0.2.200"
	if code, h, _ := late.join("Bob", "correct horse"); code != 429 || h.Get("Retry-After") == "" {
		t.Errorf("link limit: %d %q", code, h.Get("Retry-After"))
	}
	// Another link is not held up.
	tok2 := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view", "passphrase": "battery staple"})
	g2 := e.guest(tok2)
	g2.ip = "192.0.2.201"
	if code, _, out := g2.join("Bob", "battery staple"); code != 200 {
		t.Errorf("other link: %d %v", code, out)
	}
}

// A guest's request is never a user's, whatever headers and cookies it
// carries; and a user cannot claim a guest's id.
func TestGuestNeverAUser(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	e.addMedia("bbbb0002", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view"})
	g := e.guest(tok)
	if code, _, out := g.join("Ann", ""); code != 200 {
		t.Fatalf("join: %d %v", code, out)
	}
	c, w := g.mustDial("X-Remote-User-Id", "alice", "X-Remote-User-Name", "Alice", "X-Remote-User-Is-Admin", "true",
		"X-Clapshot-Cookies", `{"clapshot_guest_permission":"download","clapshot_guest_media_file":"bbbb0002"}`)
	if w.GetUser().GetId() == "alice" || w.GetIsAdmin() || w.GetUser().GetName() != "Ann (guest)" {
		t.Fatalf("welcome with proxy headers: %v", w)
	}
	got := roundTrip(t, c, wsclient.OpenMediaFile("bbbb0002"))
	if len(got) != 1 || !wsclient.Message("Permission denied")(got[0]) {
		t.Errorf("other file with forged cookies: %s", wsclient.Describe(got))
	}
	got = roundTrip(t, c, wsclient.AddComment(m.ID, "hi"))
	if len(got) != 1 || !wsclient.Message("Permission denied: comment media file")(got[0]) {
		t.Errorf("comment with forged cookies: %s", wsclient.Describe(got))
	}
	if code, _, _ := g.do("GET", "videos/bbbb0002/video.mp4", nil, "X-Remote-User-Id", "alice"); code != 404 {
		t.Errorf("other file's media with proxy headers: %d", code)
	}
	// A user whose proxy id looks like a guest's is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("X-Remote-User-Id", w.GetUser().GetId())
	if _, err := wsclient.DialURL(ctx, "ws"+strings.TrimPrefix(e.srv.Base, "http")+"/api/ws", h); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Errorf("a user with a guest's id: %v", err)
	}
}

// With --url-base, media URLs are absolute; a guest's are below the link,
// the one path a guest can reach.
func TestGuestURLsWithURLBase(t *testing.T) {
	e := start(t, "--url-base", "https://review.example.com/clap")
	m := e.addMedia("aaaa0001", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "download"})
	g := e.guest(tok)
	if code, _, out := g.join("Ann", ""); code != 200 {
		t.Fatalf("join: %d %v", code, out)
	}
	c, _ := g.mustDial()
	base := "https://review.example.com/clap/s/" + tok + "/videos/" + m.ID + "/"
	for _, cmd := range []*pb.ClientToServerCmd{wsclient.OpenMediaFile(m.ID), wsclient.OpenNavigationPage("")} {
		got := roundTrip(t, c, cmd)
		var mf *pb.MediaFile
		for _, x := range got {
			if x.GetOpenMediaFile() != nil {
				mf = x.GetOpenMediaFile().GetMediaFile()
			}
			if items := x.GetShowPage().GetPageItems(); len(items) == 1 {
				mf = items[0].GetFolderListing().GetItems()[0].GetMediaFile()
			}
		}
		if mf == nil || mf.GetPlaybackUrl() != base+"video.mp4" || mf.GetOrigUrl() != base+"orig/clip.mov" {
			t.Errorf("%v: %v", cmd, mf)
		}
	}
}

// Each guest is a row: one client cannot make them without end.
func TestJoinLimit(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "view"})
	bot := e.guest(tok)
	bot.ip = "198.51.100.9"
	for i := range 20 {
		if code, _, out := bot.join(fmt.Sprintf("Bot %d", i), ""); code != 200 {
			t.Fatalf("join %d: %d %v", i, code, out)
		}
	}
	code, h, out := bot.join("Bot 21", "")
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(out["error"]), "Too many guests from this address") {
		t.Errorf("21st join: %d %q %v", code, h.Get("Retry-After"), out)
	}
	ann := e.guest(tok)
	ann.ip = "203.0.113.5"
	if code, _, out := ann.join("Ann", ""); code != 200 {
		t.Errorf("another client: %d %v", code, out)
	}
}

// A link revoked behind the server's back (another process, a restore)
// still ends its guests' sessions: every command checks it first.
func TestRevokedElsewhereEndsAtTheNextCommand(t *testing.T) {
	e := start(t)
	m := e.addMedia("aaaa0001", "alice", true)
	tok := e.link("alice", map[string]any{"media_file_id": m.ID, "permission": "comment"})
	g := e.guest(tok)
	if code, _, out := g.join("Ann", ""); code != 200 {
		t.Fatalf("join: %d %v", code, out)
	}
	c, _ := g.mustDial()
	if _, err := e.db().SQL().Exec("UPDATE share_links SET revoked = '2026-01-01 00:00:00' WHERE id = ?", tok[:12]); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), wsclient.AddComment(m.ID, "too late")); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Wait(context.Background(), wait, func(*pb.ServerToClientCmd) bool { return false })
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "This share link has been revoked." {
		t.Errorf("session end: %v", err)
	}
	for _, m := range got {
		if m.GetAddComments() != nil {
			t.Errorf("the comment went through: %s", wsclient.Describe(got))
		}
	}
	if cs, _ := e.db().ListCommentsByMediaFile(context.Background(), m.ID, store.All); len(cs) != 0 {
		t.Errorf("%d comments stored", len(cs))
	}
}
