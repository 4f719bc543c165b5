package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Hostile file names, uploaded for real (multipart and tus) to a real
// server with real ffmpeg ingest: each one either plays (its playback URL
// answers with the file) under a title that shows the name, or is refused
// at the door with a clear 4xx. An upload answered 200 Ok and then lost or
// unplayable is the bug this guards against: "\xff\xfe" names were
// rewritten between writing and reading ("the uploaded file disappeared
// before it could be processed"), and ".hidden.mp4" was listed with a URL
// the media handler refused.
func TestHostileUploadNames(t *testing.T) {
	mediatest.Require(t)
	clipPath := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("ä", 125) + "x.mp4" // 255 bytes of UTF-8
	names := []struct {
		name   string
		refuse bool // refused at the door with a 4xx
	}{
		{"\xff\xfe.mp4", false},
		{"caf\xe9.mp4", false}, // Latin-1, not UTF-8
		{".hidden.mp4", false},
		{"..double.mp4", false},
		{"trailing dot.mp4.", false},
		{"trailing space.mp4 ", false},
		{" leading space.mp4", false},
		{"CON.mp4", false},
		{"nul", false},
		{"LPT1", false},
		{"evil\u202egnp.mp4", false}, // right-to-left override
		{"zero\u200bwidth\ufeff.mp4", false},
		{"tab\there.mp4", false},
		{"semi;colon \"quoted\" <tag>.mp4", false},
		{"pct%2F20#hash?q.mp4", false},
		{long, false},
		{"e\u0301.mp4", false}, // decomposed é
		{"a/b.mp4", true},
		{"a\\b.mp4", true},
		{"..", true},
		{".", true},
	}
	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1")
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)

	type upload struct {
		user, name, how string
		refuse          bool
	}
	var ok []upload
	for i, n := range names {
		for _, how := range []string{"multipart", "tus"} {
			u := upload{user: fmt.Sprintf("u%02d-%s", i, how), name: n.name, how: how, refuse: n.refuse}
			var code int
			var body string
			if how == "multipart" {
				code, body = uploadMultipart(t, base, u.user, u.name, clip)
			} else {
				code, body = uploadTus(t, base, u.user, u.name, clip)
			}
			switch {
			case u.refuse && (code < 400 || code >= 500 || strings.TrimSpace(body) == ""):
				t.Errorf("%s %q: %d %q, want a 4xx that says why", how, u.name, code, body)
			case !u.refuse && code != 200 && code != 204:
				t.Errorf("%s %q: %d %q, want it accepted", how, u.name, code, body)
			case !u.refuse:
				ok = append(ok, u)
			}
		}
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(3 * time.Minute)
	for _, u := range ok {
		var id, title string
		for {
			if db.QueryRow(`SELECT id, title FROM media_files WHERE user_id = ?`, u.user).Scan(&id, &title) == nil {
				break
			}
			var failed string
			if db.QueryRow(`SELECT details FROM messages WHERE user_id = ? AND event_name = 'error'`, u.user).Scan(&failed) == nil {
				t.Errorf("%s %q: answered Ok, then ingest failed: %s", u.how, u.name, failed)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %q: answered Ok, never ingested; server output:\n%s", u.how, u.name, p.out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if id == "" {
			continue
		}
		if want := strings.ToValidUTF8(u.name, "\ufffd"); title != want {
			t.Errorf("%s %q: title %q, want %q", u.how, u.name, title, want)
		}
		url := playbackURL(t, base, u.user, id)
		resp, err := http.Get(base + url)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, clip) {
			t.Errorf("%s %q: GET %s: %d, %d bytes (want the %d uploaded)", u.how, u.name, url, resp.StatusCode, len(got), len(clip))
		}
	}
	// Nothing was left behind in upload/.
	left, _ := filepath.Glob(filepath.Join(dir, "upload", "*", "*"))
	var stray []string
	for _, l := range left {
		if !strings.Contains(l, string(filepath.Separator)+"tus"+string(filepath.Separator)) {
			stray = append(stray, l)
		}
	}
	if len(stray) > 0 {
		t.Errorf("files left in upload/: %q", stray)
	}
}

func uploadMultipart(t *testing.T, base, user, name string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// CreateFormFile would escape the name; send its bytes as a browser
	// does (quotes and backslashes escaped, everything else as is).
	h := textproto.MIMEHeader{}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)
	h.Set("Content-Disposition", `form-data; name="fileupload"; filename="`+esc+`"`)
	h.Set("Content-Type", "video/mp4")
	fw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"api/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Remote-User-Id", user)
	return do(t, req)
}

func uploadTus(t *testing.T, base, user, name string, data []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"api/upload/tus/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", fmt.Sprint(len(data)))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	req.Header.Set("X-Remote-User-Id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return resp.StatusCode, string(b)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = strings.TrimSuffix(base, "/") + loc
	}
	req, _ = http.NewRequest("PATCH", loc, bytes.NewReader(data))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("X-Remote-User-Id", user)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// playbackURL asks the server, as the web client does, where the media
// file plays from.
func playbackURL(t *testing.T, base, user, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, strings.TrimSuffix(base, "/"), wsclient.User{ID: user, Name: user})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(ctx, wsclient.OpenMediaFile(id)); err != nil {
		t.Fatal(err)
	}
	m, all, err := c.Wait(ctx, 15*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil })
	if err != nil {
		t.Fatalf("open %s: %v (%s)", id, err, wsclient.Describe(all))
	}
	return m.GetOpenMediaFile().GetMediaFile().GetPlaybackUrl()
}
