package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Served under a path prefix by a proxy that strips it (nginx's
// "location /review/ { proxy_pass http://server/; }") and without
// --url-base, the app, its websocket, uploads and the media URLs it is
// given all work through the prefix.
func TestBehindPathPrefixProxy(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	p := start(t, nil, "-D", filepath.Join(dir, "data"), "-P", "0.2")
	p.waitHealthy(t)
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", p.port))
	mux := http.NewServeMux()
	mux.Handle("/review/", http.StripPrefix("/review", httputil.NewSingleHostReverseProxy(target)))
	proxy := httptest.NewServer(mux) // anything outside /review/ is not the app: 404
	defer proxy.Close()
	page := proxy.URL + "/review/"

	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(html, []byte("clapshot-settings")) {
		t.Fatalf("the app through the prefix: %d\n%.300s", resp.StatusCode, html)
	}

	clip := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10", "-t", "1",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, _ := os.ReadFile(clip)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("fileupload", "clip.mp4")
	fw.Write(data)
	mw.Close()
	resp, err = http.Post(page+"api/upload", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload through the prefix: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := wsclient.Dial(ctx, page, wsclient.User{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mf *pb.MediaFile
	for mf == nil && ctx.Err() == nil {
		if err := c.Send(ctx, wsclient.OpenNavigationPage("")); err != nil {
			t.Fatal(err)
		}
		m, _, err := c.Wait(ctx, 10*time.Second, wsclient.Page)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range m.GetShowPage().GetPageItems() {
			for _, fi := range it.GetFolderListing().GetItems() {
				if f := fi.GetMediaFile(); f != nil && f.GetPreviewData().GetThumbUrl() != "" {
					mf = f
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if mf == nil {
		t.Fatalf("the upload was not listed with a thumbnail:\n%s", p.out)
	}
	// The browser resolves each URL against the page.
	for _, u := range []string{mf.GetPlaybackUrl(), mf.GetOrigUrl(), mf.GetPreviewData().GetThumbUrl()} {
		ref, err := url.Parse(u)
		if err != nil || ref.IsAbs() || strings.HasPrefix(u, "/") {
			t.Errorf("media URL %q is not relative to the page", u)
			continue
		}
		base, _ := url.Parse(page)
		abs := base.ResolveReference(ref).String()
		resp, err := http.Get(abs)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(got) == 0 {
			t.Errorf("GET %s: %d, %d bytes", abs, resp.StatusCode, len(got))
		}
		if u == mf.GetOrigUrl() && !bytes.Equal(got, data) {
			t.Errorf("the original through the prefix differs from the upload")
		}
	}
}
