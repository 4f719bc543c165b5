package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/clapshot-go/clapshot/internal/config"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/fanout"
	"github.com/clapshot-go/clapshot/internal/review"
)

// peerMessageKind is the fanout kind of user notifications (events).
const peerMessageKind = "message"

// newFanout connects this instance to the others on the same PostgreSQL
// database (nil on SQLite, which one server owns): comments made through
// any instance reach the sessions of all, and so do user notifications.
func (a *App) newFanout() (*fanout.Fanout, error) {
	if a.Config.DBURL == "" {
		return nil, nil
	}
	return openFanout(a.Config, a.DB.SQL(), a.Log)
}

// openFanout is the fan-out of a server or worker on cfg.DBURL: through
// the NATS server of cfg.FanoutURL, else the database's LISTEN/NOTIFY.
func openFanout(cfg *config.Config, db *sql.DB, log *slog.Logger) (*fanout.Fanout, error) {
	log = log.With("subsystem", "fanout")
	if cfg.FanoutURL == "" {
		return fanout.New(cfg.DBURL, db, log), nil
	}
	f, err := fanout.NewNATS(cfg.FanoutURL, fanout.SubjectFor(cfg.DBURL), log)
	if err != nil {
		return nil, fmt.Errorf("--fanout-url: %w", err)
	}
	return f, nil
}

// wireFanout registers the handlers of the other instances' events, once
// the hub exists, and makes the event bus tell the other instances too.
func (a *App) wireFanout() {
	f := a.fanout
	if f == nil {
		a.Events.SetDeliverer(a.Review)
		return
	}
	f.Handle(review.PeerCommentKind, a.Review.PeerComment)
	f.Handle(review.PeerCollabKind, a.Review.PeerCollab)
	f.Handle(peerMessageKind, func(ctx context.Context, data []byte) {
		var m events.Message
		if err := json.Unmarshal(data, &m); err != nil {
			a.Log.Warn("Unreadable notification from another server instance", "err", err)
			return
		}
		a.Review.Deliver(ctx, m)
	})
	a.Events.SetDeliverer(peerDeliverer{local: a.Review, peers: f})
}

// peerDeliverer delivers a notification to this instance's sessions and
// to the other instances'. Whether the user was reached (stored as the
// message's "seen") counts this instance's sessions only.
type peerDeliverer struct {
	local events.Deliverer
	peers *fanout.Fanout
}

func (d peerDeliverer) Deliver(ctx context.Context, m events.Message) bool {
	reached := d.local.Deliver(ctx, m)
	d.peers.Publish(ctx, peerMessageKind, m)
	return reached
}
