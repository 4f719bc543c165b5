package packaging_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clapshot-go/clapshot/packaging"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// browser is a guest's browser reaching nginx from a given local address
// (so that nginx reports it as the client's), with its own cookies.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base, localIP string) *browser {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Transport: &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, body string, header ...string) (int, string) {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Origin", b.base)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// Guest share links through the shipped basic-auth example: /s/<token>/
// needs no password while everything else still does, a guest's request
// never carries a user's identity however it tries, media come through,
// and wrong passphrases are counted per client as nginx reports it.
func TestThroughNginxGuestLinks(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	p := startProxied(t, packaging.ExampleBasicAuth, "", "--trusted-proxies", "127.0.0.1/32", "--poll", "0.5")
	if code, text := p.plainUpload(t, "alice", "alice.mp4", makeClip(t, 1, false)); code != 200 {
		t.Fatalf("upload: %d %q", code, text)
	}
	alice := dialWS(t, p.base, "alice", nil, "")
	alice.expect("welcome")
	var id string
	for id = range alice.waitListed(1) {
	}
	if id == "" {
		t.Fatal("the upload is not listed")
	}
	link := func(body string) string {
		t.Helper()
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		code, _, text := p.request(t, "POST", "/api/shares", "alice", strings.NewReader(body), h)
		var out struct{ Token string }
		if code != 201 || json.Unmarshal([]byte(text), &out) != nil {
			t.Fatalf("create link through nginx: %d %s", code, text)
		}
		return out.Token
	}
	tok := link(`{"media_file_id":"` + id + `","permission":"comment"}`)

	anon := newBrowser(t, p.base, "127.0.0.1")
	for _, c := range []struct {
		path string
		code int
	}{
		{"/s/" + tok + "/", 200},
		{"/s/" + tok + "/api/guest", 200},
		{"/s/" + tok + "/api/health", 200},
		{"/s/AAAAAAAAAAAA" + tok[12:] + "/api/guest", 404}, // the server answers, not nginx's login
		{"/", 401},
		{"/api/shares", 401},
		{"/api/ws", 401},
		{"/videos/" + id + "/video.mp4", 401},
	} {
		if code, body := anon.do("GET", c.path, ""); code != c.code {
			t.Errorf("GET %s without a login: %d %.200s", c.path, code, body)
		}
	}

	// A guest claiming to be a user, with headers and even a valid login.
	guest := newBrowser(t, p.base, "127.0.0.1")
	code, body := guest.do("POST", "/s/"+tok+"/api/guest", `{"name":"Ann"}`, "X-Remote-User-Id", "admin", "X-Remote-User-Is-Admin", "1")
	if code != 200 {
		t.Fatalf("join through nginx: %d %s", code, body)
	}
	u, _ := url.Parse(p.base + "/s/" + tok + "/api/ws")
	h := http.Header{}
	for _, c := range guest.c.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	h.Set("Origin", p.base)
	h.Set("X-Remote-User-Id", "admin")
	h.Set("X-Remote-User-Is-Admin", "1")
	h.Set("Authorization", "Basic YWRtaW46YWRtaW4=") // admin:admin, a real login
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.base, "http")+"/s/"+tok+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("guest websocket through nginx: %v", err)
	}
	defer conn.CloseNow()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("welcome: %v", err)
		}
		var m pb.ServerToClientCmd
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &m) == nil && m.GetWelcome() != nil {
			if w := m.GetWelcome(); w.GetUser().GetName() != "Ann (guest)" || w.GetIsAdmin() || !strings.HasPrefix(w.GetUser().GetId(), "guest:") {
				t.Errorf("guest through nginx with a user's headers and login: %v admin=%v", w.GetUser(), w.GetIsAdmin())
			}
			break
		}
	}
	// The file plays from the URL the server gives the guest, below the link.
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"openMediaFile":{"mediaFileId":"`+id+`"}}`)); err != nil {
		t.Fatal(err)
	}
	var play string
	for play == "" {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("openMediaFile: %v", err)
		}
		var m pb.ServerToClientCmd
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &m) == nil && m.GetOpenMediaFile() != nil {
			play = m.GetOpenMediaFile().GetMediaFile().GetPlaybackUrl()
		}
	}
	if !strings.HasPrefix(play, "videos/"+id+"/") {
		t.Fatalf("guest's playback URL %q", play)
	}
	if code, body := guest.do("GET", "/s/"+tok+"/"+play, "", "Range", "bytes=0-99"); code != 206 || len(body) != 100 {
		t.Errorf("guest's media through nginx: %d, %d bytes", code, len(body))
	}

	// Wrong passphrases: counted against the client nginx names
	// (X-Real-IP), not against nginx itself.
	locked := link(`{"media_file_id":"` + id + `","permission":"view","passphrase":"open sesame"}`)
	mallory := newBrowser(t, p.base, "127.0.0.2")
	for range 5 {
		if code, _ := mallory.do("POST", "/s/"+locked+"/api/guest", `{"name":"M","passphrase":"guess"}`); code != 401 {
			t.Fatalf("wrong passphrase through nginx: %d", code)
		}
	}
	if code, _ := mallory.do("POST", "/s/"+locked+"/api/guest", `{"name":"M","passphrase":"open sesame"}`); code != 429 {
		t.Errorf("6th try from the guessing client: %d", code)
	}
	ann := newBrowser(t, p.base, "127.0.0.3")
	if code, body := ann.do("POST", "/s/"+locked+"/api/guest", `{"name":"Ann","passphrase":"open sesame"}`); code != 200 {
		t.Errorf("another client, right passphrase: %d %s", code, body)
	}
}
