package packaging_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	"github.com/clapshot-go/clapshot/packaging"
)

// The users of Clapshot's demo; admin is an administrator by the example's map.
var demoUsers = [][2]string{{"demo", "demo"}, {"alice", "alice123"}, {"admin", "admin"}}

// proxied is clapshot-server behind nginx running one of the shipped
// examples, both on loopback.
type proxied struct {
	server  *process
	nginx   *packaging.Nginx
	base    string // http://127.0.0.1:<nginx port>
	direct  string // http://127.0.0.1:<server port>
	dataDir string
}

func startProxied(t *testing.T, example, maxBody string, serverArgs ...string) *proxied {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		if !exists("/usr/sbin/nginx") {
			t.Skip("nginx not installed (scripts/deps.sh test installs nginx-light)")
		}
	}
	d := buildDebs(t)
	dir := scratchDir(t)
	dataDir := filepath.Join(dir, "data")
	os.MkdirAll(dataDir, 0o755)
	serverPort, nginxPort := testkit.MustFreePort(t), testkit.MustFreePort(t)
	args := append([]string{"--data-dir", dataDir, "--port", strconv.Itoa(serverPort), "--migrate"}, serverArgs...)
	srv := startProcess(t, exec.Command(filepath.Join(d.bin, "clapshot-server"), args...))
	p := &proxied{
		server:  srv,
		base:    fmt.Sprintf("http://127.0.0.1:%d", nginxPort),
		direct:  fmt.Sprintf("http://127.0.0.1:%d", serverPort),
		dataDir: dataDir,
	}
	waitHealthy(t, p.direct+"/api/health", srv)

	site := packaging.Site{
		Example:  example,
		Dir:      filepath.Join(dir, "nginx"),
		Listen:   fmt.Sprintf("127.0.0.1:%d", nginxPort),
		Upstream: fmt.Sprintf("127.0.0.1:%d", serverPort),
		DataDir:  dataDir,
		Htpasswd: filepath.Join(dir, "htpasswd"),
		MaxBody:  maxBody,
	}
	os.MkdirAll(site.Dir, 0o755)
	if example == packaging.ExampleBasicAuth {
		if err := packaging.WriteHtpasswd(site.Htpasswd, demoUsers); err != nil {
			t.Fatal(err)
		}
	}
	var nginxOut testkit.SyncBuffer
	ngx, err := site.Start(&nginxOut)
	if err != nil {
		t.Fatal(err)
	}
	p.nginx = ngx
	t.Cleanup(func() {
		if err := ngx.Stop(10 * time.Second); err != nil {
			t.Errorf("stop nginx: %v", err)
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(site.Dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", nginxOut.String(), log)
		}
	})
	waitHealthy(t, p.base+"/api/health", nil)
	return p
}

// get makes a request through nginx as user (or anonymously if user is "").
func (p *proxied) get(t *testing.T, path, user string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", p.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range demoUsers {
		if u[0] == user {
			req.SetBasicAuth(u[0], u[1])
		}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp, body
}

