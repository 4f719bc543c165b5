package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The demo starts nginx and the server, prints the URL, serves the demo
// users, and stops both on Ctrl-C.
func TestDemoStartsAndStopsEverything(t *testing.T) {
	for _, tool := range []string{"nginx", "htpasswd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh demo installs it)", tool)
		}
	}
	bin := t.TempDir()
	build := map[string]string{".": "demo", "../../cmd/clapshot-server": "clapshot-server"}
	// The folders organizer, once it exists, runs in the demo too.
	withOrganizer := false
	if _, err := os.Stat("../../cmd/clapshot-organizer-folders"); err == nil {
		build["../../cmd/clapshot-organizer-folders"] = "clapshot-organizer-folders"
		withOrganizer = true
	}
	for pkg, out := range build {
		if b, err := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	// World-readable, as nginx's workers (nobody when run as root) read the
	// password file and media below it.
	dir, err := os.MkdirTemp("", "clapshot-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)

	cmd := exec.Command(filepath.Join(bin, "demo"), "-server", filepath.Join(bin, "clapshot-server"),
		"-organizer", filepath.Join(bin, "clapshot-organizer-folders"), "-dir", filepath.Join(dir, "demo"), "-port", "0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(done) }()
	// The output reader ends when Wait closes the pipe.
	readDone := make(chan struct{})
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		<-readDone
	}()

	urlRE := regexp.MustCompile(`running:\s+(http://127\.0\.0\.1:\d+/)`)
	found := make(chan string, 1)
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-found:
	case <-done:
		t.Fatalf("demo exited before printing its URL: %v", exitErr)
	case <-time.After(60 * time.Second):
		t.Fatal("demo printed no URL within 60 s")
	}

	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"alice", "alice123", 200}, {"demo", "demo", 200}, {"admin", "admin", 200}, {"alice", "nope", 401}} {
		// Not "/": its status depends on whether the web UI was built.
		req, _ := http.NewRequest("GET", url+"clapshot_client.conf.json", nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET client settings as %q: %d, want %d", c.user, resp.StatusCode, c.want)
		}
		// The demo's client settings: its title and the basic-auth logout item.
		if c.want == 200 && (!strings.Contains(string(body), `"app_title": "Clapshot demo"`) ||
			!strings.Contains(string(body), `"user_menu_show_basic_auth_logout": true`)) {
			t.Errorf("client settings as %q:\n%s", c.user, body)
		}
	}

	if withOrganizer {
		deadline := time.Now().Add(30 * time.Second)
		for {
			log, _ := os.ReadFile(filepath.Join(dir, "demo", "server.log"))
			if strings.Contains(string(log), "Organizer connected") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the folders organizer did not connect within 30 s:\n%s", log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Ctrl-C.
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
		if exitErr != nil {
			t.Errorf("demo exit after Ctrl-C: %v", exitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30 s of Ctrl-C")
	}
	// Nothing the demo started is left: no process runs a binary from bin
	// (server, organizer) or has the demo's directory on its command line
	// (nginx).
	deadline := time.Now().Add(10 * time.Second)
	for left := leftovers(bin, dir); len(left) > 0; left = leftovers(bin, dir) {
		if time.Now().After(deadline) {
			t.Errorf("still running after the demo stopped: %v", left)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("nginx still listens on %s after the demo stopped", host)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo", "nginx", "nginx.pid")); err == nil {
		t.Error("nginx.pid still exists: nginx did not shut down")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "demo", "server.log"))
	if !strings.Contains(string(log), "Clapshot server stopped") {
		t.Errorf("the server did not shut down cleanly:\n%s", log)
	}
}

// leftovers lists the command lines of processes that mention any of the
// given paths.
func leftovers(paths ...string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		for _, path := range paths {
			if strings.Contains(cmd, path) {
				out = append(out, cmd)
				break
			}
		}
	}
	return out
}
