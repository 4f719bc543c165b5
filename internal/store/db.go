// Package store keeps Clapshot's SQLite database: the file format, the
// migrations (tracked in diesel's __diesel_schema_migrations table so that
// Clapshot and its organizer plugins recognise them), backups, and a typed
// data-access layer for users, media files, comments, messages and subtitles.
//
// The same queries also run on PostgreSQL (OpenOptions.URL), with the same
// migrations expressed for it (migrations/postgres/, one twin per SQLite
// migration, same versions); dialect.go holds what differs.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// busyTimeout matches Clapshot's: the organizer plugin writes to the same
// file from another process, so writers must wait rather than fail.
const busyTimeout = 15 * time.Second

// dsn builds a modernc.org/sqlite URI for path with the given pragmas.
func dsn(path string, pragmas []string, params ...string) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path}
	q := make([]string, 0, len(pragmas)+len(params))
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p))
	}
	q = append(q, params...)
	return u.String() + "?" + strings.Join(q, "&")
}

// poolPragmas are applied to every pooled connection, as Clapshot does on
// every checkout.
func poolPragmas() []string {
	return []string{
		"foreign_keys(1)", // first: OpenShared may turn it off
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
	}
}

// OpenShared opens the database file for another process that shares it
// with the server (an organizer plugin), with the server's connection
// settings: WAL, a long busy timeout (both write to it) and transactions
// that take the write lock at BEGIN. foreignKeys off is for migrations
// that rebuild tables.
func OpenShared(path string, foreignKeys bool) (*sql.DB, error) {
	pragmas := poolPragmas()
	if !foreignKeys {
		pragmas[0] = "foreign_keys(0)"
	}
	db, err := sql.Open("sqlite", dsn(path, pragmas, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Querier is what both *sql.DB and *sql.Tx offer, and what Shared and its
// transactions offer to statements written with ? placeholders.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier is the package's own name for it.
type querier = Querier

// Queries holds every typed query. It runs either directly on the pool (DB)
// or inside a transaction (DB.InTx).
type Queries struct {
	q querier
	d *dialect
}

// DB is an open, migrated database.
type DB struct {
	Queries
	sql     *sql.DB
	path    string // the SQLite file; "" on PostgreSQL
	where   string // the file, or the PostgreSQL URL without its password
	d       *dialect
	observe StatementObserver
}

// openPool opens the connection pool used while serving. Migrations must
// already be done.
func openPool(path string) (*DB, error) {
	// _txlock=immediate: a transaction takes the write lock at BEGIN, so two
	// writers queue on busy_timeout instead of deadlocking on lock upgrade.
	sdb, err := sql.Open("sqlite", dsn(path, poolPragmas(), "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sdb.Ping(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return newDB(sdb, sqliteDialect, path, path), nil
}

func newDB(sdb *sql.DB, d *dialect, path, where string) *DB {
	db := &DB{sql: sdb, path: path, where: where, d: d}
	db.Queries = Queries{q: db.wrap(sdb), d: d}
	return db
}

// Path is the database file ("" on PostgreSQL).
func (db *DB) Path() string { return db.path }

// Backend names the database engine: "sqlite" or "postgres".
func (db *DB) Backend() string { return db.d.name }

// Where names the database for messages: the file, or the PostgreSQL URL
// without its password.
func (db *DB) Where() string { return db.where }

// SQL exposes the pool for health checks and benchmarks.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close checkpoints the WAL into the main file (SQLite) and closes the
// pool.
func (db *DB) Close() error {
	if db.d == sqliteDialect {
		_, _ = db.sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return db.sql.Close()
}

// InTx runs fn in one transaction, committed if fn returns nil and rolled
// back otherwise. Transactions run one at a time, on either backend: SQLite
// takes its write lock at BEGIN (_txlock=immediate), and on PostgreSQL the
// transaction first takes one advisory lock (txLock), so that the
// read-then-write steps callers do inside (delete a comment unless it has
// replies, ...) see no other transaction's writes in between, without
// retries.
func (db *DB) InTx(ctx context.Context, fn func(q *Queries) error) error {
	return runTx(ctx, db.sql, db.d, db.wrap, func(q querier) error { return fn(&Queries{q: q, d: db.d}) })
}

// runTx is the transaction of DB.InTx and Shared.InTx: on PostgreSQL it
// first takes txLock; fn gets the transaction as wrap makes it.
func runTx(ctx context.Context, sdb *sql.DB, d *dialect, wrap func(querier) querier, fn func(q querier) error) error {
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if d == postgresDialect {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", txLock); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("begin transaction: %w", err)
		}
	}
	if err := fn(wrap(tx)); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// StatementObserver is told how long each SQL statement took, by kind
// ("exec" or "query"), for metrics.
type StatementObserver func(kind string, d time.Duration)

// ObserveStatements reports the duration of every statement run through
// the typed queries, transactions included, to o. Call it at start-up,
// before the database is used concurrently.
func (db *DB) ObserveStatements(o StatementObserver) {
	db.observe = o
	db.Queries = Queries{q: db.wrap(db.sql), d: db.d}
}

// wrap is q as the typed queries use it: rebound for the dialect, and
// timed when statements are observed.
func (db *DB) wrap(q querier) querier {
	q = db.d.forDialect(q)
	if db.observe == nil {
		return q
	}
	return timedQuerier{q: q, observe: db.observe}
}

// timedQuerier measures each statement until it has run; for a query,
// reading the rows afterwards is not included.
type timedQuerier struct {
	q       querier
	observe StatementObserver
}

func (t timedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	start := time.Now()
	r, err := t.q.ExecContext(ctx, query, args...)
	t.observe("exec", time.Since(start))
	return r, err
}

func (t timedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	start := time.Now()
	r, err := t.q.QueryContext(ctx, query, args...)
	t.observe("query", time.Since(start))
	return r, err
}

func (t timedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	start := time.Now()
	r := t.q.QueryRowContext(ctx, query, args...)
	t.observe("query", time.Since(start))
	return r
}

// Page selects a slice of an ordered listing. A zero Size means no limit.
type Page struct {
	Num  int
	Size int
}

// All is the unlimited page.
var All = Page{}

func (p Page) clause() string {
	if p.Size <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", p.Size, p.Num*p.Size)
}
