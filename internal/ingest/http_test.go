package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/httpapi"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// serve mounts the pipeline's endpoints as the app does and returns the
// base URL.
func (h *harness) serve(maxSize int64) string {
	h.t.Helper()
	srv := httpapi.New(h.p.log)
	o := HTTPOptions{Identity: &auth.Resolver{DefaultUser: "anonymous",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, MaxSize: maxSize}
	srv.Handle("POST /api/upload", h.p.UploadHandler(o))
	tus, err := h.p.TusHandler(o)
	if err != nil {
		h.t.Fatal(err)
	}
	srv.Handle(TusPath, tus)
	srv.Handle("GET /videos/", httpapi.MediaFiles(h.l.Videos(), filepath.Join(h.dir, "clapshot.sqlite"), h.p.log))
	ts := httptest.NewServer(srv.Handler())
	h.t.Cleanup(ts.Close)
	return ts.URL
}

type part struct {
	field, filename string
	data            []byte
}

// multipartBody builds a multipart body; the file names are written raw
// (quotes escaped as curl does), so that a path in them reaches the server.
func multipartBody(parts ...part) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		hdr := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.field + `"`
		if p.filename != "" {
			cd += `; filename="` + strings.ReplaceAll(p.filename, `"`, `\"`) + `"`
		}
		hdr.Set("Content-Disposition", cd)
		w, _ := mw.CreatePart(hdr)
		w.Write(p.data)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func post(t *testing.T, url, ctype string, body io.Reader, headers map[string]string) (int, string) {
	t.Helper()
	resp, b := request(t, "POST", url, body, map[string]string{"Content-Type": ctype}, headers)
	return resp.StatusCode, string(b)
}

// request sends a request with the headers of each map and returns the
// answer and its body.
func request(t *testing.T, method, url string, body io.Reader, headers ...map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	for _, h := range headers {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Every fileupload part is ingested (Clapshot queued only the last), as
// the user in the headers, with the upload cookies; awkward names are fine.
func TestPlainUploadIngestsEveryPart(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	base := h.serve(0)
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	data, _ := os.ReadFile(src)
	odd := `-my "final" cut; v2 日本語.mp4`
	ctype, body := multipartBody(part{"fileupload", "first.mp4", data}, part{"note", "", []byte("ignored")},
		part{"fileupload", odd, data})
	cookies := `{"folder":"42","media_file_added_action":"move"}`
	status, text := post(t, base+"/api/upload", ctype, bytes.NewReader(body),
		map[string]string{"X-Remote-User-Id": "carol", "X-Remote-User-Name": "Carol C", "X-Clapshot-Cookies": cookies})
	if status != 200 || text != "Ok" {
		t.Fatalf("%d %q", status, text)
	}
	h.waitIdle(time.Minute)
	for _, name := range []string{"first.mp4", odd} {
		m, ok := h.mediaByName(name)
		if !ok {
			t.Fatalf("%q not ingested: %v", name, h.rec.texts("carol", ""))
		}
		if m.UserID != "carol" {
			t.Errorf("%s owned by %s", name, m.UserID)
		}
		// The id is Clapshot's for this name, user, size, cookies, content.
		tmp := filepath.Join(t.TempDir(), name)
		os.WriteFile(tmp, data, 0o644)
		want, _ := MediaID(tmp, "carol", map[string]string{"folder": "42", "media_file_added_action": "move"})
		if m.ID != want {
			t.Errorf("%s: id %s, want %s", name, m.ID, want)
		}
		got, err := os.ReadFile(filepath.Join(h.l.OrigDir(m.ID), name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: original differs (%v)", name, err)
		}
	}
	u, err := h.db.GetUser(context.Background(), "carol")
	if err != nil || u.Name != "Carol C" {
		t.Errorf("user row: %+v %v", u, err)
	}
	for _, m := range h.rec.all() {
		if m.Kind.EventName() == "media_file_added" && m.Details != cookies {
			t.Errorf("MEDIA_FILE_ADDED details %q, want the cookies", m.Details)
		}
	}
}

// Refused uploads say why and leave nothing behind.
func TestPlainUploadRefusals(t *testing.T) {
	h := newHarness(t, nil)
	base := h.serve(1000)
	big := bytes.Repeat([]byte("x"), 1001)
	cases := []struct {
		name   string
		ctype  string
		body   []byte
		status int
		want   string
	}{
		{"no boundary", "multipart/form-data", []byte("x"), 400, "Missing boundary"},
		{"not multipart", "application/octet-stream", []byte("x"), 400, "Missing boundary"},
	}
	add := func(name string, status int, want string, parts ...part) {
		ct, b := multipartBody(parts...)
		cases = append(cases, struct {
			name   string
			ctype  string
			body   []byte
			status int
			want   string
		}{name, ct, b, status, want})
	}
	add("path in name", 400, "Filename must not contain path", part{"fileupload", "../../etc/x.mp4", []byte("data")})
	add("windows path", 400, "Filename must not contain path", part{"fileupload", `C:\x\y.mp4`, []byte("data")})
	add("empty file", 400, "'empty.mp4' is empty (0 bytes)", part{"fileupload", "empty.mp4", nil})
	add("no name", 400, "the file has no name", part{"fileupload", "", []byte("data")})
	add("no file", 400, "No file in the upload", part{"other", "", []byte("data")})
	add("too large", 413, "'big.mp4' is larger than the limit of 1000 bytes", part{"fileupload", "ok.mp4", []byte("fine")}, part{"fileupload", "big.mp4", big})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, text := post(t, base+"/api/upload", c.ctype, bytes.NewReader(c.body), nil)
			if status != c.status || !strings.Contains(text, c.want) {
				t.Errorf("got %d %q, want %d %q", status, text, c.status, c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(h.l.Upload()); len(entries) > 1 { // only tus/
		t.Errorf("leftovers in upload/: %v", entries)
	}
	if jobs, _ := h.db.ListJobs(context.Background()); len(jobs) != 0 {
		t.Errorf("jobs queued for refused uploads: %+v", jobs)
	}
}

// Uploads stream: several large bodies at once arrive intact while the
// client is still producing them.
func TestConcurrentStreamingUploads(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Workers = 1 })
	base := h.serve(0)
	const n, size = 4, 8 << 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			go func() {
				w, _ := mw.CreateFormFile("fileupload", fmt.Sprintf("blob%d.bin", i))
				chunk := bytes.Repeat([]byte{byte(i)}, 64<<10)
				for sent := 0; sent < size; sent += len(chunk) {
					w.Write(chunk)
				}
				mw.Close()
				pw.Close()
			}()
			status, text := post(t, base+"/api/upload", mw.FormDataContentType(), pr, map[string]string{"X-Remote-User-Id": "dave"})
			if status != 200 {
				t.Errorf("upload %d: %d %s", i, status, text)
			}
		}(i)
	}
	wg.Wait()
	h.waitIdle(time.Minute)
	// Not media: each is rejected, intact, with a message naming it.
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("blob%d.bin", i)
		b, err := os.ReadFile(filepath.Join(h.l.Rejected(), name))
		if err != nil || len(b) != size || b[size-1] != byte(i) {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
		if _, ok := h.errorFor("dave", name); !ok {
			t.Errorf("no error message for %s", name)
		}
	}
}

// tus client helpers.
func tusReq(t *testing.T, method, url string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	resp, _ := request(t, method, url, body, map[string]string{"Tus-Resumable": "1.0.0"}, hdr)
	return resp
}

func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// A resumable upload that is cut off half-way resumes from where the
// server says it stopped, and is ingested as the user who created it.
func TestTusUploadResumesAfterInterruption(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	base := h.serve(0)
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mov"], mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 24})
	data, _ := os.ReadFile(src)
	name := "résumé clip.mov"
	user := map[string]string{"X-Remote-User-Id": "erin", "X-Clapshot-Cookies": `{"folder":"7"}`}

	resp := tusReq(t, "POST", base+TusPath, nil, map[string]string{"Upload-Length": strconv.Itoa(len(data)),
		"Upload-Metadata": tusMeta("filename", name, "clapshot_user", "mallory"), "X-Remote-User-Id": "erin",
		"X-Clapshot-Cookies": `{"folder":"7"}`})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 201 || !strings.HasPrefix(loc, TusPath) {
		t.Fatalf("create: %d, Location %q (must be a path)", resp.StatusCode, loc)
	}
	// Someone else cannot look at it or continue it.
	if r := tusReq(t, "HEAD", base+loc, nil, map[string]string{"X-Remote-User-Id": "mallory"}); r.StatusCode != 403 {
		t.Errorf("other user's HEAD: %d", r.StatusCode)
	}

	// Send the whole length but cut the connection after a third.
	cut := len(data) / 3
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nX-Remote-User-Id: erin\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n", loc, len(data))
	conn.Write(data[:cut])
	time.Sleep(200 * time.Millisecond)
	conn.Close()

	var offset int
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r := tusReq(t, "HEAD", base+loc, nil, user)
		offset, _ = strconv.Atoi(r.Header.Get("Upload-Offset"))
		if r.StatusCode == 200 && offset == cut {
			break
		}
		time.Sleep(50 * time.Millisecond) // the server saves what arrived, then unlocks
	}
	if offset != cut {
		t.Fatalf("offset after the cut: %d, want %d", offset, cut)
	}
	r := tusReq(t, "PATCH", base+loc, bytes.NewReader(data[offset:]), map[string]string{"X-Remote-User-Id": "erin",
		"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.Itoa(offset)})
	if r.StatusCode != 204 || r.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Fatalf("resume: %d offset %s", r.StatusCode, r.Header.Get("Upload-Offset"))
	}
	h.waitIdle(time.Minute)
	m, ok := h.mediaByName(name)
	if !ok {
		t.Fatalf("not ingested: %v %+v", h.rec.texts("erin", ""), h.rec.all())
	}
	if m.UserID != "erin" {
		t.Errorf("owner %s: the client's metadata must not choose the user", m.UserID)
	}
	got, _ := os.ReadFile(filepath.Join(h.l.OrigDir(m.ID), name))
	if !bytes.Equal(got, data) {
		t.Error("resumed upload differs from the source")
	}
	tmp := filepath.Join(t.TempDir(), name)
	os.WriteFile(tmp, data, 0o644)
	if want, _ := MediaID(tmp, "erin", map[string]string{"folder": "7"}); m.ID != want {
		t.Errorf("id %s, want %s (cookies from the creation request)", m.ID, want)
	}
	if left, _ := os.ReadDir(h.l.Tus()); len(left) != 0 {
		t.Errorf("tus leftovers: %v", left)
	}
}

func TestTusRefusalsAndExpiry(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.UploadExpiry = time.Hour })
	base := h.serve(1 << 20)
	for _, c := range []struct {
		hdr    map[string]string
		status int
	}{
		{map[string]string{"Upload-Length": "10", "Upload-Metadata": tusMeta("filename", "a/b.mp4")}, 400},
		{map[string]string{"Upload-Length": "10"}, 400},
		{map[string]string{"Upload-Length": "0", "Upload-Metadata": tusMeta("filename", "e.mp4")}, 400},
		{map[string]string{"Upload-Length": strconv.Itoa(2 << 20), "Upload-Metadata": tusMeta("filename", "big.mp4")}, 413},
	} {
		if r := tusReq(t, "POST", base+TusPath, nil, c.hdr); r.StatusCode != c.status {
			t.Errorf("%v: %d, want %d", c.hdr, r.StatusCode, c.status)
		}
	}
	// An upload left unfinished is removed once it is older than the expiry.
	r := tusReq(t, "POST", base+TusPath, nil, map[string]string{"Upload-Length": "100", "Upload-Metadata": tusMeta("filename", "slow.mp4")})
	loc := r.Header.Get("Location")
	tusReq(t, "PATCH", base+loc, strings.NewReader("0123456789"), map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
	h.p.Cleanup(context.Background())
	if r := tusReq(t, "HEAD", base+loc, nil, nil); r.StatusCode != 200 || r.Header.Get("Upload-Offset") != "10" {
		t.Fatalf("fresh upload must survive cleanup: %d %s", r.StatusCode, r.Header.Get("Upload-Offset"))
	}
	id := filepath.Base(loc)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(h.l.Tus(), id), old, old)
	h.p.Cleanup(context.Background())
	if r := tusReq(t, "HEAD", base+loc, nil, nil); r.StatusCode != 404 {
		t.Errorf("expired upload still there: %d", r.StatusCode)
	}
	if left, _ := os.ReadDir(h.l.Tus()); len(left) != 0 {
		t.Errorf("tus leftovers: %v", left)
	}
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestStaticMedia(t *testing.T) {
	h := newHarness(t, nil)
	base := h.serve(0)
	id := "abcd1234"
	os.MkdirAll(h.l.OrigDir(id), 0o755)
	os.MkdirAll(h.l.ThumbsDir(id), 0o755)
	os.MkdirAll(filepath.Join(h.l.Trash(), "ffffffff_20260101-000000"), 0o755)
	content := bytes.Repeat([]byte("0123456789"), 100)
	os.WriteFile(filepath.Join(h.l.OrigDir(id), "clip one.mov"), content, 0o644)
	os.WriteFile(filepath.Join(h.l.MediaDir(id), "transcoded_x.mp4"), content, 0o644)
	os.Symlink("transcoded_x.mp4", h.l.VideoLink(id))
	os.WriteFile(h.l.Poster(id), []byte("RIFFwebp"), 0o644)
	os.WriteFile(filepath.Join(h.l.Trash(), "ffffffff_20260101-000000", "x.mp4"), content, 0o644)
	os.WriteFile(filepath.Join(h.l.MediaDir(id), ".hidden"), content, 0o644)
	os.Symlink("/etc/passwd", filepath.Join(h.l.MediaDir(id), "escape.txt"))
	os.Symlink("../../clapshot.sqlite", filepath.Join(h.l.MediaDir(id), "db.mp4"))

	resp, body := get(t, base+"/videos/"+id+"/orig/clip%20one.mov", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !bytes.Equal(body, content) || resp.Header.Get("Content-Type") != "video/quicktime" ||
		etag == "" || resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("orig: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = get(t, base+"/videos/"+id+"/video.mp4", map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != 206 || string(body) != "0123456789" || resp.Header.Get("Content-Type") != "video/mp4" ||
		resp.Header.Get("Content-Range") != "bytes 10-19/1000" {
		t.Errorf("range through the symlink: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ = get(t, base+"/videos/"+id+"/orig/clip%20one.mov", map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ = get(t, base+"/videos/"+id+"/thumbs/thumb.webp", nil); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/webp" {
		t.Errorf("thumb: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("HEAD", base+"/videos/"+id+"/video.mp4", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || resp.ContentLength != 1000 {
		t.Errorf("HEAD: %v %v", resp, err)
	}
	for _, p := range []string{"/videos/", "/videos/" + id, "/videos/" + id + "/", "/videos/" + id + "/orig/",
		"/videos/trash/ffffffff_20260101-000000/x.mp4", "/videos/" + id + "/.hidden", "/videos/" + id + "/escape.txt",
		"/videos/nope.mp4", "/videos/%2e%2e/clapshot.sqlite", "/videos/" + id + "/..%2f..%2fclapshot.sqlite"} {
		resp, body := get(t, base+p, nil)
		if resp.StatusCode == 200 || bytes.Contains(body, []byte("root:")) || bytes.Contains(body, []byte("SQLite")) {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body[:min(len(body), 40)])
		}
	}
	// A link out of videos/ is never followed, and the database is never
	// served, even when linked on purpose (see internal/httpapi/media.go).
	if resp, body := get(t, base+"/videos/"+id+"/db.mp4", nil); resp.StatusCode != 404 || bytes.Contains(body, []byte("SQLite")) {
		t.Errorf("link to the database: %d", resp.StatusCode)
	}
	_ = store.All
}

// A multipart upload cut off half-way is not taken for a complete file.
func TestPlainUploadCutOff(t *testing.T) {
	h := newHarness(t, nil)
	base := h.serve(0)
	ctype, body := multipartBody(part{"fileupload", "cut.mp4", bytes.Repeat([]byte("v"), 3<<20)})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, len(body))
	conn.Write(body[:len(body)/2])
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	waitFor(t, 10*time.Second, "the cut-off upload to be cleaned up", func() bool {
		entries, _ := os.ReadDir(h.l.Upload())
		return len(entries) <= 1 // tus/ only
	})
	time.Sleep(100 * time.Millisecond)
	if jobs, _ := h.db.ListJobs(context.Background()); len(jobs) != 0 {
		t.Errorf("a cut-off upload was queued: %+v", jobs)
	}
}
