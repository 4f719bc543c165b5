package review_test

// The tests run the real server (internal/app) on loopback with a real
// SQLite file, and talk to it with real websocket clients.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// webpImage is a real WebP image (made with ffmpeg), webpURL its data URL
// as the client's canvas.toDataURL("image/webp") writes it.
var (
	webpImage []byte
	webpURL   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "review-test-")
	if err != nil {
		panic(err)
	}
	p := filepath.Join(dir, "d.webp")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=32x18",
		"-frames:v", "1", "-c:v", "libwebp", "-y", p).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ffmpeg (with libwebp) is needed to make a test drawing: %v\n%s", err, out)
		os.Exit(1)
	}
	webpImage, _ = os.ReadFile(p)
	webpURL = "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webpImage)
	os.RemoveAll(dir)
	os.Exit(m.Run())
}

type testServer struct {
	t    *testing.T
	stop func() // ends the server and waits for it (idempotent)
	app  *app.App
	url  string // http://127.0.0.1:port
	dir  string
	logs *testkit.SyncBuffer
}

// startServer runs a server on a fresh data directory with extra flags.
func startServer(t *testing.T, flags ...string) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg, _, err := config.Parse(append([]string{"--data-dir", dir, "--port", "0", "--host", "127.0.0.1"}, flags...),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop within 20 s")
		}
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{t: t, stop: stop, app: a, url: "http://" + a.Listener.Addr().String(), dir: dir, logs: logs}
}

