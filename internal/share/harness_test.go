package share_test

// The tests run the whole server (internal/app) on loopback with a real
// SQLite file: owners use /api/shares with the proxy's identity headers,
// guests come in through /s/<token>/ with a cookie jar, as browsers do.

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
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/servertest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

type env struct {
	t   *testing.T
	srv *servertest.TestServer
	dir string
}

func start(t *testing.T, args ...string) *env {
	t.Helper()
	dir := servertest.ShortDir(t)
	srv, err := servertest.StartServer(t, dir, append([]string{"--host", "127.0.0.1"}, args...))
	if err != nil {
		t.Fatalf("start: %v\n%s", err, srv.Log)
	}
	return &env{t: t, srv: srv, dir: dir}
}

func (e *env) db() *store.DB { return e.srv.App.DB }

// addMedia adds a media file owned by owner: its row, its original and,
// when transcoded, video.mp4 and a recompression time.
func (e *env) addMedia(id, owner string, transcoded bool) store.MediaFile {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db().EnsureUser(ctx, owner, ""); err != nil {
		e.t.Fatal(err)
	}
	m := store.MediaFile{ID: id, UserID: owner, OrigFilename: new("clip.mov"), Title: new("Clip " + id),
		MediaType: new("video"), Duration: new(2.0), TotalFrames: new(int64(50)), FPS: new("25"), RawMetadataAll: new(`{"gps":"60.1,24.9"}`)}
	if transcoded {
		m.RecompressionDone = new(time.Now().UTC())
	}
	if err := e.db().InsertMediaFile(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	vdir := filepath.Join(e.dir, "videos", id)
	if err := os.MkdirAll(filepath.Join(vdir, "orig"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(vdir, "orig", "clip.mov"), []byte("original of "+id), 0o644)
	if transcoded {
		os.WriteFile(filepath.Join(vdir, "video.mp4"), []byte("transcoded "+id), 0o644)
	}
	got, err := e.db().GetMediaFile(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// do sends a request with a JSON body (nil: none) and returns the status,
// headers and body.
func do(t *testing.T, c *http.Client, method, u string, body any, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c == nil {
		c = &http.Client{}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func userHeader(user string, admin bool) http.Header {
	h := http.Header{}
	h.Set("X-Remote-User-Id", user)
	if admin {
		h.Set("X-Remote-User-Is-Admin", "true")
	}
	return h
}

// api calls the owners' API as user and decodes the JSON answer.
func (e *env) api(method, path, user string, body any) (int, map[string]any) {
	e.t.Helper()
	code, _, b := do(e.t, nil, method, e.srv.Base+path, body, userHeader(user, user == "root"))
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("%s %s: not JSON (%d): %s", method, path, code, b)
	}
	return code, out
}

// link makes a share link as user and returns its token.
func (e *env) link(user string, req map[string]any) string {
	e.t.Helper()
	code, out := e.api("POST", "/api/shares", user, req)
	if code != http.StatusCreated {
		e.t.Fatalf("create link %v: %d %v", req, code, out)
	}
	tok, _ := out["token"].(string)
	if out["path"] != "s/"+tok+"/" || len(tok) != 36 {
		e.t.Fatalf("created %v", out)
	}
	return tok
}

// guest is a browser opening a link: its own cookies, and optionally a
// client address its (trusted, loopback) proxy reports.
type guest struct {
	e     *env
	token string
	c     *http.Client
	ip    string
}

func (e *env) guest(token string) *guest {
	jar, _ := cookiejar.New(nil)
	return &guest{e: e, token: token, c: &http.Client{Jar: jar}}
}

func (g *guest) url(sub string) string { return g.e.srv.Base + "/s/" + g.token + "/" + sub }

func (g *guest) do(method, sub string, body any, header ...string) (int, http.Header, []byte) {
	g.e.t.Helper()
	h := http.Header{}
	if g.ip != "" {
		h.Set("X-Real-IP", g.ip)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return do(g.e.t, g.c, method, g.url(sub), body, h)
}

// join gives the name (and passphrase) on the link's page.
func (g *guest) join(name, passphrase string) (int, http.Header, map[string]any) {
	g.e.t.Helper()
	code, h, b := g.do("POST", "api/guest", map[string]string{"name": name, "passphrase": passphrase})
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		g.e.t.Fatalf("join: not JSON (%d): %s", code, b)
	}
	return code, h, out
}

// dial opens the guest's websocket with its cookies (and extra headers).
func (g *guest) dial(extra ...string) (*wsclient.Client, error) {
	h := http.Header{}
	u, _ := url.Parse(g.url("api/ws"))
	for _, c := range g.c.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Add(extra[i], extra[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.DialURL(ctx, "ws"+strings.TrimPrefix(g.url("api/ws"), "http"), h)
	if err == nil {
		g.e.t.Cleanup(c.Close)
	}
	return c, err
}

// mustDial dials and reads the welcome.
func (g *guest) mustDial(extra ...string) (*wsclient.Client, *pb.ServerToClientCmd_Welcome) {
	g.e.t.Helper()
	c, err := g.dial(extra...)
	if err != nil {
		g.e.t.Fatal(err)
	}
	w, skipped, err := c.Wait(context.Background(), 10*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetWelcome() != nil })
	if err != nil {
		g.e.t.Fatalf("welcome: %v %s", err, wsclient.Describe(skipped))
	}
	if _, skipped, err := c.Wait(context.Background(), 10*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetDefineActions() != nil }); err != nil {
		g.e.t.Fatalf("defineActions: %v %s", err, wsclient.Describe(skipped))
	}
	return c, w.GetWelcome()
}

const wait = 10 * time.Second

// roundTrip sends cmd, then listMyMessages, and returns everything that
// came back before the answer to the latter (for a guest: an empty
// message list), so that a test sees all of cmd's effects.
func roundTrip(t *testing.T, c *wsclient.Client, cmd *pb.ClientToServerCmd) []*pb.ServerToClientCmd {
	t.Helper()
	ctx := context.Background()
	if err := c.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	marker := &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_ListMyMessages_{ListMyMessages: &pb.ClientToServerCmd_ListMyMessages{}}}
	if err := c.Send(ctx, marker); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Wait(ctx, wait, func(m *pb.ServerToClientCmd) bool {
		sm := m.GetShowMessages()
		return sm != nil && len(sm.GetMsgs()) == 0
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
