package fanout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
)

// SubjectFor is the NATS subject of the instances sharing the database at
// dbURL: one NATS server can carry several installations, each hearing
// only its own. It names the database by host and path, not by
// credentials, which may differ between instances.
func SubjectFor(dbURL string) string {
	where := dbURL
	if u, err := url.Parse(dbURL); err == nil {
		where = u.Host + u.Path
	}
	sum := sha256.Sum256([]byte(where))
	return "clapshot.fanout." + hex.EncodeToString(sum[:8])
}

// NewNATS prepares a fanout over the NATS server at natsURL (nats://,
// tls://; several, comma-separated, for a cluster), on subject. The
// connection is made in the background and made again whenever it is
// lost, so a NATS server that is not up yet delays the events, not the
// start. Run subscribes.
func NewNATS(natsURL, subject string, log *slog.Logger) (*Fanout, error) {
	t := &natsTransport{subject: subject}
	f := newFanout(t, log)
	nc, err := nats.Connect(natsURL,
		nats.Name("clapshot"),
		nats.NoEcho(), // this instance's own events are delivered locally
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				f.linkDown(err, 500*time.Millisecond)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { f.linkUp() }),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS at %s: %w", redactNATS(natsURL), err)
	}
	t.nc = nc
	return f, nil
}

type natsTransport struct {
	nc      *nats.Conn
	subject string
}

func (*natsTransport) name() string { return "nats" }

// maxPayload stays below the server's limit (1 MiB by default), known
// once connected.
func (t *natsTransport) maxPayload() int {
	limit := int(t.nc.MaxPayload())
	if limit <= 0 {
		limit = 1 << 20
	}
	return min(limit, 1<<20) - 1024
}

// send publishes in order on one connection, which NATS delivers in order.
// Published while the connection is being made again, messages wait in
// its buffer.
func (t *natsTransport) send(_ context.Context, msgs []string) error {
	for _, m := range msgs {
		if err := t.nc.Publish(t.subject, []byte(m)); err != nil {
			return err
		}
	}
	return nil
}

func (t *natsTransport) close() { t.nc.Close() }

// run subscribes and waits for ctx. The client library reconnects and
// subscribes again by itself; the link counts as up once the server has
// confirmed the subscription (a round trip).
func (t *natsTransport) run(ctx context.Context, f *Fanout) error {
	// One subscription's callbacks run one at a time, as f.dispatch needs.
	sub, err := t.nc.Subscribe(t.subject, func(m *nats.Msg) { f.dispatch(ctx, string(m.Data)) })
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", t.subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for t.nc.FlushTimeout(5*time.Second) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	f.linkUp()
	<-ctx.Done()
	return nil
}

// redactNATS hides a password in a NATS URL for messages.
func redactNATS(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
