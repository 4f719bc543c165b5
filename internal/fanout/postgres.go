package fanout

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the notification channel all instances use.
const Channel = "clapshot_fanout"

// New prepares a fanout over the LISTEN/NOTIFY of the PostgreSQL database
// at dbURL; pub is a pool to the same database for publishing. Run
// listens.
func New(dbURL string, pub *sql.DB, log *slog.Logger) *Fanout {
	return newFanout(&pgTransport{url: dbURL, pub: pub}, log)
}

type pgTransport struct {
	url string
	pub *sql.DB // the store's pool: publishing is one statement
}

func (*pgTransport) name() string { return "postgres" }

// maxPayload is below PostgreSQL's limit on a notification (8000 bytes).
// A larger event (a collab drawing) is sent in parts, all in one
// transaction, which PostgreSQL delivers together and in order.
func (*pgTransport) maxPayload() int { return 7900 }

func (t *pgTransport) send(ctx context.Context, msgs []string) error {
	if len(msgs) == 1 {
		_, err := t.pub.ExecContext(ctx, "SELECT pg_notify($1, $2)", Channel, msgs[0])
		return err
	}
	// One statement, one transaction: the parts arrive together.
	_, err := t.pub.ExecContext(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i", Channel, msgs)
	return err
}

func (*pgTransport) close() {} // the pool is the store's

// run listens, reconnecting with a growing delay when the connection is
// lost.
func (t *pgTransport) run(ctx context.Context, f *Fanout) error {
	const first = 500 * time.Millisecond
	delay := first
	for {
		listened, err := t.listen(ctx, f)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			// It was up: the next outage is a new one, retried quickly
			// again (a database restart is over in seconds).
			delay = first
		}
		f.linkDown(err, delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// listen holds one connection, LISTENing, until it fails or ctx ends;
// listened says whether LISTEN was in place.
func (t *pgTransport) listen(ctx context.Context, f *Fanout) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(t.url)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, err
	}
	f.linkUp()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		f.dispatch(ctx, n.Payload)
	}
}
