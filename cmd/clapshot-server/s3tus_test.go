package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// tusSpoolBound is docs/deployment.md's bound of the local spool of one
// resumable upload with a media store: (2 + 1 buffered) parts of 8 MiB
// and the previous PATCH's tail (under 5 MiB).
const tusSpoolBound = 3*8<<20 + 5<<20

// tusClient is a resumable upload as a tus client makes it.
type tusClient struct {
	t         *testing.T
	base, loc string
	user      string
}

func newTusUpload(t *testing.T, base, user, name string, size int64) *tusClient {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"api/upload/tus/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	req.Header.Set("X-Remote-User-Id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create %s: %d %s", name, resp.StatusCode, b)
	}
	return &tusClient{t: t, base: base, loc: strings.TrimSuffix(base, "/") + resp.Header.Get("Location"), user: user}
}

// send makes a tus request; a PATCH sends n bytes of body from offset.
func (c *tusClient) send(method string, offset, n int64, body io.Reader) (int, string, int64) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.loc, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("X-Remote-User-Id", c.user)
	if method == "PATCH" {
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, c.loc, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	off, _ := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	return resp.StatusCode, string(b), off
}

// offset asks the server where to resume (HEAD).
func (c *tusClient) offset() (int, int64) {
	c.t.Helper()
	code, _, off := c.send("HEAD", 0, 0, nil)
	return code, off
}

// finish sends data from where the server says, in PATCHes of chunk
// bytes, and returns the last PATCH's status.
func (c *tusClient) finish(data []byte, chunk int) int {
	c.t.Helper()
	code, off := c.offset()
	if code != 200 {
		c.t.Fatalf("HEAD before resuming: %d", code)
	}
	for off < int64(len(data)) {
		end := min(len(data), int(off)+chunk)
		var body string
		var next int64
		code, body, next = c.send("PATCH", off, int64(end)-off, bytes.NewReader(data[off:end]))
		if code != 204 || next != int64(end) {
			c.t.Fatalf("PATCH at %d: %d %q, offset %d, want %d", off, code, body, next, end)
		}
		off = next
	}
	return code
}

// tusObjects lists the store's resumable upload objects and multipart
// uploads.
func tusObjects(t *testing.T, st *objstore.Store) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, "upload/tus")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingUploads(ctx, "upload/tus")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		keys = append(keys, "multipart:"+p.Key)
	}
	return keys
}

