package ingest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
)

// objectHarness is a pipeline whose media store is a real S3 server.
func objectHarness(t *testing.T) (*harness, *objstore.Store, string) {
	t.Helper()
	h, st, base, _ := objectHarnessServer(t)
	return h, st, base
}

func objectHarnessServer(t *testing.T) (*harness, *objstore.Store, string, *s3test.S3Server) {
	t.Helper()
	srv, st, _ := s3test.MediaStore(t, "media/clapshot")
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.Objects = st; o.UploadExpiry = time.Hour })
	return h, st, h.serve(0), srv
}

// tusDo sends a tus request and returns its status, body and
// Upload-Offset.
func tusDo(t *testing.T, method, url string, body []byte, hdr map[string]string) (int, string, int) {
	t.Helper()
	var r io.Reader
	std := map[string]string{"Tus-Resumable": "1.0.0"}
	if body != nil {
		r = bytes.NewReader(body)
		std["Content-Type"] = "application/offset+octet-stream"
	}
	resp, b := request(t, method, url, r, std, hdr)
	off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	return resp.StatusCode, string(b), off
}

// tusCreate starts an upload of size bytes as user and returns its URL.
func tusCreate(t *testing.T, base, user, name string, size int) string {
	t.Helper()
	resp, b := request(t, "POST", base+TusPath, nil, map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": strconv.Itoa(size),
		"Upload-Metadata": tusMeta("filename", name), "X-Remote-User-Id": user,
		"X-Clapshot-Cookies": `{"folder":"7","note":"` + strings.Repeat("x", 3000) + `"}`})
	if resp.StatusCode != 201 {
		t.Fatalf("create %s: %d %s", name, resp.StatusCode, b)
	}
	return base + resp.Header.Get("Location")
}

// tusKeys lists what the store holds of resumable uploads: objects and
// multipart uploads in progress.
func tusKeys(t *testing.T, st *objstore.Store) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := st.List(ctx, tusObjectPrefix)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingUploads(ctx, tusObjectPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		keys = append(keys, "multipart:"+p.Key)
	}
	return keys
}

// A resumable upload with a media store: sent in three PATCHes (each
// shorter than S3's 5 MiB minimum part, so each leaves a tail in the
// store that the next one sends again), only the uploader may touch it,
// it is ingested from the store, its original ends up in the store byte
// for byte, and nothing of it is left below upload/ (store or disk). The
// uploader's cookies (3 KB here, over S3's 2 KiB of object metadata)
// reach the media id.
func TestTusUploadToObjectStore(t *testing.T) {
	mediatest.Require(t)
	h, st, base := objectHarness(t)
	src := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mov"], mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 24})
	data, _ := os.ReadFile(src)
	name := "résumé clip.mov"
	loc := tusCreate(t, base, "erin", name, len(data))
	if code, body, _ := tusDo(t, "HEAD", loc, nil, map[string]string{"X-Remote-User-Id": "mallory"}); code != 403 {
		t.Errorf("another user's HEAD: %d %s", code, body)
	}
	if code, body, _ := tusDo(t, "PATCH", loc, data[:10], map[string]string{"X-Remote-User-Id": "mallory", "Upload-Offset": "0"}); code != 403 {
		t.Errorf("another user's PATCH: %d %s", code, body)
	}
	erin := map[string]string{"X-Remote-User-Id": "erin"}
	for i, off := 0, 0; off < len(data); i++ {
		end := min(len(data), off+len(data)/3+1)
		code, body, got := tusDo(t, "PATCH", loc, data[off:end], map[string]string{"X-Remote-User-Id": "erin", "Upload-Offset": strconv.Itoa(off)})
		if code != 204 || got != end {
			t.Fatalf("PATCH %d: %d %q, offset %d, want %d", i, code, body, got, end)
		}
		if _, _, head := tusDo(t, "HEAD", loc, nil, erin); end < len(data) && head != end {
			t.Fatalf("HEAD after PATCH %d: offset %d, want %d", i, head, end)
		}
		off = end
	}
	h.waitIdle(time.Minute)
	m, ok := h.mediaByName(name)
	if !ok {
		t.Fatalf("not ingested: %v", h.rec.texts("erin", ""))
	}
	orig, err := st.Read(context.Background(), "videos/"+m.ID+"/orig/"+name)
	if err != nil || !bytes.Equal(orig, data) {
		t.Errorf("the stored original: %d bytes (%v), want the %d uploaded", len(orig), err, len(data))
	}
	tmp := t.TempDir() + "/" + name
	os.WriteFile(tmp, data, 0o644)
	if want, _ := MediaID(tmp, "erin", map[string]string{"folder": "7", "note": strings.Repeat("x", 3000)}); m.ID != want {
		t.Errorf("id %s, want %s (cookies from the creation request)", m.ID, want)
	}
	if left := tusKeys(t, st); len(left) != 0 {
		t.Errorf("left in the store: %q", left)
	}
	if left, _ := os.ReadDir(h.l.Tus()); len(left) != 0 {
		t.Errorf("left in the spool: %v", left)
	}
	// A finished upload is gone for tus: a late DELETE changes nothing.
	if code, _, _ := tusDo(t, "DELETE", loc, nil, erin); code != 404 {
		t.Errorf("DELETE after the upload: %d, want 404", code)
	}
	if _, err := st.Stat(context.Background(), "videos/"+m.ID+"/orig/"+name); err != nil {
		t.Errorf("the original after a late DELETE: %v", err)
	}
}

