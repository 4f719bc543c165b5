// Package objstore is the media directory's S3-compatible object store
// (--media-url s3://bucket/prefix): AWS S3, MinIO, SeaweedFS, Ceph RGW.
// It is minio-go with what the media side needs on top: a bounded-memory
// streaming writer that rides out an unreachable store by retrying each
// part with backoff, presigned GET URLs, prefix copies and removals, and
// errors that say what to fix. Credentials come from the usual AWS
// variables and files; the secret is never logged or put in an error.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config is where the media objects are kept.
type Config struct {
	// Bucket and Prefix (no leading or trailing slash) from the URL.
	Bucket, Prefix string
	// Endpoint is host[:port] of the S3 API; TLS unless the endpoint URL
	// said http://.
	Endpoint string
	TLS      bool
	Region   string
	// PartSize is the size of each uploaded part, and so the memory one
	// upload in progress holds (default 8 MiB, at least 5 MiB: S3's
	// minimum).
	PartSize int64
	// RetryFor is how long a request is retried while the store does not
	// answer or answers 5xx (default 2 min) before the operation fails.
	RetryFor time.Duration
	// Creds overrides the credential chain (tests).
	Creds *credentials.Credentials
	// Log, if set, hears when the store stops and starts answering.
	Log *slog.Logger
}

// Defaults.
const (
	DefaultPartSize = 8 << 20
	minPartSize     = 5 << 20
	DefaultRetryFor = 2 * time.Minute
)

// ParseURL reads --media-url: s3://bucket[/prefix][?endpoint=URL&region=R].
// Without those parameters the endpoint is AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL, else AWS's (for the region); the region is
// AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. getenv is
// os.Getenv outside tests.
func ParseURL(raw string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("--media-url: %w", err)
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("--media-url %q: only s3://bucket/prefix is supported", raw)
	}
	if u.Host == "" {
		return Config{}, fmt.Errorf("--media-url %q: no bucket (s3://bucket/prefix)", raw)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("--media-url: put no credentials in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials")
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(path.Clean("/"+u.Path), "/")}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return Config{}, fmt.Errorf("--media-url: unknown parameter %q (endpoint, region)", k)
		}
	}
	cfg.Region = first(q.Get("region"), getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
	ep := first(q.Get("endpoint"), getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"))
	if ep == "" {
		cfg.Endpoint, cfg.TLS = "s3."+cfg.Region+".amazonaws.com", true
		return cfg, nil
	}
	e, err := url.Parse(ep)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") {
		return Config{}, fmt.Errorf("--media-url: endpoint %q: expected http(s)://host[:port]", ep)
	}
	cfg.Endpoint, cfg.TLS = e.Host, e.Scheme == "https"
	return cfg, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// String is the store's URL for messages (no credentials in it).
func (c Config) String() string {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return fmt.Sprintf("s3://%s/%s at %s://%s", c.Bucket, c.Prefix, scheme, c.Endpoint)
}

// Store is one bucket and prefix.
type Store struct {
	cfg  Config
	c    *minio.Client
	core minio.Core

	mu    sync.Mutex
	ready bool // the bucket exists
}

// New makes a store client; it does not connect until used.
func New(cfg Config) (*Store, error) {
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < minPartSize {
		return nil, fmt.Errorf("object store part size %d is below S3's minimum of 5 MiB", cfg.PartSize)
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	creds := cfg.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{}, // ~/.aws/credentials, AWS_PROFILE
			&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
		})
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 60 * time.Second
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: creds, Secure: cfg.TLS, Transport: tr, Region: cfg.Region,
		// Retries are this package's (with a longer horizon), so that one
		// failure is not retried ten times inside another ten.
		MaxRetries:   1,
		BucketLookup: minio.BucketLookupAuto,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", cfg, err)
	}
	return &Store{cfg: cfg, c: c, core: minio.Core{Client: c}}, nil
}

// Config is the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// Object is the full object name of key (a media directory key such as
// videos/<id>/video.mp4).
func (s *Store) Object(key string) string {
	if s.cfg.Prefix == "" {
		return key
	}
	return s.cfg.Prefix + "/" + key
}

// ErrNotFound is a missing object.
var ErrNotFound = errors.New("no such object")

