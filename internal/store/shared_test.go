package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// OpenShared's connections have the server pool's settings (foreign keys
// as asked), so a plugin sharing the file waits for the server's writes
// rather than failing.
func TestOpenSharedSettings(t *testing.T) {
	ctx := context.Background()
	db, _ := newTestDB(t, backends[0])
	pragmas := func(q querier) (fk, busy int, journal string) {
		t.Helper()
		for _, p := range []struct {
			name string
			dst  any
		}{{"foreign_keys", &fk}, {"busy_timeout", &busy}, {"journal_mode", &journal}} {
			if err := q.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.dst); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	wantFK, wantBusy, wantJournal := pragmas(db.SQL())
	for _, fk := range []bool{true, false} {
		shared, err := OpenShared(db.Path(), fk)
		if err != nil {
			t.Fatal(err)
		}
		gotFK, gotBusy, gotJournal := pragmas(shared)
		if want := map[bool]int{true: wantFK, false: 0}[fk]; gotFK != want || gotBusy != wantBusy || gotJournal != wantJournal {
			t.Errorf("foreign keys %v: got fk=%d busy=%d journal=%s, server has fk=%d busy=%d journal=%s",
				fk, gotFK, gotBusy, gotJournal, wantFK, wantBusy, wantJournal)
		}
		shared.Close()
	}
	if wantFK != 1 || wantBusy != int(busyTimeout.Milliseconds()) || wantJournal != "wal" {
		t.Errorf("server pool: fk=%d busy=%d journal=%s", wantFK, wantBusy, wantJournal)
	}
}

// Bind gives a consumer's own query interface, in and out of transactions.
func TestBind(t *testing.T) { eachBackend(t, testBind) }

func testBind(t *testing.T, b backend) {
	type messages interface {
		GetMessage(ctx context.Context, id int64) (Message, error)
		InsertMessage(ctx context.Context, m Message) (Message, error)
	}
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	bound := Bind[messages](db)
	var id int64
	err := bound.InTx(ctx, func(q messages) error {
		m, err := q.InsertMessage(ctx, Message{UserID: "user.num1", EventName: EventOK, Message: "in tx"})
		id = m.ID
		return err
	})
	if m, gerr := bound.GetMessage(ctx, id); err != nil || gerr != nil || m.Message != "in tx" {
		t.Fatalf("committed: %v %v %v", err, gerr, m)
	}
	boom := errors.New("boom")
	err = bound.InTx(ctx, func(q messages) error {
		m, err := q.InsertMessage(ctx, Message{UserID: "user.num1", EventName: EventOK, Message: "rolled back"})
		id = m.ID
		return errors.Join(err, boom)
	})
	if _, gerr := bound.GetMessage(ctx, id); !errors.Is(err, boom) || !errors.Is(gerr, ErrNotFound) {
		t.Errorf("rolled back: %v %v", err, gerr)
	}
	defer func() {
		if recover() == nil {
			t.Error("Bind to an interface *Queries lacks did not panic")
		}
	}()
	Bind[interface{ NoSuchQuery() }](db)
}

// The transaction lock's key is documented for organizer plugins, which
// take it too on PostgreSQL: the document and the code agree.
func TestTxLockDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/organizer-plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("pg_advisory_xact_lock(%d)", txLock); !strings.Contains(string(doc), want) {
		t.Errorf("docs/organizer-plugins.md does not give the lock as %s", want)
	}
}

// A plugin's Shared database rebinds its ? statements, runs transactions
// under the server's lock, and finds tables, on either backend.
func TestSharedDB(t *testing.T) {
	for _, b := range []struct {
		name     string
		endpoint func(t *testing.T) string // of a new, migrated database
	}{
		{BackendSQLite, func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "clapshot.sqlite")
			openTest(t, OpenOptions{Path: p})
			return p
		}},
		{BackendPostgres, func(t *testing.T) string {
			u := pgtest.NewDatabase(t)
			openTest(t, OpenOptions{URL: u})
			return u
		}},
	} {
		t.Run(b.name, func(t *testing.T) { testSharedDB(t, b.name, b.endpoint(t)) })
	}
}

func testSharedDB(t *testing.T, backend, endpoint string) {
	ctx := context.Background()
	shared, err := OpenSharedDB(ctx, backend, endpoint, true)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	if shared.Backend() != backend {
		t.Errorf("backend %q", shared.Backend())
	}
	for _, tc := range []struct {
		table string
		want  bool
	}{{"media_files", true}, {"no_such_table", false}} {
		if has, err := shared.HasTable(ctx, shared, tc.table); err != nil || has != tc.want {
			t.Errorf("HasTable(%s) = %v, %v", tc.table, has, err)
		}
	}
	err = shared.InTx(ctx, func(q Querier) error {
		if _, err := q.ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, ?)", "shared.user", "Shared"); err != nil {
			return err
		}
		has, err := shared.HasTable(ctx, q, "users")
		if err == nil && !has {
			err = errors.New("no users table inside the transaction")
		}
		if err != nil || backend != BackendPostgres {
			return err
		}
		// The server's transaction lock is held: txLock's two halves.
		var held int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
			AND classid = ? AND objid = ?`, txLock>>32, txLock&0xffffffff).Scan(&held); err != nil || held != 1 {
			return fmt.Errorf("transaction lock held %d times (%v), want once", held, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := shared.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", "shared.user").Scan(&name); err != nil || name != "Shared" {
		t.Errorf("the transaction's row: %q %v", name, err)
	}
	if _, err := OpenSharedDB(ctx, "mysql", "x", true); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Errorf("unknown backend: %v", err)
	}
}
