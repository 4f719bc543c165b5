package review_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Every bad input gets a clear error, the session keeps working, and
// another user's session is not disturbed.
func TestBadInputs(t *testing.T) {
	// A 1 MiB message limit keeps the oversized cases cheap on a busy
	// machine; the default (16 MiB) is the same code.
	s := startServer(t, "--ws-max-message-mb", "1")
	s.addMedia("aaaa0001", "alice", "video")
	s.addMedia("bbbb0001", "bob", "video")
	c := s.dial("alice")
	other := s.dial("bob")
	other.openMedia("bbbb0001")
	c.openMedia("aaaa0001")
	other.send("addComment", map[string]any{"mediaFileId": "bbbb0001", "comment": "bob's own"})
	bobsComment := other.expect("addComments").GetAddComments().GetComments()[0].Id

	envelope := []struct{ name, msg, want string }{
		{"not JSON", "hello there", "not valid JSON"},
		{"truncated JSON", `{"openMediaFile":{"mediaFileId":"x"}`, "not valid JSON"},
		{"JSON array", `[{"listMyMessages":{}}]`, "must be a JSON object"},
		{"JSON string", `"listMyMessages"`, "must be a JSON object"},
		{"empty object", `{}`, "empty message"},
		{"only cookies", `{"cookies":{"a":"b"}}`, "empty message"},
		{"unknown command", `{"deleteEverything":{},"cookies":{}}`, `unknown command "deleteEverything"`},
		{"two commands", `{"listMyMessages":{},"logout":{}}`, "one command per message, got 2"},
		{"null arguments", `{"openMediaFile":null}`, "has no arguments object"},
		{"wrong field type", `{"openMediaFile":{"mediaFileId":123}}`, "openMediaFile: invalid value for string field mediaFileId"},
		{"unknown field", `{"openMediaFile":{"mediaFileId":"x","extra":1}}`, `unknown field "extra"`},
		{"arguments not an object", `{"openMediaFile":"x"}`, "openMediaFile"},
	}
	for _, tc := range envelope {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw(tc.msg)
			c.expectError(tc.want)
			c.alive()
		})
	}

	t.Run("binary frame", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		if err := c.conn.Write(ctx, websocket.MessageBinary, []byte(`{"listMyMessages":{}}`)); err != nil {
			t.Fatal(err)
		}
		c.expectError("Binary messages are not supported")
		c.alive()
	})
	t.Run("message over the size limit (a 50 MB subtitle)", func(t *testing.T) {
		big := s.dial("alice")
		sub := base64.StdEncoding.EncodeToString(make([]byte, 50<<20))
		msg := `{"addSubtitle":{"mediaFileId":"aaaa0001","fileName":"huge.srt","contentsBase64":"` + sub + `"}}`
		go func() {
			// The server stops reading after 1 MiB: this write fails.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			big.conn.Write(ctx, websocket.MessageText, []byte(msg))
		}()
		big.timeout = 2 * time.Minute
		big.expectError("Message too large: the limit is 1 MiB")
		big.expectClosed()
		// The user's other session and everyone else carry on.
		c.alive()
		other.alive()
	})
	t.Run("message just over the size limit", func(t *testing.T) {
		big := s.dial("alice")
		big.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": strings.Repeat("x", 1<<20)})
		big.expectError("Message too large")
		if code := big.expectClosed(); code != websocket.StatusMessageTooBig {
			t.Errorf("close status %v", code)
		}
	})

	commandErrors := []struct {
		name string
		cmd  string
		args map[string]any
		want string
	}{
		{"drawing not webp", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "drawing": "data:image/png;base64,iVBORw0KGgo="}, "drawing must be image/webp, got image/png"},
		{"drawing webp in name only", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "drawing": "data:image/webp;base64," + base64.StdEncoding.EncodeToString([]byte("GIF89a not webp at all"))}, "not a WebP image"},
		{"drawing bad base64", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "drawing": "data:image/webp;base64,!!!"}, "bad base64"},
		{"drawing path", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "drawing": "../../../../etc/passwd"}, "drawing must be a data:image/webp;base64 URL"},
		{"reply to a comment on another file", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "parentId": bobsComment}, "is on another media file"},
		{"reply to a missing comment", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "parentId": "99999"}, "comment 99999 does not exist"},
		{"parent id not a number", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "parentId": "one"}, `parent id "one" is not a number`},
		{"missing subtitle", "addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "x", "subtitleId": "4242"}, "subtitle 4242 does not belong to media file aaaa0001"},
		{"missing media file", "addComment", map[string]any{"mediaFileId": "nope0000", "comment": "x"}, "No such media file."},
		{"rename missing", "renameMediaFile", map[string]any{"mediaFileId": "nope0000", "newName": "x"}, "No such media file."},
		{"delete missing", "delMediaFile", map[string]any{"mediaFileId": "nope0000"}, "No such media file."},
		{"edit missing comment", "editComment", map[string]any{"commentId": "99999", "newComment": "x"}, "Failed to edit comment."},
		{"delete missing comment", "delComment", map[string]any{"commentId": "99999"}, "Failed to delete comment."},
		{"delete someone else's comment", "delComment", map[string]any{"commentId": bobsComment}, "Permission denied: delete comment"},
		{"missing subtitle to delete", "delSubtitle", map[string]any{"id": "4242"}, "no such subtitle: 4242"},
		{"subtitle of another format", "addSubtitle", map[string]any{"mediaFileId": "aaaa0001", "fileName": "x.sub", "contentsBase64": base64.StdEncoding.EncodeToString([]byte("{1}{25}Hello"))}, "unsupported subtitle format"},
	}
	for _, tc := range commandErrors {
		t.Run(tc.name, func(t *testing.T) {
			c.send(tc.cmd, tc.args)
			c.expectMsg(pb.UserMessage_ERROR, tc.want)
			c.alive()
		})
	}
	other.quiet()
}

