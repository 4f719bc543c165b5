package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
)

func TestParseURL(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		url, endpointEnv string
		want             objstore.Config
		err              string
	}{
		{url: "s3://media", want: objstore.Config{Bucket: "media", Endpoint: "s3.us-east-1.amazonaws.com", TLS: true, Region: "us-east-1"}},
		{url: "s3://media/a/b/", endpointEnv: "http://127.0.0.1:9000",
			want: objstore.Config{Bucket: "media", Prefix: "a/b", Endpoint: "127.0.0.1:9000", Region: "us-east-1"}},
		{url: "s3://media/p?endpoint=https://minio.lan:9000&region=eu-west-1",
			want: objstore.Config{Bucket: "media", Prefix: "p", Endpoint: "minio.lan:9000", TLS: true, Region: "eu-west-1"}},
		{url: "file:///srv/media", err: "only s3://bucket/prefix"},
		{url: "s3:///prefix", err: "no bucket"},
		{url: "s3://key:secret@media/", err: "put no credentials in the URL"},
		{url: "s3://media?endpont=x", err: `unknown parameter "endpont"`},
		{url: "s3://media?endpoint=minio:9000", err: "expected http(s)://host[:port]"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			env["AWS_ENDPOINT_URL_S3"] = c.endpointEnv
			got, err := objstore.ParseURL(c.url, getenv)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				if strings.Contains(err.Error(), "secret") && !strings.Contains(c.err, "credentials") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// newStore is a store on a fresh SeaweedFS, its credentials from the AWS
// variables as in production, with small parts and retryFor.
func newStore(t *testing.T, retryFor time.Duration) (*objstore.Store, *s3test.S3Server) {
	t.Helper()
	srv, st, _ := s3test.MediaStore(t, "media/clapshot")
	cfg := st.Config()
	cfg.PartSize = 5 << 20
	cfg.RetryFor = retryFor
	s, err := objstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Objects round-trip, in one PUT and in parts; a presigned URL serves
// ranges; prefixes list, move and go; a missing object is ErrNotFound.
func TestStore(t *testing.T) {
	s, _ := newStore(t, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	small := []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n")
	if err := s.Write(ctx, "videos/abc/subs/a.vtt", small, "text/vtt"); err != nil {
		t.Fatal(err)
	}
	big := random(t, 12<<20+12345) // three parts
	w := s.Create(ctx, "videos/abc/orig/clip.mov", "video/quicktime")
	for b := big; len(b) > 0; {
		k := min(len(b), 300_001)
		if _, err := w.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, "videos/abc/orig/clip.mov")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(big))
	}
	head, err := s.ReadHead(ctx, "videos/abc/orig/clip.mov", 32<<10)
	if err != nil || !bytes.Equal(head, big[:32<<10]) {
		t.Fatalf("head: %d bytes, %v", len(head), err)
	}

	u, err := s.Presign(ctx, "videos/abc/orig/clip.mov", time.Minute, "video/quicktime")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	req.Header.Set("Range", "bytes=5000000-5000099")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, big[5000000:5000100]) || resp.Header.Get("Content-Type") != "video/quicktime" {
		t.Fatalf("ranged GET of the presigned URL: %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}

	for _, k := range []string{"videos/abc", "videos/abc/subs/a.vtt"} {
		if ok, err := s.Exists(ctx, k); err != nil || !ok {
			t.Errorf("Exists(%s) = %v, %v", k, ok, err)
		}
	}
	if ok, err := s.Exists(ctx, "videos/ab"); err != nil || ok {
		t.Errorf("Exists(videos/ab) = %v, %v: a prefix of a name is not a directory", ok, err)
	}
	n, err := s.MovePrefix(ctx, "videos/abc", "videos/trash/abc_1")
	if err != nil || n != 2 {
		t.Fatalf("MovePrefix: %d, %v", n, err)
	}
	if _, err := s.Stat(ctx, "videos/abc/subs/a.vtt"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("moved object still there: %v", err)
	}
	if got, err := s.Read(ctx, "videos/trash/abc_1/subs/a.vtt"); err != nil || !bytes.Equal(got, small) {
		t.Errorf("moved object: %q, %v", got, err)
	}
	if err := s.RemovePrefix(ctx, "videos/trash/abc_1"); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.List(ctx, "videos"); err != nil || len(keys) != 0 {
		t.Errorf("left: %v, %v", keys, err)
	}
	if err := s.Remove(ctx, "videos/none"); err != nil {
		t.Errorf("removing a missing object: %v", err)
	}
}

// The store stops answering for 30 s in the middle of a streamed upload:
// the writer waits and retries, and the object is complete and exact
// afterwards; the part buffers never held more than two parts (one being
// sent, one filling).
func TestUploadSurvivesAnOutage(t *testing.T) {
	s, srv := newStore(t, 2*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	data := random(t, 23<<20)
	objstore.ResetPeak()
	w := s.Create(ctx, "upload/u1/big.mp4", "video/mp4")
	if _, err := w.Write(data[:11<<20]); err != nil { // two parts sent
		t.Fatal(err)
	}
	srv.Stop()
	down := time.Now()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(30 * time.Second)
		srv.Start()
	}()
	if _, err := w.Write(data[11<<20:]); err != nil {
		t.Fatalf("write while the store is down: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	<-restarted
	t.Logf("upload finished %.1f s after the store went down", time.Since(down).Seconds())
	if time.Since(down) < 30*time.Second {
		t.Errorf("the upload finished while the store was down")
	}
	got, err := s.Read(ctx, "upload/u1/big.mp4")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(data))
	}
	if peak := objstore.PeakBuffered(); peak > 2*5<<20 {
		t.Errorf("part buffers peaked at %d bytes, want two parts (%d)", peak, 2*5<<20)
	}
}

// A store that stays away longer than RetryFor fails the upload with an
// error that says so; wrong credentials get a message naming what to
// check, without the secret.
func TestClearErrors(t *testing.T) {
	s, srv := newStore(t, 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := s.Config()
	cfg.Creds = credentials.NewStaticV4(srv.AccessKey, "wrong-secret-0123456789", "")
	bad, err := objstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Write(ctx, "x", []byte("x"), "")
	t.Logf("wrong secret: %v", err)
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("wrong secret: %v", err)
	}

	srv.Stop()
	w := s.Create(ctx, "upload/u2/x.mp4", "video/mp4")
	_, err = w.Write(random(t, 6<<20))
	if err == nil {
		err = w.Close()
	}
	t.Logf("store down: %v", err)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "retried for 3s") {
		t.Errorf("store down: %v", err)
	}
}

// Path-style requests everywhere but AWS (where a dotted bucket name
// needs them too: the wildcard certificate does not cover it).
func TestPathStyle(t *testing.T) {
	for _, c := range []struct {
		url  string
		path bool
	}{
		{"s3://media/clapshot?endpoint=http://127.0.0.1:9000", true},
		{"s3://media?endpoint=https://minio.example.com", true},
		{"s3://media/clapshot?region=eu-west-1", false},
		{"s3://media.example.com/clapshot?region=eu-west-1", true},
	} {
		cfg, err := objstore.ParseURL(c.url, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.PathStyle(); got != c.path {
			t.Errorf("%s: path style %v, want %v", c.url, got, c.path)
		}
	}
}
