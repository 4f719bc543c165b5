// Package app wires the subsystems together and owns their lifecycle:
// everything started here stops when the context passed to Run ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/fanout"
	"github.com/clapshot-go/clapshot/internal/httpapi"
	"github.com/clapshot-go/clapshot/internal/ingest"
	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/metrics"
	"github.com/clapshot-go/clapshot/internal/notify"
	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/organizer"
	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/share"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/tuslock"
	"github.com/clapshot-go/clapshot/internal/version"
	"github.com/clapshot-go/clapshot/internal/webui"
	"github.com/clapshot-go/clapshot/web"
)

// ShutdownGrace is how long in-flight HTTP requests get after a signal.
const ShutdownGrace = 10 * time.Second

// App is a running server.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	DB       *store.DB
	HTTP     *httpapi.Server
	Identity *auth.Resolver
	// Events carries user notifications to live sessions and the database.
	Events *events.Bus
	// Review is the websocket API (/api/ws): sessions, commands, collab
	// rooms. The organizer plugs into it with Review.SetOrganizer.
	Review *review.Hub
	// Listener is bound by Start; tests read its address.
	Listener net.Listener
	// Pipeline ingests, transcodes and thumbnails media.
	Pipeline *ingest.Pipeline
	// Organizer is the organizer plugin (--org-cmd / --org-in-uri), nil
	// without one.
	Organizer *organizer.Manager
	// Metrics are served at /api/metrics.
	Metrics *metrics.Metrics

	// life bounds everything Start creates: it ends with Start's context,
	// with Run's, or when a component of Run fails.
	life context.Context
	end  context.CancelFunc
	// Live is the live-camera engine (--live-config), nil without one.
	Live *live.Engine
	// LiveArchive records and serves the cameras' archive (nil: none).
	LiveArchive *archive.Archive
	// Shares are the guest share links (/api/shares, /s/<token>/).
	Shares *share.Service

	webUI *webui.Handler
	// objects is the media object store (--media-url), nil without one.
	objects *objstore.Store

	// notifier hears of new comments; dispatcher sends the e-mails and
	// webhook calls it queues.
	notifier   *notify.Notifier
	dispatcher *notify.Dispatcher
	// fanout carries events between instances sharing a PostgreSQL
	// database; nil on SQLite.
	fanout *fanout.Fanout
	// tusLocks locks resumable uploads across instances; nil on SQLite
	// (tusd's memorylocker).
	tusLocks *tuslock.Locker
}

