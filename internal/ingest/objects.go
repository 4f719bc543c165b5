package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
)

// With an object store (Options.Objects, --media-url), the data directory
// is a spool: uploads go straight to the store as they arrive
// (upload/<uuid>/<name> objects); the ingest job fetches the file into
// upload/<uuid>/ for ffprobe, puts the original at videos/<id>/orig/<name>
// in the store before the media file is recorded, and the processing jobs
// work on local files as without a store. When a media file's last job is
// done, its outputs are uploaded under the names they are served at
// (video.mp4 is the transcode itself, hls/ the ladder) and the local
// copies removed; what could not be uploaded stays, is served from the
// disk meanwhile, and is retried by the periodic cleanup.

// objectKey is the store key of a file in the data directory.
func (p *Pipeline) objectKey(local string) (string, error) {
	rel, err := filepath.Rel(p.l.DataDir, local)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is not in the data directory", local)
	}
	return filepath.ToSlash(rel), nil
}

// fetchUpload brings an upload that is in the store into the local spool
// (its spec's Path), unless it is there already.
func (p *Pipeline) fetchUpload(ctx context.Context, spec ingestSpec) error {
	if spec.Object == "" || p.o.Objects == nil {
		return nil
	}
	if _, err := os.Stat(spec.Path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(spec.Path), 0o755); err != nil {
		return err
	}
	_, err := p.o.Objects.Download(ctx, spec.Object, spec.Path)
	return err
}

// storeOrig puts the original of media file id into the store: a
// server-side copy of the uploaded object, or an upload of the local file.
func (p *Pipeline) storeOrig(ctx context.Context, spec ingestSpec, orig string) (string, error) {
	key, err := p.objectKey(orig)
	if err != nil {
		return "", err
	}
	if spec.Object != "" {
		if err := p.o.Objects.Copy(ctx, spec.Object, key); err == nil {
			return key, nil
		} else if !errors.Is(err, objstore.ErrNotFound) {
			return "", err
		}
	}
	return key, p.o.Objects.Upload(ctx, key, orig, mediadir.ContentType(filepath.Ext(orig)))
}

// jobPath is where a file of media file id named in a job's spec is in
// this process's data directory. The spec holds the path in the data
// directory of the process that queued the job; a clapshot-worker may
// have a data directory of its own (its spool, with the media in an
// object store: no shared file system) or the shared one mounted
// elsewhere, so the part below videos/<id>/ is kept and the rest is
// this process's.
func (p *Pipeline) jobPath(id, path string) string {
	if rel, err := filepath.Rel(p.l.DataDir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return path
	}
	sep := string(filepath.Separator)
	mark := sep + "videos" + sep + id + sep
	if i := strings.LastIndex(path, mark); i >= 0 && mediadir.ValidID(id) {
		return filepath.Join(p.l.MediaDir(id), path[i+len(mark):])
	}
	return path
}

// localSource makes sure a processing job's source file is on the local
// disk, fetching it from the store if it was evicted.
func (p *Pipeline) localSource(ctx context.Context, src string) error {
	if p.o.Objects == nil {
		return nil
	}
	if _, err := os.Stat(src); err == nil {
		return nil
	}
	key, err := p.objectKey(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return err
	}
	if os.Remove(src) == nil { // a dangling link (video.mp4 after eviction)
		p.log.Debug("Replacing a dangling link with the stored file", "file", src)
	}
	_, err = p.o.Objects.Download(ctx, key, src)
	return err
}

// mediaBusy reports whether media file id still has queued or running
// jobs (other than except).
func (p *Pipeline) mediaBusy(ctx context.Context, id string, except int64) (bool, error) {
	jobs, err := p.db.ListJobs(ctx, store.JobQueued, store.JobRunning)
	if err != nil {
		return false, err
	}
	for _, j := range jobs {
		if j.ID != except && j.MediaFileID != nil && *j.MediaFileID == id {
			return true, nil
		}
	}
	return false, nil
}

