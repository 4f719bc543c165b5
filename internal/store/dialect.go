package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// dialect is what differs between the two backends in the queries. The
// queries are written once, in the SQL both understand (SQLite's ?
// placeholders, ON CONFLICT, RETURNING, CAST(x AS TEXT) for times); the
// few places that cannot be common read the dialect.
type dialect struct {
	name string
	// numbered placeholders: ? is rewritten to $1, $2, ... (PostgreSQL).
	numbered bool
	// claimLock ends the sub-select that picks the next job: PostgreSQL
	// skips rows another worker's transaction holds, where SQLite has one
	// writer at a time anyway.
	claimLock string
	// tableCount counts the tables named ? (0 or 1) in the database (the
	// current schema on PostgreSQL).
	tableCount string
}

var (
	sqliteDialect = &dialect{name: "sqlite",
		tableCount: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"}
	postgresDialect = &dialect{name: "postgres", numbered: true, claimLock: " FOR UPDATE SKIP LOCKED",
		tableCount: "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"}
)

// rebind rewrites the ? placeholders of query for the dialect. A ? inside
// a quoted string or identifier is left alone.
func (d *dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote we are inside, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// rebound is a querier that rebinds every query for its dialect.
type rebound struct {
	q querier
	d *dialect
}

func (r rebound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.d.rebind(query), args...)
}

func (r rebound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.d.rebind(query), args...)
}

func (r rebound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.q.QueryRowContext(ctx, r.d.rebind(query), args...)
}

// forDialect wraps q so that queries written with ? run on the dialect.
func (d *dialect) forDialect(q querier) querier {
	if !d.numbered {
		return q
	}
	return rebound{q: q, d: d}
}
