package s3store_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/archive/s3store"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// Against a real S3-compatible server: upload (confirmed), read back,
// delete; a wrong secret gets a 403 that names the user and what to
// check, without the secret; a stopped server is "unreachable".
func TestObjectStore(t *testing.T) {
	srv := livetest.StartS3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := s3store.New(s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seg.mp4")
	data := bytes.Repeat([]byte("segment!"), 100000)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, "archive", "cams/seg.mp4", path, map[string]string{"Start": "2026-12-03T09:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Open(ctx, "archive", "cams/seg.mp4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(data))
	}
	if err := c.Delete(ctx, "archive", "cams/seg.mp4"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, "archive", "cams/seg.mp4"); err == nil {
		t.Error("the deleted object can still be read")
	}
	if err := c.Delete(ctx, "archive", "cams/seg.mp4"); err != nil {
		t.Errorf("deleting a missing object: %v", err)
	}

	bad, _ := s3store.New(s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: "wrong-secret-key"})
	err = bad.Upload(ctx, "archive", "cams/x.mp4", path, nil)
	t.Logf("wrong secret: %v", err)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "check archive.minio_settings.user and password") ||
		!strings.Contains(err.Error(), srv.AccessKey) {
		t.Errorf("wrong secret: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-secret-key") {
		t.Errorf("the error shows the secret: %v", err)
	}

	srv.Stop()
	err = c.Upload(ctx, "other", "x.mp4", path, nil)
	t.Logf("stopped server: %v", err)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("stopped server: %v", err)
	}
}
