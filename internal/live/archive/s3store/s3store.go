// Package s3store is the archive's S3-compatible object store (MinIO,
// SeaweedFS, AWS S3 ...), on minio-go: uploads confirmed by reading the
// object's size back, reads, deletes, and errors that say what to fix.
// The secret key is never logged or put in an error.
package s3store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config is the connection.
type Config struct {
	Endpoint             string // host:port
	AccessKey, SecretKey string
	TLS                  bool
	CAFile               string // extra CA for the server's certificate
	InsecureSkipVerify   bool
	Region               string
}

// Client talks to one object store.
type Client struct {
	c     *minio.Client
	where string // scheme://endpoint, for messages
	user  string
	mu    sync.Mutex
	ready map[string]bool // buckets known to exist
}

// New makes a client; it does not connect until used.
func New(cfg Config) (*Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second
	if cfg.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // the operator's choice, documented
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.TLS,
		Transport: tr,
		Region:    cfg.Region,
		// The archive retries with its own backoff; a request that fails
		// is reported rather than retried ten times inside.
		MaxRetries:   2,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", cfg.Endpoint, err)
	}
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	return &Client{c: c, where: scheme + "://" + cfg.Endpoint, user: cfg.AccessKey, ready: map[string]bool{}}, nil
}

// describe turns a client error into one that says what is wrong.
func (c *Client) describe(op string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		switch {
		case er.StatusCode == http.StatusForbidden || er.Code == "InvalidAccessKeyId" || er.Code == "SignatureDoesNotMatch" || er.Code == "AccessDenied":
			return fmt.Errorf("%s: the object store at %s refused user %q (%d %s: %s): check archive.minio_settings.user and password, and the user's rights on the bucket",
				op, c.where, c.user, er.StatusCode, er.Code, er.Message)
		case er.Code == "NoSuchBucket":
			return fmt.Errorf("%s: no bucket %q at %s", op, er.BucketName, c.where)
		}
		return fmt.Errorf("%s: %s (%d %s: %s)", op, c.where, er.StatusCode, er.Code, er.Message)
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		return fmt.Errorf("%s: object store unreachable at %s: %v", op, c.where, oe.Err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: object store at %s: no answer in time", op, c.where)
	}
	return fmt.Errorf("%s: object store at %s: %w", op, c.where, err)
}

// ensureBucket creates the bucket if it does not exist (once per client).
func (c *Client) ensureBucket(ctx context.Context, bucket string) error {
	c.mu.Lock()
	ok := c.ready[bucket]
	c.mu.Unlock()
	if ok {
		return nil
	}
	exists, err := c.c.BucketExists(ctx, bucket)
	if err != nil {
		return c.describe("bucket "+bucket, err)
	}
	if !exists {
		if err := c.c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			var er minio.ErrorResponse
			if !errors.As(err, &er) || (er.Code != "BucketAlreadyOwnedByYou" && er.Code != "BucketAlreadyExists") {
				return c.describe("create bucket "+bucket, err)
			}
		}
	}
	c.mu.Lock()
	c.ready[bucket] = true
	c.mu.Unlock()
	return nil
}

// Upload stores the file at path as bucket/key with meta as user
// metadata, and returns once the store reports the object with the
// file's size.
func (c *Client) Upload(ctx context.Context, bucket, key, path string, meta map[string]string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := c.ensureBucket(ctx, bucket); err != nil {
		return err
	}
	if _, err := c.c.FPutObject(ctx, bucket, key, path, minio.PutObjectOptions{ContentType: "video/mp4", UserMetadata: meta}); err != nil {
		return c.describe("upload "+key, err)
	}
	info, err := c.c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return c.describe("confirm "+key, err)
	}
	if info.Size != fi.Size() {
		return fmt.Errorf("upload %s: the object store has %d bytes, the file %d", key, info.Size, fi.Size())
	}
	return nil
}

// Open reads bucket/key.
func (c *Client) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	obj, err := c.c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, c.describe("read "+key, err)
	}
	// GetObject is lazy: ask now, so that a missing object is an error
	// here rather than at the first read.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		return nil, c.describe("read "+key, err)
	}
	return obj, nil
}

// Delete removes bucket/key; a missing object is not an error.
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	if err := c.c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "NoSuchKey" {
			return nil
		}
		return c.describe("delete "+key, err)
	}
	return nil
}
