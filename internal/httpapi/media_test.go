package httpapi

import (
	"io"
	"log/slog"
	"net/http"
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
	s.Handle("GET /videos/", MediaFiles(videos, data, nil))
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
