package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Advisory lock keys ("clap" "shot" in ASCII, then a number): one that
// every transaction of DB.InTx takes, and one that migrations take, so
// that two servers starting at once do not migrate the same database
// twice. txLock is part of the organizer API (docs/organizer-plugins.md
// tells plugins to take it too): never change it.
const (
	txLock      int64 = 0x636c6170_73686f00
	migrateLock int64 = 0x636c6170_73686f01
)

// IsPostgresURL tells whether u names a PostgreSQL database.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// RedactURL is u without its password, for messages and logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an unreadable database URL)"
	}
	return p.Redacted()
}

// openPostgres is Open for OpenOptions.URL. The pending migrations run
// in one transaction: a failure changes nothing, so no backup is made
// (make one with pg_dump before upgrading, if you like). With an
// organizer taking part (OpenOptions.Plan), see migratePostgresPlan.
func openPostgres(ctx context.Context, o OpenOptions) (*DB, error) {
	where := RedactURL(o.URL)
	if err := checkTwins(); err != nil {
		return nil, err
	}
	sdb, err := connectPostgres(ctx, o.URL)
	if err != nil {
		return nil, err
	}
	var st *State
	if o.Plan != nil {
		err = migratePostgresPlan(ctx, sdb, where, o)
	} else if st, err = inspectPostgres(ctx, sdb, where); err == nil {
		err = migratePostgres(ctx, sdb, st, o)
	}
	if err != nil {
		sdb.Close()
		return nil, err
	}
	return newDB(sdb, postgresDialect, "", where), nil
}

// connectPostgres opens a pool to the database at dbURL and checks that
// it answers. Every connection works in UTC with ISO dates, whatever the
// server's defaults: times are stored as UTC wall time (TIMESTAMP without
// time zone, as diesel's text is in SQLite), and read back as text by the
// same code as on SQLite.
func connectPostgres(ctx context.Context, dbURL string) (*sql.DB, error) {
	where := RedactURL(dbURL)
	if !IsPostgresURL(dbURL) {
		return nil, fmt.Errorf("database URL %s: expected postgres://user:password@host:port/database", where)
	}
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %w", where, err)
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, YMD"
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(16)
	sdb.SetMaxIdleConns(16)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("connect to database %s: %w", where, err)
	}
	return sdb, nil
}

