package organizer_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/organizer"
	"github.com/clapshot-go/clapshot/internal/orgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func hasAction(name string) func(*pb.ServerToClientCmd) bool {
	return func(m *pb.ServerToClientCmd) bool { return m.GetDefineActions().GetActions()[name] != nil }
}

// The test organizer runs as a subprocess over Unix sockets: its
// migration runs with the server's, it defines actions for new sessions,
// serves the page, and its "exercise" command calls every
// OrganizerOutbound method and checks the answers (see exercise()).
func TestTestOrganizerEndToEnd(t *testing.T) {
	dir := dataDir(t)
	s := startServer(t, dir, orgCmd(modeNormal), true)

	st := s.app.Organizer.Status()
	if st["state"] != organizer.StateConnected || st["name"] != "clapshot.test_organizer" || st["version"] != "1.2.3" {
		t.Fatalf("organizer status %v", st)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "clapshot.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ver string
	if err := db.QueryRow("SELECT version FROM testorg_schema").Scan(&ver); err != nil || ver != "0001" {
		t.Fatalf("organizer migration not applied: %q %v", ver, err)
	}
	// Its output reaches our log with its level.
	if !strings.Contains(s.log.String(), `level=INFO msg="[organizer] [testorg] listening on`) {
		t.Errorf("organizer output not logged at INFO:\n%s", s.log)
	}

	c := s.dial(t, "user.num1", false)
	wait(t, c, "the organizer's actions", hasAction("testorg_action"))
	page := navigate(t, c, "")
	if !strings.Contains(pageText(page), "Test organizer page") || len(page.GetPageItems()[1].GetFolderListing().GetItems()) != 3 {
		t.Fatalf("page %v", page)
	}

	// Watch B1DE0 in a collab room, so that messages to its watchers and
	// to the room reach this session.
	send(t, c, wsclient.OpenMediaFile("B1DE0"))
	wait(t, c, "the media file", func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil })
	send(t, c, wsclient.JoinCollab("exroom", "B1DE0"))
	send(t, c, wsclient.OrganizerCmd("exercise", map[string]any{}))
	var seen []*pb.ServerToClientCmd
	m, skipped := wait(t, c, "the exercise result", func(m *pb.ServerToClientCmd) bool {
		return wsclient.Message("exercise passed")(m) || wsclient.Message("exercise failed")(m)
	})
	seen = append(skipped, m)
	if msg := m.GetShowMessages().GetMsgs()[0]; msg.GetMessage() != "exercise passed" {
		t.Fatalf("the organizer's checks failed:\n%s", msg.GetDetails())
	}
	// What the organizer's calls did to this session.
	checks := map[string]func(*pb.ServerToClientCmd) bool{
		"defineActions":          hasAction("exercised_action"),
		"showPage":               func(m *pb.ServerToClientCmd) bool { return m.GetShowPage().GetPageId() == "exercised" },
		"setCookies":             func(m *pb.ServerToClientCmd) bool { return m.GetSetCookies().GetCookies()["testorg"] == "1" },
		"message to the session": wsclient.Message("to the session"),
		"message to the user":    wsclient.Message("to the user, not stored"),
		"persisted message":      wsclient.Message("persisted by organizer"),
		"openMediaFile":          func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile().GetMediaFile().GetId() == "B1DE0" },
	}
	for what, match := range checks {
		if !slices.ContainsFunc(seen, match) {
			t.Errorf("the session did not get the %s: %s", what, wsclient.Describe(seen))
		}
	}
	if c.Cookies()["testorg"] != "1" {
		t.Errorf("cookies %v", c.Cookies())
	}
	trash, _ := filepath.Glob(filepath.Join(dir, "videos", "trash", "B1DE4_*", "db_backup.json"))
	if len(trash) != 1 {
		t.Errorf("delete_media_file did not trash B1DE4: %v", trash)
	}

	// cmd_from_client errors: unknown command reported, ABORTED ignored.
	send(t, c, wsclient.OrganizerCmd("frobnicate", nil))
	wait(t, c, "the organizer's error", wsclient.Message("unknown command"))
	send(t, c, wsclient.OrganizerCmd("abort", nil))
	send(t, c, wsclient.OrganizerCmd("sessions", nil))
	_, skipped = wait(t, c, "the next answer", wsclient.Message("sessions started here"))
	if slices.ContainsFunc(skipped, wsclient.Error) {
		t.Errorf("ABORTED was reported to the user: %s", wsclient.Describe(skipped))
	}

	// authz: an explicit denial with the organizer's message.
	d := s.dial(t, "denied.user", false)
	send(t, d, wsclient.OpenMediaFile("B1DE0"))
	wait(t, d, "the media file", func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil })
	send(t, d, wsclient.AddComment("B1DE0", "hello"))
	m, _ = wait(t, d, "the denial", wsclient.Error)
	if !wsclient.Message("Comments are closed here")(m) {
		t.Errorf("denial: %s", wsclient.Describe([]*pb.ServerToClientCmd{m}))
	}
	// ABORTED from authz denies (LOGIN here), silently on the organizer's side.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := wsclient.Dial(ctx, s.base, wsclient.User{ID: "aborted.user", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool {
		return strings.Contains(m.GetError().GetMsg(), "Login permission denied")
	}); err != nil {
		t.Errorf("aborted login: %v", err)
	}

	// Uploads are asked about too (UPLOAD_MEDIA_FILE, without a session).
	req, _ := http.NewRequest("POST", s.base+"/api/upload", strings.NewReader("--x--\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("X-Remote-User-Id", "noupload.user")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Uploads are closed") {
		t.Errorf("upload by a user the organizer refuses: %d %s", resp.StatusCode, body)
	}

	// Odd page items and HTML are passed through; the session goes on.
	o := s.dial(t, "odd.user", false)
	page = navigate(t, o, "")
	if len(page.GetPageItems()) != 2 || !strings.Contains(pageText(page), "<script>") || page.GetPageTitle() != "Odd page" {
		t.Errorf("odd page %v", page)
	}
	navigate(t, o, "")
}

