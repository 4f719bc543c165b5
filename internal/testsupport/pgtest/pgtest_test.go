package pgtest

import (
	"context"
	"database/sql"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// A server starts, gives separate databases, and leaves nothing behind:
// no process, no directory.
func TestServerLifecycle(t *testing.T) {
	Require(t)
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	_, u1, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name2, u2, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{u1, u2} {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		var current string
		if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&current); err != nil {
			t.Fatalf("%s: %v\n%s", u, err, s.Log())
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("%s: %v", current, err)
		}
		db.Close()
	}
	// An open connection does not keep a database from being dropped.
	held, _ := sql.Open("pgx", u2)
	if err := held.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.DropDatabase(ctx, name2); err != nil {
		t.Fatal(err)
	}
	held.Close()

	pid, dir := s.proc.Pid, s.dir
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s left behind (%v)", dir, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("postgres (pid %d) still running after Stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NewDatabase shares one server per package and drops each test's
// database afterwards.
func TestNewDatabase(t *testing.T) {
	var first string
	t.Run("a", func(t *testing.T) { first = NewDatabase(t) })
	t.Run("b", func(t *testing.T) {
		u := NewDatabase(t)
		if u == first {
			t.Fatal("two tests got the same database")
		}
		db, err := sql.Open("pgx", first)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); err == nil {
			t.Error("the first test's database still exists after it ended")
		}
	})
}

// A halted server resumes with its data, on the same socket: a client
// that kept its URL (and pool) gets errors while it is down, and works
// again once it is back.
func TestHaltResume(t *testing.T) {
	s := StartServer(t)
	db, err := sql.Open("pgx", s.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Halt(); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.QueryRowContext(qctx, "SELECT 1").Scan(new(int)); err == nil || qctx.Err() != nil {
		t.Fatalf("query while halted: %v (context: %v), want an error at once", err, qctx.Err())
	}
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := db.QueryRowContext(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after Resume: %d, %v\n%s", x, err, s.Log())
	}
	if err := s.Resume(ctx); err == nil {
		t.Error("Resume of a running server succeeded")
	}
}
