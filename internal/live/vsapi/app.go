package vsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/liveconf"
)

// Listeners are the bound addresses, for tests and logs.
type Listeners struct {
	API, Video, Pprof net.Addr
}

// Run is the whole video_server: it starts the configured streams and the
// servers, and on ctx's end shuts the servers down (10 s grace for
// requests), stops every stream and returns. ready, if set, is called
// once everything listens.
func Run(ctx context.Context, conf *liveconf.File, log *slog.Logger, ready func(Listeners, *live.Engine)) error {
	opt := conf.Options()
	opt.Log = log
	arch, err := archive.Open(conf.ArchiveConfig(), log)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if arch != nil {
		opt.Attach = arch.Record
	}
	eng := live.New(opt)
	for _, w := range conf.Warnings() {
		log.Warn("Config: " + w)
	}
	cfgs, errs := conf.StreamConfigs()
	for _, e := range errs {
		log.Error("Config: stream skipped", "error", e.Error())
	}
	for _, c := range cfgs {
		if _, err := eng.Add(c); err != nil {
			log.Error("Config: stream skipped", "stream", c.ID, "error", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		eng.Collector("video_server"))
	if arch != nil {
		reg.MustRegister(arch.Collector("video_server"))
	}
	srv := &Server{Engine: eng, Conf: conf, Log: log, Gatherer: reg, Archive: arch}

	type server struct {
		name    string
		addr    string
		handler http.Handler
		bound   *net.Addr
	}
	var ls Listeners
	servers := []server{{"video", joinHostPort(conf.Video.Host, conf.Video.Port), srv.VideoHandler(), &ls.Video}}
	if conf.API.Enabled {
		servers = append(servers, server{"API", joinHostPort(conf.API.Host, conf.API.Port), srv.APIHandler(), &ls.API})
	}
	if conf.Pprof.Enabled {
		servers = append(servers, server{"pprof", joinHostPort(conf.Pprof.Host, conf.Pprof.Port), pprofHandler(), &ls.Pprof})
		if ip := net.ParseIP(conf.Pprof.Host); conf.Pprof.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("pprof listens on a non-loopback address: anyone who reaches it can profile the server", "host", conf.Pprof.Host)
		}
	}
	var lns []net.Listener
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("%s server on %s: %w", s.name, s.addr, err)
		}
		lns = append(lns, ln)
		*s.bound = ln.Addr()
		log.Info("Listening", "server", s.name, "addr", ln.Addr().String())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return archive.Run(gctx, eng, arch) })
	for i, s := range servers {
		hs := &http.Server{
			Handler: s.handler, ReadHeaderTimeout: 30 * time.Second,
			BaseContext: func(net.Listener) context.Context { return gctx },
			ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
		ln := lns[i]
		g.Go(func() error {
			err := hs.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("%s server: %w", s.name, err)
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close()
			}
			return nil
		})
	}
	if ready != nil {
		ready(ls, eng)
	}
	err = g.Wait()
	log.Info("video_server stopped")
	return err
}

func joinHostPort(h string, p int) string { return net.JoinHostPort(h, strconv.Itoa(p)) }

func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