// The harness runs each listed test against a fresh server and fixture,
// and reports passes and failures.
func TestHarnessRunsOrganizerTests(t *testing.T) {
	cfg := parseConfig(t, dataDir(t), "--org-cmd", orgCmd(modeNormal))
	results, dir, err := orgtest.Run(context.Background(), orgtest.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	failed := orgtest.PrintTable(&out, results)
	t.Logf("\n%s", out.String())
	if failed != 1 || len(results) != 2 || !results[0].Passed || results[1].Passed {
		for _, r := range results {
			if !r.Passed {
				log, _ := os.ReadFile(filepath.Join(r.Dir, "server.log"))
				t.Logf("%s log:\n%s", r.Name, log)
			}
		}
		t.Fatalf("want exercise_outbound to pass and fails_on_purpose to fail")
	}
	for _, want := range []string{"exercise_outbound", "PASS", "fails_on_purpose", "FAIL", "1 passed, 1 failed", "this test fails on purpose"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if !strings.HasPrefix(results[0].Dir, dir) {
		t.Errorf("test dir %s not under %s", results[0].Dir, dir)
	}
}

// Killing the organizer mid-session: the user is told, gets the default
// behaviour meanwhile, and the session carries on with the restarted one.
func TestOrganizerKilledMidSession(t *testing.T) {
	dir := dataDir(t)
	s := startServer(t, dir, orgCmd(modeNormal), true)
	c := s.dial(t, "user.num1", false)
	wait(t, c, "the organizer's actions", hasAction("testorg_action"))
	if p := navigate(t, c, ""); !strings.Contains(pageText(p), "Test organizer page") {
		t.Fatalf("page %v", p)
	}

	b, err := os.ReadFile(filepath.Join(dir, "testorg.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait(t, c, "the notice", wsclient.Message("organizer plugin stopped"))

	// Meanwhile, the server's own page and a clear answer to folder commands
	// (unless the organizer is already back, which is fine too).
	send(t, c, wsclient.OpenNavigationPage(""))
	var m *pb.ServerToClientCmd
	m, _ = wait(t, c, "a page", wsclient.Page)
	if !strings.Contains(pageText(m.GetShowPage()), "media") {
		t.Errorf("page while down: %v", m)
	}

	wait(t, c, "the organizer back", wsclient.Message("available again"))
	if p := navigate(t, c, ""); !strings.Contains(pageText(p), "Test organizer page") {
		t.Fatalf("page after the restart %v", p)
	}
	// The new process was told about this session.
	send(t, c, wsclient.OrganizerCmd("sessions", nil))
	wait(t, c, "the session count", wsclient.Message("sessions started here: 1"))
	if st := s.app.Organizer.Status(); st["restarts"] != 1 || st["state"] != organizer.StateConnected {
		t.Errorf("status %v", st)
	}
}

// Commands that do not start, or die at once, or never answer: the
// server serves without the organizer, says why, and keeps trying.
func TestBrokenOrganizerCommands(t *testing.T) {
	tests := []struct {
		name, cmd, want string
	}{
		{"does not exist", "/nonexistent/organizer", "not found"},
		{"exits at once", orgCmd(modeExit), "configuration missing"},
		{"never answers handshake", orgCmd(modeNoHandshake), "did not answer handshake within"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, dataDir(t), tc.cmd, true, func(o *organizer.Options) {
				o.HandshakeTimeout = time.Second
				o.SocketWait = 3 * time.Second
			})
			st := s.app.Organizer.Status()
			if st["state"] != organizer.StateDown || !strings.Contains(st["last_error"].(string), tc.want) {
				t.Fatalf("status %v, want down with %q", st, tc.want)
			}
			c := s.dial(t, "user.num1", false)
			if p := navigate(t, c, ""); !strings.Contains(pageText(p), "media files") {
				t.Errorf("default page %v", p)
			}
			send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "x"}))
			wait(t, c, "the explanation", wsclient.Message("organizer plugin is not available"))
			eventually(t, "restart attempts", func() bool { return s.app.Organizer.Status()["restarts"].(int) >= 2 })
			if !strings.Contains(s.log.String(), "Organizer restart failed") {
				t.Errorf("restart failures not logged")
			}
		})
	}
}

