package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// These tests run the real binary, as an operator or systemd would.

var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clapshot-bin-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755) // the not-writable test runs it as another user
	serverBin = filepath.Join(dir, "clapshot-server")
	out, err := exec.Command("go", "build", "-o", serverBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build failed: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Main(m) // runs the tests; stops PostgreSQL if one was started
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd    *exec.Cmd
	out    *testkit.SyncBuffer
	done   chan struct{}
	port   int
	exitRC int
}

// start runs the server with args (plus -p <free port>) in its own process
// group; the test's cleanup kills it if still running.
func start(t *testing.T, prefix []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, append(append([]string{}, prefix...), serverBin), args...)
}

// startCmd is start with the command line's head (a wrapper and the
// binary, or another binary taking the server's options) given.
func startCmd(t *testing.T, head []string, args ...string) *proc {
	t.Helper()
	port := testkit.MustFreePort(t)
	full := append(head, append(args, "-p", strconv.Itoa(port))...)
	cmd := exec.Command(full[0], full[1:]...)
	p := &proc{cmd: cmd, out: &testkit.SyncBuffer{}, done: make(chan struct{}), port: port}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		p.exitRC = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.exitRC
	case <-time.After(timeout):
		t.Fatalf("server did not exit within %v; output:\n%s", timeout, p.out)
	}
	return -1
}

func (p *proc) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("server exited (rc %d) before becoming healthy:\n%s", p.exitRC, p.out)
		default:
		}
		// /api/health answers from the first moment; ?details=1 says
		// "ok" once start-up (migrations, organizer) is over.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/health?details=1", p.port))
		if err == nil {
			var st struct{ Status string }
			jerr := json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if resp.StatusCode == 200 && jerr == nil && st.Status == "ok" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not healthy in time:\n%s", p.out)
}

func hashFile(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// oldDatabase writes a Clapshot 0.5.6-shaped database with n comments.
func oldDatabase(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, "clapshot.sqlite")
	if err := store.CreateAtVersion(context.Background(), p, "20230417100000"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tx, _ := db.Begin()
	for i := 0; i < 20; i++ {
		tx.Exec(`INSERT INTO videos (video_hash, added_by_userid, added_by_username, orig_filename, title, thumb_sheet_dims) VALUES (?, 'alice', 'Alice', 'f.mp4', 'f', '10x10')`, fmt.Sprintf("%08x", i))
	}
	for i := 0; i < n; i++ {
		tx.Exec(`INSERT INTO comments (video_hash, user_id, username, comment) VALUES (?, 'alice', 'Alice', ?)`,
			fmt.Sprintf("%08x", i%20), strings.Repeat("comment text ", 10))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	db.Exec("PRAGMA journal_mode=DELETE")
	db.Close()
	return p
}

func TestOutdatedDatabaseWithoutMigrateRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	db := oldDatabase(t, dir, 10)
	before := hashFile(t, db)

	p := start(t, nil, "-D", dir)
	if rc := p.wait(t, 20*time.Second); rc == 0 {
		t.Fatalf("exit code 0 for an outdated database:\n%s", p.out)
	}
	out := p.out.String()
	for _, want := range []string{"20230418190209", "20240602173200", "--migrate", "Back up"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	if hashFile(t, db) != before {
		t.Error("the database was changed")
	}

	p = start(t, nil, "-D", dir, "--migrate")
	p.waitHealthy(t)
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	if rc := p.wait(t, 20*time.Second); rc != 0 {
		t.Fatalf("rc %d after SIGTERM:\n%s", rc, p.out)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "clapshot.backup-*.tar.gz"))
	if len(backups) != 1 {
		t.Errorf("backups: %v", backups)
	}
}

// A file size limit makes every write past it fail with EFBIG, as a full
// disk would: the migration fails and the backup must be restored.
func TestDiskFullDuringMigrationRestoresBackup(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 not installed")
	}
	dir := t.TempDir()
	db := oldDatabase(t, dir, 3000)
	st, _ := os.Stat(db)
	// The backup is a consistent copy made by SQLite (VACUUM INTO), so the
	// restored file holds the same schema and rows, not the same bytes.
	dump := func() string {
		out, err := exec.Command(sqlite3, db, ".dump").Output()
		if err != nil {
			t.Fatalf("sqlite3 .dump: %v", err)
		}
		return string(out)
	}
	before := dump()

	limit := fmt.Sprintf("--fsize=%d", st.Size()+8192)
	p := start(t, []string{"prlimit", limit, "--"}, "-D", dir, "--migrate")
	if rc := p.wait(t, 30*time.Second); rc == 0 {
		t.Fatalf("migration under a size limit succeeded?\n%s", p.out)
	}
	out := p.out.String()
	if !strings.Contains(out, "restored") || !strings.Contains(out, "writing to the disk failed") || !strings.Contains(out, "MiB free") {
		t.Errorf("want an error saying the write failed and the backup was restored:\n%s", out)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(db + suffix); err == nil {
			t.Errorf("%s left behind", suffix)
		}
	}
	if dump() != before {
		t.Error("database not restored to its original content")
	}
	// Without the limit the same database migrates fine.
	p = start(t, nil, "-D", dir, "--migrate")
	p.waitHealthy(t)
}

