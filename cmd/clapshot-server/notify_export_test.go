package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/notify"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/smtpsink"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// A whole server with notifications and exports wired in: a comment on
// alice's video reaches her signed webhook, alice's reply that mentions
// @carol e-mails bob (the replied-to) and carol (through a real SMTP
// server) and lands in carol's message list; then the comments download
// in every export format, access-checked, with frames in the report.
func TestNotificationsAndExportEndToEnd(t *testing.T) {
	mediatest.Require(t)
	clipPath := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"],
		mediatest.Options{Seconds: 3, Width: 320, Height: 240, FPS: 25})
	clip, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	sink := &smtpsink.Sink{}
	smtpAddr, _ := smtpsink.Start(t, sink, nil)

	type hook struct {
		sig, event string
		body       []byte
	}
	var mu sync.Mutex
	var hooks []hook
	wh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooks = append(hooks, hook{r.Header.Get(notify.HeaderSignature), r.Header.Get(notify.HeaderEvent), b})
		mu.Unlock()
	}))
	defer wh.Close()

	dir := t.TempDir()
	p := start(t, nil, "-D", dir, "-P", "0.1", "-w", "1",
		"--smtp-url", "smtp://"+smtpAddr, "--smtp-from", "Clapshot <noreply@review.test>", "--webhook-allow-private")
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d/", p.port)

	put := func(user string, settings map[string]any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(settings)
		req, _ := http.NewRequest("PUT", base+"api/notifications/settings", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Remote-User-Id", user)
		req.Header.Set("X-Remote-User-Name", user)
		code, body := do(t, req)
		if code != 200 {
			t.Fatalf("PUT settings for %s: %d %s", user, code, body)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(body), &out)
		return out
	}
	all := map[string]any{"on_comment": true, "on_reply": true, "on_mention": true, "in_app": true}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range all {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	secret, _ := put("alice", with(map[string]any{"webhook_url": wh.URL + "/hook"}))["webhook_secret"].(string)
	if secret == "" {
		t.Fatal("no webhook secret made for alice's webhook")
	}
	put("bob", with(map[string]any{"email": "bob@review.test", "email_enabled": true}))
	put("carol", with(map[string]any{"email": "carol@review.test", "email_enabled": true}))

	if code, body := uploadMultipart(t, base, "alice", "cut 3.mp4", clip); code != 200 && code != 204 {
		t.Fatalf("upload: %d %s", code, body)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mediaID string
	waitFor(t, 2*time.Minute, "the upload to be ingested", func() bool {
		return db.QueryRow(`SELECT id FROM media_files WHERE user_id = 'alice' AND duration IS NOT NULL`).Scan(&mediaID) == nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	comment := func(user string, cmd *pb.ClientToServerCmd) {
		t.Helper()
		c, err := wsclient.Dial(ctx, strings.TrimSuffix(base, "/"), wsclient.User{ID: user, Name: user})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Send(ctx, wsclient.OpenMediaFile(mediaID)); err != nil {
			t.Fatal(err)
		}
		if _, all, err := c.Wait(ctx, 15*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil }); err != nil {
			t.Fatalf("open as %s: %v (%s)", user, err, wsclient.Describe(all))
		}
		if err := c.Send(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		if _, all, err := c.Wait(ctx, 15*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetAddComments() != nil }); err != nil {
			t.Fatalf("comment as %s: %v (%s)", user, err, wsclient.Describe(all))
		}
	}
	tc := "00:00:01:05"
	comment("bob", &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_AddComment_{AddComment: &pb.ClientToServerCmd_AddComment{
		MediaFileId: mediaID, Comment: "Logo is too small", Timecode: &tc}}})
	var bobComment int64
	if err := db.QueryRow(`SELECT id FROM comments WHERE user_id = 'bob'`).Scan(&bobComment); err != nil {
		t.Fatal(err)
	}
	parent := strconv.FormatInt(bobComment, 10)
	comment("alice", &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_AddComment_{AddComment: &pb.ClientToServerCmd_AddComment{
		MediaFileId: mediaID, Comment: "Fixed in cut 4, @carol please check", ParentId: &parent}}})

	// alice's webhook: bob's comment, signed with her secret.
	waitFor(t, 20*time.Second, "alice's webhook call", func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) > 0 })
	mu.Lock()
	h := hooks[0]
	mu.Unlock()
	if h.event != notify.EventComment || !strings.Contains(string(h.body), "Logo is too small") {
		t.Errorf("webhook: event %q body %s", h.event, h.body)
	}
	ts := strings.TrimPrefix(strings.Split(h.sig, ",")[0], "t=")
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if want := notify.Sign(secret, time.Unix(sec, 0), h.body); h.sig != want {
		t.Errorf("webhook signature %q, want %q", h.sig, want)
	}
	// E-mails to bob (a reply to him) and carol (mentioned).
	waitFor(t, 20*time.Second, "two e-mails", func() bool { return len(sink.Messages()) >= 2 })
	got := map[string]string{}
	for _, m := range sink.Messages() {
		got[strings.Join(m.To, ",")] = m.Msg.Header.Get("Subject")
	}
	if !strings.Contains(got["bob@review.test"], "replied") || !strings.Contains(got["carol@review.test"], "mentioned") {
		t.Errorf("e-mails: %q", got)
	}
	// carol's message list (stored, as she was not connected).
	var msg string
	waitFor(t, 10*time.Second, "carol's in-app message", func() bool {
		return db.QueryRow(`SELECT message FROM messages WHERE user_id = 'carol'`).Scan(&msg) == nil
	})
	if !strings.Contains(msg, "mentioned you") {
		t.Errorf("carol's message %q", msg)
	}
	// alice gets nothing for her own reply; bob's comment reached her once.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	if len(hooks) != 1 {
		t.Errorf("alice's webhook was called %d times, want 1", len(hooks))
	}
	mu.Unlock()

	// Exports.
	get := func(user, query string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"api/media/"+query, nil)
		req.Header.Set("X-Remote-User-Id", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, c := range []struct {
		format, want, ctype string
	}{
		{"edl", "Logo is too small", "text/plain"},
		{"csv", "Fixed in cut 4", "text/csv"},
		{"fcpxml", "Logo is too small", "application/xml"},
		{"premiere", "Logo is too small", "application/xml"},
		{"html", "data:image/jpeg;base64,", "text/html"},
	} {
		code, hdr, body := get("alice", mediaID+"/comments/export?format="+c.format)
		if code != 200 || !strings.Contains(body, c.want) || !strings.HasPrefix(hdr.Get("Content-Type"), c.ctype) {
			t.Errorf("export %s: %d %s, %q...", c.format, code, hdr.Get("Content-Type"), first(body, 300))
			continue
		}
		if cd := hdr.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "cut 3 comments") {
			t.Errorf("export %s: Content-Disposition %q", c.format, cd)
		}
		if strings.HasSuffix(c.format, "xml") || c.format == "premiere" {
			if err := xml.Unmarshal([]byte(body), new(struct{})); err != nil {
				t.Errorf("export %s is not well-formed XML: %v", c.format, err)
			}
		}
	}
	// Bob's comment is at 1 s + 5 frames of the 25 fps clip: frame 30.
	if _, _, body := get("alice", mediaID+"/comments/export?format=edl"); !strings.Contains(body, "00:00:01:05") {
		t.Errorf("EDL lacks the comment's timecode 00:00:01:05:\n%s", body)
	}
	for _, c := range []struct {
		query string
		code  int
		says  string
	}{
		{mediaID + "/comments/export?format=pdf", 400, "unknown export format"},
		{mediaID + "/comments/export", 400, "unknown export format"},
		{"deadbeef/comments/export?format=csv", 404, "does not exist"},
	} {
		if code, _, body := get("alice", c.query); code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("GET %s: %d %q, want %d saying %q", c.query, code, body, c.code, c.says)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