// DELETE removes an upload in progress from the store; an upload that
// makes no progress for the expiry is removed by the cleanup, and so are
// multipart uploads that never got an .info and finished uploads that no
// job is processing, once old; a finished upload a job is waiting for is
// kept.
func TestTusObjectTerminationAndExpiry(t *testing.T) {
	h, st, base := objectHarness(t)
	ctx := context.Background()
	erin := map[string]string{"X-Remote-User-Id": "erin"}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16) // one whole part

	loc := tusCreate(t, base, "erin", "cancelled.mp4", 20<<20)
	for _, b := range [][]byte{chunk, chunk[:1<<20]} { // a part, then a tail
		off := 0
		_, _, off = tusDo(t, "HEAD", loc, nil, erin)
		if code, body, _ := tusDo(t, "PATCH", loc, b, map[string]string{"X-Remote-User-Id": "erin", "Upload-Offset": strconv.Itoa(off)}); code != 204 {
			t.Fatalf("PATCH: %d %s", code, body)
		}
	}
	if _, _, off := tusDo(t, "HEAD", loc, nil, erin); off != 7<<20 {
		t.Fatalf("offset %d, want %d", off, 7<<20)
	}
	if left := tusKeys(t, st); len(left) != 3 { // .info, .part, the multipart upload
		t.Errorf("in the store during the upload: %q", left)
	}
	if code, body, _ := tusDo(t, "DELETE", loc, nil, map[string]string{"X-Remote-User-Id": "mallory"}); code != 403 {
		t.Errorf("another user's DELETE: %d %s", code, body)
	}
	if code, body, _ := tusDo(t, "DELETE", loc, nil, erin); code != 204 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if left := tusKeys(t, st); len(left) != 0 {
		t.Errorf("left in the store after DELETE: %q", left)
	}
	if code, _, _ := tusDo(t, "HEAD", loc, nil, erin); code != 404 {
		t.Errorf("HEAD after DELETE: %d", code)
	}

	// Expiry.
	slow := tusCreate(t, base, "erin", "slow.mp4", 20<<20)
	if code, body, _ := tusDo(t, "PATCH", slow, chunk, map[string]string{"X-Remote-User-Id": "erin", "Upload-Offset": "0"}); code != 204 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	client, err := st.AWSClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("media"),
		Key: aws.String(st.Object(tusObjectPrefix + "/halfmade"))}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"orphan", "orphan.info", "queued", "queued.info"} {
		if err := st.Write(ctx, tusObjectPrefix+"/"+k, []byte("{}"), ""); err != nil {
			t.Fatal(err)
		}
	}
	// A job (of another instance, say) is fetching "queued".
	if _, err := h.db.InsertJob(ctx, store.Job{Kind: KindIngest, UserID: "erin", State: store.JobRunning,
		Spec: encodeSpec(ingestSpec{Path: h.l.Upload() + "/x/queued.mp4", Object: tusObjectPrefix + "/queued"})}); err != nil {
		t.Fatal(err)
	}
	h.p.Cleanup(ctx)
	if code, _, off := tusDo(t, "HEAD", slow, nil, erin); code != 200 || off != len(chunk) {
		t.Fatalf("a fresh upload after the cleanup: %d offset %d", code, off)
	}
	// All fresh: only the .info of the one being fetched goes.
	if left := tusKeys(t, st); len(left) != 6 {
		t.Errorf("after the cleanup: %q", left)
	}
	h.p.mu.Lock()
	expire := h.p.tusCleanup
	h.p.mu.Unlock()
	expire(ctx, time.Now().Add(2*time.Hour))
	if code, _, _ := tusDo(t, "HEAD", slow, nil, erin); code != 404 {
		t.Errorf("an expired upload: HEAD %d", code)
	}
	if left := tusKeys(t, st); len(left) != 1 || left[0] != tusObjectPrefix+"/queued" {
		t.Errorf("left in the store after the expiry: %q, want only the file a job is fetching", left)
	}
}

