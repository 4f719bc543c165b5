package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// New versions onto a media file: one that plays as it is and one that
// is transcoded join the stack (the stack shows the newest ready one); a
// version of another kind is refused; a failed transcode keeps the last
// good version; deleting a middle version leaves the others.
func TestVersionUploads(t *testing.T) {
	mediatest.Require(t)
	dir := t.TempDir()
	// A real transcode, except for files named bad*: those fail as a
	// transcode fails (a status and a reason on stderr).
	script := filepath.Join(t.TempDir(), "transcode.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncase \"$CLAPSHOT_INPUT_FILE\" in *bad*) echo 'Invalid data found when processing input' >&2; exit 1;; esac\n"+
		"eval \"exec $CLAPSHOT_DEFAULT_COMMAND\"\n"), 0o755)
	h := newHarnessIn(t, dir, func(o *Options) { o.TranscodeScript = script })
	ctx := context.Background()
	src := t.TempDir()
	mk := func(fam, name string, seconds float64) string {
		opts := mediatest.Small
		opts.Seconds = seconds
		p := mediatest.Make(t, src, mediatest.Families[fam], opts)
		renamed := filepath.Join(src, name)
		if err := os.Rename(p, renamed); err != nil {
			t.Fatal(err)
		}
		return renamed
	}
	idOf := func(name string) string {
		t.Helper()
		m, ok := h.mediaByName(name)
		if !ok {
			t.Fatalf("%s not ingested: %v", name, h.rec.texts("ann", ""))
		}
		return m.ID
	}
	stack := func(id string) store.StackInfo {
		t.Helper()
		infos, err := h.db.StackInfos(ctx, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		return infos[id]
	}
	submitVersion := func(path, name, target string) {
		t.Helper()
		d, done, err := h.p.NewUploadDir()
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		b, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(d, name), b, 0o644)
		if err := h.p.Submit(ctx, Upload{Path: filepath.Join(d, name), UserID: "ann", Source: "upload", VersionOf: target}); err != nil {
			t.Fatal(err)
		}
	}

	h.submit(mk("h264_mp4", "cut1.mp4", 1), "cut1.mp4", "ann", nil)
	h.waitIdle(time.Minute)
	v1 := idOf("cut1.mp4")

	submitVersion(mk("hevc_mkv", "cut2.mkv", 1.5), "cut2.mkv", v1)
	h.waitIdle(2 * time.Minute)
	v2 := idOf("cut2.mkv")
	if s := stack(v2); s != (store.StackInfo{StackID: v1, Version: 2, Count: 2, Head: v2}) {
		t.Errorf("after cut 2: %+v", s)
	}
	if got := h.rec.texts("ann", v2); !slices.Contains(got, "ok Version 2 added. Transcoding...") {
		t.Errorf("messages about cut 2: %v", got)
	}

	// Audio onto video: refused, with the reason; nothing is added.
	submitVersion(mk("audio_wav", "voice.wav", 1), "voice.wav", v1)
	h.waitIdle(time.Minute)
	msg, ok := h.errorFor("ann", "voice.wav")
	if !ok || msg.Text != "New version refused" || !strings.Contains(msg.Details, "must be a video like it, but this file is an audio file") {
		t.Errorf("audio onto video: %+v", msg)
	}
	if _, ok := h.mediaByName("voice.wav"); ok {
		t.Error("the audio file was added")
	}
	if r := h.rejected(); len(r) != 1 || filepath.Base(r[0]) != "voice.wav" {
		t.Errorf("rejected/: %v (the file must be kept there)", r)
	}

	// A version whose transcode fails stays in the stack, but the stack
	// keeps showing cut 2.
	submitVersion(mk("hevc_mkv", "bad-cut3.mkv", 2), "bad-cut3.mkv", v2)
	h.waitIdle(2 * time.Minute)
	v3 := idOf("bad-cut3.mkv")
	if msg, ok := h.errorFor("ann", "bad-cut3.mkv"); !ok || msg.Text != "Media transcoding failed" {
		t.Errorf("failed cut 3: %+v", msg)
	}
	if s := stack(v3); s != (store.StackInfo{StackID: v1, Version: 3, Count: 3, Head: v2}) {
		t.Errorf("after the failed cut 3: %+v", s)
	}
	if v, _ := h.db.GetVersion(ctx, v3); v.State != store.VersionFailed {
		t.Errorf("cut 3's state: %q", v.State)
	}
	if _, err := os.Stat(filepath.Join(h.l.OrigDir(v3), "bad-cut3.mkv")); err != nil {
		t.Errorf("the failed version's original is gone: %v", err)
	}

	// Deleting the middle version (cut 2): cut 1 stands for the stack
	// again, cut 3 keeps its number.
	if _, err := mediadir.Trash(ctx, h.db, h.l, v2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := stack(v1); s != (store.StackInfo{StackID: v1, Version: 1, Count: 2, Head: v1}) {
		t.Errorf("after deleting cut 2: %+v", s)
	}
	if s := stack(v3); s.Version != 3 {
		t.Errorf("cut 3 after deleting cut 2: %+v", s)
	}

	// Bad targets are refused before anything is read.
	var ve *VersionTargetError
	if err := h.p.CheckVersionTarget(ctx, "ann", "deadbeef"); !errors.As(err, &ve) || ve.Status != 404 {
		t.Errorf("missing target: %v", err)
	}
	if err := h.p.CheckVersionTarget(ctx, "bob", v1); !errors.As(err, &ve) || ve.Status != 403 || !strings.Contains(ve.Msg, "Only the owner of 'cut1.mp4'") {
		t.Errorf("another user's file: %v", err)
	}
}

