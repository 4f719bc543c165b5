package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// HTTPOptions configure the upload endpoints.
type HTTPOptions struct {
	Identity *auth.Resolver
	// MaxSize is the largest accepted file in bytes (0: no limit).
	MaxSize int64
	// Authorize, if set, may refuse an upload (the organizer's
	// UPLOAD_MEDIA_FILE check); its error text is sent with 403.
	Authorize func(r *http.Request, id auth.Identity) error
}

// uploadBuffer is the copy buffer of an upload: large writes keep the
// system call count (and the CPU cost per byte) low.
const uploadBuffer = 1 << 20

// httpError is an upload failure with its status and a message for the
// user.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// UploadHandler is Clapshot's POST /api/upload: a multipart/form-data body
// whose "fileupload" parts are files. Each is streamed to disk (never held
// in memory), and once the whole request has arrived all of them are queued
// for ingestion, as the user named in the identity headers, with the
// X-Clapshot-Cookies. The answer is 200 "Ok", or an error status with a
// message naming the file and the problem; a failed request leaves nothing
// behind.
func (p *Pipeline) UploadHandler(o HTTPOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ident := o.Identity.Identify(r)
		log := p.log.With("user", ident.UserID, "remote", r.RemoteAddr)
		if o.Authorize != nil {
			if err := o.Authorize(r, ident); err != nil {
				http.Error(w, "Permission denied: "+err.Error(), http.StatusForbidden)
				return
			}
		}
		versionOf, err := p.versionTarget(r, ident)
		if err != nil {
			writeVersionError(w, err, log)
			return
		}
		n, err := p.receiveMultipart(r, ident, auth.Cookies(r.Header), versionOf, o.MaxSize, log)
		p.o.Metrics.UploadFinished("multipart", n, err)
		var he *httpError
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "Ok")
		case errors.As(err, &he):
			log.Warn("Upload refused", "status", he.status, "reason", he.msg)
			if he.status == http.StatusBadRequest || he.status == http.StatusRequestEntityTooLarge {
				// The rest of the body is not wanted; do not read it.
				w.Header().Set("Connection", "close")
			}
			http.Error(w, he.msg, he.status)
		case store.Unavailable(err):
			// Nothing was kept (the upload's files are removed): say what
			// to do rather than show the driver's message.
			log.Error("Upload failed: the database does not answer", "err", err)
			http.Error(w, "Upload failed: "+store.UnavailableMessage+"; nothing was kept.", http.StatusServiceUnavailable)
		default:
			log.Error("Upload failed", "err", err)
			http.Error(w, "Upload failed: "+err.Error(), http.StatusInternalServerError)
		}
	})
}

// receiveMultipart stores and queues the files of a multipart request and
// returns how many bytes of file data it received.
func (p *Pipeline) receiveMultipart(r *http.Request, ident auth.Identity, cookies map[string]string, versionOf string, maxSize int64, log *slog.Logger) (total int64, err error) {
	mt, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return 0, fail(http.StatusBadRequest, "Missing boundary")
	}
	if p.o.Objects == nil {
		if err := p.checkSpace(r.ContentLength); err != nil {
			return 0, err
		}
	}
	form := newFormReader(r.Body, params["boundary"], uploadBuffer)

	var uploads []Upload
	var dirs, objects []string
	var dones []func()
	defer func() {
		for _, d := range dones {
			d()
		}
		if err != nil {
			for _, d := range dirs {
				os.RemoveAll(d)
			}
			for _, k := range objects {
				if rerr := p.o.Objects.Remove(context.WithoutCancel(r.Context()), k); rerr != nil {
					log.Warn("Cannot remove the object of a failed upload", "key", k, "err", rerr)
				}
			}
		}
	}()
	for {
		hdr, perr := form.next()
		if errors.Is(perr, io.EOF) {
			break
		}
		if perr != nil {
			return total, fail(http.StatusBadRequest, "Upload failed: %v", perr)
		}
		_, dp, _ := mime.ParseMediaType(hdr.Get("Content-Disposition"))
		if dp["name"] != "fileupload" {
			log.Debug("Skipping unknown multipart field", "field", dp["name"])
			continue
		}
		// The raw file name, with any path in it (mime/multipart's
		// FileName() would silently strip it; it must be refused).
		raw := dp["filename"]
		if versionOf != "" && len(uploads) > 0 {
			return total, fail(http.StatusBadRequest, "A new version is one file; this upload has several")
		}
		if err := CheckFileName(raw); err != nil {
			return total, fail(http.StatusBadRequest, "%s", err.Error())
		}
		// Named once, here: the stored name from now on, the user's as
		// the title.
		name, title := mediadir.StoredName(raw), mediadir.Title(raw)
		dir, done, derr := p.NewUploadDir()
		if derr != nil {
			return total, derr
		}
		dirs, dones = append(dirs, dir), append(dones, done)
		final := filepath.Join(dir, name)
		u := Upload{Path: final, Title: title, From: final + partialSuffix, UserID: ident.UserID,
			UserName: ident.UserName, Cookies: cookies, Source: "upload", VersionOf: versionOf}
		var n int64
		var werr error
		if p.o.Objects != nil {
			if u.Object, werr = p.objectKey(final); werr != nil {
				return total, werr
			}
			u.From = ""
			n, werr = p.writeUploadObject(r.Context(), u.Object, name, form.copyPart, maxSize)
			if werr == nil && n > 0 {
				objects = append(objects, u.Object)
			}
		} else {
			n, werr = writeUpload(final+partialSuffix, form.copyPart, maxSize)
		}
		if werr != nil {
			return total, werr
		}
		if n == 0 {
			return total, fail(http.StatusBadRequest, "'%s' is empty (0 bytes)", title)
		}
		total += n
		log.Debug("Upload received", "file", name, "bytes", n, "object", u.Object)
		uploads = append(uploads, u)
	}
	if len(uploads) == 0 {
		return total, fail(http.StatusBadRequest, "No file in the upload (expected a multipart field named 'fileupload')")
	}
	if err := p.Submit(r.Context(), uploads...); err != nil {
		return total, err
	}
	for _, u := range uploads {
		if u.Object != "" {
			continue // the job fetches it
		}
		if err := materialize(ingestSpec{Path: u.Path, From: u.From}); err != nil {
			log.Warn("Cannot rename a finished upload; its job will retry", "err", err)
		}
	}
	return total, nil
}

