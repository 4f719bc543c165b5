package events

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// txLock is the advisory lock every store.DB.InTx takes on PostgreSQL
// (docs/organizer-plugins.md gives it to plugins).
const txLock int64 = 0x636c617073686f00

// Saving a message must not wait for the lock that serializes the
// cluster's transactions: every comment that notifies its file's owner
// saves one, and comments from every instance would queue on it.
func TestPublishDoesNotTakeTheTransactionLock(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	db, err := store.Open(ctx, store.OpenOptions{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Another instance (or an organizer) holds the lock in a long
	// transaction.
	other, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", txLock); err != nil {
		t.Fatal(err)
	}

	bus := NewBus(db, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		defer close(done)
		bus.Publish(ctx, Message{Kind: OK, UserID: "owner", MediaFileID: "abcd1234", Text: "A new comment."})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = tx.Rollback() // let it finish before the test ends
		<-done
		t.Fatal("Publish waited for the transaction lock another connection held")
	}
	msgs, err := db.ListMessagesByUser(ctx, "owner", store.All)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Message != "A new comment." {
		t.Fatalf("stored %+v, want the one message", msgs)
	}
}