// A slow organizer holds up only the session waiting for it, and only
// until the per-call deadline.
func TestSlowOrganizerDoesNotBlockOthers(t *testing.T) {
	s := startServer(t, dataDir(t), orgCmd(modeNormal), true, func(o *organizer.Options) { o.CallTimeout = 3 * time.Second })
	slow := s.dial(t, "slow.user", false)
	fast := s.dial(t, "user.num1", false)
	send(t, slow, wsclient.OpenNavigationPage(""))
	t0 := time.Now()
	if p := navigate(t, fast, ""); !strings.Contains(pageText(p), "Test organizer page") {
		t.Fatalf("page %v", p)
	}
	fastTook := time.Since(t0)
	m, _ := wait(t, slow, "the slow page's error", wsclient.Error)
	slowTook := time.Since(t0)
	if !wsclient.Message("did not answer navigate_page within 3s")(m) {
		t.Errorf("slow error: %s", wsclient.Describe([]*pb.ServerToClientCmd{m}))
	}
	if fastTook >= slowTook {
		t.Errorf("the other session waited for the slow one (%s, slow one %s)", fastTook, slowTook)
	}
}

// dbContent is a database's schema and rows, as text. The backup before a
// migration is a consistent copy made by SQLite (VACUUM INTO), so a
// restored database has the same content, not the same bytes.
func dbContent(t *testing.T, p string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	var tables []string
	rows, err := db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, ddl string
		rows.Scan(&typ, &name, &ddl)
		out = append(out, typ+" "+name+": "+ddl)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			lines = append(lines, fmt.Sprintf("%s %v", table, vals))
		}
		rows.Close()
		slices.Sort(lines)
		out = append(out, lines...)
	}
	return strings.Join(out, "\n")
}

