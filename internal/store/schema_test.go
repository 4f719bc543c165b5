package store

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -clapshot-migrations=<clapshot checkout>/server/migrations regenerates
// testdata/schema/*.txt from Clapshot's own migration files, so that every
// intermediate schema we produce is checked against Clapshot's.
var clapshotMigrations = flag.String("clapshot-migrations", "", "regenerate schema goldens from this Clapshot server/migrations directory")

// migrateTo creates a database in dir with our migrations applied up to and
// including version (all when version is "").
func migrateTo(t testing.TB, dir, version string) string {
	t.Helper()
	p := filepath.Join(dir, "clapshot.sqlite")
	if version == "" {
		version = migrations[len(migrations)-1].Version
	}
	if err := CreateAtVersion(context.Background(), p, version); err != nil {
		t.Fatalf("migrate to %s: %v", version, err)
	}
	return p
}

func openRaw(t testing.TB, p string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(p, []string{"foreign_keys(1)", "busy_timeout(5000)"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func describe(t testing.TB, p string) string {
	t.Helper()
	s, err := DescribeSchema(context.Background(), openRaw(t, p), append([]string{"__diesel_schema_migrations"}, OwnTables...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFreshSchemaEqualsClapshot082(t *testing.T) {
	// Up to Clapshot's last version; our own later migrations only add.
	ours := describe(t, migrateTo(t, t.TempDir(), LatestClapshotVersion))

	refSQL, err := os.ReadFile("testdata/clapshot-0.8.2-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	refPath := filepath.Join(t.TempDir(), "ref.sqlite")
	ref := openRaw(t, refPath)
	if _, err := ref.Exec(string(refSQL)); err != nil {
		t.Fatal(err)
	}
	want, err := DescribeSchema(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if ours != want {
		t.Errorf("schema differs from Clapshot 0.8.2\n--- ours\n%s\n--- clapshot\n%s", ours, want)
	}
	for _, table := range []string{"users", "media_files", "comments", "messages", "subtitles", "media_types"} {
		if !strings.Contains(ours, "table "+table+"\n") {
			t.Errorf("table %s missing", table)
		}
	}
}

// Every intermediate schema must equal Clapshot's at the same version:
// organizer plugins migrate in between (basic_folders needs "videos" at one
// point and "media_files" later), and databases of every old release exist.
func TestSchemaAtEveryClapshotVersion(t *testing.T) {
	if *clapshotMigrations != "" {
		regenerateGoldens(t, *clapshotMigrations)
	}
	for _, m := range migrations {
		golden := filepath.Join("testdata", "schema", m.Version+".txt")
		want, err := os.ReadFile(golden)
		if os.IsNotExist(err) && m.Version > LatestClapshotVersion {
			continue // our own migration: no Clapshot counterpart
		}
		if err != nil {
			t.Fatalf("%s: %v", golden, err)
		}
		t.Run(m.Version, func(t *testing.T) {
			got := describe(t, migrateTo(t, t.TempDir(), m.Version))
			if got != string(want) {
				t.Errorf("schema after %s differs from Clapshot's\n--- ours\n%s\n--- clapshot\n%s", m.Name, got, want)
			}
		})
	}
}

// regenerateGoldens applies Clapshot's up.sql files one at a time, with the
// pragmas Clapshot uses, and records the schema after each.
func regenerateGoldens(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "clapshot.sqlite")
	db, err := sql.Open("sqlite", dsn(p, []string{"foreign_keys(0)", "legacy_alter_table(1)"}))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		up, err := os.ReadFile(filepath.Join(dir, e.Name(), "up.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(up)); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		desc, err := DescribeSchema(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		ver := strings.ReplaceAll(strings.SplitN(e.Name(), "_", 2)[0], "-", "")
		if err := os.WriteFile(filepath.Join("testdata", "schema", ver+".txt"), []byte(desc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