// The object store stops for 30 s in the middle of a tus PATCH: that
// PATCH, and HEADs while the store is away, get a 503 that names the
// store; once it is back the client asks where to resume, sends the rest,
// and the file is ingested and plays, byte for byte, with its original
// in the bucket and nothing left of the upload there.
func TestTusObjectStoreDownDuringUpload(t *testing.T) {
	mediatest.Require(t)
	srv, st, mediaURL := s3Server(t)
	tmp := t.TempDir()
	// Noise does not compress: about 30 MB, four 10 MiB PATCHes.
	clipPath := mediatest.MakeArgs(t, tmp, "noise.mp4", "-f", "lavfi", "-i", "nullsrc=s=640x360:r=25:d=4,geq=random(1)*255:128:128",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 10 << 20
	if len(clip) < 2*chunk {
		t.Fatalf("clip: %d bytes, want more than two PATCHes", len(clip))
	}
	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1", "--media-url", mediaURL)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)

	c := newTusUpload(t, base, "carol", "noise.mp4", int64(len(clip)))
	if code, body, off := c.send("PATCH", 0, chunk, bytes.NewReader(clip[:chunk])); code != 204 || off != chunk {
		t.Fatalf("first PATCH: %d %q offset %d", code, body, off)
	}
	// The second PATCH: 6 MiB, the store stops, the other 4 MiB.
	var down time.Time
	body := io.MultiReader(bytes.NewReader(clip[chunk:chunk+6<<20]), readerFunc(func() {
		srv.Stop()
		down = time.Now()
	}), bytes.NewReader(clip[chunk+6<<20:2*chunk]))
	code, msg, _ := c.send("PATCH", chunk, chunk, body)
	t.Logf("PATCH with the store going away: %d %q, %.1f s after it stopped", code, msg, time.Since(down).Seconds())
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "media store") || !strings.Contains(msg, srv.Endpoint) {
		t.Errorf("PATCH while the store is away: %d %q; want 503 naming the media store at %s", code, msg, srv.Endpoint)
	}
	if code, _ := c.offset(); code != http.StatusServiceUnavailable {
		t.Errorf("HEAD while the store is away: %d, want 503", code)
	}
	time.Sleep(time.Until(down.Add(30 * time.Second)))
	srv.Start()
	_, resumeAt := c.offset()
	t.Logf("resuming at %d of %d", resumeAt, len(clip))
	if resumeAt < chunk-5<<20 || resumeAt > 2*chunk {
		t.Errorf("resume offset %d: the first PATCH's whole parts (at least %d) are stored", resumeAt, chunk-5<<20)
	}
	if code := c.finish(clip, chunk); code != 204 {
		t.Fatalf("resumed upload: %d", code)
	}

	db := openReadOnly(t, dir)
	id := waitMedia(t, db, "carol", p, 3*time.Minute)
	waitObjects(t, st, "videos/"+id+"/orig/noise.mp4", "videos/"+id+"/video.mp4")
	orig, err := st.Read(context.Background(), "videos/"+id+"/orig/noise.mp4")
	if err != nil || !bytes.Equal(orig, clip) {
		t.Fatalf("stored original: %d bytes (%v), want the %d uploaded", len(orig), err, len(clip))
	}
	played(t, base+playbackURL(t, base, "carol", id))
	deadline := time.Now().Add(20 * time.Second)
	for left := tusObjects(t, st); len(left) != 0; left = tusObjects(t, st) {
		if time.Now().After(deadline) {
			t.Fatalf("left of the upload in the store: %q", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readerFunc runs f when it is first read, and reads as empty.
type readerFunc func()

func (f readerFunc) Read([]byte) (int, error) {
	if f != nil {
		f()
	}
	return 0, io.EOF
}

// A tus upload several times larger than the spool bound goes through
// the local disk in parts: the data directory never holds more than the
// bound (docs/deployment.md) while it arrives, and the server's memory
// stays flat. DELETE of an upload in progress removes its objects.
func TestTusLargeUploadSpoolsBounded(t *testing.T) {
	_, st, mediaURL := s3Server(t)
	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1", "--media-url", mediaURL)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)

	// Termination.
	gone := newTusUpload(t, base, "dave", "gone.bin", 64<<20)
	if code, body, _ := gone.send("PATCH", 0, 6<<20, io.LimitReader(rand.NewChaCha8([32]byte{2}), 6<<20)); code != 204 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	if left := tusObjects(t, st); len(left) != 2 { // the .info and the multipart upload
		t.Errorf("in the store during the upload: %q", left)
	}
	if code, body, _ := gone.send("DELETE", 0, 0, nil); code != 204 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if left := tusObjects(t, st); len(left) != 0 {
		t.Errorf("in the store after DELETE: %q", left)
	}

	const size, patch = 192 << 20, 64 << 20
	base0 := dirBytes(dir, "")
	var peakAll, peakSpool atomic.Int64
	var streaming atomic.Bool // until the last byte is sent; then the job may fetch the file
	streaming.Store(true)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if streaming.Load() {
				peakAll.Store(max(peakAll.Load(), dirBytes(dir, "")-base0))
			}
			peakSpool.Store(max(peakSpool.Load(), dirBytes(dir, "upload/tus")))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	hwm0 := procStatusKB(t, p.cmd.Process.Pid, "VmHWM")
	c := newTusUpload(t, base, "dave", "big.bin", size)
	src := rand.NewChaCha8([32]byte{1})
	started := time.Now()
	var code int
	for off := int64(0); off < size; off += patch {
		body := io.Reader(io.LimitReader(src, patch))
		if off+patch == size {
			body = &endReader{r: body, left: patch, end: make(chan struct{})}
			go func(end chan struct{}) { <-end; streaming.Store(false) }(body.(*endReader).end)
		}
		var msg string
		code, msg, _ = c.send("PATCH", off, patch, body)
		if code != 204 {
			t.Fatalf("PATCH at %d: %d %q", off, code, msg)
		}
	}
	took := time.Since(started)
	close(stop)
	<-sampled
	hwm := procStatusKB(t, p.cmd.Process.Pid, "VmHWM")
	t.Logf("%d MiB by tus in %d PATCHes: %.1f s (%.0f MB/s); peak bytes in the data directory while sending: %d (%.1f MiB), in the spool: %d (%.1f MiB), bound %d MiB; server peak RSS %d -> %d MiB",
		size>>20, size/patch, took.Seconds(), size/took.Seconds()/1e6, peakAll.Load(), float64(peakAll.Load())/(1<<20),
		peakSpool.Load(), float64(peakSpool.Load())/(1<<20), tusSpoolBound>>20, hwm0>>10, hwm>>10)
	if peakAll.Load() > tusSpoolBound || peakSpool.Load() > tusSpoolBound {
		t.Errorf("the local disk held up to %d bytes (spool %d) of a %d byte upload; the bound is %d", peakAll.Load(), peakSpool.Load(), size, tusSpoolBound)
	}
	if peakSpool.Load() == 0 {
		t.Error("nothing was seen in the spool: the measurement is broken")
	}
	if grown := (hwm - hwm0) << 10; grown > 64<<20 {
		t.Errorf("the server's peak memory grew by %d MiB for a %d MiB upload", grown>>20, size>>20)
	}
	// The file is in the store, for the ingest job.
	if code != 204 {
		t.Fatalf("last PATCH: %d", code)
	}
}

// dirBytes is the size of the regular files below dir/sub.
func dirBytes(dir, sub string) int64 {
	var n int64
	filepath.WalkDir(filepath.Join(dir, sub), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