// Start prepares the data directory, binds the listener, opens (and if
// needed migrates) the database and, with an organizer configured, starts
// it and connects to it. /api/health answers on the listener from the
// beginning, other paths with 503 until Start returns. Nothing else runs
// in the background until Run.
//
// ctx bounds the server's life: when it ends, everything Start created
// stops (and Run returns), as when Run's own context ends.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	var o startOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.PrepareDataDir(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.ListenAddr(), err)
	}
	starting := httpapi.ServeStarting(ln, "opening the database")
	a := &App{Config: cfg, Log: log}
	a.life, a.end = context.WithCancel(ctx)
	fail := func(err error) (*App, error) {
		a.end()
		if a.Organizer != nil {
			a.Organizer.Close()
		}
		if a.tusLocks != nil {
			a.tusLocks.Close()
		}
		if a.DB != nil {
			a.DB.Close()
		}
		starting.Stop().Close()
		return nil, err
	}

	// With --db-url, PostgreSQL; an organizer is then told the URL (it
	// opens the database itself), and each instance runs its own.
	open := store.OpenOptions{Path: cfg.DBPath(), URL: cfg.DBURL, Migrate: cfg.Migrate, Log: log}
	if cfg.OrgCmd != "" || cfg.OrgInURI != "" {
		orgOpt := organizer.Options{
			Cmd: cfg.OrgCmd, InURI: cfg.OrgInURI, OutTCP: cfg.OrgOutTCP,
			DataDir: cfg.DataDir, DBPath: cfg.DBPath(), DBURL: cfg.DBURL, URLBase: cfg.URLBase,
			Debug: cfg.Debug > 0, JSON: cfg.JSONLog, Log: log,
		}
		if o.organizer != nil {
			o.organizer(&orgOpt)
		}
		if cfg.DBURL != "" && (cfg.OrgInURI == "" || cfg.OrgOutTCP == "") {
			// The default sockets are files in data-dir, which instances
			// share: a second instance would remove and take over the
			// first's.
			log.Warn("With several server instances on this database and data directory, give each its own org-in-uri " +
				"(a socket outside data-dir) and org-out-tcp; the default organizer sockets are in data-dir")
		}
		if a.Organizer, err = organizer.New(a.life, orgOpt); err != nil {
			return fail(err)
		}
		starting.SetPhase("starting the organizer")
		if err := a.Organizer.Launch(); err != nil {
			return fail(err)
		}
		open.Plan = a.Organizer.Plan(ctx)
	}
	starting.SetPhase("migrating the database")
	if a.DB, err = store.Open(ctx, open); err != nil {
		if a.Organizer != nil {
			err = a.Organizer.ExplainMigrationError(err)
		}
		return fail(err)
	}
	db := a.DB
	// Before anything else uses the database, so that every statement is
	// timed. (Migrations, organizer's included, are not.)
	mtr := metrics.New()
	db.ObserveStatements(mtr.ObserveDBStatement)
	mtr.WatchDBPool(db.SQL())
	mtr.WatchIngestJobs(db.CountJobs)
	a.Metrics = mtr
	a.Identity = &auth.Resolver{
		DefaultUser:    cfg.DefaultUser,
		TrustedProxies: cfg.TrustedProxies,
		Log:            log,
	}
	a.Events = events.NewBus(db, log)
	a.HTTP = httpapi.New(log)
	a.HTTP.Status = a.status
	// Ready once Start returns: the database is open and migrated; then as
	// long as it answers.
	a.HTTP.Ready = func(ctx context.Context) error {
		if err := db.SQL().PingContext(ctx); err != nil {
			return fmt.Errorf("the database does not answer: %w", err)
		}
		return nil
	}
	a.HTTP.Handle("GET /api/metrics", mtr.Handler(log))
	a.HTTP.Origins = httpapi.NewOriginPolicy(cfg.CORSOrigins, cfg.URLBase, a.Identity.Trusted)
	a.HTTP.Hosts = httpapi.NewHostPolicy(cfg.AllowedHosts, log)
	if a.HTTP.Hosts.AllowsAny() {
		log.Warn("--allowed-hosts '*' lets pages on any host name reach this server through DNS rebinding; list the host names instead")
	}
	if a.HTTP.Origins.AllowsAny() {
		log.Warn("--cors '*' lets any web site use this server in its users' name; list the allowed origins instead")
	}
	if err := a.newNotifications(); err != nil {
		return fail(err)
	}
	if err := a.openMediaStore(ctx); err != nil {
		return fail(err)
	}
	trash := &mediadir.Trasher{DB: db, Layout: mediadir.Layout{DataDir: cfg.DataDir}, Objects: a.objects}
	if a.fanout, err = a.newFanout(); err != nil {
		return fail(err)
	}
	var peers review.Peers
	if a.fanout != nil {
		peers = a.fanout
	}
	a.Review = review.NewHub(a.life, review.Options{
		DB:              store.Bind[review.Queries](db),
		DataDir:         cfg.DataDir,
		Media:           a.mediaDir(),
		URLs:            mediadir.URLs{Base: cfg.URLBase},
		Identity:        a.Identity,
		OriginAllowed:   a.HTTP.Origins.Allowed,
		Log:             log,
		MaxMessageBytes: cfg.WSMaxMessageBytes,
		RateLimit:       cfg.WSRateLimit,
		Trash:           trash,
		Metrics:         mtr,
		CommentAdded:    a.commentAdded,
		Peers:           peers,
	})
	a.wireFanout()
	a.registerNotificationsAndExport()
	// Clapshot's routes match any path below them.
	a.HTTP.Handle("/api/ws", a.Review)
	a.HTTP.Handle("/api/ws/", a.Review)
	if err := a.registerWebUI(); err != nil {
		return fail(err)
	}
	if err := a.newPipeline(); err != nil {
		return fail(err)
	}
	// After the pipeline: "send to review" hands archive ranges to it.
	if err := a.newLive(); err != nil {
		return fail(err)
	}
	a.newShares()
	if a.Organizer != nil {
		a.Organizer.Attach(&organizer.Backend{
			DB: store.Bind[organizer.Queries](db), Clients: a.Review, URLs: mediadir.URLs{Base: cfg.URLBase},
			Trash: func(ctx context.Context, id string) error {
				warnings, err := trash.TrashMediaFile(ctx, id)
				for _, w := range warnings {
					log.Warn("Trashing a media file for the organizer: "+w, "media_file_id", id)
				}
				return err
			},
		})
		a.Review.SetOrganizer(a.Organizer.Inbound())
		starting.SetPhase("connecting to the organizer")
		if err := a.Organizer.Start(ctx); err != nil {
			return fail(err)
		}
	}
	a.Listener = starting.Stop()
	return a, nil
}

