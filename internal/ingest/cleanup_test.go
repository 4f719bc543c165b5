package ingest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// An upload that is submitted while the cleanup looks at upload/ stays
// where it is: before the fix the cleanup listed the queued jobs, the
// upload then queued its job and ended, and the cleanup, seeing neither a
// job nor an upload in flight, moved the file to rejected/ (the job then
// failed: "the uploaded file disappeared").
func TestCleanupLeavesUploadsSubmittedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := mediadir.Layout{DataDir: dir}
	// No workers run: every submitted job stays queued.
	p := New(Options{DB: store.Bind[Queries](db), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Layout: l, Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			p.cleanUploadDirs(ctx, time.Now())
		}
	}()
	const uploads = 300
	paths := make([]string, 0, uploads)
	for i := 0; i < uploads; i++ {
		d, done, err := p.NewUploadDir()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(d, "clip.mp4")
		if err := os.WriteFile(path, []byte("an upload"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := p.Submit(ctx, Upload{Path: path, UserID: "kim", Source: "upload"}); err != nil {
			t.Fatal(err)
		}
		done()
		paths = append(paths, path)
	}
	cancel()
	wg.Wait()
	lost := 0
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			lost++
		}
	}
	if lost > 0 {
		rejected, _ := os.ReadDir(l.Rejected())
		t.Errorf("%d of %d queued uploads were taken from upload/ by the cleanup (%d files in rejected/)", lost, uploads, len(rejected))
	}
}
