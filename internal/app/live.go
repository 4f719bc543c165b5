package app

import (
	"fmt"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/liveconf"
	"github.com/clapshot-go/clapshot/internal/live/webapi"
)

// newLive starts the live-camera engine from --live-config and serves its
// API under /api/live/. A file the server cannot use stops the start-up;
// a bad stream entry is logged and left out, the others still play.
func (a *App) newLive() error {
	if a.Config.LiveConfig == "" {
		return nil
	}
	conf, err := liveconf.Load(a.Config.LiveConfig)
	if err != nil {
		return err
	}
	opt := conf.Options()
	opt.Log = a.Log.With("subsystem", "live")
	arch, err := archive.Open(conf.ArchiveConfig(), opt.Log)
	if err != nil {
		return fmt.Errorf("live config %s: archive: %w", conf.Path, err)
	}
	if arch != nil {
		opt.Attach = arch.Record
	}
	eng := live.New(opt)
	for _, w := range conf.Warnings() {
		opt.Log.Warn("Live config: " + w)
	}
	if conf.API.Enabled || conf.Pprof.Enabled {
		opt.Log.Info("Live config: the api, video and pprof servers are video_server's; clapshot-server serves the cameras under /api/live/ on its own port")
	}
	cfgs, errs := conf.StreamConfigs()
	for _, e := range errs {
		opt.Log.Error("Live config: stream skipped", "error", e.Error())
	}
	for _, c := range cfgs {
		if _, err := eng.Add(c); err != nil {
			opt.Log.Error("Live config: stream skipped", "stream", c.ID, "error", err)
		}
	}
	if err := a.Metrics.Register(eng.Collector("clapshot_live")); err != nil {
		return err
	}
	if arch != nil {
		if err := a.Metrics.Register(arch.Collector("clapshot_live")); err != nil {
			return err
		}
	}
	h := &webapi.Handler{
		Engine: eng, Archive: arch, Identity: a.Identity, OriginAllowed: a.HTTP.Origins.Allowed, Log: opt.Log,
		AuthorizeUpload: a.authorizeUpload(),
	}
	if a.Pipeline != nil {
		h.Review = a.Pipeline
	}
	h.Register(a.HTTP)
	a.Live, a.LiveArchive = eng, arch
	opt.Log.Info("Live cameras configured", "file", conf.Path, "streams", len(cfgs))
	return nil
}

// livePath is where the web UI finds the live API: "" without
// --live-config, so that the app shows no Live page.
func livePath(liveConfig string) string {
	if liveConfig == "" {
		return ""
	}
	return webapi.Prefix
}

// liveStatus feeds /api/health?details=1.
func (a *App) liveStatus() map[string]any {
	online, total := 0, 0
	for _, s := range a.Live.Streams() {
		total++
		if s.Status().Online {
			online++
		}
	}
	return map[string]any{"streams": total, "online": online}
}