// addMedia creates a media file owned by user (the row and its directory
// with an original file), ready to open.
func (s *testServer) addMedia(id, owner, mediaType string) store.MediaFile {
	s.t.Helper()
	ctx := context.Background()
	if err := s.app.DB.EnsureUser(ctx, owner, ""); err != nil {
		s.t.Fatal(err)
	}
	m := store.MediaFile{ID: id, UserID: owner, OrigFilename: new("clip " + id + ".mp4"), Title: new("Clip " + id),
		MediaType: new(mediaType), Duration: new(12.5), TotalFrames: new(int64(300)), FPS: new("24")}
	if err := s.app.DB.InsertMediaFile(ctx, m); err != nil {
		s.t.Fatal(err)
	}
	orig := filepath.Join(s.dir, "videos", id, "orig")
	if err := os.MkdirAll(orig, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orig, "clip "+id+".mp4"), []byte("not really video"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	got, err := s.app.DB.GetMediaFile(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

// client is a websocket client with every received message queued.
type client struct {
	t    *testing.T
	name string
	conn *websocket.Conn
	in   chan []byte
	done chan error // the read error that ended the connection
	// paused, when closed, stops the reader (a client that hangs).
	paused chan struct{}
	resume chan struct{}
	// timeout overrides waitTime for replies to big messages, which take a
	// while under -race on a loaded machine.
	timeout time.Duration
}

// dial connects as user (the proxy headers a trusted proxy would set) and
// consumes the welcome and defineActions messages.
func (s *testServer) dial(user string, extra ...string) *client {
	s.t.Helper()
	h := http.Header{}
	h.Set("X-Remote-User-Id", user)
	h.Set("X-Remote-User-Name", "Name of "+user)
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	c := s.dialRaw(h)
	w := c.expect("welcome")
	if w.GetWelcome().GetUser().GetId() != user {
		s.t.Fatalf("welcome for %q: %v", user, w)
	}
	c.expect("defineActions")
	return c
}

func (s *testServer) dialRaw(h http.Header) *client {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, strings.Replace(s.url, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		s.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	conn.SetReadLimit(256 << 20)
	c := &client{t: s.t, name: h.Get("X-Remote-User-Id"), conn: conn, in: make(chan []byte, 100000), done: make(chan error, 1),
		paused: make(chan struct{}), resume: make(chan struct{})}
	go func() {
		for {
			select {
			case <-c.paused:
				<-c.resume
			default:
			}
			_, b, err := conn.Read(context.Background())
			if err != nil {
				c.done <- err
				close(c.in)
				return
			}
			c.in <- b
		}
	}()
	s.t.Cleanup(func() { conn.CloseNow() })
	return c
}

const waitTime = 10 * time.Second

// stopReading makes the client hang: it no longer reads from the socket.
func (c *client) stopReading() { close(c.paused) }

// readAllUntilClosed resumes reading and expects the connection to end.
func (c *client) readAllUntilClosed() error {
	close(c.resume)
	deadline := time.After(waitTime)
	for {
		select {
		case _, ok := <-c.in:
			if !ok {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("%s: still connected", c.name)
		}
	}
}

// sendRaw sends a text frame as is.
func (c *client) sendRaw(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// send sends {"<cmd>": args, "cookies": {}} as the original client does.
func (c *client) send(cmd string, args any) {
	c.t.Helper()
	b, err := json.Marshal(map[string]any{cmd: args, "cookies": map[string]string{}})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// next returns the next message, parsed strictly as the protocol.
func (c *client) next() (*pb.ServerToClientCmd, []byte) {
	c.t.Helper()
	select {
	case b, ok := <-c.in:
		if !ok {
			c.t.Fatalf("%s: connection closed: %v", c.name, <-c.done)
		}
		var cmd pb.ServerToClientCmd
		if err := protojson.Unmarshal(b, &cmd); err != nil {
			c.t.Fatalf("%s: reply does not parse as ServerToClientCmd: %v\n%s", c.name, err, b)
		}
		return &cmd, b
	case <-time.After(c.wait()):
		c.t.Fatalf("%s: no message within %s", c.name, c.wait())
	}
	return nil, nil
}

func (c *client) wait() time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return waitTime
}

// key is the command key of a message ("showMessages", ...).
func key(cmd *pb.ServerToClientCmd) string {
	m := cmd.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("cmd"))
	if f == nil {
		return ""
	}
	return f.JSONName()
}

// expect returns the next message and fails unless it is a k.
func (c *client) expect(k string) *pb.ServerToClientCmd {
	c.t.Helper()
	cmd, raw := c.next()
	if key(cmd) != k {
		c.t.Fatalf("%s: expected %s, got %s", c.name, k, raw)
	}
	return cmd
}

// expectMsg expects a showMessages with one message of type typ whose text
// contains text.
func (c *client) expectMsg(typ pb.UserMessage_Type, text string) *pb.UserMessage {
	c.t.Helper()
	cmd := c.expect("showMessages")
	msgs := cmd.GetShowMessages().GetMsgs()
	if len(msgs) != 1 || msgs[0].Type != typ || !strings.Contains(msgs[0].Message, text) {
		c.t.Fatalf("%s: expected %s %q, got %v", c.name, typ, text, msgs)
	}
	return msgs[0]
}

// expectError expects an {"error":{"msg":...}} containing text.
func (c *client) expectError(text string) {
	c.t.Helper()
	cmd := c.expect("error")
	if !strings.Contains(cmd.GetError().GetMsg(), text) {
		c.t.Fatalf("%s: expected error %q, got %q", c.name, text, cmd.GetError().GetMsg())
	}
}

// quiet checks that nothing arrives for a moment (a message that would
// come does so within milliseconds on loopback).
func (c *client) quiet() {
	c.t.Helper()
	select {
	case b, ok := <-c.in:
		if ok {
			c.t.Fatalf("%s: unexpected message %s", c.name, b)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// alive checks the session still answers.
func (c *client) alive() {
	c.t.Helper()
	c.send("listMyMessages", map[string]any{})
	c.expect("showMessages")
}

// expectClosed waits for the server to end the connection and returns the
// close status.
func (c *client) expectClosed() websocket.StatusCode {
	c.t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case _, ok := <-c.in:
			if !ok {
				return websocket.CloseStatus(<-c.done)
			}
		case <-deadline:
			c.t.Fatalf("%s: connection not closed", c.name)
		}
	}
}