// publishMedia uploads media file id's local files to the store and
// removes them from the disk, once no job of it is left. Failures are
// logged: the files stay and are served from the disk until the cleanup
// retries.
func (p *Pipeline) publishMedia(ctx context.Context, id string, log *slog.Logger) {
	if p.o.Objects == nil || !mediadir.ValidID(id) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if busy, err := p.mediaBusy(ctx, id, 0); err != nil || busy {
		return
	}
	if err := p.pushMediaDir(ctx, id); err != nil {
		log.Warn("Cannot move media files to the object store yet; they stay on the disk and are retried", "media_file", id, "err", err)
		return
	}
	log.Debug("Media files moved to the object store", "media_file", id)
}

// pushMediaDir uploads what is in videos/<id>/ on the disk and removes
// it. A link (video.mp4, hls) is stored as the file or directory it
// points at, under the link's name; files and directories behind links,
// and older attempts, are not stored separately.
func (p *Pipeline) pushMediaDir(ctx context.Context, id string) error {
	dir := p.l.MediaDir(id)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var evict []string
	linked := map[string]bool{}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == filepath.Base(target) {
				linked[target] = true
			}
		}
	}
	for _, e := range entries {
		local := filepath.Join(dir, e.Name())
		name := e.Name()
		switch {
		case linked[name]:
			continue // stored under the link's name
		case strings.HasPrefix(name, "transcoded_"), strings.HasPrefix(name, "remuxed_"), strings.HasPrefix(name, "hls_"):
			continue // an attempt nothing points at: recovery's business
		}
		st, err := os.Stat(local) // through a link
		if err != nil {
			return err
		}
		if st.IsDir() {
			// orig/, thumbs/, or the hls link: the tree, under its name.
			err = p.pushTree(ctx, local, &evict)
		} else {
			err = p.pushFile(ctx, local, &evict)
		}
		if err != nil {
			return err
		}
	}
	for _, f := range evict {
		if err := os.RemoveAll(f); err != nil {
			return err
		}
	}
	return nil
}

// pushTree uploads the files below the directory (or link to one) root,
// keyed by root's own name.
func (p *Pipeline) pushTree(ctx context.Context, root string, evict *[]string) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(real, func(f string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(real, f)
		return p.pushAs(ctx, f, filepath.Join(root, rel))
	})
	if err == nil {
		*evict = append(*evict, root)
		if real != root {
			*evict = append(*evict, real)
		}
	}
	return err
}

// pushFile uploads one file (a link: its target, under the link's name).
func (p *Pipeline) pushFile(ctx context.Context, f string, evict *[]string) error {
	if err := p.pushAs(ctx, f, f); err != nil {
		return err
	}
	*evict = append(*evict, f)
	if real, err := filepath.EvalSymlinks(f); err == nil && real != f {
		*evict = append(*evict, real)
	}
	return nil
}

// pushAs uploads the file at src under the key of the local path as,
// unless an object of the same size is there (the original, stored at
// ingest).
func (p *Pipeline) pushAs(ctx context.Context, src, as string) error {
	key, err := p.objectKey(as)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if info, err := p.o.Objects.Stat(ctx, key); err == nil && info.Size == st.Size() && strings.Contains(key, "/orig/") {
		return nil
	}
	return p.o.Objects.Upload(ctx, key, src, mediadir.ContentType(filepath.Ext(as)))
}

// publishInterval is how often a front or a worker (Role) looks for
// media directories to publish. A media file's jobs may run in several
// processes, each with its own spool: the one that ends the last job
// publishes its files at once, the others theirs here, once no job of
// the media file is left.
const publishInterval = 30 * time.Second

func (p *Pipeline) publishLoop(ctx context.Context) {
	t := time.NewTicker(publishInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.publishPending(ctx)
		}
	}
}

// publishPending retries publishMedia for media directories left on the
// disk (the store was unreachable when their jobs ended).
func (p *Pipeline) publishPending(ctx context.Context) {
	if p.o.Objects == nil {
		return
	}
	entries, err := os.ReadDir(p.l.Videos())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !mediadir.ValidID(e.Name()) {
			continue
		}
		files, err := os.ReadDir(p.l.MediaDir(e.Name()))
		if err != nil || len(files) == 0 {
			continue
		}
		if _, err := p.db.GetMediaFile(ctx, e.Name()); err != nil {
			continue // not (yet, or any more) a media file
		}
		p.publishMedia(ctx, e.Name(), p.log)
	}
}
