package store

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// TestMain stops the PostgreSQL server that the postgres backend's tests
// start on first use.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// backend is one database engine the store runs on. The query tests run
// on every backend in the list (eachBackend): one suite, two engines.
type backend struct {
	name string
	// open returns a new, empty, migrated database, closed when t ends.
	open func(t testing.TB) *DB
}

var backends = []backend{
	{"sqlite", func(t testing.TB) *DB {
		return openTest(t, OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	}},
	// A real server (pgtest): skipped where PostgreSQL is not installed,
	// a failure under CI=true.
	{"postgres", func(t testing.TB) *DB {
		return openTest(t, OpenOptions{URL: pgtest.NewDatabase(t)})
	}},
}

func openTest(t testing.TB, o OpenOptions) *DB {
	t.Helper()
	o.Log = discardLog()
	db, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eachBackend runs test once per backend, as a subtest named after it.
func eachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}
