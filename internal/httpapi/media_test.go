package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Media responses are corked while they are written (headers and file in
// the same segments) and uncorked before the handler returns: small files,
// 304s and HEADs on a keep-alive connection must not wait for the kernel's
// 200 ms cork timer.
func TestMediaResponsesAreNotHeldBack(t *testing.T) {
	data := t.TempDir()
	videos := filepath.Join(data, "videos")
	os.MkdirAll(filepath.Join(videos, "abcd1234", "thumbs"), 0o755)
	os.WriteFile(filepath.Join(videos, "abcd1234", "thumbs", "thumb.webp"), []byte("RIFFwebp"), 0o644)
	os.WriteFile(filepath.Join(videos, "abcd1234", "big.mp4"), []byte(strings.Repeat("0123456789", 100_000)), 0o644)
	s := New(slog.New(slog.DiscardHandler))
	s.Handle("GET /videos/", MediaFiles(videos, filepath.Join(data, "clapshot.sqlite"), nil))
	root, _ := serveLoopback(t, s)
	base := root + "/videos/abcd1234/"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func(method, file string, h map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+file, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, body := get("GET", "big.mp4", map[string]string{"Range": "bytes=999990-"})
	if resp.StatusCode != 206 || body != "0123456789" {
		t.Fatalf("range at the end: %d %q", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	start := time.Now()
	for i := 0; i < 10; i++ {
		if resp, body := get("GET", "thumbs/thumb.webp", nil); resp.StatusCode != 200 || body != "RIFFwebp" {
			t.Fatalf("thumb: %d %q", resp.StatusCode, body)
		}
		if resp, _ := get("GET", "big.mp4", map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
			t.Fatalf("If-None-Match: %d", resp.StatusCode)
		}
		if resp, _ := get("HEAD", "big.mp4", nil); resp.StatusCode != 200 || resp.ContentLength != 1_000_000 {
			t.Fatalf("HEAD: %d %d", resp.StatusCode, resp.ContentLength)
		}
	}
	// 30 responses; a response held until the cork timer would take 200 ms.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("30 small responses took %v: something waits for the cork timer", d)
	}
}

// Media URLs resolve beneath videos/ only and never reach the database,
// with openat2 and with the /proc fallback (kernels before 5.6, or openat2
// filtered by seccomp) alike.
func TestMediaStaysBeneathVideosAndAwayFromTheDatabase(t *testing.T) {
	data := t.TempDir()
	videos := filepath.Join(data, "videos")
	db := filepath.Join(data, "clapshot.sqlite")
	id := filepath.Join(videos, "abcd1234")
	os.MkdirAll(filepath.Join(id, "orig"), 0o755)
	os.WriteFile(filepath.Join(id, "orig", "clip.mp4"), []byte("media"), 0o644)
	os.Symlink("orig/clip.mp4", filepath.Join(id, "video.mp4"))
	os.WriteFile(db, []byte("SQLite format 3\x00"), 0o644)
	os.WriteFile(db+"-wal", []byte("wal"), 0o644)
	os.WriteFile(filepath.Join(data, "secret.txt"), []byte("secret"), 0o644)
	os.Symlink("../../secret.txt", filepath.Join(id, "secret.mp4"))
	os.Symlink(filepath.Join(data, "secret.txt"), filepath.Join(id, "absolute.mp4"))
	os.Symlink("../../clapshot.sqlite", filepath.Join(id, "db.mp4"))
	os.Symlink("../../clapshot.sqlite-wal", filepath.Join(id, "wal.mp4"))
	os.Link(db, filepath.Join(id, "hard.mp4"))
	os.Symlink("..", filepath.Join(videos, "up"))
	// A data directory whose videos/ is a link to itself: the database is
	// then beneath videos/ by name.
	loop := t.TempDir()
	os.WriteFile(filepath.Join(loop, "clapshot.sqlite"), []byte("SQLite format 3\x00"), 0o644)
	os.WriteFile(filepath.Join(loop, "clip.mp4"), []byte("media"), 0o644)
	os.Symlink(".", filepath.Join(loop, "videos"))

	cases := []struct {
		videos, db, path string
		want             int
	}{
		{videos, db, "/videos/abcd1234/orig/clip.mp4", 200},
		{videos, db, "/videos/abcd1234/video.mp4", 200},
		{videos, db, "/videos/abcd1234/secret.mp4", 404},
		{videos, db, "/videos/abcd1234/absolute.mp4", 404},
		{videos, db, "/videos/abcd1234/db.mp4", 404},
		{videos, db, "/videos/abcd1234/wal.mp4", 404},
		{videos, db, "/videos/abcd1234/hard.mp4", 404},
		{videos, db, "/videos/up/clapshot.sqlite", 404},
		{videos, db, "/videos/up/secret.txt", 404},
		{videos, db, "/videos/abcd1234/../../clapshot.sqlite", 404},
		{videos, db, "/videos/abcd1234", 404},
		{filepath.Join(loop, "videos"), filepath.Join(loop, "clapshot.sqlite"), "/videos/clip.mp4", 200},
		{filepath.Join(loop, "videos"), filepath.Join(loop, "clapshot.sqlite"), "/videos/clapshot.sqlite", 404},
	}
	for _, fallback := range []bool{false, true} {
		for _, c := range cases {
			var logged strings.Builder
			h := MediaFiles(c.videos, c.db, slog.New(slog.NewTextHandler(&logged, nil)))
			h.(*mediaHandler).opener.noOpenat2.Store(fallback)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			if rec.Code != c.want {
				t.Errorf("fallback %v: GET %s: %d %q, want %d", fallback, c.path, rec.Code, rec.Body.String(), c.want)
			}
			if c.want == 200 && rec.Body.String() != "media" {
				t.Errorf("fallback %v: GET %s: %q", fallback, c.path, rec.Body.String())
			}
		}
	}
}