// Migrations that cannot be placed, or that fail, leave the database as
// it was, with an error naming the modules.
func TestOrganizerMigrationFailures(t *testing.T) {
	tests := []struct {
		mode string
		want []string
	}{
		{modeBadMigration, []string{"unsolvable dependencies", `module clapshot.server at version "20240602173200"`,
			`module clapshot.test_organizer at version ""`, `testorg_0001 -> version "0001"`, `clapshot.server <= "20230101000000"`}},
		{modeFailMigrate, []string{"testorg_0001", "migration failed on purpose", "backup", "restored"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			dir := dataDir(t)
			if err := orgtest.SeedFixture(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
			dbPath := filepath.Join(dir, "clapshot.sqlite")
			before := dbContent(t, dbPath)
			_, err := tryStartServer(t, dir, orgCmd(tc.mode), false)
			if err == nil {
				t.Fatal("server started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if dbContent(t, dbPath) != before {
				t.Errorf("the database changed")
			}
		})
	}
	// An organizer that cannot be asked during start-up: the server's own
	// migrations run, and the organizer, once it answers, is not used while
	// it has migrations pending.
	s := startServer(t, dataDir(t), orgCmd(modeLate), true, func(o *organizer.Options) { o.SocketWait = time.Second })
	eventually(t, "the organizer to refuse", func() bool {
		err, _ := s.app.Organizer.Status()["last_error"].(string)
		return strings.Contains(err, "pending migration(s) for clapshot.test_organizer") && strings.Contains(err, "--migrate")
	})
	if st := s.app.Organizer.Status(); st["state"] == organizer.StateConnected {
		t.Errorf("organizer with pending migrations connected: %v", st)
	}

	// UNIMPLEMENTED check_migrations: no organizer migrations, starts fine.
	s = startServer(t, dataDir(t), orgCmd(modeNoMigrations), true)
	if st := s.app.Organizer.Status(); st["state"] != organizer.StateConnected {
		t.Errorf("status %v", st)
	}
}

// The minimal organizer of docs/organizer-plugins.md works, and the
// document shows the program as it is.
func TestDocumentedMinimalOrganizer(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "docs/examples/minimal-organizer/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs/organizer-plugins.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, src) {
		t.Errorf("docs/organizer-plugins.md does not show docs/examples/minimal-organizer/main.go as it is")
	}
	bin := filepath.Join(t.TempDir(), "hello-organizer")
	build := exec.Command("go", "build", "-o", bin, "./docs/examples/minimal-organizer")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	s := startServer(t, dataDir(t), bin, true)
	c := s.dial(t, "user.num1", false)
	p := navigate(t, c, "")
	if !strings.Contains(pageText(p), "Hello, Name of user.num1!") || len(p.GetPageItems()[1].GetFolderListing().GetItems()) != 3 || p.GetPageTitle() != "Hello" {
		t.Errorf("page %v", p)
	}
}

// An organizer run by someone else, over TCP both ways (--org-in-uri
// http://..., --org-out-tcp): the server connects to it, notices when it
// goes away, and reconnects when it is back.
func TestExternalOrganizerOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	startOrg := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "tcp:"+addr)
		cmd.Env = append(os.Environ(), testOrgEnv+"="+modeNormal)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	org := startOrg()
	dir := dataDir(t)
	if err := orgtest.SeedFixture(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	s, err := startServerArgs(t, dir, []string{"--org-in-uri", "http://" + addr, "--org-out-tcp", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.app.Organizer.Status(); st["state"] != organizer.StateConnected {
		t.Fatalf("status %v", st)
	}
	c := s.dial(t, "user.num1", false)
	wait(t, c, "the organizer's actions", hasAction("testorg_action"))
	if p := navigate(t, c, ""); !strings.Contains(pageText(p), "Test organizer page") {
		t.Fatalf("page %v", p)
	}

	org.Process.Kill()
	org.Wait()
	wait(t, c, "the notice", wsclient.Message("organizer plugin stopped"))
	startOrg()
	wait(t, c, "the organizer back", wsclient.Message("available again"))
	if p := navigate(t, c, ""); !strings.Contains(pageText(p), "Test organizer page") {
		t.Fatalf("page after the reconnect %v", p)
	}
}