// One client sending 10 000 messages a second is throttled; another
// client's requests are answered meanwhile.
func TestRateLimit(t *testing.T) {
	s := startServer(t)
	flooder := s.dial("mallory")
	c := s.dial("alice")

	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		msg := []byte(`{"collabReport":{"paused":true,"seekTimeSec":1},"cookies":{}}`)
		start := time.Now()
		for i := 0; i < 10000; i++ {
			if err := flooder.conn.Write(ctx, websocket.MessageText, msg); err != nil {
				return
			}
			// 10 000 a second at most.
			if ahead := time.Duration(i)*100*time.Microsecond - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}()
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		c.alive()
		slowest = max(slowest, time.Since(start))
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	if slowest > 2*time.Second {
		t.Errorf("another client waited %s during the flood", slowest)
	}
	// The flooder got some answers and a rate-limit error, not 10 000.
	answered, limited := 0, 0
	deadline := time.After(3 * time.Second)
collect:
	for {
		select {
		case b := <-flooder.in:
			switch {
			case strings.Contains(string(b), "Report rejected"):
				answered++
			case strings.Contains(string(b), "Too many messages: at most 100 per second"):
				limited++
			}
		case <-deadline:
			break collect
		}
	}
	if limited == 0 || answered == 0 || answered > 2000 {
		t.Errorf("flooder: %d answered, %d rate-limit errors", answered, limited)
	}
	// It recovers once it slows down.
	time.Sleep(time.Second)
	flooder.alive()
}

// bareHub serves a hub of its own, with options the command line does
// not offer, on s's database and data directory.
func (s *testServer) bareHub(opt review.Options) *testServer {
	if opt.DB == nil {
		opt.DB = store.Bind[review.Queries](s.app.DB)
	}
	opt.DataDir, opt.Log = s.dir, slog.New(slog.NewTextHandler(s.logs, nil))
	opt.Identity = &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	ctx, cancel := context.WithCancel(context.Background())
	hub := review.NewHub(ctx, opt)
	ts := httptest.NewServer(hub)
	s.t.Cleanup(func() { cancel(); hub.Wait(); ts.Close() })
	c := *s
	c.url = ts.URL
	return &c
}

// A client that stops reading is disconnected when its queue overflows;
// the others in the same room keep getting everything.
func TestSlowClientDropped(t *testing.T) {
	srv := startServer(t)
	srv.addMedia("aaaa0001", "alice", "video")
	s := srv.bareHub(review.Options{SendQueue: 16, SendQueueBytes: 1 << 20})
	presenter := s.dial("alice")
	watcher := s.dial("bob")
	slow := s.dial("carol")
	members := []*client{}
	for _, c := range []*client{presenter, watcher, slow} {
		c.send("joinCollab", map[string]any{"collabId": "r", "mediaFileId": "aaaa0001"})
		members = append(members, c)
		for _, m := range members {
			m.expectMsg(pb.UserMessage_OK, "joined")
		}
	}
	// carol's client stops reading; the others go on.
	slow.stopReading()

	// 250 reports with a 48 KiB drawing (64 KiB of JSON): 16 MB for carol,
	// more than her send queue (1 MiB) and the socket buffers hold.
	const reports = 250
	drawing := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(append(append([]byte{}, webpImage...), make([]byte, 48<<10)...))
	report := `{"collabReport":{"paused":true,"seekTimeSec":1,"drawing":"` + drawing + `"}}`
	go func() {
		for i := 0; i < reports; i++ {
			if presenter.conn.Write(context.Background(), websocket.MessageText, []byte(report)) != nil {
				return
			}
		}
	}()
	for i := 0; i < reports; i++ {
		presenter.expectCollabEvent()
		watcher.expectCollabEvent()
	}
	if !strings.Contains(s.logs.String(), "Disconnecting a client that does not keep up") {
		t.Error("the stuck client was not disconnected")
	}
	// Its connection is gone: reading what was buffered ends in an error.
	if err := slow.readAllUntilClosed(); err != nil {
		t.Fatal(err)
	}
	presenter.alive()
}