func TestBadDataDirs(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "a-file")
	os.WriteFile(file, []byte("x"), 0o644)
	notDB := filepath.Join(root, "notdb")
	os.Mkdir(notDB, 0o755)
	os.WriteFile(filepath.Join(notDB, "clapshot.sqlite"), []byte("this is not sqlite"), 0o644)

	cases := []struct {
		name string
		dir  string
		want string
	}{
		{"missing parent", filepath.Join(root, "no", "such"), "parent directory"},
		{"file instead of dir", file, "is a file"},
		{"not a database", notDB, "not a SQLite database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, nil, "-D", tc.dir)
			if rc := p.wait(t, 20*time.Second); rc == 0 {
				t.Fatal("exit code 0")
			}
			out := strings.TrimSpace(p.out.String())
			if !strings.Contains(out, tc.want) || strings.Count(out, "\n") != 0 {
				t.Errorf("want one line mentioning %q, got:\n%s", tc.want, out)
			}
		})
	}

	t.Run("not writable", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to run the server as another user")
		}
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody")
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		ro := filepath.Join(root, "readonly")
		os.Mkdir(ro, 0o755)
		os.Chmod(root, 0o755)
		os.Chmod(filepath.Dir(root), 0o755)
		cmd := exec.Command(serverBin, "-D", ro, "-p", strconv.Itoa(testkit.MustFreePort(t)))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "not writable") {
			t.Errorf("want 'not writable' error, got %v:\n%s", err, out)
		}
	})
}

func TestConfigFileAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "clapshot-server.conf")
	os.WriteFile(conf, []byte("[general]\ndata-dir = "+dir+"\nmigrate = true\ndebug = false\nlog = "+filepath.Join(dir, "server.log")+"\n"), 0o644)
	p := start(t, nil, "--config", conf)
	p.waitHealthy(t)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	logText, err := os.ReadFile(filepath.Join(dir, "server.log"))
	if err != nil || !strings.Contains(string(logText), "Clapshot server started") {
		t.Errorf("log file: %v %s", err, logText)
	}

	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("[general]\ndata-dir = "+dir+"\nfrobnicate = yes\n"), 0o644)
	cmd := exec.Command(serverBin, "--config", bad)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "line 3") {
		t.Errorf("bad config: %v\n%s", err, out)
	}

	cmd = exec.Command(serverBin, "-p", strconv.Itoa(testkit.MustFreePort(t)))
	cmd.Env = append(os.Environ(), "CLAPSHOT_DATA_DIR="+dir, "CLAPSHOT_BITRATE=0.01")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--bitrate") {
		t.Errorf("env bitrate: %v\n%s", err, out)
	}
}

func TestShutdownSignals(t *testing.T) {
	dir := t.TempDir()
	p := start(t, nil, "-D", dir)
	p.waitHealthy(t)

	// SIGTERM: graceful shutdown, exit status 0. (That in-flight requests
	// finish is tested in internal/httpapi with a slow handler.)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	if rc := p.wait(t, 20*time.Second); rc != 0 {
		t.Errorf("graceful shutdown rc = %d", rc)
	}
	if !strings.Contains(p.out.String(), "Clapshot server stopped") {
		t.Errorf("no clean stop logged:\n%s", p.out)
	}

	// A second signal while the shutdown waits (a half-sent request keeps
	// the connection open) exits at once with status 1.
	p = start(t, nil, "-D", dir)
	p.waitHealthy(t)
	conn2, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprint(conn2, "GET /api/health HTTP/1.1\r\n")
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGINT)
	if rc := p.wait(t, 5*time.Second); rc != 1 {
		t.Errorf("second signal rc = %d, want 1\n%s", rc, p.out)
	}
}

func TestHealthAnyMethodAndVersion(t *testing.T) {
	p := start(t, nil, "-D", t.TempDir())
	p.waitHealthy(t)
	for _, m := range []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"} {
		req, _ := http.NewRequestWithContext(context.Background(), m, fmt.Sprintf("http://127.0.0.1:%d/api/health", p.port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (m != "HEAD" && string(body) != "I'm alive!") {
			t.Errorf("%s: %d %q", m, resp.StatusCode, body)
		}
	}
	out, err := exec.Command(serverBin, "--version").Output()
	if err != nil || !strings.Contains(string(out), "0.8.2") {
		t.Errorf("--version: %v %s", err, out)
	}
}

// While the database is migrated, /api/health (liveness) answers 200 but
// /api/ready is 503; once the server serves, /api/ready is 200 "Ready".
// Nothing may be called ready while the server still says it is starting.
func TestReadyAfterMigration(t *testing.T) {
	dir := t.TempDir()
	oldDatabase(t, dir, 20000)
	p := start(t, nil, "-D", dir, "--migrate")
	url := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	client := &http.Client{Timeout: 2 * time.Second}
	fetch := func(path string) (int, string) {
		resp, err := client.Get(url + path)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	sawNotReady := false
	for {
		if time.Now().After(deadline) {
			t.Fatalf("never ready:\n%s", p.out)
		}
		_, details := fetch("/api/health?details=1")
		code, body := fetch("/api/ready")
		if code == http.StatusServiceUnavailable {
			sawNotReady = true
		}
		if code == 200 {
			if body != "Ready" {
				t.Fatalf("/api/ready: 200 %q, want \"Ready\"", body)
			}
			// The details fetched just before may say "starting" (the
			// switch happened in between); the ones after must say ok.
			if _, after := fetch("/api/health?details=1"); !strings.Contains(after, `"status":"ok"`) {
				t.Fatalf("ready while the server says %s (before: %s)", after, details)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("saw 503 before ready: %v", sawNotReady)
	if code, body := fetch("/api/health"); code != 200 || body != "I'm alive!" {
		t.Errorf("/api/health: %d %q", code, body)
	}
}
