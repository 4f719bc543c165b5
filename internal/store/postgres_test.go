package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

func rawPostgres(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := connectPostgres(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// An outdated PostgreSQL database is migrated only with --migrate, as a
// SQLite one; the message names the pending versions.
func TestPostgresOutdatedNeedsMigrateFlag(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	if err := CreatePostgresAtVersion(ctx, u, LatestClapshotVersion); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, OpenOptions{URL: u, Log: discardLog()})
	if !errors.Is(err, ErrMigrationRequired) || !strings.Contains(err.Error(), "20261121100000") || !strings.Contains(err.Error(), "--migrate") {
		t.Fatalf("without --migrate: %v", err)
	}
	db, err := Open(ctx, OpenOptions{URL: u, Migrate: true, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, _ := appliedVersions(ctx, db.SQL())
	if len(applied) != len(pgMigrations) {
		t.Errorf("applied %d of %d migrations", len(applied), len(pgMigrations))
	}
	if db.Backend() != "postgres" || db.Path() != "" {
		t.Errorf("backend %q path %q", db.Backend(), db.Path())
	}
}

// The pending migrations run in one transaction: one that fails leaves
// the database exactly as it was, the earlier pending ones included.
func TestPostgresFailedMigrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	if err := CreatePostgresAtVersion(ctx, u, LatestClapshotVersion); err != nil {
		t.Fatal(err)
	}
	raw := rawPostgres(t, u)
	// In the way of a later migration (20261121200100).
	if _, err := raw.Exec("CREATE TABLE review_change_counters (x int)"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, OpenOptions{URL: u, Migrate: true, Log: discardLog()})
	if err == nil || !strings.Contains(err.Error(), "20261121200100") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("open: %v", err)
	}
	var jobsTable sql.NullString
	if err := raw.QueryRow("SELECT to_regclass('ingest_jobs')::text").Scan(&jobsTable); err != nil || jobsTable.Valid {
		t.Errorf("ingest_jobs (an earlier pending migration) exists after the failure: %v %v", jobsTable, err)
	}
	applied, _ := appliedVersions(ctx, raw)
	if applied[len(applied)-1] != LatestClapshotVersion {
		t.Errorf("applied versions changed: %v", applied)
	}
}

// A database with someone else's tables is not taken over; a database
// with versions from a newer server is used, with a warning.
func TestPostgresForeignAndNewerDatabases(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	if _, err := rawPostgres(t, u).Exec("CREATE TABLE accounts (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, OpenOptions{URL: u, Log: discardLog()}); err == nil || !strings.Contains(err.Error(), "not a Clapshot database") {
		t.Errorf("foreign database: %v", err)
	}

	u = pgtest.NewDatabase(t)
	if err := CreatePostgresAtVersion(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := rawPostgres(t, u).Exec("INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')"); err != nil {
		t.Fatal(err)
	}
	var logged testkit.SyncBuffer
	db, err := Open(ctx, OpenOptions{URL: u, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if !strings.Contains(logged.String(), "29990101000000") {
		t.Errorf("no warning about the unknown version: %s", logged.String())
	}
}

// Connection problems name the database without its password.
func TestPostgresBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ url, want string }{
		{"postgres://clapshot:s3cret@/clapshot?host=/nonexistent-socket-dir", "connect to database"},
		{"postgres://clapshot:s3cret@127.0.0.1:99999/clapshot", "database URL"},
		{"mysql://clapshot:s3cret@localhost/clapshot", "expected postgres://"},
	} {
		_, err := Open(ctx, OpenOptions{URL: tc.url, Log: discardLog()})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v", tc.url, err)
		}
	}
}

// Two servers starting on one new database at the same moment: both
// open it, and every migration runs once.
func TestPostgresConcurrentFirstStart(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, OpenOptions{URL: u, Log: discardLog()})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("server %d: %v", i, err)
		}
	}
	applied, _ := appliedVersions(ctx, rawPostgres(t, u))
	if len(applied) != len(pgMigrations) {
		t.Errorf("applied %v", applied)
	}
}

// A plan with a step of the organizer's between the server's migrations
// (as basic_folders' after media_files appears): the server's steps before
// it are committed when it runs (it works on its own connection, in its
// own process), those after it run after it. Two servers starting at once
// on the new database plan and apply it once: the second waits for the
// migration lock, finds everything applied and plans nothing.
func TestPostgresJointPlan(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	raw := rawPostgres(t, u)
	const after = "20240522163000" // media_files exists from here on
	var mu sync.Mutex
	var plans, runs int
	var seenVersion string
	plan := func(st *State) ([]Step, error) {
		mu.Lock()
		plans++
		mu.Unlock()
		var has bool
		if err := raw.QueryRowContext(ctx, `SELECT count(*) > 0 FROM information_schema.tables WHERE table_name = 'org_things'`).Scan(&has); err != nil {
			return nil, err
		}
		var steps []Step
		for i := range st.Pending {
			steps = append(steps, Step{Server: &st.Pending[i]})
			if st.Pending[i].Version == after && !has {
				steps = append(steps, Step{Label: "org 0001", External: func(ctx context.Context) error {
					mu.Lock()
					runs++
					mu.Unlock()
					if err := raw.QueryRowContext(ctx, "SELECT max(version) FROM __diesel_schema_migrations").Scan(&seenVersion); err != nil {
						return err
					}
					_, err := raw.ExecContext(ctx, "CREATE TABLE org_things (id BIGINT PRIMARY KEY, media_file_id VARCHAR REFERENCES media_files(id))")
					return err
				}})
			}
		}
		return steps, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(ctx, OpenOptions{URL: u, Plan: plan, Log: discardLog()})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("opening: %v / %v", errs[0], errs[1])
	}
	if plans != 2 || runs != 1 || seenVersion != after {
		t.Errorf("plans made %d (want 2), organizer step run %d times (want 1), with the server at %q (want %s)", plans, runs, seenVersion, after)
	}
	applied, _ := appliedVersions(ctx, raw)
	if len(applied) != len(pgMigrations) {
		t.Errorf("applied %d of %d server migrations", len(applied), len(pgMigrations))
	}
	var locks int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks); err != nil || locks != 0 {
		t.Errorf("%d advisory locks still held (%v)", locks, err)
	}
}

// An organizer step that fails stops the plan there; the message names
// the step and what was applied before it, which stays applied.
func TestPostgresJointPlanFailure(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	plan := func(st *State) ([]Step, error) {
		return []Step{{Server: &st.Pending[0]}, {Label: "org 0001", External: func(context.Context) error { return errors.New("boom") }},
			{Server: &st.Pending[1]}}, nil
	}
	_, err := Open(ctx, OpenOptions{URL: u, Plan: plan, Log: discardLog()})
	first := pgMigrations[0]
	if err == nil || !strings.Contains(err.Error(), "failed at org 0001") || !strings.Contains(err.Error(), "applied before it: clapshot.server "+first.Version) ||
		!strings.Contains(err.Error(), "boom") {
		t.Fatalf("failed plan: %v", err)
	}
	applied, _ := appliedVersions(ctx, rawPostgres(t, u))
	if len(applied) != 1 || applied[0] != first.Version {
		t.Errorf("applied %v, want only %s", applied, first.Version)
	}
}
