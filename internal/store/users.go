package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a row of users. Users are known by the id their reverse proxy
// sends; the name is refreshed from the proxy header at every login.
type User struct {
	ID      string
	Name    string
	Created *time.Time
}

const userCols = "id, name, created"

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	err := sc.Scan(&u.ID, &u.Name, timeScanner{&u.Created})
	return u, err
}

// UpsertUser creates the user or updates its name, as Clapshot does when a
// session connects.
func (q *Queries) UpsertUser(ctx context.Context, id, name string) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name`, id, name)
	if err != nil {
		return fmt.Errorf("upsert user %q: %w", id, err)
	}
	return nil
}

// EnsureUser creates the user if missing and leaves an existing one as is.
// Ingestion uses it so that files from a new uploader are never rejected on
// the users foreign key (a Clapshot quirk).
func (q *Queries) EnsureUser(ctx context.Context, id, name string) error {
	if name == "" {
		name = id
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, name)
	if err != nil {
		return fmt.Errorf("ensure user %q: %w", id, err)
	}
	return nil
}

// GetUser returns one user or ErrNotFound.
func (q *Queries) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// ListUsers lists users, newest first.
func (q *Queries) ListUsers(ctx context.Context, p Page) ([]User, error) {
	return queryList(ctx, q.q, scanUser, "SELECT "+userCols+" FROM users ORDER BY created DESC, id ASC"+p.clause())
}

// DeleteUser deletes a user. Their media must be gone first (RESTRICT);
// their comments keep the name (trigger) and their messages are deleted.
func (q *Queries) DeleteUser(ctx context.Context, id string) error {
	return execOne(ctx, q.q, "user "+id, "DELETE FROM users WHERE id = ?", id)
}

// queryList runs a query and scans every row.
func queryList[T any](ctx context.Context, q querier, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// insertID runs an INSERT and returns the id of the new row (RETURNING,
// which both backends have: database/sql's LastInsertId is SQLite's only).
func insertID(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	var id int64
	if err := q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// execOne runs a statement that must affect exactly one row; no row is
// ErrNotFound.
func execOne(ctx context.Context, q querier, what, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// inClause returns "?,?,?" for n arguments and the ids as []any.
func inClause[T any](ids []T) (string, []any) {
	if len(ids) == 0 {
		return "NULL", nil
	}
	args := make([]any, len(ids))
	b := make([]byte, 0, 2*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
		args[i] = id
	}
	return string(b), args
}
