package packaging_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clapshot-go/clapshot/packaging"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// These tests use the whole path a browser takes: nginx from Debian with the
// shipped basic-auth example, then the server, on loopback.

// makeClip encodes a short test video with ffmpeg. noise makes it large
// (about 1 MB per second) and different every time.
func makeClip(t *testing.T, seconds int, noise bool) []byte {
	t.Helper()
	src := "testsrc=size=64x36:rate=10"
	args := []string{"-c:v", "libx264", "-pix_fmt", "yuv420p"}
	if noise {
		src = "nullsrc=s=256x256:r=10,geq=lum='random(1)*255':cb=128:cr=128"
		args = append(args, "-preset", "ultrafast", "-qp", "0")
	}
	out := filepath.Join(scratchDir(t), "clip.mp4")
	cmd := exec.Command("ffmpeg", append(append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src,
		"-t", strconv.Itoa(seconds)}, args...), "-movflags", "+faststart", "-y", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func password(user string) string {
	for _, u := range demoUsers {
		if u[0] == user {
			return u[1]
		}
	}
	return ""
}

// request sends a request through nginx as user, with the page's origin as a
// browser would.
func (p *proxied) request(t *testing.T, method, path, user string, body io.Reader, header http.Header) (int, http.Header, string) {
	t.Helper()
	target, err := url.Parse(p.base)
	if err != nil {
		t.Fatal(err)
	}
	target = target.ResolveReference(&url.URL{Path: path})
	req, err := http.NewRequest(method, target.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Origin", p.base)
	if user != "" {
		req.SetBasicAuth(user, password(user))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// plainUpload posts a file as Clapshot's client does (multipart, field
// "fileupload").
func (p *proxied) plainUpload(t *testing.T, user, name string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("fileupload", name)
	fw.Write(data)
	mw.Close()
	h := http.Header{}
	h.Set("Content-Type", mw.FormDataContentType())
	h.Set("X-Clapshot-Cookies", "{}")
	code, _, text := p.request(t, "POST", "/api/upload", user, &body, h)
	return code, text
}

// tusUpload sends a file with the tus protocol in chunks of chunk bytes.
func (p *proxied) tusUpload(t *testing.T, user, name string, data []byte, chunk int) {
	t.Helper()
	h := http.Header{}
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Upload-Length", strconv.Itoa(len(data)))
	h.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	h.Set("X-Clapshot-Cookies", "{}")
	code, rh, text := p.request(t, "POST", "/api/upload/tus/", user, nil, h)
	if code != http.StatusCreated || rh.Get("Location") == "" {
		t.Fatalf("tus creation through nginx: %d %q, Location %q", code, text, rh.Get("Location"))
	}
	loc, err := url.Parse(rh.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); {
		end := min(off+chunk, len(data))
		h := http.Header{}
		h.Set("Tus-Resumable", "1.0.0")
		h.Set("Upload-Offset", strconv.Itoa(off))
		h.Set("Content-Type", "application/offset+octet-stream")
		code, rh, text := p.request(t, "PATCH", loc.Path, user, bytes.NewReader(data[off:end]), h)
		if code != http.StatusNoContent {
			t.Fatalf("tus PATCH at %d through nginx: %d %q", off, code, text)
		}
		if got := rh.Get("Upload-Offset"); got != strconv.Itoa(end) {
			t.Fatalf("tus PATCH: Upload-Offset %q, want %d", got, end)
		}
		off = end
	}
}

// wsClient is a websocket session speaking Clapshot's JSON protocol.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialWS opens /api/ws at base, as user through nginx (basic auth), or with
// the given headers directly. localIP, if not "", is the address the
// connection comes from.
func dialWS(t *testing.T, base, user string, header http.Header, localIP string) *wsClient {
	t.Helper()
	conn, status, err := tryDialWS(base, user, header, localIP)
	if err != nil {
		t.Fatalf("websocket to %s as %q: %v (HTTP %d)", base, user, err, status)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func tryDialWS(base, user string, header http.Header, localIP string) (*websocket.Conn, int, error) {
	if header == nil {
		header = http.Header{}
	}
	header.Set("Origin", base)
	if user != "" {
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password(user))))
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if localIP != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws",
		&websocket.DialOptions{HTTPHeader: header, HTTPClient: client})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if err != nil {
		return nil, status, err
	}
	conn.SetReadLimit(64 << 20)
	return conn, status, nil
}

func (c *wsClient) send(cmd string, args string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(`{"`+cmd+`":`+args+`}`)); err != nil {
		c.t.Fatalf("send %s: %v", cmd, err)
	}
}

// expect reads messages until one of the given command (the oneof's JSON
// name), skipping others.
func (c *wsClient) expect(cmd string) *pb.ServerToClientCmd {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", cmd, err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(b), []byte(`{"`+cmd+`"`)) {
			continue
		}
		var m pb.ServerToClientCmd
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &m); err != nil {
			c.t.Fatalf("%s: %v\n%s", cmd, err, b)
		}
		return &m
	}
}

