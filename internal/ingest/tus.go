package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
)

// TusPath is where the resumable upload endpoint is mounted.
const TusPath = "/api/upload/tus/"

// Upload metadata keys the server sets (a client cannot: the whole map is
// rebuilt at creation).
const (
	metaFilename = "filename"
	metaFiletype = "filetype"
	metaUser     = "clapshot_user"
	metaUserName = "clapshot_user_name"
	metaCookies  = "clapshot_cookies"
	metaVersion  = "clapshot_version_of"
)

// TusHandler is the resumable upload endpoint (tus 1.0: creation,
// termination), for users behind proxies that limit request bodies
// (Clapshot #93). The uploader's identity and X-Clapshot-Cookies are taken
// when the upload is created; only the same user may continue, inspect or
// cancel it. A finished upload is queued like a plain one. Unfinished
// uploads are removed after UploadExpiry without progress.
func (p *Pipeline) TusHandler(o HTTPOptions) (http.Handler, error) {
	dir := p.l.Tus()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tus upload directory: %w", err)
	}
	composer := tusd.NewStoreComposer()
	var objects *objectTusStore
	if p.o.Objects != nil {
		var err error
		if objects, err = newObjectTusStore(context.Background(), p.o.Objects, dir, p.log); err != nil {
			return nil, fmt.Errorf("tus uploads to the media store: %w", err)
		}
		clearSpool(dir)
		objects.UseIn(composer)
	} else {
		newChunkStore(dir).UseIn(composer)
	}
	if p.o.TusLocker != nil {
		composer.UseLocker(p.o.TusLocker)
	} else {
		memorylocker.New().UseIn(composer)
	}
	h, err := tusd.NewHandler(tusd.Config{
		BasePath:      TusPath,
		StoreComposer: composer,
		MaxSize:       o.MaxSize,
		// CORS is answered for the whole server by httpapi.
		Cors:                      &tusd.CorsConfig{Disable: true},
		DisableDownload:           true,
		Logger:                    expslog.New(expslog.NewTextHandler(&logWriter{log: p.log}, nil)),
		PreUploadCreateCallback:   p.tusCreate(o, objects),
		PreFinishResponseCallback: p.tusFinish(objects),
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	p.mu.Lock()
	p.tusCleanup = func(ctx context.Context, now time.Time) {
		// Local uploads also with a store: those from before it.
		p.expireTus(now)
		if objects != nil {
			p.expireObjects(ctx, objects, now)
		}
	}
	p.mu.Unlock()
	inner := http.StripPrefix(strings.TrimSuffix(TusPath, "/"), h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ident := o.Identity.Identify(r)
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, TusPath), "/")
		if id != "" && r.Method != http.MethodOptions {
			// Only the uploader may continue, inspect or cancel (in the
			// media store, objectTusStore.GetUpload checks).
			if owner, ok := tusOwner(dir, id); ok && owner != ident.UserID {
				http.Error(w, "This upload belongs to another user", http.StatusForbidden)
				return
			}
		}
		if id == "" && r.Method == http.MethodPost && o.Authorize != nil {
			if err := o.Authorize(r, ident); err != nil {
				http.Error(w, "Permission denied: "+err.Error(), http.StatusForbidden)
				return
			}
		}
		var versionOf string
		if id == "" && r.Method == http.MethodPost {
			var err error
			if versionOf, err = p.versionTarget(r, ident); err != nil {
				writeVersionError(w, err, p.log.With("user", ident.UserID, "remote", r.RemoteAddr))
				return
			}
		}
		ctx := context.WithValue(r.Context(), uploaderKey{}, uploader{ident: ident, cookies: auth.Cookies(r.Header), versionOf: versionOf})
		inner.ServeHTTP(&relativeLocation{ResponseWriter: w}, r.WithContext(ctx))
	}), nil
}

// tusCreate validates a new upload and records who makes it.
func (p *Pipeline) tusCreate(o HTTPOptions, objects *objectTusStore) func(tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	return func(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
		u, ok := uploaderFrom(ev.Context)
		if !ok {
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_INTERNAL", "no uploader", http.StatusInternalServerError)
		}
		raw := ev.Upload.MetaData[metaFilename]
		if err := CheckFileName(raw); err != nil {
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_BAD_FILENAME",
				err.Error()+" (send it in Upload-Metadata as 'filename')", http.StatusBadRequest)
		}
		// Kept as the title, valid UTF-8, so that the upload's .info file
		// (JSON) keeps it as it is; the stored name is made from it.
		name := mediadir.Title(raw)
		if !ev.Upload.SizeIsDeferred && ev.Upload.Size == 0 {
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_EMPTY", fmt.Sprintf("'%s' is empty (0 bytes)", name), http.StatusBadRequest)
		}
		if !ev.Upload.SizeIsDeferred {
			need := ev.Upload.Size
			if objects != nil {
				// Only the spool is on this disk.
				need = min(need, tusSpoolBound(max(objects.cfg.PartSize, (need+9999)/10000), 1))
			}
			if err := p.checkSpace(need); err != nil {
				return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_NO_SPACE", err.Error(), http.StatusInsufficientStorage)
			}
		}
		cookies, _ := json.Marshal(u.cookies)
		meta := tusd.MetaData{metaFilename: name, metaFiletype: ev.Upload.MetaData[metaFiletype],
			metaUser: u.ident.UserID, metaUserName: u.ident.UserName, metaCookies: string(cookies)}
		if u.versionOf != "" {
			meta[metaVersion] = u.versionOf
		}
		p.log.Debug("Resumable upload started", "file", name, "size", ev.Upload.Size, "user", u.ident.UserID)
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: meta}, nil
	}
}

