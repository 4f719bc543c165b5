package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Backend names, as DB.Backend and OpenSharedDB use them.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// sharedPoolSize bounds a sharing process's PostgreSQL connections: an
// organizer answers one instance's sessions, and its transactions run one
// at a time anyway (txLock).
const sharedPoolSize = 4

// Shared is the server's database as another process that works on it
// sees it (an organizer plugin, told the database in its handshake). Its
// statements are written once with ? placeholders, as the store's own,
// and rebound for PostgreSQL by the same dialect; its transactions are
// DB.InTx's (one at a time, across every process, on either backend).
type Shared struct {
	sql   *sql.DB
	d     *dialect
	where string
}

// OpenSharedDB opens the database the server named: backend "sqlite" is
// the file at endpoint, with OpenShared's settings (foreignKeys off is
// for migrations that rebuild tables); "postgres" is the postgres:// URL
// at endpoint, with the server's session settings (UTC, ISO dates), and
// foreignKeys is ignored (PostgreSQL's migrations alter tables in place).
// Messages name a PostgreSQL database without its password.
func OpenSharedDB(ctx context.Context, backend, endpoint string, foreignKeys bool) (*Shared, error) {
	switch backend {
	case BackendSQLite:
		sdb, err := OpenShared(endpoint, foreignKeys)
		if err != nil {
			return nil, err
		}
		return &Shared{sql: sdb, d: sqliteDialect, where: endpoint}, nil
	case BackendPostgres:
		sdb, err := connectPostgres(ctx, endpoint)
		if err != nil {
			return nil, err
		}
		sdb.SetMaxOpenConns(sharedPoolSize)
		sdb.SetMaxIdleConns(sharedPoolSize)
		return &Shared{sql: sdb, d: postgresDialect, where: RedactURL(endpoint)}, nil
	}
	return nil, fmt.Errorf("database backend %q: expected %q or %q", backend, BackendSQLite, BackendPostgres)
}

// Backend is "sqlite" or "postgres".
func (s *Shared) Backend() string { return s.d.name }

// Where names the database for messages: the file, or the URL without
// its password.
func (s *Shared) Where() string { return s.where }

// SQL is the pool itself, for statements that need no rebinding.
func (s *Shared) SQL() *sql.DB { return s.sql }

// Close closes the pool.
func (s *Shared) Close() error { return s.sql.Close() }

func (s *Shared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.d.forDialect(s.sql).ExecContext(ctx, query, args...)
}

func (s *Shared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.d.forDialect(s.sql).QueryContext(ctx, query, args...)
}

func (s *Shared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.d.forDialect(s.sql).QueryRowContext(ctx, query, args...)
}

// InTx runs fn in one transaction, committed if fn returns nil, as
// DB.InTx: on PostgreSQL it waits for the transactions of the servers
// and of the other instances' organizers, so a read-then-write inside
// ("create the home folder unless there is one") sees no other writer.
func (s *Shared) InTx(ctx context.Context, fn func(q Querier) error) error {
	return runTx(ctx, s.sql, s.d, s.d.forDialect, fn)
}

// HasTable reports whether the database has a table of that name (in
// the current schema, on PostgreSQL). q is s or one of its transactions.
func (s *Shared) HasTable(ctx context.Context, q Querier, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, s.d.tableCount, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// ParseTime reads a date and time as either backend returns it (a
// DATETIME's text on SQLite, in the formats Clapshot and diesel wrote; a
// TIMESTAMP, or its text, on PostgreSQL), in UTC.
func ParseTime(src any) (time.Time, error) { return parseDBTime(src) }
