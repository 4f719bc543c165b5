package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
)

// /videos/ from an object store: a redirect to a presigned URL that
// serves ranges; text streamed from the app's origin; --media-proxy
// streams with ranges; what the store lacks comes from the disk; the
// trash and hidden names are refused; a store that is down is a quick
// 502 that says so.
func TestMediaObjects(t *testing.T) {
	srv, st, _ := s3test.MediaStore(t, "media/p")
	ctx := context.Background()
	video := bytes.Repeat([]byte("0123456789"), 10000)
	for k, v := range map[string][]byte{"videos/abc/video.mp4": video, "videos/abc/subs/en.vtt": []byte("WEBVTT\n"),
		"videos/trash/abc_1/video.mp4": video, "videos/abc/.hidden.mp4": video} {
		if err := st.Write(ctx, k, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	videos := filepath.Join(t.TempDir(), "videos")
	os.MkdirAll(filepath.Join(videos, "abc", "thumbs"), 0o755)
	os.WriteFile(filepath.Join(videos, "abc", "thumbs", "thumb.webp"), []byte("RIFFlocal"), 0o644)
	local := MediaFiles(videos, "", nil)
	redirect := httptest.NewServer(MediaObjects(st, ObjectOptions{Local: local, LookupTimeout: 3 * time.Second}))
	defer redirect.Close()
	proxy := httptest.NewServer(MediaObjects(st, ObjectOptions{Local: local, Proxy: true}))
	defer proxy.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(c *http.Client, url, rng string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	cases := []struct {
		name   string
		client *http.Client
		url    string
		rng    string
		status int
		body   string
		where  string // "store": answered by the store after a redirect
	}{
		{"redirect", noFollow, redirect.URL + "/videos/abc/video.mp4", "", http.StatusFound, "", ""},
		{"ranged, redirected", http.DefaultClient, redirect.URL + "/videos/abc/video.mp4", "bytes=10-19", http.StatusPartialContent, "0123456789", "store"},
		{"text from the app", noFollow, redirect.URL + "/videos/abc/subs/en.vtt", "", http.StatusOK, "WEBVTT\n", ""},
		{"proxied range", noFollow, proxy.URL + "/videos/abc/video.mp4", "bytes=99995-", http.StatusPartialContent, "56789", ""},
		{"local fallback", noFollow, redirect.URL + "/videos/abc/thumbs/thumb.webp", "", http.StatusOK, "RIFFlocal", ""},
		{"missing", noFollow, redirect.URL + "/videos/abc/none.mp4", "", http.StatusNotFound, "", ""},
		{"trash", noFollow, redirect.URL + "/videos/trash/abc_1/video.mp4", "", http.StatusNotFound, "", ""},
		{"hidden", noFollow, proxy.URL + "/videos/abc/.hidden.mp4", "", http.StatusNotFound, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(c.client, c.url, c.rng)
			if resp.StatusCode != c.status || (c.body != "" && body != c.body) {
				t.Fatalf("%s %s: %s %q", c.url, c.rng, resp.Status, first(body, 80))
			}
			if c.status == http.StatusFound && !strings.Contains(resp.Header.Get("Location"), "X-Amz-Signature=") {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
			if fromStore := resp.Request.URL.Host == srv.Endpoint; fromStore != (c.where == "store") {
				t.Errorf("answered by %s", resp.Request.URL.Host)
			}
		})
	}

	srv.Stop()
	began := time.Now()
	resp, body := get(noFollow, redirect.URL+"/videos/abc/video.mp4", "")
	if took := time.Since(began); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "media store does not answer") || took > 8*time.Second {
		t.Errorf("store down: %s %q after %s", resp.Status, body, took)
	}
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
