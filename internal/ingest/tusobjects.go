package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
)

// With an object store, resumable uploads are tusd's s3store: each PATCH
// is cut into parts that go to a multipart upload in the store as they
// arrive, and the finished object is handed to ingest the way a multipart
// POST's is (Upload.Object). The store keeps, below upload/tus/:
//   - <object id>: the file (a multipart upload until it is complete);
//   - <object id>.info: tusd's description of the upload (size, offset is
//     computed from the parts, our metadata: the uploader and cookies);
//   - <object id>.part: the tail of the last PATCH when it was shorter
//     than S3's 5 MiB minimum part, sent again in front of the next one.
//
// The local disk holds only the spool: parts waiting to be sent, in
// upload/tus/. Its bound is tusSpoolBound.
const tusObjectPrefix = "upload/tus"

// The spool: every part is a file of the store's part size P (8 MiB; for a
// file larger than 10 000 P, size/10 000, to stay within S3's part count).
// A PATCH sends one part at a time, in order (see tusS3API); while it is
// sent, the next waits in the spool (tusSpoolBuffered of them) and one
// more is written, and the previous PATCH's tail (the .part object, under
// 5 MiB) is fetched back to be sent in front of the body.
const (
	tusSpoolBuffered = 1
	// s3MinPart is S3's smallest part but the last.
	s3MinPart = 5 << 20
)

// tusSpoolBound is the most the spool holds for n PATCH requests in
// progress at once with parts of partSize.
func tusSpoolBound(partSize int64, n int) int64 {
	return int64(n) * ((2+tusSpoolBuffered)*partSize + s3MinPart)
}

// tusSpoolPrefix names the spool's files (tusd's s3store's).
const tusSpoolPrefix = "tusd-s3-"

// objectTusStore is tusd's s3store on the media store, with the server's
// rules: only the uploader may use an upload, failures of the store are
// 503s that name it, and a finished upload is never removed by a DELETE.
type objectTusStore struct {
	s3  s3store.S3Store
	api *tusS3API
	st  *objstore.Store
	cfg objstore.Config
	log *slog.Logger
}

func newObjectTusStore(ctx context.Context, st *objstore.Store, spool string, log *slog.Logger) (*objectTusStore, error) {
	client, err := st.AWSClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg := st.Config()
	api := &tusS3API{Client: client, failed: map[string]error{}}
	s := s3store.New(cfg.Bucket, api)
	s.ObjectPrefix = st.Object(tusObjectPrefix)
	s.PreferredPartSize = cfg.PartSize
	s.MinPartSize = s3MinPart
	s.MaxBufferedParts = tusSpoolBuffered
	s.TemporaryDirectory = spool
	return &objectTusStore{s3: s, api: api, st: st, cfg: cfg, log: log}, nil
}

// forRequest is the store for one request: s3store sends as many parts
// at once as its semaphore allows, and this one's allows one. In order,
// and with tusS3API stopping a PATCH at its first failed part, the parts
// in the store are always the first bytes of the file without a gap (the
// offset s3store reports is the sum of the parts' sizes: a part missing
// between two sent ones would make it resume at the wrong place).
func (s *objectTusStore) forRequest() s3store.S3Store {
	c := s.s3
	c.SetConcurrentPartUploads(1)
	return c
}

// tusS3API is the client s3store uses, with two changes:
//   - a new multipart upload gets no metadata, and the content type of
//     the file's name: s3store would copy the upload's metadata (the
//     uploader's cookies among them) onto the object, where S3 allows
//     2 KiB in all. The .info object keeps it;
//   - once a part of a PATCH failed, its later parts and its tail (the
//     .part object) are not sent: they would follow a gap.
type tusS3API struct {
	*s3.Client
	mu     sync.Mutex
	failed map[string]error // object key -> the part failure that stopped its PATCH
}