// Identity headers are believed only from trusted proxies; from anyone
// else they are refused.
func TestIdentityFromUntrustedPeer(t *testing.T) {
	s := startServer(t, "--trusted-proxies", "10.0.0.0/8")
	h := http.Header{}
	h.Set("X-Remote-User-Id", "admin")
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, strings.Replace(s.url, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("untrusted identity: err %v, response %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "trusted proxy") {
		t.Errorf("403 body: %q", body)
	}
	if !strings.Contains(s.logs.String(), "Refusing identity headers from an untrusted address") {
		t.Error("not logged")
	}
	// Without identity headers: the default user.
	w := s.dialRaw(http.Header{}).expect("welcome").GetWelcome()
	if w.User.Id != "anonymous" || w.IsAdmin {
		t.Errorf("welcome %v", w)
	}
}

func TestOriginCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flags  []string
		origin string
		ok     bool
	}{
		{"no Origin (not a browser)", nil, "", true},
		{"same origin", nil, "SELF", true},
		{"cross-site", nil, "https://evil.example", false},
		{"url-base origin", []string{"--url-base", "https://review.example.com/"}, "https://review.example.com", true},
		{"cross-site with url-base", []string{"--url-base", "https://review.example.com/"}, "https://evil.example", false},
		{"--cors origin", []string{"--cors", "http://localhost:5173"}, "http://localhost:5173", true},
		{"--cors *", []string{"--cors", "*"}, "https://anything.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.flags...)
			h := http.Header{}
			if tc.origin == "SELF" {
				h.Set("Origin", s.url)
			} else if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTime)
			defer cancel()
			conn, resp, err := websocket.Dial(ctx, strings.Replace(s.url, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				conn.CloseNow()
				return
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("accepted a cross-site websocket: %v %v", err, resp)
			}
			if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "not allowed") {
				t.Errorf("403 body %q", body)
			}
		})
	}
}

// Pings from the client are answered and do not end the session (they
// did in Clapshot); a client that does not answer the server's pings is
// disconnected, for that reason. Bare hubs on loopback with a short ping
// interval: the answering client's hub waits long for pongs (a loaded
// machine may take a second to answer: the 300 ms this test once used made
// it fail under load), and the client stays longer than interval + pong
// timeout, so a hub that dropped answering clients would still fail it;
// the mute client's hub waits briefly, which only its mute client sees.
func TestKeepalive(t *testing.T) {
	s := startServer(t) // for its database
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := func(pongTimeout time.Duration) (string, *testkit.SyncBuffer) {
		logs := &testkit.SyncBuffer{}
		h := review.NewHub(ctx, review.Options{DB: store.Bind[review.Queries](s.app.DB), DataDir: s.dir,
			Log:          slog.New(slog.NewTextHandler(logs, nil)),
			Identity:     &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			PingInterval: 100 * time.Millisecond, PongTimeout: pongTimeout})
		ts := httptest.NewServer(h)
		t.Cleanup(func() { cancel(); h.Wait(); ts.Close() })
		return strings.Replace(ts.URL, "http", "ws", 1), logs
	}
	const pongTimeout = 2 * time.Second

	// A reading client answers the server's pings and may ping itself.
	liveURL, liveLogs := hub(pongTimeout)
	live, _, err := websocket.Dial(ctx, liveURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.CloseNow()
	// Reading (which answers pings) in the background.
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := live.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	for end := time.Now().Add(pongTimeout + 500*time.Millisecond); time.Now().Before(end); {
		pctx, pcancel := context.WithTimeout(ctx, waitTime)
		if err := live.Ping(pctx); err != nil {
			t.Fatalf("ping: %v (hub log:\n%s)", err, liveLogs.String())
		}
		pcancel()
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-readErr:
		t.Fatalf("the live client was disconnected: %v (hub log:\n%s)", err, liveLogs.String())
	default:
	}

	// A client that never reads never answers: it is dropped.
	muteURL, muteLogs := hub(300 * time.Millisecond)
	mute, _, err := websocket.Dial(ctx, muteURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mute.CloseNow()
	time.Sleep(time.Second)
	// Reading now: the welcome messages, then the end.
	rctx, rcancel := context.WithTimeout(ctx, waitTime)
	defer rcancel()
	for err := error(nil); err == nil; {
		_, _, err = mute.Read(rctx)
	}
	if rctx.Err() != nil {
		t.Fatal("the mute client is still connected")
	}
	for deadline := time.Now().Add(waitTime); !strings.Contains(muteLogs.String(), "no answer to keepalive ping"); {
		if time.Now().After(deadline) {
			t.Fatalf("the mute client was dropped, but not for its missing pongs:\n%s", muteLogs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Shutting down closes every session with "going away".
func TestShutdownClosesSessions(t *testing.T) {
	s := startServer(t)
	c := s.dial("alice")
	s.stop() // as on SIGTERM: the server's context ends
	if code := c.expectClosed(); code != websocket.StatusGoingAway {
		t.Errorf("close status %v", code)
	}
}
