package app

import (
	"github.com/clapshot-go/clapshot/internal/httpapi"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/share"
	"github.com/clapshot-go/clapshot/internal/store"
)

// newShares creates the guest share links and registers their routes:
// the owners' API (/api/shares) and everything below /s/, where guests
// get the app, its websocket (the review hub's guest sessions) and the
// media files their link grants.
func (a *App) newShares() {
	cfg := a.Config
	a.Shares = share.New(share.Options{
		DB:       store.Bind[share.Store](a.DB),
		Access:   a.Review.Access(),
		Sessions: a.Review,
		Identity: a.Identity,
		Media:    httpapi.MediaFiles(mediadir.Layout{DataDir: cfg.DataDir}.Videos(), cfg.DBPath(), a.Log),
		App:      a.webUI,
		URLBase:  cfg.URLBase,
		Log:      a.Log.With("component", "share"),
	})
	a.Shares.Register(a.HTTP)
}