// writeMedia puts a file of n random bytes where the server keeps media.
func (p *proxied) writeMedia(t *testing.T, rel string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	path := filepath.Join(p.dataDir, "videos", rel)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestNginxBasicAuthExample(t *testing.T) {
	p := startProxied(t, packaging.ExampleBasicAuth, "")

	t.Run("login required", func(t *testing.T) {
		for _, path := range []string{"/", "/api/ws", "/api/upload", "/videos/abcd1234/video.mp4", "/clapshot_client.conf.json"} {
			resp, _ := p.get(t, path, "")
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("GET %s without credentials: %d %q, want 401 with a Basic challenge", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		req, _ := http.NewRequest("GET", p.base+"/", nil)
		req.SetBasicAuth("alice", "wrong password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("wrong password: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("web UI through the proxy", func(t *testing.T) {
		// The page is the server's (200 once the UI is built, 503 with
		// build instructions before): nginx passes it on unchanged.
		resp, body := p.get(t, "/", "alice")
		direct, err := http.Get(p.direct + "/")
		if err != nil {
			t.Fatal(err)
		}
		direct.Body.Close()
		if resp.StatusCode != direct.StatusCode || len(body) == 0 ||
			resp.Header.Get("Content-Type") != direct.Header.Get("Content-Type") {
			t.Errorf("GET / as alice through nginx: %d %q, %d bytes; straight from the server: %d %q",
				resp.StatusCode, resp.Header.Get("Content-Type"), len(body), direct.StatusCode, direct.Header.Get("Content-Type"))
		}
		// The client settings carry the address the browser used, which
		// the server learns from nginx's Host and X-Forwarded-* headers.
		resp, body = p.get(t, "/clapshot_client.conf.json", "alice")
		wsURL := "ws" + strings.TrimPrefix(p.base, "http") + "/api/ws"
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"ws_url": "`+wsURL+`"`)) {
			t.Errorf("client settings through nginx: %d, want ws_url %s:\n%s", resp.StatusCode, wsURL, body)
		}
	})

	t.Run("health without login", func(t *testing.T) {
		resp, body := p.get(t, "/api/health", "")
		if resp.StatusCode != 200 || string(body) != "I'm alive!" {
			t.Errorf("GET /api/health: %d %q", resp.StatusCode, body)
		}
		if resp, body := p.get(t, "/api/ready", ""); resp.StatusCode != 200 || string(body) != "Ready" {
			t.Errorf("GET /api/ready: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("metrics not public", func(t *testing.T) {
		for _, path := range []string{"/api/metrics", "/api/metrics/", "//api/metrics", "/api/%6Detrics"} {
			if resp, _ := p.get(t, path, "admin"); resp.StatusCode != 404 {
				t.Errorf("GET %s through nginx as admin: %d, want 404", path, resp.StatusCode)
			}
		}
		// The server itself answers them, for a Prometheus on this host.
		resp, err := http.Get(p.direct + "/api/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("\nclapshot_db_statement_duration_seconds_count{kind=\"query\"}")) {
			t.Errorf("GET /api/metrics from the server: %d\n%.500s", resp.StatusCode, body)
		}
	})

	t.Run("logout", func(t *testing.T) {
		// The web UI calls /logout with made-up credentials and expects 401.
		resp, _ := p.get(t, "/logout", "alice")
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Clear-Site-Data"), `"cookies"`) {
			t.Errorf("GET /logout: %d, Clear-Site-Data %q", resp.StatusCode, resp.Header.Get("Clear-Site-Data"))
		}
	})

	t.Run("videos served by nginx with Range", func(t *testing.T) {
		data := p.writeMedia(t, "abcd1234/video.mp4", 1<<20)
		p.writeMedia(t, "trash/abcd1234_20250101-000000/video.mp4", 100)
		p.writeMedia(t, "abcd1234/.hidden", 100)
		p.writeMedia(t, "abcd1234/orig/page.html", 100)
		check := func(t *testing.T) {
			resp, body := p.get(t, "/videos/abcd1234/video.mp4", "alice", "Range", "bytes=1000-1999")
			if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(data)) ||
				!bytes.Equal(body, data[1000:2000]) {
				t.Errorf("Range GET: %d %q, %d bytes, equal %v", resp.StatusCode, resp.Header.Get("Content-Range"), len(body), bytes.Equal(body, data[1000:2000]))
			}
			resp, body = p.get(t, "/videos/abcd1234/video.mp4", "alice", "Range", fmt.Sprintf("bytes=%d-", len(data)-10))
			if resp.StatusCode != 206 || !bytes.Equal(body, data[len(data)-10:]) {
				t.Errorf("open-ended Range GET: %d, %d bytes", resp.StatusCode, len(body))
			}
			if resp, _ := p.get(t, "/videos/abcd1234/", "alice"); resp.StatusCode != 403 && resp.StatusCode != 404 {
				t.Errorf("directory listing: %d, want 403 or 404", resp.StatusCode)
			}
			// As the server's own /videos: never the trash or hidden files,
			// and nothing that a browser would run as a page.
			for _, path := range []string{"/videos/trash/abcd1234_20250101-000000/video.mp4", "/videos/abcd1234/.hidden"} {
				if resp, _ := p.get(t, path, "alice"); resp.StatusCode != 404 {
					t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
				}
			}
			resp, _ = p.get(t, "/videos/abcd1234/orig/page.html", "alice")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("an uploaded .html: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"))
			}
			resp, _ = p.get(t, "/videos/abcd1234/video.mp4", "alice")
			if resp.Header.Get("Content-Type") != "video/mp4" {
				t.Errorf("video.mp4 served as %q", resp.Header.Get("Content-Type"))
			}
		}
		check(t)
		// nginx reads the file from disk: it answers with the server stopped.
		if err := p.server.stop(t); err != nil {
			t.Fatalf("server exit: %v", err)
		}
		check(t)
	})
}