// Option adjusts Start; tests and tools use them.
type Option func(*startOptions)

type startOptions struct {
	organizer func(*organizer.Options)
}

// WithOrganizerOptions lets f adjust the organizer's options (timeouts,
// restart delays) before it starts.
func WithOrganizerOptions(f func(*organizer.Options)) Option {
	return func(o *startOptions) { o.organizer = f }
}

// Run serves until ctx (or Start's) ends, then stops everything and
// closes the database.
func (a *App) Run(ctx context.Context) error {
	defer a.DB.Close()
	if a.tusLocks != nil {
		// After the HTTP server: the requests holding locks have ended.
		defer a.tusLocks.Close()
	}
	g, gctx := errgroup.WithContext(ctx)
	// Run's end, or a component's failure, ends the server's life.
	defer context.AfterFunc(gctx, a.end)()
	life := a.life
	g.Go(func() error { return a.HTTP.Serve(life, a.Listener, ShutdownGrace) })
	g.Go(a.Review.Wait)
	g.Go(func() error { return a.Pipeline.Run(life) })
	if a.Organizer != nil {
		g.Go(func() error { return a.Organizer.Run(life) })
	}
	if a.Live != nil {
		g.Go(func() error { return archive.Run(life, a.Live, a.LiveArchive) })
	}
	g.Go(func() error { return a.dispatcher.Run(life) })
	if a.fanout != nil {
		g.Go(func() error { return a.fanout.Run(life) })
	}

	a.Log.Info("Clapshot server started", "version", version.Version, "listen", a.Listener.Addr().String(),
		"data_dir", a.Config.DataDir, "database", a.DB.Where(), "workers", a.Config.Workers)
	a.Log.Info("Open " + a.PublicURL() + " in a browser")

	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	a.Log.Info("Clapshot server stopped")
	return err
}

// PublicURL is where users reach the server: --url-base if given, else the
// listen address (with a wildcard address shown as localhost).
func (a *App) PublicURL() string {
	if a.Config.URLBase != "" {
		return a.Config.URLBase + "/"
	}
	host, port, _ := net.SplitHostPort(a.Listener.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port + "/"
}

// registerWebUI serves the review app at / (embedded, or --web-dir) with
// its runtime settings.
func (a *App) registerWebUI() error {
	files, cache := web.Dist(), true
	if a.Config.WebDir != "" {
		files, cache = os.DirFS(a.Config.WebDir), false
	}
	var conf *webui.ClientConf
	if a.Config.ClientConf != "" {
		var err error
		if conf, err = webui.LoadClientConf(a.Config.ClientConf); err != nil {
			return err
		}
	}
	ui, err := webui.New(webui.Options{
		Files:   files,
		Cache:   cache,
		URLBase: a.Config.URLBase,
		Conf:    conf,
		Trusted: a.Identity.Trusted,
		TusPath: ingest.TusPath,
		// The Live page is offered only with cameras (newLive, right after).
		LivePath: livePath(a.Config.LiveConfig),
		// Announced to the app so it refuses too-large files before sending.
		MaxUploadBytes: a.Config.UploadMaxSize,
		Version:        version.Version,
		Log:            a.Log,
	})
	if err != nil {
		return err
	}
	ui.Register(a.HTTP)
	a.webUI = ui
	return nil
}

// status feeds /api/health?details=1.
func (a *App) status(ctx context.Context) map[string]any {
	start := time.Now()
	dbOK := a.DB.SQL().PingContext(ctx) == nil
	st := map[string]any{
		"database":            map[string]any{"ok": dbOK, "backend": a.DB.Backend(), "latency_ms": float64(time.Since(start).Microseconds()) / 1000},
		"url_base_configured": a.Config.URLBase != "",
	}
	if a.Organizer != nil {
		st["organizer"] = a.Organizer.Status()
	}
	if a.fanout != nil {
		st["instances"] = a.fanout.Status()
	}
	if a.Live != nil {
		st["live"] = a.liveStatus()
	}
	return st
}