// describe turns a client error into one that says what is wrong.
func (s *Store) describe(op string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		switch {
		case er.Code == "NoSuchKey":
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		case er.StatusCode == http.StatusForbidden || er.Code == "InvalidAccessKeyId" || er.Code == "SignatureDoesNotMatch" || er.Code == "AccessDenied":
			return fmt.Errorf("%s: the object store %s refused the credentials (%d %s: %s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) and the user's rights on the bucket",
				op, s.cfg, er.StatusCode, er.Code, er.Message)
		case er.Code == "NoSuchBucket":
			return fmt.Errorf("%s: no bucket %q at %s", op, s.cfg.Bucket, s.cfg.Endpoint)
		}
		return fmt.Errorf("%s: object store %s: %d %s: %s", op, s.cfg, er.StatusCode, er.Code, er.Message)
	}
	var oe *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		return fmt.Errorf("%s: object store unreachable at %s: %v", op, s.cfg.Endpoint, oe.Err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: object store at %s: no answer in time", op, s.cfg.Endpoint)
	}
	return fmt.Errorf("%s: object store at %s: %w", op, s.cfg.Endpoint, err)
}

// transient reports whether err may go away by itself: no connection, a
// timeout, a reset, a 5xx or throttling answer.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.As(err, new(permanent)) {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.StatusCode != 0 {
		return er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests || er.Code == "SlowDown" || er.Code == "RequestTimeout"
	}
	return true // a transport error: connection refused, reset, EOF
}

// retry runs op until it succeeds, fails for good, or RetryFor has passed
// since it first failed, with exponential backoff (0.25 s to 4 s).
func (s *Store) retry(ctx context.Context, what string, op func() error) (err error) {
	var began time.Time
	wait := 250 * time.Millisecond
	for {
		err = op()
		if err == nil || !transient(err) {
			if err != nil {
				return s.describe(what, err)
			}
			return nil
		}
		if began.IsZero() {
			began = time.Now()
			s.cfg.Log.Warn("The object store does not answer; retrying", "op", what, "err", s.describe(what, err), "for", s.cfg.RetryFor)
			defer func() {
				if err == nil {
					s.cfg.Log.Info("The object store answers again", "op", what, "after", time.Since(began).Round(time.Millisecond))
				}
			}()
		}
		if time.Since(began) >= s.cfg.RetryFor {
			return fmt.Errorf("%w (retried for %s)", s.describe(what, err), s.cfg.RetryFor)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 4*time.Second)
	}
}