// checkTwins refuses a build in which a SQLite migration has no
// PostgreSQL twin: the PostgreSQL schema would lack what the queries use.
// (TestEveryMigrationHasAPostgresTwin catches this before a merge.)
func checkTwins() error {
	var missing []string
	twins := map[string]string{}
	for _, m := range pgMigrations {
		twins[m.Version] = m.Name
	}
	for _, m := range migrations {
		if twins[m.Version] != m.Name {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) > 0 || len(pgMigrations) != len(migrations) {
		return fmt.Errorf("this build cannot use PostgreSQL: migrations without a PostgreSQL twin in internal/store/migrations/postgres: %s", strings.Join(missing, ", "))
	}
	return nil
}

// inspectPostgres reads the migration state of a PostgreSQL database
// (its current schema).
func inspectPostgres(ctx context.Context, sdb *sql.DB, where string) (*State, error) {
	st := &State{Path: where}
	var tables int
	var tracked bool
	if err := sdb.QueryRowContext(ctx, `SELECT count(*), COALESCE(bool_or(table_name = '__diesel_schema_migrations'), false)
		FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables, &tracked); err != nil {
		return nil, fmt.Errorf("read schema of %s: %w", where, err)
	}
	switch {
	case tables == 0:
		st.New = true
		st.Pending = PostgresMigrations()
		return st, nil
	case !tracked:
		return nil, fmt.Errorf("database %s has tables but no __diesel_schema_migrations table: it is not a Clapshot database (give an empty database)", where)
	}
	var err error
	if st.Applied, err = appliedVersions(ctx, sdb); err != nil {
		return nil, fmt.Errorf("read applied migrations of %s: %w", where, err)
	}
	st.Pending, st.Unknown = compareVersions(st.Applied, pgMigrations)
	return st, nil
}

func appliedVersions(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM __diesel_schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// compareVersions splits known migrations into those not applied, and
// applied versions into those not known.
func compareVersions(applied []string, known []Migration) (pending []Migration, unknown []string) {
	have := map[string]bool{}
	for _, v := range applied {
		have[v] = true
	}
	knownV := map[string]bool{}
	for _, m := range known {
		knownV[m.Version] = true
		if !have[m.Version] {
			pending = append(pending, m)
		}
	}
	for _, v := range applied {
		if !knownV[v] {
			unknown = append(unknown, v)
		}
	}
	return pending, unknown
}

// migratePostgres applies the pending migrations in one transaction,
// under the migration lock (the state is read again once it is held:
// another server may have migrated meanwhile).
func migratePostgres(ctx context.Context, sdb *sql.DB, st *State, o OpenOptions) error {
	log := o.Log
	if len(st.Unknown) > 0 {
		log.Warn("Database has migrations this server does not know (from a newer version?); continuing",
			"db", st.Path, "unknown_versions", strings.Join(st.Unknown, ","))
	}
	if len(st.Pending) == 0 {
		return nil
	}
	if !st.New && !o.Migrate {
		names := make([]string, len(st.Pending))
		for i, m := range st.Pending {
			names[i] = "clapshot.server " + m.Version + " (" + m.Name + ")"
		}
		return fmt.Errorf("%w: %s needs %d migration(s): %s. Back up the database (pg_dump) if you like, then start once with --migrate (or migrate = true in the config file)",
			ErrMigrationRequired, st.Path, len(names), strings.Join(names, ", "))
	}
	return applyPostgres(ctx, sdb, st.Path, st.New, "", log)
}

// applyPostgres applies the known migrations not yet applied, up to and
// including version ("" for all), in one transaction.
func applyPostgres(ctx context.Context, sdb *sql.DB, where string, isNew bool, version string, log *slog.Logger) error {
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", where, err)
	}
	defer tx.Rollback()
	last, err := migrateInTx(ctx, tx, where, isNew, version, log)
	if err != nil || last == "" {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration of %s failed at commit, nothing was changed: %w", where, err)
	}
	if !isNew {
		log.Info("Database migrated", "db", where, "version", last)
	}
	return nil
}

// pgTrackingTable is diesel's record of applied migrations.
const pgTrackingTable = `CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`

// migrateInTx applies the pending migrations up to version ("" for all)
// inside the caller's transaction, under the migration lock, and returns
// the last version applied ("" if none was pending).
func migrateInTx(ctx context.Context, tx querier, where string, isNew bool, version string, log *slog.Logger) (string, error) {
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return "", fmt.Errorf("migrate %s: %w", where, err)
	}
	if _, err := tx.ExecContext(ctx, pgTrackingTable); err != nil {
		return "", fmt.Errorf("create migration table in %s: %w", where, err)
	}
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return "", fmt.Errorf("read applied migrations of %s: %w", where, err)
	}
	pending, _ := compareVersions(applied, pgMigrations)
	if version != "" {
		for i, m := range pending {
			if m.Version > version {
				pending = pending[:i]
				break
			}
		}
	}
	if len(pending) == 0 {
		return "", nil
	}
	if isNew {
		log.Info("Creating a new database", "db", where)
	} else {
		log.Info("Migrating the database", "db", where, "steps", len(pending))
	}
	for _, m := range pending {
		log.Debug("Applying migration", "step", m.Version+" ("+m.Name+")")
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return "", fmt.Errorf("migration of %s failed at %s (%s), nothing was changed: %w", where, m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)", m.Version); err != nil {
			return "", fmt.Errorf("migration of %s: record version %s: %w", where, m.Version, err)
		}
	}
	return pending[len(pending)-1].Version, nil
}

// CreatePostgresAtVersion migrates an empty PostgreSQL database up to and
// including version: the PostgreSQL twin of CreateAtVersion, for tests.
func CreatePostgresAtVersion(ctx context.Context, dbURL, version string) error {
	sdb, err := connectPostgres(ctx, dbURL)
	if err != nil {
		return err
	}
	defer sdb.Close()
	st, err := inspectPostgres(ctx, sdb, RedactURL(dbURL))
	if err != nil {
		return err
	}
	if !st.New {
		return errors.New("create " + st.Path + ": the database is not empty")
	}
	return applyPostgres(ctx, sdb, st.Path, true, version, slog.New(slog.DiscardHandler))
}

// migratePostgresPlan migrates with an organizer taking part: the joint
// plan's server steps run in transactions (consecutive ones together),
// its organizer steps in the organizer's process, in the plan's order.
// The whole plan runs under the migration lock, held by one connection
// for as long as it takes, and is made once the lock is held: a second
// server starting at the same time waits, then finds (and asks its own
// organizer about) what the first applied. Unlike the server's migrations
// alone, a failure leaves the steps before it applied (the organizer's
// commit in another process); the error says which step failed.
func migratePostgresPlan(ctx context.Context, sdb *sql.DB, where string, o OpenOptions) (err error) {
	log := o.Log
	conn, err := sdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", where, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("migrate %s: wait for the migration lock: %w", where, err)
	}
	defer func() {
		// A session lock outlives the transaction: release it before the
		// connection goes back to the pool (or drop the connection).
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	st, err := inspectPostgres(ctx, sdb, where)
	if err != nil {
		return err
	}
	if len(st.Unknown) > 0 {
		log.Warn("Database has migrations this server does not know (from a newer version?); continuing",
			"db", where, "unknown_versions", strings.Join(st.Unknown, ","))
	}
	plan, err := o.Plan(st)
	if err != nil || len(plan) == 0 {
		return err
	}
	if !st.New && !o.Migrate {
		names := make([]string, len(plan))
		for i, s := range plan {
			names[i] = s.String()
		}
		return fmt.Errorf("%w: %s needs %d migration(s): %s. Back up the database (pg_dump) if you like, then start once with --migrate (or migrate = true in the config file)",
			ErrMigrationRequired, where, len(plan), strings.Join(names, ", "))
	}
	if st.New {
		log.Info("Creating a new database", "db", where)
	} else {
		log.Info("Migrating the database", "db", where, "from_version", st.CurrentVersion(), "steps", len(plan))
	}
	var done []string
	failed := func(step Step, err error) error {
		applied := "nothing was applied"
		if len(done) > 0 {
			applied = "applied before it: " + strings.Join(done, ", ")
		}
		return fmt.Errorf("migration of %s failed at %s (%s; start again once it is fixed, to apply the rest): %w", where, step, applied, err)
	}
	for i := 0; i < len(plan); {
		if plan[i].Server == nil {
			log.Debug("Applying migration", "step", plan[i].String())
			if err := plan[i].External(ctx); err != nil {
				return failed(plan[i], err)
			}
			done = append(done, plan[i].String())
			i++
			continue
		}
		j := i
		for j < len(plan) && plan[j].Server != nil {
			j++
		}
		if err := applyServerSteps(ctx, conn, plan[i:j], log); err != nil {
			return failed(plan[i], err)
		}
		for _, s := range plan[i:j] {
			done = append(done, s.String())
		}
		i = j
	}
	if !st.New {
		log.Info("Database migrated", "db", where, "version", plan[len(plan)-1].String())
	}
	return nil
}

// applyServerSteps applies server migrations in one transaction on conn.
func applyServerSteps(ctx context.Context, conn *sql.Conn, steps []Step, log *slog.Logger) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, pgTrackingTable); err != nil {
		return fmt.Errorf("create the migration table: %w", err)
	}
	for _, s := range steps {
		log.Debug("Applying migration", "step", s.String())
		if _, err := tx.ExecContext(ctx, s.Server.SQL); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)", s.Server.Version); err != nil {
			return fmt.Errorf("record version %s: %w", s.Server.Version, err)
		}
	}
	return tx.Commit()
}
