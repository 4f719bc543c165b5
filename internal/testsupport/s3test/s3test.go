// Package s3test runs a real S3-compatible server (SeaweedFS) on loopback
// for tests: the archive's object store and the media store use it.
package s3test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// WeedVersion is the SeaweedFS module `make weed` builds (keep it equal to
// WEED_VERSION in the Makefile).
const WeedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// WeedPath finds the weed binary: $CLAPSHOT_WEED, else bin/tools in the
// repository (built by `make weed`, which `make test` runs).
func WeedPath() (string, error) {
	return testkit.ToolPath("CLAPSHOT_WEED", "weed-"+WeedVersion, "weed", "weed")
}

// S3Server is a real S3-compatible server on loopback: SeaweedFS (`weed
// mini`, Apache-2.0) with its data in a test directory and one identity.
type S3Server struct {
	// Endpoint is host:port of the S3 API.
	Endpoint             string
	AccessKey, SecretKey string

	t    testing.TB
	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	out  *testkit.SyncBuffer
}

// Start starts the server (the test is skipped when the weed binary is
// not built) and stops it when the test ends.
func Start(t testing.TB) *S3Server {
	t.Helper()
	bin, err := WeedPath()
	if err != nil {
		t.Skip("no SeaweedFS for the S3 tests: ", err)
	}
	dir := t.TempDir()
	s := &S3Server{t: t, bin: bin, AccessKey: "archive-test", SecretKey: "archive-test-secret-0123456789"}
	conf := filepath.Join(dir, "s3.json")
	ident := fmt.Sprintf(`{"identities":[{"name":"archive","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`,
		s.AccessKey, s.SecretKey)
	if err := os.WriteFile(conf, []byte(ident), 0o600); err != nil {
		t.Fatal(err)
	}
	// weed binds a dozen ports; one taken in the moment between choosing
	// and binding (by a parallel test process) makes it exit, and a fresh
	// set of ports (and a fresh data directory, which records them) is
	// then tried.
	for attempt := 1; ; attempt++ {
		data := filepath.Join(dir, fmt.Sprintf("data-%d", attempt))
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		s.args = weedArgs(t, data, conf, &s.Endpoint)
		err := s.start()
		if err == nil {
			break
		}
		if !strings.Contains(s.out.String(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("weed: a port was taken, trying others (attempt %d): %v", attempt, err)
	}
	t.Cleanup(s.Stop)
	return s
}

// weedArgs is the command line of `weed mini` on fresh ports, all below
// the ephemeral range (weed warns about ports inside it); endpoint gets
// the S3 API's host:port.
func weedArgs(t testing.TB, data, conf string, endpoint *string) []string {
	port := func() string { return strconv.Itoa(testkit.MustFreePort(t)) }
	s3 := port()
	*endpoint = "127.0.0.1:" + s3
	return []string{"mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(), "-master.port.grpc=" + port(), "-volume.port=" + port(), "-volume.port.grpc=" + port(),
		"-filer.port=" + port(), "-filer.port.grpc=" + port(), "-s3.port=" + s3, "-s3.port.grpc=" + port(),
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false", "-admin.port=" + port(),
		"-admin.port.grpc=" + port(), "-admin.port.legacy=0", "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
		"-s3.config=" + conf}
}

// Start (re)starts the server with the same data and ports and waits
// until its S3 API answers.
func (s *S3Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *S3Server) start() error {
	s.out = &testkit.SyncBuffer{}
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Dir = filepath.Dir(s.args[1][len("-dir="):])
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("weed: %w", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.Endpoint+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil // any answer (403 without credentials) means it serves
		}
		select {
		case <-s.done:
			s.cmd = nil
			return fmt.Errorf("weed exited: %s", s.out.String())
		case <-ctx.Done():
			s.Stop()
			return fmt.Errorf("weed's S3 API did not answer within 90 s: %s", s.out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 20 s) and waits.
func (s *S3Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Port is the S3 API's port.
func (s *S3Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Endpoint)
	n, _ := strconv.Atoi(p)
	return n
}

// MediaStore starts a server for the media store's tests: it gives the
// test (and the processes it starts) the server's credentials the way an
// operator would, in the AWS_* variables, and returns the server, a
// client of bucketPrefix ("media/clapshot") and its --media-url.
func MediaStore(t *testing.T, bucketPrefix string) (*S3Server, *objstore.Store, string) {
	t.Helper()
	srv := Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	mediaURL := "s3://" + bucketPrefix + "?endpoint=http://" + srv.Endpoint
	cfg, err := objstore.ParseURL(mediaURL, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st, err := objstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// weed's S3 API answers before its filer is ready, with 400 Bad
	// Request to signed requests for a moment: make the bucket here, so
	// that the servers under test find a store that works.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := st.EnsureBucket(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the S3 server does not make bucket %s: %v\n%s", cfg.Bucket, err, srv.out.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	return srv, st, mediaURL
}
