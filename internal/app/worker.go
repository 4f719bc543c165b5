package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/fanout"
	"github.com/clapshot-go/clapshot/internal/ingest"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/version"
)

// RunWorker runs clapshot-worker: the transcode, thumbnail and ladder
// jobs of the PostgreSQL job queue at cfg.DBURL, on the media files of
// cfg.DataDir (the servers' data directory, shared), until ctx ends. The
// database is not migrated here: a server does that. Progress and results
// reach the uploaders through the servers (LISTEN/NOTIFY).
func RunWorker(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.DBURL == "" {
		return errors.New("clapshot-worker needs --db-url postgres://...: the job queue it shares with the servers is in PostgreSQL")
	}
	db, err := store.Open(ctx, store.OpenOptions{URL: cfg.DBURL, Log: log})
	if err != nil {
		return fmt.Errorf("open the job queue: %w", err)
	}
	defer db.Close()
	bus := events.NewBus(db, log)
	// No session is connected here: every notification goes to the
	// servers, whose sessions show it.
	peers, err := openFanout(cfg, db.SQL(), log)
	if err != nil {
		return err
	}
	// A worker only publishes: it needs no Run, which listens.
	defer peers.Close()
	bus.SetDeliverer(peersOnly{peers})
	o := pipelineOptions(cfg, db, bus, log)
	o.Role, o.Lease = ingest.RoleWorker, cfg.JobLease
	if o.Objects, err = openObjects(ctx, cfg, log); err != nil {
		return err
	}
	p := ingest.New(o)
	log.Info("Clapshot worker started", "version", version.Version, "data_dir", cfg.DataDir, "database", db.Where(), "workers", cfg.Workers)
	err = p.Run(ctx)
	log.Info("Clapshot worker stopped")
	return err
}

// peersOnly delivers notifications to the other processes only.
type peersOnly struct{ peers *fanout.Fanout }

func (d peersOnly) Deliver(ctx context.Context, m events.Message) bool {
	d.peers.Publish(ctx, peerMessageKind, m)
	return false
}
