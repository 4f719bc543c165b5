package app

import (
	"github.com/clapshot-go/clapshot/internal/ingest"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediastore"
)

// newPipeline creates the media pipeline (uploads, incoming folder,
// transcoding, thumbnails) and registers its HTTP routes.
func (a *App) newPipeline() error {
	cfg := a.Config
	a.Pipeline = ingest.New(ingest.Options{
		DB:              a.DB,
		Events:          a.Events,
		Log:             a.Log.With("component", "pipeline"),
		Layout:          mediastore.Layout{DataDir: cfg.DataDir},
		Tools:           &media.Tools{},
		Workers:         cfg.Workers,
		TargetBitrate:   int64(cfg.BitrateMbps * 1_000_000),
		Poll:            cfg.Poll,
		TranscodeScript: cfg.TranscodeScript,
		UploadExpiry:    cfg.UploadExpiry,
		TrashRetention:  cfg.TrashRetention,
	})
	return nil
}