// Over HTTP: X-Clapshot-Version-Of on a plain or a resumable upload; a
// bad target is answered before the body is read, and nothing is stored.
func TestVersionUploadHTTP(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	base := h.serve(0)
	data, _ := os.ReadFile(mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small))
	ctype, body := multipartBody(part{"fileupload", "a.mp4", data})
	as := func(user string, extra map[string]string) map[string]string {
		h := map[string]string{"X-Remote-User-Id": user}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	if status, text := post(t, base+"/api/upload", ctype, bytes.NewReader(body), as("ann", nil)); status != 200 {
		t.Fatalf("%d %s", status, text)
	}
	h.waitIdle(time.Minute)
	v1, _ := h.mediaByName("a.mp4")

	for _, c := range []struct {
		user, target string
		status       int
		text         string
	}{
		{"ann", "deadbeef", 404, "No media file 'deadbeef' to add a new version to"},
		{"bob", v1.ID, 403, "Only the owner of 'a.mp4' can add new versions to it"},
	} {
		status, text := post(t, base+"/api/upload", ctype, bytes.NewReader(body), as(c.user, map[string]string{VersionOfHeader: c.target}))
		if status != c.status || strings.TrimSpace(text) != c.text {
			t.Errorf("%s onto %s: %d %q", c.user, c.target, status, text)
		}
		req, _ := http.NewRequest("POST", base+TusPath, nil)
		for k, v := range as(c.user, map[string]string{VersionOfHeader: c.target, "Tus-Resumable": "1.0.0", "Upload-Length": "10",
			"Upload-Metadata": "filename " + base64.StdEncoding.EncodeToString([]byte("b.mp4"))}) {
			req.Header.Set(k, v)
		}
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != c.status {
			t.Errorf("tus, %s onto %s: %v %v", c.user, c.target, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	ctype2, two := multipartBody(part{"fileupload", "b.mp4", data}, part{"fileupload", "c.mp4", data})
	if status, text := post(t, base+"/api/upload", ctype2, bytes.NewReader(two), as("ann", map[string]string{VersionOfHeader: v1.ID})); status != 400 ||
		!strings.Contains(text, "A new version is one file") {
		t.Errorf("two files as one version: %d %q", status, text)
	}

	// A good one, over tus.
	longer := mediatest.Small
	longer.Seconds = 2
	other, _ := os.ReadFile(mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], longer))
	loc := tusUploadAll(t, base, "a2.mp4", other, as("ann", map[string]string{VersionOfHeader: v1.ID}))
	if loc == "" {
		t.FailNow()
	}
	h.waitIdle(time.Minute)
	v2, ok := h.mediaByName("a2.mp4")
	if !ok {
		t.Fatalf("not ingested: %v", h.rec.texts("ann", ""))
	}
	if v, err := h.db.GetVersion(context.Background(), v2.ID); err != nil || v.StackID != v1.ID || v.Version != 2 {
		t.Errorf("tus version: %+v %v", v, err)
	}
}

// tusUploadAll uploads data in one PATCH and returns the upload's URL.
func tusUploadAll(t *testing.T, base, name string, data []byte, headers map[string]string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+TusPath, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Errorf("tus create: %v %v", resp, err)
		return ""
	}
	resp.Body.Close()
	loc := base + resp.Header.Get("Location")
	if strings.HasPrefix(resp.Header.Get("Location"), "http") {
		loc = resp.Header.Get("Location")
	}
	patch, _ := http.NewRequest("PATCH", loc, bytes.NewReader(data))
	for k, v := range headers {
		patch.Header.Set(k, v)
	}
	patch.Header.Set("Tus-Resumable", "1.0.0")
	patch.Header.Set("Upload-Offset", "0")
	patch.Header.Set("Content-Type", "application/offset+octet-stream")
	if resp, err = http.DefaultClient.Do(patch); err != nil || resp.StatusCode != 204 {
		t.Errorf("tus patch: %v %v", resp, err)
		return ""
	}
	resp.Body.Close()
	return loc
}