// The store is away when a PATCH's first part is sent, and back for its
// later parts: they are not sent either, since the offset the store's
// parts add up to would then count bytes after a gap, and the client
// would resume past the part that is missing. The offset stays where the
// file is whole, and the upload resumes from there.
func TestTusPartsAfterAFailureAreNotSent(t *testing.T) {
	h, _, base, srv := objectHarnessServer(t)
	const size = 32 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	for i := range data {
		data[i] ^= byte(i >> 20) // no two parts alike
	}
	loc := tusCreate(t, base, "erin", "gap.bin", size)
	erin := map[string]string{"X-Remote-User-Id": "erin"}
	pr, pw := io.Pipe()
	go func() {
		pw.Write(data[:4<<20])
		srv.Stop()
		pw.Write(data[4<<20 : 8<<20]) // the first part is full: sent, refused
		time.Sleep(5 * time.Second)   // its tries are over
		srv.Start()
		pw.Write(data[8<<20:]) // three more parts, the store is back
		pw.Close()
	}()
	req, _ := http.NewRequest("PATCH", loc, pr)
	req.ContentLength = size
	for k, v := range map[string]string{"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "X-Remote-User-Id": "erin"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(msg), "media store") {
		t.Errorf("PATCH across the outage: %d %q, want 503 naming the media store", resp.StatusCode, msg)
	}
	code, _, off := tusDo(t, "HEAD", loc, nil, erin)
	if code != 200 || off != 0 {
		t.Fatalf("HEAD after the outage: %d, offset %d; want 0 (the first part is missing)", code, off)
	}
	for off < size {
		end := min(size, off+12<<20)
		var body string
		if code, body, off = tusDo(t, "PATCH", loc, data[off:end], map[string]string{"X-Remote-User-Id": "erin", "Upload-Offset": strconv.Itoa(off)}); code != 204 {
			t.Fatalf("PATCH: %d %q", code, body)
		}
	}
	// The ingest job fetches the file, and refuses it (it is no media):
	// what it fetched is what was sent.
	h.waitIdle(time.Minute)
	rej := h.rejected()
	if len(rej) != 1 {
		t.Fatalf("rejected/: %q, want the upload", rej)
	}
	if got, _ := os.ReadFile(filepath.Join(h.l.Rejected(), rej[0])); !bytes.Equal(got, data) {
		t.Errorf("the file fetched from the store differs from the one sent (%d bytes, want %d)", len(got), len(data))
	}
}
