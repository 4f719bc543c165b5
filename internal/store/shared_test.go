package store

import (
	"context"
	"errors"
	"testing"
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
