package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migration is one schema change. Version is the 14-digit diesel version
// that Clapshot records in __diesel_schema_migrations; Name is diesel's
// directory name for Clapshot's own migrations (organizer plugins see it as
// the migration's uuid).
type Migration struct {
	Version string
	Name    string
	SQL     string
}

// LatestClapshotVersion is the newest schema version of Clapshot 0.8.2.
// Organizer plugins declare their dependencies against Clapshot's versions.
const LatestClapshotVersion = "20240602173200"

var (
	migrations   = mustLoadMigrations("migrations")
	pgMigrations = mustLoadMigrations("migrations/postgres")
)

func mustLoadMigrations(dir string) []Migration {
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		panic(err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		ver, rest, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		if !ok || len(ver) != 14 {
			panic("migration file name must be <14-digit version>_<name>.sql: " + e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			panic(err)
		}
		// Clapshot's diesel directory name: 2024-06-02-173200_add_subtitles.
		name := ver[0:4] + "-" + ver[4:6] + "-" + ver[6:8] + "-" + ver[8:14] + "_" + rest
		out = append(out, Migration{Version: ver, Name: name, SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return strings.Compare(a.Version, b.Version) })
	return out
}

// Migrations returns every schema migration this binary knows, oldest first.
func Migrations() []Migration { return slices.Clone(migrations) }

// PostgresMigrations returns the PostgreSQL twins of Migrations: the same
// versions and names, the same schema expressed for PostgreSQL.
func PostgresMigrations() []Migration { return slices.Clone(pgMigrations) }

// State describes a database file before it is opened for serving.
type State struct {
	Path string
	// New is true when the file does not exist yet, or exists but holds no
	// tables at all (e.g. an empty file).
	New     bool
	Applied []string    // versions recorded in the database, sorted
	Pending []Migration // known migrations not applied, oldest first
	Unknown []string    // applied versions this binary does not know
}

// CurrentVersion is the newest applied version, "" if none.
func (s *State) CurrentVersion() string {
	if len(s.Applied) == 0 {
		return ""
	}
	return s.Applied[len(s.Applied)-1]
}

// Inspect reads a database file's migration state without changing it. A
// file that is not SQLite, or is corrupt, gives an error naming the file.
func Inspect(ctx context.Context, dbPath string) (*State, error) {
	st := &State{Path: dbPath}
	info, err := os.Stat(dbPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.New = true
		st.Pending = Migrations()
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("database %s: %w", dbPath, err)
	case info.IsDir():
		return nil, fmt.Errorf("database %s is a directory, not a SQLite file", dbPath)
	}

	// A read-only open of a WAL database still creates -wal and -shm side
	// files; remove the ones we created so a refused file is left as found.
	var created []string
	for _, suffix := range []string{"-wal", "-shm"} {
		if !fileExists(dbPath + suffix) {
			created = append(created, dbPath+suffix)
		}
	}
	conn, err := sql.Open("sqlite", dsn(dbPath, []string{fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())}, "mode=ro"))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", dbPath, err)
	}
	defer func() {
		conn.Close()
		for _, p := range created {
			os.Remove(p)
		}
	}()
	var check string
	if err := conn.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&check); err != nil {
		var se interface{ Code() int }
		if errors.As(err, &se) && se.Code()&0xff == sqliteNotADB {
			return nil, fmt.Errorf("%s is not a SQLite database (wrong file header); the file was not changed, move it away or choose another --data-dir", dbPath)
		}
		return nil, fmt.Errorf("database %s is unreadable or corrupt: %w (the file was not changed)", dbPath, err)
	}
	if check != "ok" {
		return nil, fmt.Errorf("database %s is corrupt: %s (the file was not changed; restore a backup)", dbPath, check)
	}
	var tables int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type='table'").Scan(&tables); err != nil {
		return nil, fmt.Errorf("read schema of %s: %w", dbPath, err)
	}
	if tables == 0 {
		st.New = true
		st.Pending = Migrations()
		return st, nil
	}
	var hasTracking int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='__diesel_schema_migrations'").Scan(&hasTracking); err != nil {
		return nil, fmt.Errorf("read schema of %s: %w", dbPath, err)
	}
	if hasTracking == 0 {
		return nil, fmt.Errorf("database %s has tables but no __diesel_schema_migrations table: it is not a Clapshot database", dbPath)
	}
	if st.Applied, err = appliedVersions(ctx, conn); err != nil {
		return nil, fmt.Errorf("read applied migrations of %s: %w", dbPath, err)
	}
	st.Pending, st.Unknown = compareVersions(st.Applied, migrations)
	return st, nil
}