// EnsureBucket creates the bucket if it does not exist (checked once).
func (s *Store) EnsureBucket(ctx context.Context) error {
	s.mu.Lock()
	ready := s.ready
	s.mu.Unlock()
	if ready {
		return nil
	}
	var exists bool
	if err := s.retry(ctx, "bucket "+s.cfg.Bucket, func() (err error) {
		exists, err = s.c.BucketExists(ctx, s.cfg.Bucket)
		return err
	}); err != nil {
		return err
	}
	if !exists {
		err := s.retry(ctx, "create bucket "+s.cfg.Bucket, func() error {
			err := s.c.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
			var er minio.ErrorResponse
			if errors.As(err, &er) && (er.Code == "BucketAlreadyOwnedByYou" || er.Code == "BucketAlreadyExists") {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	return nil
}

// Info is what Stat reports.
type Info struct {
	Size     int64
	Modified time.Time
	ETag     string
}

// Stat describes key; a missing object is ErrNotFound.
func (s *Store) Stat(ctx context.Context, key string) (Info, error) {
	var oi minio.ObjectInfo
	err := s.retry(ctx, "stat "+key, func() (err error) {
		oi, err = s.c.StatObject(ctx, s.cfg.Bucket, s.Object(key), minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return Info{}, err
	}
	return Info{Size: oi.Size, Modified: oi.LastModified, ETag: oi.ETag}, nil
}

// Exists reports whether key is an object, or (as a prefix) holds some.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if _, err := s.Stat(ctx, key); err == nil {
		return true, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	keys, err := s.list(ctx, key+"/", 1)
	return len(keys) > 0, err
}

// List returns the keys below prefix (a directory: "videos/<id>").
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	return s.list(ctx, strings.TrimSuffix(prefix, "/")+"/", 0)
}

func (s *Store) list(ctx context.Context, prefix string, limit int) ([]string, error) {
	entries, err := s.listEntries(ctx, prefix, limit)
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys, err
}

// Entry is an object that ListEntries found.
type Entry struct {
	Key      string
	Size     int64
	Modified time.Time
}

// ListEntries describes the objects below the directory prefix.
func (s *Store) ListEntries(ctx context.Context, prefix string) ([]Entry, error) {
	return s.listEntries(ctx, strings.TrimSuffix(prefix, "/")+"/", 0)
}

func (s *Store) listEntries(ctx context.Context, prefix string, limit int) ([]Entry, error) {
	var entries []Entry
	err := s.retry(ctx, "list "+prefix, func() error {
		entries = entries[:0]
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for oi := range s.c.ListObjects(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.Object(prefix), Recursive: true}) {
			if oi.Err != nil {
				var er minio.ErrorResponse
				if errors.As(oi.Err, &er) && er.Code == "NoSuchBucket" {
					return nil
				}
				return oi.Err
			}
			entries = append(entries, Entry{Key: strings.TrimPrefix(strings.TrimPrefix(oi.Key, s.cfg.Prefix), "/"), Size: oi.Size, Modified: oi.LastModified})
			if limit > 0 && len(entries) >= limit {
				break
			}
		}
		return nil
	})
	return entries, err
}

// PendingUpload is a multipart upload that was started and neither
// completed nor aborted.
type PendingUpload struct {
	Key, UploadID string
	Initiated     time.Time
}

// PendingUploads lists the multipart uploads in progress below the
// directory prefix.
func (s *Store) PendingUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	var out []PendingUpload
	full := s.Object(strings.TrimSuffix(prefix, "/") + "/")
	err := s.retry(ctx, "list uploads "+prefix, func() error {
		out = out[:0]
		keyMarker, idMarker := "", ""
		for {
			res, err := s.core.ListMultipartUploads(ctx, s.cfg.Bucket, full, keyMarker, idMarker, "", 1000)
			if err != nil {
				return err
			}
			for _, u := range res.Uploads {
				out = append(out, PendingUpload{Key: strings.TrimPrefix(strings.TrimPrefix(u.Key, s.cfg.Prefix), "/"), UploadID: u.UploadID, Initiated: u.Initiated})
			}
			if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
				return nil
			}
			keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
		}
	})
	return out, err
}

// LastPart is when multipart upload uploadID of key last received a
// part (the zero time: none yet). A completed or aborted upload is
// ErrNotFound.
func (s *Store) LastPart(ctx context.Context, key, uploadID string) (time.Time, error) {
	var last time.Time
	err := s.retry(ctx, "list parts of "+key, func() error {
		last = time.Time{}
		marker := 0
		for {
			res, err := s.core.ListObjectParts(ctx, s.cfg.Bucket, s.Object(key), uploadID, marker, 1000)
			var er minio.ErrorResponse
			if errors.As(err, &er) && (er.Code == "NoSuchUpload" || er.Code == "NoSuchKey") {
				return permanent{ErrNotFound}
			}
			if err != nil {
				return err
			}
			for _, p := range res.ObjectParts {
				if p.LastModified.After(last) {
					last = p.LastModified
				}
			}
			if !res.IsTruncated || res.NextPartNumberMarker <= marker {
				return nil
			}
			marker = res.NextPartNumberMarker
		}
	})
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, fmt.Errorf("parts of %s: %w", key, ErrNotFound)
	}
	return last, err
}

// AbortUpload gives multipart upload uploadID of key up (its parts are
// removed); one that is gone already is not an error.
func (s *Store) AbortUpload(ctx context.Context, key, uploadID string) error {
	return s.retry(ctx, "abort upload "+key, func() error {
		err := s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, s.Object(key), uploadID)
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "NoSuchUpload" {
			return nil
		}
		return err
	})
}

// Open returns a reader of key, described by info (from Stat), that can
// seek and read at offsets (each read is a ranged GET), for
// http.ServeContent.
func (s *Store) Open(ctx context.Context, key string) (*minio.Object, error) {
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.Object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.describe("open "+key, err)
	}
	return obj, nil
}