// writeUpload writes a part's content to path (at most max bytes, 0: no
// limit), syncs it to disk, and returns its size.
func writeUpload(path string, copyTo func(io.Writer) (int64, error), max int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("cannot create %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	var w io.Writer = f
	if max > 0 {
		w = &limitWriter{w: f, left: max}
	}
	n, err := copyTo(w)
	name := filepath.Base(path[:len(path)-len(partialSuffix)])
	switch {
	case errors.Is(err, errTooLarge):
		return n, fail(http.StatusRequestEntityTooLarge, "'%s' is larger than the limit of %d bytes (--upload-max-size)", name, max)
	case errors.Is(err, syscall.ENOSPC):
		return n, fail(http.StatusInsufficientStorage, "'%s': the server's disk is full", name)
	case err != nil:
		return n, fail(http.StatusBadRequest, "Upload failed: '%s': %v", name, err)
	}
	// The user is told "Ok" only for data on disk.
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("'%s': %w", name, err)
	}
	return n, f.Close()
}

// writeUploadObject streams a part's content to the object store as key
// (at most max bytes, 0: no limit); the object exists once this returns
// without error. A store that stays unreachable is a 503 that says so.
func (p *Pipeline) writeUploadObject(ctx context.Context, key, name string, copyTo func(io.Writer) (int64, error), max int64) (int64, error) {
	ow := p.o.Objects.Create(ctx, key, mediadir.ContentType(filepath.Ext(name)))
	var w io.Writer = storeWriter{ow}
	if max > 0 {
		w = &limitWriter{w: w, left: max}
	}
	n, err := copyTo(w)
	var se storeError
	switch {
	case errors.Is(err, errTooLarge):
		ow.Abort()
		return n, fail(http.StatusRequestEntityTooLarge, "'%s' is larger than the limit of %d bytes (--upload-max-size)", name, max)
	case errors.As(err, &se):
		ow.Abort()
		return n, fail(http.StatusServiceUnavailable, "'%s': the media store failed, nothing was kept; try again later: %v", name, se.error)
	case err != nil:
		ow.Abort()
		return n, fail(http.StatusBadRequest, "Upload failed: '%s': %v", name, err)
	}
	if n == 0 {
		ow.Abort()
		return 0, nil
	}
	// The user is told "Ok" only for data the store has.
	if err := ow.Close(); err != nil {
		return 0, fail(http.StatusServiceUnavailable, "'%s': the media store failed, nothing was kept; try again later: %v", name, err)
	}
	return n, nil
}

// storeWriter marks the object store's write errors, to tell them from
// the client's (a cut connection).
type storeWriter struct{ w io.Writer }

func (s storeWriter) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	if err != nil {
		err = storeError{err}
	}
	return n, err
}

type storeError struct{ error }

func (e storeError) Unwrap() error { return e.error }

var errTooLarge = errors.New("upload too large")

// limitWriter fails once more than left bytes are written.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errTooLarge
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// VersionOfHeader names the media file an upload is a new version of
// (our extension; the tus creation request takes it too).
const VersionOfHeader = "X-Clapshot-Version-Of"

// versionTarget reads and checks VersionOfHeader ("" when absent).
func (p *Pipeline) versionTarget(r *http.Request, ident auth.Identity) (string, error) {
	id := strings.TrimSpace(r.Header.Get(VersionOfHeader))
	if id == "" {
		return "", nil
	}
	return id, p.CheckVersionTarget(r.Context(), ident.UserID, id)
}

// writeVersionError answers a refused version upload.
func writeVersionError(w http.ResponseWriter, err error, log *slog.Logger) {
	var ve *VersionTargetError
	if errors.As(err, &ve) {
		log.Warn("Version upload refused", "reason", ve.Msg)
		http.Error(w, ve.Msg, ve.Status)
		return
	}
	log.Error("Cannot check a version upload", "err", err)
	http.Error(w, "Upload failed: "+err.Error(), http.StatusInternalServerError)
}

// checkSpace refuses a request that cannot fit on the disk, before any of
// it is read (Clapshot #81: say why).
func (p *Pipeline) checkSpace(size int64) error {
	if size <= 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(p.l.Upload(), &st); err != nil {
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if size > free {
		return fail(http.StatusInsufficientStorage, "Not enough disk space on the server: the upload is %d bytes, %d bytes are free", size, free)
	}
	return nil
}

// uploaderKey carries the uploader from the HTTP request to tus hooks.
type uploaderKey struct{}

type uploader struct {
	ident     auth.Identity
	cookies   map[string]string
	versionOf string
}

func uploaderFrom(ctx context.Context) (uploader, bool) {
	u, ok := ctx.Value(uploaderKey{}).(uploader)
	return u, ok
}
