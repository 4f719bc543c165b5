package store

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// What a user can only wait out (the server away, shutting down,
// starting) is told apart from statements that failed.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{sql.ErrNoRows, false},
		{fmt.Errorf("get media file x: %w", ErrNotFound), false},
		{&pgconn.PgError{Code: "23505"}, false},                                  // unique violation
		{&pgconn.PgError{Code: "42P01"}, false},                                  // no such table
		{fmt.Errorf("insert comment: %w", &pgconn.PgError{Code: "57P01"}), true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true},                                   // starting up
		{&pgconn.PgError{Code: "08006"}, true},                                   // connection failure
		{fmt.Errorf("begin: %w", &pgconn.ConnectError{}), true},
		{errors.New("conn closed"), true},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