func (a *tusS3API) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	ct := mediadir.ContentType(path.Ext(in.Metadata[metaFilename]))
	in.Metadata, in.ContentType = nil, &ct
	return a.Client.CreateMultipartUpload(ctx, in, opts...)
}

func (a *tusS3API) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	key := aws.ToString(in.Key)
	if err := a.stopped(key); err != nil {
		return nil, err
	}
	out, err := a.Client.UploadPart(ctx, in, opts...)
	if err != nil {
		a.mu.Lock()
		if a.failed[key] == nil {
			a.failed[key] = err
		}
		a.mu.Unlock()
	}
	return out, err
}

func (a *tusS3API) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if key, tail := strings.CutSuffix(aws.ToString(in.Key), ".part"); tail {
		if err := a.stopped(key); err != nil {
			return nil, err
		}
	}
	return a.Client.PutObject(ctx, in, opts...)
}

func (a *tusS3API) stopped(key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed[key]
}

// reset starts (and ends) a PATCH of the upload whose file is key (one
// at a time: the handler holds the upload's lock).
func (a *tusS3API) reset(key string) {
	a.mu.Lock()
	delete(a.failed, key)
	a.mu.Unlock()
}

// UseIn registers the store with termination and deferred length.
// Concatenation is not offered: s3store joins parts smaller than 5 MiB by
// downloading them all to the local disk.
func (s *objectTusStore) UseIn(c *tusd.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
	c.UseLengthDeferrer(s)
}

// storeContext is the context of s3store's requests for one tus request:
// it ends when ctx does, and reaches ctx in no other way. tusd's request
// context is a struct whose Value method copies it while the handler
// writes its fields (its logger, its body), and s3store's goroutines and
// the SDK's transport call Value: a data race. (tusd cancels ctx some
// seconds after the client has gone, so that what arrived is stored.)
func storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.Background())
	done := ctx.Done()
	// Ends with the request or with cancel.
	go func() {
		select {
		case <-done:
			cancel()
		case <-c.Done():
		}
	}()
	return c, cancel
}

// objectUpload is one of s3store's uploads with the server's errors.
type objectUpload struct {
	tusd.Upload
	s   *objectTusStore
	key string // the file's full object name
}

func (s *objectTusStore) NewUpload(rctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	ctx, cancel := storeContext(rctx)
	defer cancel()
	u, err := s.forRequest().NewUpload(ctx, info)
	if err != nil {
		return nil, s.describe("start the upload", err)
	}
	info, err = u.GetInfo(ctx) // kept by s3store: no request
	if err != nil {
		return nil, err
	}
	return &objectUpload{Upload: u, s: s, key: info.Storage["Key"]}, nil
}

// GetUpload also checks that the request is the uploader's (the request
// context has the uploader; the server's own calls have none). Reading the
// info here costs nothing: s3store keeps it for the handler's GetInfo.
func (s *objectTusStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	key, _, ok := tusObjectKey(id)
	if !ok {
		return nil, tusd.ErrNotFound
	}
	u, err := s.forRequest().GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	ou := &objectUpload{Upload: u, s: s, key: s.st.Object(key)}
	if who, ok := uploaderFrom(ctx); ok {
		info, err := ou.GetInfo(ctx)
		if err != nil {
			return nil, err
		}
		if info.MetaData[metaUser] != who.ident.UserID {
			return nil, tusd.NewError("ERR_FORBIDDEN", "This upload belongs to another user", http.StatusForbidden)
		}
	}
	return ou, nil
}

func (u *objectUpload) GetInfo(rctx context.Context) (tusd.FileInfo, error) {
	ctx, cancel := storeContext(rctx)
	defer cancel()
	info, err := u.Upload.GetInfo(ctx)
	return info, u.s.describe("read the upload's state", err)
}

