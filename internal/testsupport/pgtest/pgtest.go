// Package pgtest runs a real PostgreSQL server for tests: Debian's
// binaries, a throw-away cluster in a temporary directory, reached over a
// Unix socket in that directory only (no TCP port, so parallel test
// packages never collide), and a fresh database for each test.
//
// A package that uses it calls Main from its TestMain, which stops the
// server after the package's tests; the server starts on first use, so a
// run that selects no PostgreSQL test does not pay for it.
//
// Without the PostgreSQL binaries, tests skip with a message saying what to
// install, except under CI=true, where they fail.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Superuser is the database superuser of the test cluster (trust
// authentication: only processes that can reach the socket directory
// connect).
const Superuser = "postgres"

// startTimeout bounds initdb plus the server's start; stopTimeout its
// shutdown. initdb alone takes several seconds on a loaded machine.
const (
	startTimeout = 90 * time.Second
	stopTimeout  = 15 * time.Second
)

// FindBinaries returns the directory holding initdb and postgres: the
// newest /usr/lib/postgresql/<version>/bin (Debian's layout), or else the
// directory of initdb on PATH.
func FindBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH; install them with: apt-get install postgresql (scripts/deps.sh test does)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// Require skips the test when PostgreSQL is not installed, or fails it
// when CI=true (where it must be).
func Require(t testing.TB) {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// Server is a running throw-away PostgreSQL cluster.
type Server struct {
	dir     string // everything: data/, the socket, the log; removed by Stop
	sockDir string
	logPath string
	bin     string
	cred    *syscall.Credential
	proc    *os.Process
	exited  chan struct{} // closed when the server process has exited
	waitErr error         // its exit status, once exited is closed
	admin   *sql.DB
	next    atomic.Int64
}

// Start creates a cluster in a new temporary directory and starts the
// server on a Unix socket there. Run as root, the cluster belongs to the
// "postgres" system user (or "nobody"), since postgres refuses to run as
// root. Stop the server with Stop; if the test process dies first, the
// server is told to quit (parent-death signal) and the directory is
// removed by the next Start.
func Start(ctx context.Context) (*Server, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	removeStale()
	dir, err := os.MkdirTemp("", "clapshot-pgtest-")
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, sockDir: filepath.Join(dir, "sock"), logPath: filepath.Join(dir, "postgres.log"), bin: bin, cred: cred}
	if err := s.prepareDirs(cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", Superuser,
		"--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C", "--no-instructions")
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := s.startServer(ctx); err != nil {
		_ = s.Stop() // the start error says what went wrong
		return nil, err
	}
	return s, nil
}

// StartServer starts a server of the test's own (not the package's
// shared one: for a test that stops and restarts it), stopped when t ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	Require(t)
	s, err := Start(context.Background())
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// runAs is the user the cluster runs as: nil (ourselves) unless we are
// root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as (it refuses to run as root)")
}

// prepareDirs makes the directory tree usable by the cluster's user: the
// top directory readable (so that it can be reached) and the data and
// socket directories its own.
func (s *Server) prepareDirs(cred *syscall.Credential) error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{filepath.Join(s.dir, "data"), s.sockDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
	}
	return nil
}

func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
}

// startServer runs postgres in the foreground as a child, so that it dies
// with the test process (Pdeathsig), and waits until it accepts
// connections.
func (s *Server) startServer(ctx context.Context) error {
	bin, cred := s.bin, s.cred
	s.exited = make(chan struct{})
	// Appended to: a restarted server's log follows the first one's.
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(s.dir, "data"), "-k", s.sockDir,
		"-c", "listen_addresses=", // the Unix socket only
		// A test cluster: durability is not wanted, speed is.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT (immediate shutdown) if the test binary dies without Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	exited := s.exited
	go func() {
		// The parent-death signal follows the thread that started the
		// child: keep this goroutine on it for the server's whole life.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		s.proc = cmd.Process
		started <- nil
		s.waitErr = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if s.admin, err = sql.Open("pgx", s.url("postgres")); err != nil {
		return err
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = s.admin.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited during start-up (%v):\n%s", s.waitErr, s.Log())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %v (%v):\n%s", startTimeout, err, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// url is a connection URL for database db, over the socket.
func (s *Server) url(db string) string {
	q := url.Values{"host": {s.sockDir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Host: "", Path: "/" + db, RawQuery: q.Encode()}).String()
}

// Log returns the server's log so far (for failure messages).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	const tail = 8 << 10
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}

// CreateDatabase creates a new empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context) (name, dbURL string, err error) {
	name = fmt.Sprintf("test_%d", s.next.Add(1))
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, s.url(name), nil
}

// DropDatabase drops a database made by CreateDatabase, closing whatever
// connections are still open to it.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then harder within
// stopTimeout) and removes its directory.
func (s *Server) Stop() error {
	err := s.halt()
	if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Halt stops the server process as an operator's restart would (fast
// shutdown: open connections are closed, clients see errors) and keeps
// the cluster: Resume starts it again with the same data on the same
// socket.
func (s *Server) Halt() error { return s.halt() }

// Resume starts a halted server again and waits until it accepts
// connections.
func (s *Server) Resume(ctx context.Context) error {
	select {
	case <-s.exited:
	default:
		return errors.New("pgtest: Resume of a server that is running")
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return s.startServer(ctx)
}

func (s *Server) halt() error {
	if s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
	if s.proc == nil {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		_ = syscall.Kill(-s.proc.Pid, sig) // its process group: the backends too
		select {
		case <-s.exited:
			return nil
		case <-time.After(stopTimeout / 3):
		}
	}
	return errors.New("postgres did not stop on SIGKILL")
}

// removeStale removes the directories of test clusters whose server is
// gone (a test process killed before Stop).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "clapshot-pgtest-*"))
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil || time.Since(st.ModTime()) < time.Minute {
			continue // being set up by another package's tests
		}
		pid := 0
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		}
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			continue
		}
		os.RemoveAll(d)
	}
}

// The package's shared server, started by the first NewDatabase.
var (
	mainCalled atomic.Bool
	sharedMu   sync.Mutex
	shared     *Server
	sharedErr  error
)

// Main runs the tests of a package (call it from TestMain:
// os.Exit(pgtest.Main(m))) and stops the shared server afterwards.
func Main(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared = nil
	}
	return code
}

// NewDatabase returns the URL of a new, empty database on the package's
// server (started on first use); the database is dropped when t ends.
// Without PostgreSQL installed it skips t (fails it under CI=true).
func NewDatabase(t testing.TB) string {
	t.Helper()
	Require(t)
	if !mainCalled.Load() {
		t.Fatal("pgtest: call os.Exit(pgtest.Main(m)) from the package's TestMain, so that the server is stopped")
	}
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start(context.Background())
	}
	s, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	return s.NewDatabase(t)
}

// NewDatabase returns the URL of a new, empty database on s, dropped
// when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, dbURL, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return dbURL
}

// AdvisoryLocks counts the advisory locks granted in db's database (by
// any session).
func AdvisoryLocks(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
		t.Fatalf("count advisory locks: %v", err)
	}
	return n
}