// Read returns a small object's contents; a missing one is ErrNotFound.
func (s *Store) Read(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := s.retry(ctx, "read "+key, func() error {
		obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.Object(key), minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		data, err = io.ReadAll(obj)
		return err
	})
	return data, err
}

// ReadHead returns up to n bytes of key from offset 0 (the head of a
// file, for a media id).
func (s *Store) ReadHead(ctx context.Context, key string, n int64) ([]byte, error) {
	var data []byte
	err := s.retry(ctx, "read "+key, func() error {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(0, n-1); err != nil {
			return err
		}
		rc, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, s.Object(key), opts)
		if err != nil {
			var er minio.ErrorResponse
			if errors.As(err, &er) && er.Code == "InvalidRange" {
				data = nil
				return nil // an empty object
			}
			return err
		}
		defer rc.Close()
		data, err = io.ReadAll(rc)
		return err
	})
	return data, err
}

// Download writes key to the local file path (through path.partial,
// renamed when complete) and returns its size; an interrupted transfer
// starts over.
func (s *Store) Download(ctx context.Context, key, dst string) (int64, error) {
	var n int64
	err := s.retry(ctx, "download "+key, func() error {
		obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.Object(key), minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		tmp := dst + ".partial"
		f, err := os.Create(tmp)
		if err != nil {
			return permanent{err}
		}
		n, err = io.Copy(f, obj)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, dst)
		}
		if err != nil {
			os.Remove(tmp)
		}
		return err
	})
	return n, err
}

// permanent is a local failure that retrying does not fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Write stores data as key (small files: drawings, subtitles).
func (s *Store) Write(ctx context.Context, key string, data []byte, contentType string) error {
	if err := s.EnsureBucket(ctx); err != nil {
		return err
	}
	return s.retry(ctx, "write "+key, func() error {
		_, err := s.c.PutObject(ctx, s.cfg.Bucket, s.Object(key), bytesReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true})
		return err
	})
}

// Upload stores the local file at src as key, streamed in parts.
func (s *Store) Upload(ctx context.Context, key, src, contentType string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w := s.Create(ctx, key, contentType)
	if _, err := io.Copy(w, f); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Remove deletes key; a missing object is not an error.
func (s *Store) Remove(ctx context.Context, key string) error {
	return s.retry(ctx, "remove "+key, func() error {
		err := s.c.RemoveObject(ctx, s.cfg.Bucket, s.Object(key), minio.RemoveObjectOptions{})
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.Code == "NoSuchKey" || er.Code == "NoSuchBucket") {
			return nil
		}
		return err
	})
}

// Copy copies key src to dst inside the bucket (server-side, any size).
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	return s.retry(ctx, "copy "+src, func() error {
		_, err := s.c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: s.Object(dst)},
			minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: s.Object(src)})
		return err
	})
}

// Move copies key src to dst and removes src.
func (s *Store) Move(ctx context.Context, src, dst string) error {
	if err := s.Copy(ctx, src, dst); err != nil {
		return err
	}
	return s.Remove(ctx, src)
}

// MovePrefix moves every object below the directory from to below to,
// and returns how many there were.
func (s *Store) MovePrefix(ctx context.Context, from, to string) (int, error) {
	keys, err := s.List(ctx, from)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := s.Move(ctx, k, to+strings.TrimPrefix(k, from)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// RemovePrefix removes every object below the directory dir.
func (s *Store) RemovePrefix(ctx context.Context, dir string) error {
	keys, err := s.List(ctx, dir)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Remove(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Presign is a GET URL of key valid for ttl, with the response's content
// type set (the store may not know it).
func (s *Store) Presign(ctx context.Context, key string, ttl time.Duration, contentType string) (*url.URL, error) {
	q := url.Values{}
	if contentType != "" {
		q.Set("response-content-type", contentType)
	}
	u, err := s.c.PresignedGetObject(ctx, s.cfg.Bucket, s.Object(key), ttl, q)
	if err != nil {
		return nil, s.describe("presign "+key, err)
	}
	return u, nil
}