func (u *objectUpload) WriteChunk(rctx context.Context, offset int64, src io.Reader) (int64, error) {
	ctx, cancel := storeContext(rctx)
	defer cancel()
	u.s.api.reset(u.key)
	defer u.s.api.reset(u.key)
	n, err := u.Upload.WriteChunk(ctx, offset, src)
	return n, u.s.describe("store the data", err)
}

func (u *objectUpload) FinishUpload(rctx context.Context) error {
	ctx, cancel := storeContext(rctx)
	defer cancel()
	return u.s.describe("complete the file", u.Upload.FinishUpload(ctx))
}

func (s *objectTusStore) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	ou := u.(*objectUpload)
	return terminatable{ou, s.s3.AsTerminatableUpload(ou.Upload)}
}

func (s *objectTusStore) AsLengthDeclarableUpload(u tusd.Upload) tusd.LengthDeclarableUpload {
	ou := u.(*objectUpload)
	return lengthDeclarable{ou, s.s3.AsLengthDeclarableUpload(ou.Upload)}
}

type terminatable struct {
	u *objectUpload
	t tusd.TerminatableUpload
}

// Terminate removes an upload in progress (its parts, .info and .part).
// A finished upload has handed its file to ingest and lost its .info:
// it is not found, and its file is left alone.
func (t terminatable) Terminate(rctx context.Context) error {
	info, err := t.u.GetInfo(rctx)
	if err != nil {
		return err
	}
	ctx, cancel := storeContext(rctx)
	defer cancel()
	if !info.SizeIsDeferred && info.Offset >= info.Size {
		return tusd.NewError("ERR_UPLOAD_FINISHED", "the upload is complete and being processed; delete the media file instead", http.StatusConflict)
	}
	return t.u.s.describe("remove the upload", t.t.Terminate(ctx))
}

type lengthDeclarable struct {
	u *objectUpload
	d tusd.LengthDeclarableUpload
}

func (d lengthDeclarable) DeclareLength(rctx context.Context, length int64) error {
	ctx, cancel := storeContext(rctx)
	defer cancel()
	return d.u.s.describe("record the upload's length", d.d.DeclareLength(ctx, length))
}

// describe turns a failure of the store (an AWS SDK operation error) into
// a 503 that names the store and tells the client to resume: the offset
// a HEAD reports is what the store has. Other errors (the client's body
// ended early, tusd's own) pass unchanged.
func (s *objectTusStore) describe(what string, err error) error {
	var oe *smithy.OperationError
	if err == nil || !errors.As(err, &oe) {
		return err
	}
	cause := oe.Err.Error()
	var ae smithy.APIError
	var ne *net.OpError
	switch {
	case errors.As(err, &ae):
		cause = fmt.Sprintf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	case errors.As(err, &ne) && ne.Op == "dial":
		cause = fmt.Sprintf("unreachable: %v", ne.Err)
	}
	msg := fmt.Sprintf("cannot %s: the media store %s failed (%s: %s); try again later: the upload resumes from the offset a HEAD request reports",
		what, s.cfg, oe.Operation(), cause)
	s.log.Warn("Resumable upload: the media store failed", "err", msg)
	return tusd.NewError("ERR_MEDIA_STORE", msg, http.StatusServiceUnavailable)
}

// objectKey is the store key (below the media store's prefix) of a tus
// upload's file; id is tusd's "<object id>+<multipart upload id>".
func tusObjectKey(id string) (key, uploadID string, ok bool) {
	i := strings.LastIndex(id, "+")
	if i <= 0 || i == len(id)-1 || strings.ContainsAny(id[:i], "/\\") {
		return "", "", false
	}
	return tusObjectPrefix + "/" + id[:i], id[i+1:], true
}

