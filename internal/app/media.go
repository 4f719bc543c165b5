package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/httpapi"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
)

// openMediaStore connects the object store of --media-url (nil without
// one); see openObjects.
func (a *App) openMediaStore(ctx context.Context) error {
	st, err := openObjects(ctx, a.Config, a.Log)
	if err != nil || st == nil {
		return err
	}
	a.objects = st
	a.Log.Info("Media files are kept in an object store", "store", st.Config().String(), "proxy", a.Config.MediaProxy)
	return nil
}

// openObjects connects the object store of --media-url (nil without one)
// and makes sure its bucket is there, so that wrong credentials or an
// unreachable endpoint stop the start with a message saying so. Servers
// and workers share it: a worker stores the outputs of the jobs it runs.
func openObjects(ctx context.Context, cfg *config.Config, log *slog.Logger) (*objstore.Store, error) {
	if cfg.MediaURL == "" {
		return nil, nil
	}
	sc := cfg.MediaStore
	sc.Log = log.With("component", "objstore")
	st, err := objstore.New(sc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.EnsureBucket(ctx); err != nil {
		return nil, fmt.Errorf("--media-url: %w", err)
	}
	return st, nil
}

// mediaDir is the review side's media directory: the data directory, or
// the object store.
func (a *App) mediaDir() *mediadir.Dir {
	if a.objects != nil {
		return &mediadir.Dir{Files: mediadir.Objects{Store: a.objects}}
	}
	return mediadir.New(a.Config.DataDir)
}

// mediaHandler serves /videos/ (and a guest link's media): from the data
// directory, or from the object store with the data directory for what
// is not stored yet.
func (a *App) mediaHandler() http.Handler {
	local := httpapi.MediaFiles(mediadir.Layout{DataDir: a.Config.DataDir}.Videos(), a.Config.DBPath(), a.Log)
	if a.objects == nil {
		return local
	}
	return httpapi.MediaObjects(a.objects, httpapi.ObjectOptions{Proxy: a.Config.MediaProxy, Local: local, Log: a.Log})
}

// objectSource is where ffmpeg reads a media file kept in the object
// store (nil without one): a presigned URL of its playable file, which
// ffmpeg reads with ranged GETs.
func (a *App) objectSource() func(context.Context, store.MediaFile) (string, error) {
	if a.objects == nil {
		return nil
	}
	return func(ctx context.Context, m store.MediaFile) (string, error) {
		key := "videos/" + m.ID + "/video.mp4"
		if m.RecompressionDone == nil && m.OrigFilename != nil {
			key = "videos/" + m.ID + "/orig/" + *m.OrigFilename
		}
		u, err := a.objects.Presign(ctx, key, time.Hour, "")
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
}
