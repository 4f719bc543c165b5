// Command demo runs a complete local Clapshot setup in one command (make
// demo): nginx from Debian with the shipped basic-auth example, the demo
// users of Clapshot's demo image, clapshot-server behind it, and the folders
// organizer when it has been built. Everything listens on 127.0.0.1. Ctrl-C
// (or SIGTERM) stops everything it started.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/packaging"
)

// The users of Clapshot's demo image; admin is an administrator by the
// example's map.
var demoUsers = [][2]string{{"demo", "demo"}, {"alice", "alice123"}, {"admin", "admin"}}

func main() {
	server := flag.String("server", "bin/clapshot-server", "clapshot-server binary")
	organizer := flag.String("organizer", "bin/clapshot-organizer-folders", "folders organizer binary (used if it exists)")
	dir := flag.String("dir", "demo", "directory for the demo's data, configuration and logs (kept between runs)")
	port := flag.Int("port", 8080, "port for nginx on 127.0.0.1 (0 = any free port)")
	flag.Parse()
	if err := run(*server, *organizer, *dir, *port); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(serverBin, organizerBin, dir string, port int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	serverBin, err = filepath.Abs(serverBin)
	if err != nil {
		return err
	}
	dataDir := filepath.Join(dir, "data")
	for _, d := range []string{dir, dataDir, filepath.Join(dir, "nginx")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		// nginx's workers must reach the media files.
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := packaging.WriteHtpasswd(htpasswd, demoUsers); err != nil {
		return err
	}
	clientConf := filepath.Join(dir, "clapshot_client.conf.json")
	b, _ := json.MarshalIndent(map[string]any{
		"app_title":                        "Clapshot demo",
		"user_menu_show_basic_auth_logout": true,
	}, "", "  ")
	if err := os.WriteFile(clientConf, b, 0o644); err != nil {
		return err
	}

	if port, err = pickPort(port); err != nil {
		return err
	}
	serverPort, err := pickPort(0)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	args := []string{"--data-dir", dataDir, "--host", "127.0.0.1", "--port", strconv.Itoa(serverPort),
		"--migrate", "--client-conf", clientConf, "--log", filepath.Join(dir, "server.log")}
	if abs, err := filepath.Abs(organizerBin); err == nil {
		if st, err := os.Stat(abs); err == nil && !st.IsDir() {
			args = append(args, "--org-cmd", abs)
		} else {
			fmt.Println("demo: no folders organizer at", organizerBin, "(not built yet): running without folders")
		}
	}
	srv := exec.Command(serverBin, args...)
	srv.Stdout, srv.Stderr = os.Stdout, os.Stderr
	// Its own process group: Ctrl-C in the terminal reaches only this
	// program, which then stops the server gracefully.
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start %s: %w", serverBin, err)
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Wait() }()
	defer stopServer(srv, srvDone)

	site := packaging.Site{
		Example:  packaging.ExampleBasicAuth,
		Dir:      filepath.Join(dir, "nginx"),
		Listen:   fmt.Sprintf("127.0.0.1:%d", port),
		Upstream: fmt.Sprintf("127.0.0.1:%d", serverPort),
		DataDir:  dataDir,
		Htpasswd: htpasswd,
	}
	ngx, err := site.Start(os.Stderr)
	if err != nil {
		return err
	}
	defer func() { _ = ngx.Stop(10 * time.Second) }()

	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := waitHealthy(ctx, url+"api/health", srvDone, ngx.Done()); err != nil {
		return err
	}
	fmt.Printf(`
  Clapshot demo is running:  %s

  Users (HTTP basic auth):   demo / demo
                             alice / alice123
                             admin / admin     (administrator: sees everyone's media)

  Data:    %s
  Logs:    %s, %s
  Ctrl-C stops nginx and the server.

`, url, dataDir, filepath.Join(dir, "server.log"), filepath.Join(site.Dir, "error.log"))

	select {
	case <-ctx.Done():
		fmt.Println("\ndemo: stopping")
		return nil
	case err := <-srvDone:
		srvDone <- err
		return fmt.Errorf("clapshot-server exited: %v (see %s)", err, filepath.Join(dir, "server.log"))
	case <-ngx.Done():
		return fmt.Errorf("nginx exited (see %s)", filepath.Join(site.Dir, "error.log"))
	}
}

// pickPort returns port if it is free on 127.0.0.1, or any free port if
// port is 0 or taken.
func pickPort(port int) (int, error) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil && port != 0 {
		fmt.Printf("demo: port %d is taken, using another one\n", port)
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(ctx context.Context, url string, srvDone chan error, ngxDone <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Health answers while the server is still starting (migrating,
		// connecting the organizer); the details say when it is ready.
		resp, err := client.Get(url + "?details=1")
		if err == nil {
			var details struct{ Status string }
			derr := json.NewDecoder(resp.Body).Decode(&details)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && derr == nil && details.Status == "ok" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case err := <-srvDone:
			srvDone <- err
			return fmt.Errorf("clapshot-server exited during start-up: %v", err)
		case <-ngxDone:
			return errors.New("nginx exited during start-up")
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within 60 s", url)
		}
	}
}

// stopServer sends SIGTERM (graceful shutdown) and waits, killing the
// server if it takes longer than its own shutdown grace.
func stopServer(srv *exec.Cmd, done chan error) {
	select {
	case err := <-done:
		done <- err
		return
	default:
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo: clapshot-server did not exit cleanly:", err)
		}
	case <-time.After(20 * time.Second):
		_ = srv.Process.Kill()
		fmt.Fprintln(os.Stderr, "demo: clapshot-server did not stop within 20 s; killed:", <-done)
	}
}
