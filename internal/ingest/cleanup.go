package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// finishedJobRetention is how long done and failed jobs stay in the table
// (their logs help with support questions).
const finishedJobRetention = 30 * 24 * time.Hour

// partialSuffix marks an upload still being written.
const partialSuffix = ".partial"

// sharedUploadGrace is how long an upload directory must have been left
// untouched before cleanup takes it when the queue is shared: other
// instances write into the same upload/ directory, and only their own
// process knows which uploads are in flight. A live upload writes all the
// time, so its file is always younger than this.
const sharedUploadGrace = 30 * time.Minute

func (p *Pipeline) cleanupLoop(ctx context.Context) {
	t := time.NewTicker(p.o.CleanupInterval)
	defer t.Stop()
	for {
		p.Cleanup(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Cleanup removes what Clapshot left to pile up: trash older than the
// retention, expired unfinished uploads, stale partial files and empty
// upload directories, and old finished jobs.
func (p *Pipeline) Cleanup(ctx context.Context) {
	now := time.Now()
	if p.o.TrashRetention > 0 {
		removed, err := mediadir.PurgeTrash(p.l, p.o.TrashRetention, now)
		for _, r := range removed {
			p.log.Info("Purged old trash", "dir", r)
		}
		if err != nil {
			p.log.Error("Cannot purge the trash", "err", err)
		}
		if p.o.Objects != nil {
			removed, err := mediadir.PurgeObjectTrash(ctx, p.o.Objects, p.o.TrashRetention, now)
			for _, r := range removed {
				p.log.Info("Purged old trash from the media store", "prefix", r)
			}
			if err != nil {
				p.log.Error("Cannot purge the trash in the media store", "err", err)
			}
		}
	}
	p.cleanUploadDirs(ctx, now)
	p.publishPending(ctx)
	p.mu.Lock()
	tusCleanup := p.tusCleanup
	p.mu.Unlock()
	if tusCleanup != nil {
		tusCleanup(ctx, now)
	}
	if n, err := p.db.DeleteFinishedJobs(ctx, now.Add(-finishedJobRetention)); err != nil {
		p.log.Error("Cannot delete old jobs", "err", err)
	} else if n > 0 {
		p.log.Debug("Deleted old finished jobs", "count", n)
	}
}

// cleanUploadDirs handles upload/<uuid>/ directories that no upload is
// writing and no queued job refers to: partial files are removed (their
// upload was cut off), anything else is kept in rejected/, and the empty
// directory goes.
func (p *Pipeline) cleanUploadDirs(ctx context.Context, now time.Time) {
	entries, err := os.ReadDir(p.l.Upload())
	if err != nil {
		return
	}
	// The uploads in flight before the jobs: an upload that ends in
	// between has queued its job before it stopped being in flight, so
	// the job list names its directory (the other order missed it, and
	// took a file that had just been queued).
	busy := p.inflightDirs()
	jobs, err := p.db.ListJobs(ctx, store.JobQueued, store.JobRunning)
	if err != nil {
		return
	}
	referenced := map[string]bool{}
	for _, j := range jobs {
		var spec ingestSpec
		if j.Kind == KindIngest && decodeSpec(j, &spec) == nil {
			referenced[filepath.Dir(spec.Path)] = true
			referenced[filepath.Dir(spec.From)] = true
		}
	}
	for _, e := range entries {
		dir := filepath.Join(p.l.Upload(), e.Name())
		if !e.IsDir() || dir == filepath.Clean(p.l.Tus()) || referenced[dir] || busy[dir] {
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		if p.o.Lease > 0 && touchedSince(dir, files, now.Add(-sharedUploadGrace)) {
			continue
		}
		for _, f := range files {
			path := filepath.Join(dir, f.Name())
			if strings.HasSuffix(f.Name(), partialSuffix) {
				if os.Remove(path) == nil {
					p.log.Info("Removed an unfinished upload", "file", path)
				}
				continue
			}
			if where, err := mediadir.Reject(p.l, path, ""); err == nil {
				p.log.Warn("An upload nobody was processing was moved to rejected/", "file", where)
			}
		}
		os.Remove(dir)
	}
}

// touchedSince tells whether dir or one of its files changed after t.
func touchedSince(dir string, files []os.DirEntry, t time.Time) bool {
	if st, err := os.Stat(dir); err != nil || st.ModTime().After(t) {
		return true
	}
	for _, f := range files {
		info, err := f.Info()
		if err != nil || info.ModTime().After(t) {
			return true
		}
	}
	return false
}

// beginUpload marks dir as being written by a request, so cleanup leaves
// it alone; the returned func ends that.
func (p *Pipeline) beginUpload(dir string) func() {
	p.mu.Lock()
	if p.inflight == nil {
		p.inflight = map[string]bool{}
	}
	p.inflight[dir] = true
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.inflight, dir)
		p.mu.Unlock()
	}
}

// inflightDirs are the upload directories being written now.
func (p *Pipeline) inflightDirs() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	busy := make(map[string]bool, len(p.inflight))
	for d := range p.inflight {
		busy[d] = true
	}
	return busy
}