// sqliteNotADB is SQLITE_NOTADB: the file's header is not SQLite's. The
// header is read by SQLite, not by opening the file here: closing a second
// descriptor of a database drops this process's POSIX locks on it.
const sqliteNotADB = 26

// ErrMigrationRequired is returned by Open when an existing database has
// pending migrations and migrating was not allowed.
var ErrMigrationRequired = errors.New("database migration required")

// OpenOptions control Open.
type OpenOptions struct {
	// Path is the SQLite database file.
	Path string
	// URL, when set, opens PostgreSQL instead (postgres://...); Path is
	// then unused.
	URL string
	// Migrate allows migrating an existing database (--migrate). A new
	// database is always migrated.
	Migrate bool
	Log     *slog.Logger
	// Plan, if set, replaces the plain list of pending server migrations.
	// The organizer integration uses it to interleave plugin migrations.
	Plan func(st *State) ([]Step, error)
}

// Step is one entry of a migration plan: a server migration, or a step run
// by someone else (an organizer plugin) on the same file.
type Step struct {
	Server *Migration
	// External runs a non-server step; the database has no open server
	// connections while it runs.
	External func(ctx context.Context) error
	Label    string
}

func (s Step) String() string {
	if s.Server != nil {
		return "clapshot.server " + s.Server.Version + " (" + s.Server.Name + ")"
	}
	return s.Label
}

// Open inspects, migrates if needed and allowed, and opens the database.
func Open(ctx context.Context, o OpenOptions) (*DB, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.URL != "" {
		return openPostgres(ctx, o)
	}
	log := o.Log
	st, err := Inspect(ctx, o.Path)
	if err != nil {
		return nil, err
	}
	if len(st.Unknown) > 0 {
		log.Warn("Database has migrations this server does not know (from a newer version?); continuing",
			"db", o.Path, "unknown_versions", strings.Join(st.Unknown, ","))
	}
	var plan []Step
	if o.Plan != nil {
		if plan, err = o.Plan(st); err != nil {
			return nil, err
		}
	} else {
		for i := range st.Pending {
			plan = append(plan, Step{Server: &st.Pending[i]})
		}
	}
	if len(plan) > 0 {
		if !st.New && !o.Migrate {
			names := make([]string, len(plan))
			for i, s := range plan {
				names[i] = s.String()
			}
			return nil, fmt.Errorf("%w: %s needs %d migration(s): %s. Back up the data directory, then start once with --migrate (or migrate = true in the config file)",
				ErrMigrationRequired, o.Path, len(plan), strings.Join(names, ", "))
		}
		if err := runPlan(ctx, st, plan, log); err != nil {
			return nil, err
		}
	}
	return openPool(o.Path)
}

// runPlan applies the plan to the file. An existing database is backed up
// first and restored if anything fails; a new one is removed.
func runPlan(ctx context.Context, st *State, plan []Step, log *slog.Logger) error {
	var backup string
	if st.New {
		log.Info("Creating a new database", "db", st.Path)
	} else {
		log.Info("Migrating the database", "db", st.Path, "from_version", st.CurrentVersion(), "steps", len(plan))
		var err error
		if backup, err = Backup(st.Path); err != nil {
			return fmt.Errorf("back up %s before migrating (nothing was changed): %w", st.Path, err)
		}
		log.Info("Database backed up before migration", "db", st.Path, "backup", backup)
	}
	err := applyPlan(ctx, st.Path, plan, log)
	if err == nil {
		if !st.New {
			log.Info("Database migrated", "db", st.Path, "version", plan[len(plan)-1].String())
		}
		return nil
	}
	err = explainWriteError(err, st.Path)
	if st.New {
		removeDBFiles(st.Path)
		return fmt.Errorf("creating database %s failed, the incomplete file was removed: %w", st.Path, err)
	}
	if rerr := Restore(st.Path, backup); rerr != nil {
		return fmt.Errorf("migration of %s failed: %w; RESTORING THE BACKUP ALSO FAILED: %v (restore %s by hand)", st.Path, err, rerr, backup)
	}
	return fmt.Errorf("migration of %s failed and the backup %s was restored, nothing changed: %w", st.Path, backup, err)
}

