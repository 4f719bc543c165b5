package organizer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/organizer"
	"github.com/clapshot-go/clapshot/internal/orgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/servertest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func dataDir(t *testing.T) string { return servertest.ShortDir(t) }

// fastTimings keep the tests short; production defaults are seconds.
func fastTimings(o *organizer.Options) {
	o.SocketWait = 10 * time.Second
	o.HandshakeTimeout = 10 * time.Second
	o.CallTimeout = 10 * time.Second
	o.RestartMin = 200 * time.Millisecond
	o.RestartMax = time.Second
	o.StopGrace = 2 * time.Second
}

type server struct {
	app  *app.App
	base string
	log  *testkit.SyncBuffer
}

func parseConfig(t *testing.T, dir string, args ...string) *config.Config {
	return servertest.Config(t, dir, args...)
}

// startServer starts a server with an organizer command; seed fills the
// database with Clapshot's test fixture first.
func startServer(t *testing.T, dir, orgCmd string, seed bool, tune ...func(*organizer.Options)) *server {
	t.Helper()
	s, err := tryStartServer(t, dir, orgCmd, seed, tune...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryStartServer(t *testing.T, dir, orgCmd string, seed bool, tune ...func(*organizer.Options)) (*server, error) {
	t.Helper()
	if seed {
		if err := orgtest.SeedFixture(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	if orgCmd != "" {
		args = append(args, "--org-cmd", orgCmd)
	}
	return startServerArgs(t, dir, args, tune...)
}

// startServerArgs starts a server with these command-line arguments.
func startServerArgs(t *testing.T, dir string, args []string, tune ...func(*organizer.Options)) (*server, error) {
	t.Helper()
	ts, err := servertest.StartServer(t, dir, args, app.WithOrganizerOptions(func(o *organizer.Options) {
		fastTimings(o)
		for _, f := range tune {
			f(o)
		}
	}))
	if err != nil {
		return &server{log: ts.Log}, err
	}
	return &server{app: ts.App, base: ts.Base, log: ts.Log}, nil
}

// dial connects a websocket session and waits for its start-up messages.
func (s *server) dial(t *testing.T, id string, admin bool) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, s.base, wsclient.User{ID: id, Name: "Name of " + id, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, _, err := c.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetWelcome() != nil }); err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	return c
}

func send(t *testing.T, c *wsclient.Client, cmd *pb.ClientToServerCmd) {
	t.Helper()
	if err := c.Send(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// wait returns the first message that matches, failing the test if none
// comes within 20 s (generous: the machines are shared).
func wait(t *testing.T, c *wsclient.Client, what string, match func(*pb.ServerToClientCmd) bool) (*pb.ServerToClientCmd, []*pb.ServerToClientCmd) {
	t.Helper()
	m, skipped, err := c.Wait(context.Background(), 20*time.Second, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return m, skipped
}

// navigate asks for the home page and returns it.
func navigate(t *testing.T, c *wsclient.Client, pageID string) *pb.ServerToClientCmd_ShowPage {
	t.Helper()
	send(t, c, wsclient.OpenNavigationPage(pageID))
	m, _ := wait(t, c, "showPage", wsclient.Page)
	return m.GetShowPage()
}

// pageText joins the HTML items of a page.
func pageText(p *pb.ServerToClientCmd_ShowPage) string {
	var b strings.Builder
	for _, it := range p.GetPageItems() {
		b.WriteString(it.GetHtml())
	}
	return b.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
