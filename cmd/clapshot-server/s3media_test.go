package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func s3Server(t *testing.T) (*s3test.S3Server, *objstore.Store, string) {
	return s3test.MediaStore(t, "media/clapshot")
}

// waitMedia waits for user's media file to be transcoded (if it needs
// it) and thumbnailed, and returns its id.
func waitMedia(t *testing.T, db *sql.DB, user string, p *proc, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var id string
		var thumbs sql.NullString
		if db.QueryRow(`SELECT id, thumbs_done FROM media_files WHERE user_id = ?`, user).Scan(&id, &thumbs) == nil && thumbs.Valid {
			var pending int
			db.QueryRow(`SELECT count(*) FROM ingest_jobs WHERE media_file_id = ? AND state IN ('queued','running')`, id).Scan(&pending)
			if pending == 0 {
				return id
			}
		}
		var failed string
		if db.QueryRow(`SELECT details FROM messages WHERE user_id = ? AND event_name = 'error'`, user).Scan(&failed) == nil {
			t.Fatalf("%s: ingest failed: %s", user, failed)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not processed in %s; server output:\n%s", user, timeout, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitObjects waits until every key is an object in the store.
func waitObjects(t *testing.T, st *objstore.Store, keys ...string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range keys {
		for {
			if _, err := st.Stat(ctx, k); err == nil {
				break
			}
			if time.Now().After(deadline) {
				have, _ := st.List(ctx, "videos")
				t.Fatalf("no object %s; the store has %q", k, have)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// get fetches url (following redirects) with an optional Range.
func get(t *testing.T, url, rng string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// played fetches the video at url as a player does (following the
// redirect to the store) and checks that it is an H.264 MP4.
func played(t *testing.T, url string) []byte {
	t.Helper()
	resp, full := get(t, url, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("GET %s (redirected): %s %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	f := filepath.Join(t.TempDir(), "played.mp4")
	os.WriteFile(f, full, 0o644)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", f).Output()
	if err != nil || strings.TrimSpace(string(out)) != "h264" {
		t.Errorf("the file played from %s: ffprobe %q, %v", url, out, err)
	}
	return full
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Media in an object store, end to end with a real server process, real
// ffmpeg and a real S3 server: a clip uploaded by multipart and by tus is
// streamed to the store, transcoded and thumbnailed; the originals,
// transcodes and thumbnails end up as objects and leave the local disk;
// the playback URL redirects to the store and serves ranges (and, with
// --media-proxy, is streamed with ranges); drawings and subtitles are
// objects.
func TestMediaInObjectStore(t *testing.T) {
	mediatest.Require(t)
	_, st, mediaURL := s3Server(t)
	ctx := context.Background()
	clipPath := mediatest.Make(t, t.TempDir(), mediatest.Families["hevc_mkv"], mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 24})
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"-D", dir, "-P", "0.1", "-w", "1", "--media-url", mediaURL}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	if strings.Contains(p.out.String(), os.Getenv("AWS_SECRET_ACCESS_KEY")) {
		t.Error("the server log shows the secret key")
	}

	if code, body := uploadMultipart(t, base, "alice", "clip.mkv", clip); code != 200 {
		t.Fatalf("multipart upload: %d %s", code, body)
	}
	if code, body := uploadTus(t, base, "bob", "clip.mkv", clip); code != 204 {
		t.Fatalf("tus upload: %d %s", code, body)
	}
	db := openReadOnly(t, dir)
	for _, user := range []string{"alice", "bob"} {
		id := waitMedia(t, db, user, p, 3*time.Minute)
		media := "videos/" + id + "/"
		waitObjects(t, st, media+"orig/clip.mkv", media+"video.mp4", media+"thumbs/thumb.webp", media+"thumbs/sheet-10x10.webp")
		// The local copies go once stored.
		deadline := time.Now().Add(20 * time.Second)
		for {
			left, _ := filepath.Glob(filepath.Join(dir, "videos", id, "*", "*"))
			more, _ := filepath.Glob(filepath.Join(dir, "videos", id, "*.mp4"))
			if len(left)+len(more) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still on the local disk: %q %q", user, left, more)
			}
			time.Sleep(100 * time.Millisecond)
		}
		orig, err := st.Read(ctx, media+"orig/clip.mkv")
		if err != nil || !bytes.Equal(orig, clip) {
			t.Errorf("%s: the stored original is %d bytes (%v), want the %d uploaded", user, len(orig), err, len(clip))
		}

		url := playbackURL(t, base, user, id)
		if url != media+"video.mp4" {
			t.Errorf("%s: playback URL %q", user, url)
		}
		resp, err := noRedirect.Get(base + url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "X-Amz-Signature=") {
			t.Errorf("%s: GET %s: %s, Location %q; want a redirect to a presigned URL", user, url, resp.Status, loc)
		}
		full := played(t, base+url)
		resp, part := get(t, base+url, "bytes=1000-1999")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, full[1000:2000]) {
			t.Errorf("%s: ranged GET through the redirect: %s, %d bytes", user, resp.Status, len(part))
		}
	}

	// Drawings and subtitles.
	id := waitMedia(t, db, "alice", p, time.Minute)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := wsclient.Dial(wctx, strings.TrimSuffix(base, "/"), wsclient.User{ID: "alice", Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	thumb, err := st.Read(ctx, "videos/"+id+"/thumbs/thumb.webp")
	if err != nil {
		t.Fatal(err)
	}
	drawing := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(thumb)
	c.Send(wctx, wsclient.OpenMediaFile(id))
	c.Send(wctx, &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_AddComment_{AddComment: &pb.ClientToServerCmd_AddComment{
		MediaFileId: id, Comment: "look here", Drawing: &drawing}}})
	srt := "1\n00:00:00,000 --> 00:00:01,000\nHello from the store\n"
	c.Send(wctx, &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_AddSubtitle_{AddSubtitle: &pb.ClientToServerCmd_AddSubtitle{
		MediaFileId: id, FileName: "en.srt", ContentsBase64: base64.StdEncoding.EncodeToString([]byte(srt))}}})
	waitObjects(t, st, "videos/"+id+"/subs/orig/en.srt", "videos/"+id+"/subs/en.vtt")
	keys, _ := st.List(ctx, "videos/"+id+"/drawings")
	for deadline := time.Now().Add(20 * time.Second); len(keys) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		keys, _ = st.List(ctx, "videos/"+id+"/drawings")
	}
	if len(keys) != 1 {
		t.Errorf("drawing objects: %q", keys)
	} else if got, _ := st.Read(ctx, keys[0]); !bytes.Equal(got, thumb) {
		t.Errorf("the stored drawing differs from the one sent")
	}
	if _, err := os.Stat(filepath.Join(dir, "videos", id, "drawings")); err == nil {
		t.Error("drawings were written to the local disk")
	}
	resp, vtt := get(t, base+"videos/"+id+"/subs/en.vtt", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(string(vtt), "WEBVTT") || !strings.Contains(string(vtt), "Hello from the store") {
		t.Errorf("GET the subtitle: %s %q", resp.Status, vtt)
	}
	if resp.Request.URL.Host != strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/") {
		t.Errorf("the subtitle was redirected to %s; text is served from the app's origin", resp.Request.URL.Host)
	}
	if left, _ := st.List(ctx, "upload"); len(left) != 0 {
		t.Errorf("uploads left in the store: %q", left)
	}

	// Deleting moves the objects to the trash, with the row's backup.
	c.Send(wctx, &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_DelMediaFile_{DelMediaFile: &pb.ClientToServerCmd_DelMediaFile{MediaFileId: id}}})
	var trashed []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		left, _ := st.List(ctx, "videos/"+id)
		trashed, _ = st.List(ctx, "videos/trash")
		if len(left) == 0 && len(trashed) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after delMediaFile: %q left, %q in the trash", left, trashed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var backup, origInTrash bool
	for _, k := range trashed {
		if !strings.HasPrefix(k, "videos/trash/"+id+"_") {
			t.Errorf("trash object %s is not under the media file's trash entry", k)
		}
		backup = backup || strings.HasSuffix(k, "/db_backup.json")
		origInTrash = origInTrash || strings.HasSuffix(k, "/orig/clip.mkv")
	}
	if !backup || !origInTrash {
		t.Errorf("trash in the store: %q; want the original and db_backup.json", trashed)
	}
	id = waitMedia(t, db, "bob", p, time.Minute)

	// --media-proxy: the same URL, streamed with ranges.
	c.Close()
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t, 30*time.Second)
	p = start(t, nil, append(args, "--media-proxy")...)
	p.waitHealthy(t)
	base = fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	want, _ := st.Read(ctx, "videos/"+id+"/video.mp4")
	resp, err = noRedirect.Get(base + "videos/" + id + "/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("--media-proxy: %s, want the file itself", resp.Status)
	}
	resp, part := get(t, base+"videos/"+id+"/video.mp4", fmt.Sprintf("bytes=%d-", len(want)-500))
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, want[len(want)-500:]) {
		t.Errorf("--media-proxy ranged GET: %s, %d bytes", resp.Status, len(part))
	}
}

// slowUpload uploads size bytes from src by multipart: the first pauseAt
// bytes, then (once pause returns) the rest.
func slowUpload(t *testing.T, base, user, name string, size int64, src io.Reader, pauseAt int64, pause func()) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="fileupload"; filename="`+name+`"`)
		h.Set("Content-Type", "video/mp4")
		fw, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.CopyN(fw, src, pauseAt)
		}
		if err == nil {
			pause()
			_, err = io.CopyN(fw, src, size-pauseAt)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", base+"api/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Remote-User-Id", user)
	return do(t, req)
}

// The object store stops for 30 s in the middle of an upload: the
// server waits for it (the client's upload slows down, nothing is
// buffered beyond one part), the upload is answered Ok once the store is
// back, and the file is ingested and plays, byte for byte.
func TestObjectStoreDownDuringUpload(t *testing.T) {
	mediatest.Require(t)
	srv, st, mediaURL := s3Server(t)
	tmp := t.TempDir()
	// Noise does not compress: about 30 MB, four parts.
	clipPath := mediatest.MakeArgs(t, tmp, "noise.mp4", "-f", "lavfi", "-i", "nullsrc=s=640x360:r=25:d=4,geq=random(1)*255:128:128",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clip: %d bytes", len(clip))
	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1", "--media-url", mediaURL)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)

	var down time.Time
	restarted := make(chan struct{})
	code, body := slowUpload(t, base, "carol", "noise.mp4", int64(len(clip)), bytes.NewReader(clip), int64(len(clip))/3, func() {
		srv.Stop()
		down = time.Now()
		go func() {
			defer close(restarted)
			time.Sleep(30 * time.Second)
			srv.Start()
		}()
	})
	<-restarted
	took := time.Since(down)
	t.Logf("upload answered %d %q %.1f s after the store went down", code, body, took.Seconds())
	if code != 200 || body != "Ok" {
		t.Fatalf("upload across a 30 s outage: %d %q; server output:\n%s", code, body, p.out)
	}
	db := openReadOnly(t, dir)
	id := waitMedia(t, db, "carol", p, 3*time.Minute)
	waitObjects(t, st, "videos/"+id+"/orig/noise.mp4")
	orig, err := st.Read(context.Background(), "videos/"+id+"/orig/noise.mp4")
	if err != nil || !bytes.Equal(orig, clip) {
		t.Fatalf("stored original: %d bytes (%v), want the %d uploaded", len(orig), err, len(clip))
	}
	// (The cause named depends on where the store was cut: a refused
	// connection, a reset.)
	if log := p.out.String(); !strings.Contains(log, "The object store does not answer; retrying") ||
		!strings.Contains(log, "The object store answers again") {
		t.Errorf("the outage and the recovery are not in the log:\n%s", log)
	}
}

// A large upload is streamed through: the server's memory grows by about
// one part, and nothing of it lands on the local disk while it arrives.
func TestLargeUploadStreamsToTheStore(t *testing.T) {
	_, st, mediaURL := s3Server(t)
	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1", "--media-url", mediaURL)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	const size = 256 << 20
	hwm0 := procStatusKB(t, p.cmd.Process.Pid, "VmHWM")
	var peakDisk int64
	stop := make(chan struct{}) // closed by the body's end
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var n int64
			filepath.Walk(filepath.Join(dir, "upload"), func(_ string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() {
					n += fi.Size()
				}
				return nil
			})
			peakDisk = max(peakDisk, n)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	started := time.Now()
	// The sampling ends with the last byte sent: once the upload is
	// answered, the ingest job fetches the file into the spool.
	src := &endReader{r: rand.NewChaCha8([32]byte{1}), left: size, end: stop}
	code, body := slowUpload(t, base, "dave", "big.bin", size, src, 0, func() {})
	took := time.Since(started)
	<-sampled
	hwm := procStatusKB(t, p.cmd.Process.Pid, "VmHWM")
	t.Logf("256 MiB upload: %d %q in %.1f s (%.0f MB/s); server peak RSS %d -> %d MiB (+%d); peak bytes in upload/ while streaming: %d",
		code, body, took.Seconds(), size/took.Seconds()/1e6, hwm0>>10, hwm>>10, (hwm-hwm0)>>10, peakDisk)
	if code != 200 {
		t.Fatalf("upload: %d %q", code, body)
	}
	if grown := (hwm - hwm0) << 10; grown > 64<<20 {
		t.Errorf("the server's peak memory grew by %d MiB for a 256 MiB upload", grown>>20)
	}
	if peakDisk != 0 {
		t.Errorf("%d bytes of the upload were written to the local disk while it streamed", peakDisk)
	}
	if _, err := st.Stat(context.Background(), "upload"); err == nil {
		t.Error("an object named upload")
	}
}

// endReader closes end when its last byte has been read.
type endReader struct {
	r    io.Reader
	left int64
	end  chan struct{}
}

func (e *endReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b[:min(int64(len(b)), e.left)])
	e.left -= int64(n)
	if e.left == 0 && e.end != nil {
		close(e.end)
		e.end = nil
	}
	return n, err
}

// A data directory that served its media from the disk moves into the
// store when the server is started with --media-url: at start-up each
// media file's directory (original, transcode, thumbnails, drawings) is
// uploaded and removed from the disk, and the same playback URL then
// redirects to the store.
func TestExistingMediaMoveIntoTheStore(t *testing.T) {
	mediatest.Require(t)
	_, st, mediaURL := s3Server(t)
	ctx := context.Background()
	clipPath := mediatest.Make(t, t.TempDir(), mediatest.Families["hevc_mkv"], mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 24})
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"-D", dir, "-P", "0.1", "-w", "1"}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	if code, body := uploadMultipart(t, base, "alice", "clip.mkv", clip); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	db := openReadOnly(t, dir)
	id := waitMedia(t, db, "alice", p, 3*time.Minute)
	url := playbackURL(t, base, "alice", id)
	_, before := get(t, base+url, "")
	local, _ := filepath.Glob(filepath.Join(dir, "videos", id, "*"))
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t, 30*time.Second)

	p = start(t, nil, append(args, "--media-url", mediaURL)...)
	p.waitHealthy(t)
	base = fmt.Sprintf("http://127.0.0.1:%d/", p.port)
	media := "videos/" + id + "/"
	waitObjects(t, st, media+"orig/clip.mkv", media+"video.mp4", media+"thumbs/thumb.webp", media+"thumbs/sheet-10x10.webp")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left, _ := filepath.Glob(filepath.Join(dir, "videos", id, "*", "*"))
		more, _ := filepath.Glob(filepath.Join(dir, "videos", id, "*.mp4"))
		if len(left)+len(more) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still on the local disk after the move: %q %q (before: %q)", left, more, local)
		}
	}
	if orig, err := st.Read(ctx, media+"orig/clip.mkv"); err != nil || !bytes.Equal(orig, clip) {
		t.Errorf("the stored original is %d bytes (%v), want the %d uploaded", len(orig), err, len(clip))
	}
	if got := playbackURL(t, base, "alice", id); got != url {
		t.Errorf("playback URL after the move %q, before %q", got, url)
	}
	resp, err := noRedirect.Get(base + url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("GET %s after the move: %s, want a redirect to the store", url, resp.Status)
	}
	if after := played(t, base+url); !bytes.Equal(after, before) {
		t.Errorf("the video played from the store (%d bytes) differs from the one on the disk before (%d)", len(after), len(before))
	}
}