// tusFinish queues a completed upload for ingestion before the client is
// told it is complete: the data file, or (objects) the object in the
// media store, which the job fetches.
func (p *Pipeline) tusFinish(objects *objectTusStore) func(tusd.HookEvent) (tusd.HTTPResponse, error) {
	return func(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
		info := ev.Upload
		name := info.MetaData[metaFilename]
		internal := func(err error) (tusd.HTTPResponse, error) {
			p.o.Metrics.UploadFinished("tus", info.Size, err)
			p.log.Error("Cannot queue a finished resumable upload", "file", name, "err", err)
			return tusd.HTTPResponse{}, tusd.NewError("ERR_INTERNAL", "cannot process the upload: "+err.Error(), http.StatusInternalServerError)
		}
		if CheckFileName(name) != nil {
			return internal(errors.New("upload has no file name"))
		}
		var cookies map[string]string
		_ = json.Unmarshal([]byte(info.MetaData[metaCookies]), &cookies)
		u := Upload{Title: mediadir.Title(name), UserID: info.MetaData[metaUser], UserName: info.MetaData[metaUserName],
			Cookies: cookies, Source: "tus", VersionOf: info.MetaData[metaVersion]}
		if objects != nil {
			key, _, ok := tusObjectKey(info.ID)
			if !ok {
				return internal(fmt.Errorf("upload id %q names no object", info.ID))
			}
			u.Object = key
		} else {
			u.From = info.Storage["Path"]
			if u.From == "" {
				return internal(errors.New("upload has no data path"))
			}
			if err := syncFile(u.From); err != nil {
				return internal(err)
			}
		}
		dir, done, err := p.NewUploadDir()
		if err != nil {
			return internal(err)
		}
		defer done()
		u.Path = filepath.Join(dir, mediadir.StoredName(name))
		if err := p.Submit(context.WithoutCancel(ev.Context), u); err != nil {
			os.Remove(dir)
			return internal(err)
		}
		if objects != nil {
			if err := objects.handedOff(u.Object); err != nil {
				p.log.Warn("Cannot remove a finished upload's .info from the media store; the cleanup will", "key", u.Object, "err", err)
			}
		} else {
			if err := materialize(ingestSpec{Path: u.Path, From: u.From}); err != nil {
				p.log.Warn("Cannot move a finished upload; its job will retry", "err", err)
			}
			os.Remove(u.From + ".info")
		}
		p.o.Metrics.UploadFinished("tus", info.Size, nil)
		p.log.Info("Resumable upload finished", "file", name, "size", info.Size, "user", u.UserID, "object", u.Object)
		return tusd.HTTPResponse{}, nil
	}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// tusInfo is the part of tusd's <id>.info file the server reads.
type tusInfo struct {
	ID       string
	Size     int64
	Offset   int64
	MetaData map[string]string
}

func readTusInfo(path string) (tusInfo, error) {
	var ti tusInfo
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &ti)
	}
	return ti, err
}

// tusOwner is the user who created upload id.
func tusOwner(dir, id string) (string, bool) {
	if strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return "", false
	}
	ti, err := readTusInfo(filepath.Join(dir, id+".info"))
	if err != nil {
		return "", false
	}
	return ti.MetaData[metaUser], true
}

// expireTus removes unfinished uploads that made no progress for
// UploadExpiry (the data file's modification time moves with every
// chunk), and leftovers of finished ones.
func (p *Pipeline) expireTus(now time.Time) {
	entries, err := os.ReadDir(p.l.Tus())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		id, isInfo := strings.CutSuffix(name, ".info")
		if !isInfo || e.IsDir() {
			continue
		}
		bin := filepath.Join(p.l.Tus(), id)
		infoPath := filepath.Join(p.l.Tus(), name)
		last := time.Time{}
		if st, err := os.Stat(bin); err == nil {
			last = st.ModTime()
		} else if st, err := os.Stat(infoPath); err == nil && now.Sub(st.ModTime()) < time.Minute {
			continue // being created right now
		}
		if !last.IsZero() && now.Sub(last) < p.o.UploadExpiry {
			continue
		}
		ti, _ := readTusInfo(infoPath)
		os.Remove(bin)
		os.Remove(infoPath)
		if !last.IsZero() {
			p.log.Info("Removed an expired unfinished upload", "file", ti.MetaData[metaFilename], "user", ti.MetaData[metaUser],
				"received", ti.Offset, "size", ti.Size)
		}
	}
}

// relativeLocation turns tusd's absolute Location header into a path, so
// that it is right behind any proxy (tusd would build it from the Host
// header and guess the scheme).
type relativeLocation struct {
	http.ResponseWriter
	done bool
}

func (w *relativeLocation) WriteHeader(code int) {
	if !w.done {
		w.done = true
		if loc := w.Header().Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil && u.IsAbs() {
				w.Header().Set("Location", u.RequestURI())
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *relativeLocation) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets tusd's http.ResponseController reach the connection (read
// deadlines).
func (w *relativeLocation) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logWriter passes tusd's log lines to the server log at debug level
// (slog handlers write one whole record per Write).
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(b []byte) (int, error) {
	w.log.Debug("tus: " + strings.TrimSpace(string(b)))
	return len(b), nil
}