func applyPlan(ctx context.Context, dbPath string, plan []Step, log *slog.Logger) error {
	mdb, err := openMigrationConn(ctx, dbPath)
	if err != nil {
		return err
	}
	defer func() { closeMigrationConn(mdb) }()
	for _, step := range plan {
		log.Debug("Applying migration", "step", step.String())
		if step.Server != nil {
			if err := applyServerMigration(ctx, mdb, *step.Server); err != nil {
				return fmt.Errorf("%s: %w", step, err)
			}
			continue
		}
		// Another process (the organizer) writes the file: let go of it.
		closeMigrationConn(mdb)
		if err := step.External(ctx); err != nil {
			mdb = nil
			return fmt.Errorf("%s: %w", step, err)
		}
		if mdb, err = openMigrationConn(ctx, dbPath); err != nil {
			return err
		}
	}
	return checkForeignKeys(ctx, mdb)
}

// openMigrationConn opens the single connection migrations run on. Schema
// rebuilds need foreign keys off (they drop and recreate tables) and
// legacy_alter_table on, so that renaming a rebuilt table does not rewrite
// other tables' references: the settings Clapshot used, without which its
// historical schemas cannot be reproduced.
func openMigrationConn(ctx context.Context, dbPath string) (*sql.DB, error) {
	mdb, err := sql.Open("sqlite", dsn(dbPath, []string{
		"foreign_keys(0)", "legacy_alter_table(1)", "journal_mode(WAL)", "synchronous(NORMAL)",
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
	}))
	if err != nil {
		return nil, err
	}
	mdb.SetMaxOpenConns(1)
	if _, err := mdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`); err != nil {
		mdb.Close()
		return nil, fmt.Errorf("create migration table in %s: %w", dbPath, err)
	}
	return mdb, nil
}

func closeMigrationConn(mdb *sql.DB) {
	if mdb != nil {
		_, _ = mdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		mdb.Close()
	}
}

func applyServerMigration(ctx context.Context, mdb *sql.DB, m Migration) error {
	tx, err := mdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var fk int
	if err := tx.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if fk != 0 {
		return errors.New("foreign keys are on inside the migration transaction")
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO __diesel_schema_migrations (version) VALUES (?)", m.Version); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	return tx.Commit()
}

// checkForeignKeys fails if any row violates a foreign key after migrating.
func checkForeignKeys(ctx context.Context, mdb *sql.DB) error {
	rows, err := mdb.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf("%s row %d references a missing %s", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("foreign key check failed after migrating: %s", strings.Join(problems, "; "))
	}
	return nil
}

// explainWriteError adds what an operator needs to know to SQLite's terse
// "disk I/O error" and "database or disk is full": how much space is left.
func explainWriteError(err error, dbPath string) error {
	var se interface{ Code() int }
	if !errors.As(err, &se) {
		return err
	}
	const sqliteIOErr, sqliteFull = 10, 13
	if primary := se.Code() & 0xff; primary != sqliteIOErr && primary != sqliteFull {
		return err
	}
	var st syscall.Statfs_t
	if serr := syscall.Statfs(filepath.Dir(dbPath), &st); serr == nil {
		free := st.Bavail * uint64(st.Bsize)
		return fmt.Errorf("%w: writing to the disk failed (%d MiB free in %s; the disk may be full, read-only or over quota)",
			err, free>>20, filepath.Dir(dbPath))
	}
	return fmt.Errorf("%w: writing to the disk failed (the disk may be full or read-only)", err)
}

// CreateAtVersion creates a new database file with migrations applied up to
// and including version: a database as an older Clapshot release left it.
// Tests and benchmarks use it to exercise upgrades.
func CreateAtVersion(ctx context.Context, dbPath, version string) error {
	if fileExists(dbPath) {
		return fmt.Errorf("create %s: file exists", dbPath)
	}
	var plan []Step
	for i := range migrations {
		if migrations[i].Version > version {
			break
		}
		plan = append(plan, Step{Server: &migrations[i]})
	}
	if err := applyPlan(ctx, dbPath, plan, slog.New(slog.DiscardHandler)); err != nil {
		removeDBFiles(dbPath)
		return err
	}
	return nil
}