// listedMedia is the owners of the media on the user's navigation page.
func (c *wsClient) listedMedia() map[string]string {
	c.send("openNavigationPage", "{}")
	owners := map[string]string{}
	for _, it := range c.expect("showPage").GetShowPage().GetPageItems() {
		for _, fi := range it.GetFolderListing().GetItems() {
			if mf := fi.GetMediaFile(); mf != nil {
				owners[mf.GetId()] = mf.GetUserId()
			}
		}
	}
	return owners
}

// waitListed polls the navigation page until it lists n media files.
func (c *wsClient) waitListed(n int) map[string]string {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		m := c.listedMedia()
		if len(m) >= n || time.Now().After(deadline) {
			return m
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestThroughNginxBasicAuth(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	// Identity headers are believed from 127.0.0.1 only (nginx), so that a
	// client on 127.0.0.2 stands for one that bypasses nginx.
	p := startProxied(t, packaging.ExampleBasicAuth, "", "--trusted-proxies", "127.0.0.1/32", "--poll", "0.5")

	t.Run("identity and admin flag over the websocket", func(t *testing.T) {
		for _, tc := range []struct {
			user  string
			admin bool
		}{{"alice", false}, {"demo", false}, {"admin", true}} {
			w := dialWS(t, p.base, tc.user, nil, "").expect("welcome").GetWelcome()
			if w.GetUser().GetId() != tc.user || w.GetUser().GetName() != tc.user || w.GetIsAdmin() != tc.admin {
				t.Errorf("%s: welcome user %v, admin %v; want admin %v", tc.user, w.GetUser(), w.GetIsAdmin(), tc.admin)
			}
		}
		// Headers a logged-in user makes up are replaced by nginx's.
		h := http.Header{}
		h.Set("X-Remote-User-Id", "admin")
		h.Set("X-Remote-User-Is-Admin", "1")
		h.Set("X_Remote_User_Id", "admin")
		w := dialWS(t, p.base, "alice", h, "").expect("welcome").GetWelcome()
		if w.GetUser().GetId() != "alice" || w.GetIsAdmin() {
			t.Errorf("alice claiming admin through nginx: %v admin=%v", w.GetUser(), w.GetIsAdmin())
		}
	})

	t.Run("bypassing nginx", func(t *testing.T) {
		// Identity headers straight to the server from 127.0.0.2 (not a
		// trusted proxy) are refused, not believed.
		h := http.Header{}
		h.Set("X-Remote-User-Id", "admin")
		h.Set("X-Remote-User-Name", "admin")
		h.Set("X-Remote-User-Is-Admin", "1")
		if conn, status, _ := tryDialWS(p.direct, "", h, "127.0.0.2"); conn != nil || status != http.StatusForbidden {
			if conn != nil {
				conn.CloseNow()
			}
			t.Errorf("websocket with identity headers from 127.0.0.2: HTTP %d, want 403", status)
		}
		p.server.waitOutput(t, "identity headers from an untrusted address")
		// Without the headers it is the default user, never an admin.
		w := dialWS(t, p.direct, "", nil, "127.0.0.2").expect("welcome").GetWelcome()
		if w.GetUser().GetId() != "anonymous" || w.GetIsAdmin() {
			t.Errorf("direct connection from 127.0.0.2: %v admin=%v", w.GetUser(), w.GetIsAdmin())
		}
	})

	t.Run("uploads and per-user listing", func(t *testing.T) {
		if code, text := p.plainUpload(t, "alice", "alice.mp4", makeClip(t, 1, false)); code != 200 || text != "Ok" {
			t.Fatalf("plain upload as alice through nginx: %d %q", code, text)
		}
		p.tusUpload(t, "demo", "demo.mp4", makeClip(t, 2, false), 1024)
		if code, text := p.plainUpload(t, "", "anon.mp4", []byte("x")); code != 401 {
			t.Errorf("upload without login: %d %q", code, text)
		}

		alice := dialWS(t, p.base, "alice", nil, "")
		alice.expect("welcome")
		demo := dialWS(t, p.base, "demo", nil, "")
		demo.expect("welcome")
		seen := map[string]map[string]string{"alice": alice.waitListed(1), "demo": demo.waitListed(1)}
		for user, media := range seen {
			if len(media) != 1 {
				t.Errorf("%s sees %d media files, want 1: %v\nserver log:\n%s", user, len(media), media, p.server.out)
			}
			for id, owner := range media {
				if owner != user {
					t.Errorf("%s sees %s, which belongs to %s", user, id, owner)
				}
			}
		}
		// A live review session on alice's file, for the rooms gauge.
		for id := range seen["alice"] {
			alice.send("joinCollab", `{"collabId":"room-1","mediaFileId":"`+id+`"}`)
			alice.expect("showMessages")
		}
		p.checkMetrics(t, map[string]float64{
			`clapshot_uploads_total{protocol="multipart",result="ok"}`:  1,
			`clapshot_uploads_total{protocol="tus",result="ok"}`:        1,
			`clapshot_ingest_job_duration_seconds_count{result="done"}`: 2,
			`clapshot_ingest_jobs{kind="ingest",state="done"}`:          2,
			`clapshot_websocket_sessions`:                               2,
			`clapshot_collab_rooms`:                                     1,
			`clapshot_messages_sent_total{command="welcome"}`:           1,
			`clapshot_messages_sent_total{command="showPage"}`:          2,
		})
		// The media file is served by nginx from disk, Range included.
		for id := range seen["alice"] {
			matches, _ := filepath.Glob(filepath.Join(p.dataDir, "videos", id, "orig", "*"))
			if len(matches) != 1 {
				t.Fatalf("original of %s: %v", id, matches)
			}
			want, _ := os.ReadFile(matches[0])
			rel := strings.TrimPrefix(matches[0], filepath.Join(p.dataDir, "videos"))
			resp, body := p.get(t, "/videos"+rel, "alice", "Range", "bytes=10-99")
			if resp.StatusCode != 206 || !bytes.Equal(body, want[10:100]) {
				t.Errorf("Range GET of %s through nginx: %d, %d bytes", rel, resp.StatusCode, len(body))
			}
		}
	})
}

// A proxy that limits request bodies below the size of an upload: a plain
// upload fails with 413, and a resumable upload in smaller chunks (what the
// web UI does) gets the whole file through.
func TestThroughNginxBodyLimit(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	p := startProxied(t, packaging.ExampleBasicAuth, "2m", "--poll", "0.5")
	clip := makeClip(t, 3, true)
	if len(clip) <= 2<<20 {
		t.Fatalf("test clip is only %d bytes; it must exceed the 2 MiB limit", len(clip))
	}
	if code, _ := p.plainUpload(t, "alice", "big.mp4", clip); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("plain upload of %d bytes through a 2 MiB limit: %d, want 413", len(clip), code)
	}
	p.tusUpload(t, "alice", "big.mp4", clip, 1<<20)
	alice := dialWS(t, p.base, "alice", nil, "")
	alice.expect("welcome")
	media := alice.waitListed(1)
	if len(media) != 1 {
		t.Fatalf("after the tus upload alice sees %v\nserver log:\n%s", media, p.server.out)
	}
	for id := range media {
		matches, _ := filepath.Glob(filepath.Join(p.dataDir, "videos", id, "orig", "*"))
		if len(matches) != 1 {
			t.Fatalf("original of %s: %v", id, matches)
		}
		got, _ := os.ReadFile(matches[0])
		if !bytes.Equal(got, clip) {
			t.Errorf("the stored original differs from the upload (%d vs %d bytes)", len(got), len(clip))
		}
	}
}

// Without authentication (the plain example), identity headers a browser
// sends never reach the server.
func TestThroughNginxPlain(t *testing.T) {
	p := startProxied(t, packaging.ExamplePlain, "")
	h := http.Header{}
	h.Set("X-Remote-User-Id", "admin")
	h.Set("X-Remote-User-Name", "Admin")
	h.Set("X-Remote-User-Is-Admin", "true")
	w := dialWS(t, p.base, "", h, "").expect("welcome").GetWelcome()
	if w.GetUser().GetId() != "anonymous" || w.GetIsAdmin() {
		t.Errorf("the plain example passed a browser's identity headers on: %v admin=%v", w.GetUser(), w.GetIsAdmin())
	}
	if resp, _ := p.get(t, "/api/metrics", ""); resp.StatusCode != 404 {
		t.Errorf("/api/metrics through the plain example: %d, want 404", resp.StatusCode)
	}
	if code, _, body := p.request(t, "GET", "/clapshot_client.conf.json", "", nil, nil); code != 200 || !strings.Contains(body, `"ws_url"`) {
		t.Errorf("client settings through the plain example: %d %q", code, body)
	}
}

// checkMetrics scrapes the server's /api/metrics (directly, as Prometheus
// would) and checks that each series is at least the given value.
func (p *proxied) checkMetrics(t *testing.T, atLeast map[string]float64) {
	t.Helper()
	resp, err := http.Get(p.direct + "/api/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for series, want := range atLeast {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
		if m == nil {
			t.Errorf("metric %s missing", series)
			continue
		}
		if got, _ := strconv.ParseFloat(string(m[1]), 64); got < want {
			t.Errorf("metric %s = %v, want at least %v", series, got, want)
		}
	}
}