// handedOff removes a finished upload's .info and .part once its file is
// queued for ingestion (the job removes the file when it is done). A
// store that does not answer leaves them to expireObjects.
func (s *objectTusStore) handedOff(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, k := range []string{key + ".info", key + ".part"} {
		if err := s.st.Remove(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// clearSpool removes spool files a stopped server left (no request uses
// them any more).
func clearSpool(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tusSpoolPrefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// expireObjects removes, from the store, unfinished uploads that made no
// progress for UploadExpiry (the newest of the .info, the .part and the
// parts), multipart uploads without an .info (their creation failed half
// way), and leftovers of finished uploads: the .info and .part, and the
// file itself only if no ingest job is waiting for it and it is older
// than the expiry.
func (p *Pipeline) expireObjects(ctx context.Context, s *objectTusStore, now time.Time) {
	entries, err := p.o.Objects.ListEntries(ctx, tusObjectPrefix)
	if err != nil {
		p.log.Warn("Cannot list the resumable uploads in the media store", "err", err)
		return
	}
	objects := map[string]objstore.Entry{}
	for _, e := range entries {
		objects[e.Key] = e
	}
	pending, err := p.o.Objects.PendingUploads(ctx, tusObjectPrefix)
	if err != nil {
		p.log.Warn("Cannot list the resumable uploads in the media store", "err", err)
		return
	}
	uploadOf := map[string]string{} // file key -> its multipart upload
	for _, u := range pending {
		uploadOf[u.Key] = u.UploadID
		if _, ok := objects[u.Key+".info"]; !ok && now.Sub(u.Initiated) >= p.o.UploadExpiry {
			if err := p.o.Objects.AbortUpload(ctx, u.Key, u.UploadID); err == nil {
				p.log.Info("Removed a resumable upload that was never created whole", "key", u.Key)
			}
		}
	}
	var wanted map[string]bool // files queued jobs will fetch; read once, if needed
	for _, e := range entries {
		key, isInfo := strings.CutSuffix(e.Key, ".info")
		if !isInfo {
			continue
		}
		last := e.Modified
		if part, ok := objects[key+".part"]; ok && part.Modified.After(last) {
			last = part.Modified
		}
		if id, ok := uploadOf[key]; ok {
			if t, err := p.o.Objects.LastPart(ctx, key, id); err == nil && t.After(last) {
				last = t
			}
			if now.Sub(last) < p.o.UploadExpiry {
				continue
			}
			up, err := s.GetUpload(ctx, path.Base(key)+"+"+id)
			if err == nil {
				err = s.s3.AsTerminatableUpload(up.(*objectUpload).Upload).Terminate(ctx)
			}
			if err != nil {
				p.log.Warn("Cannot remove an expired unfinished upload from the media store", "key", key, "err", s.describe("remove the upload", err))
				continue
			}
			p.log.Info("Removed an expired unfinished upload", "key", key, "last_progress", last)
			continue
		}
		// Finished (or given up): the hand-off did not get to remove the
		// .info. The file stays while a job will fetch it, and while it
		// is young (its hand-off may be under way); the .info stays with
		// it, so that a later run finds it again.
		if wanted == nil {
			if wanted, err = p.wantedObjects(ctx); err != nil {
				return
			}
		}
		file, exists := objects[key]
		if exists && !wanted[key] {
			if now.Sub(file.Modified) < p.o.UploadExpiry {
				continue
			}
			if err := p.o.Objects.Remove(ctx, key); err != nil {
				continue
			}
			p.log.Warn("Removed a finished resumable upload that no job was processing", "key", key, "size", file.Size)
		}
		_ = p.o.Objects.Remove(ctx, key+".part")
		_ = p.o.Objects.Remove(ctx, key+".info")
	}
}

// wantedObjects are the store keys that queued or running ingest jobs
// will fetch.
func (p *Pipeline) wantedObjects(ctx context.Context) (map[string]bool, error) {
	jobs, err := p.db.ListJobs(ctx, store.JobQueued, store.JobRunning)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, j := range jobs {
		var spec ingestSpec
		if j.Kind == KindIngest && decodeSpec(j, &spec) == nil && spec.Object != "" {
			wanted[spec.Object] = true
		}
	}
	return wanted, nil
}
