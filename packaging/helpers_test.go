package packaging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// Tests in this package build the real .deb files with `make deb` and use
// the installed files: the unit, the config file, the binary.

const (
	confPath       = "/etc/clapshot-server.conf"
	unitPath       = "/lib/systemd/system/clapshot-server.service"
	workerUnitPath = "/lib/systemd/system/clapshot-worker.service"
	failUnitPath   = "/lib/systemd/system/clapshot-server-failed.service"
	serviceUser    = "clapshot"
)

var tmpRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clapshot-packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Servers in these tests may run as the clapshot user or behind nginx
	// workers running as nobody: they must be able to reach the files.
	os.Chmod(dir, 0o755)
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// scratchDir is a world-readable temporary directory (t.TempDir's are
// 0700, which the clapshot user and nginx workers could not enter).
func scratchDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp(tmpRoot, "t-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type debs struct {
	server    string // path of the clapshot-server .deb
	organizer string // path of the clapshot-organizer-folders .deb, "" until it exists
	bin       string // the directory the binaries were built into
	version   string // Debian version without the epoch
}

var (
	buildOnce sync.Once
	built     debs
	buildErr  error
)

// buildDebs builds the packages once per test binary, into a scratch
// directory: `make deb` without rebuilding the web UI (the server embeds
// whatever web/dist holds), so that it never rewrites files that other
// packages' tests embed while they compile.
func buildDebs(t testing.TB) debs {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed (not a Debian system)")
	}
	buildOnce.Do(func() {
		root := repoRoot(t)
		bin := filepath.Join(tmpRoot, "bin")
		dist := filepath.Join(tmpRoot, "dist")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-s", "server", "worker", "organizer", "deb-package", "BIN="+bin, "DEB_DIR="+dist)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("make deb: %v\n%s", err, out)
			return
		}
		v, err := exec.Command(filepath.Join(root, "packaging/version.sh")).Output()
		if err != nil {
			buildErr = fmt.Errorf("packaging/version.sh: %v", err)
			return
		}
		built = debs{bin: bin, version: strings.TrimSpace(string(v))}
		matches, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
		for _, m := range matches {
			switch {
			case strings.HasPrefix(filepath.Base(m), "clapshot-server_"):
				built.server = m
			case strings.HasPrefix(filepath.Base(m), "clapshot-organizer-folders_"):
				built.organizer = m
			}
		}
		if built.server == "" {
			buildErr = fmt.Errorf("make deb made no clapshot-server package in %s:\n%s", dist, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// unitFile is a parsed systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

func parseUnit(t testing.TB, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: unparsable line %q", path, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// one returns the single value of a key, failing if it is not set once.
func (u unitFile) one(t testing.TB, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s: want exactly one value, got %q", section, key, v)
	}
	return v[0]
}

// confValue reads a key from an INI file as the server does (enough for the
// files in this package: no quotes, no inline comments).
func confValue(t testing.TB, path, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// process is a started server (or nginx) that the test stops.
type process struct {
	cmd  *exec.Cmd
	out  *testkit.SyncBuffer
	done chan struct{}
	err  error
}

func startProcess(t testing.TB, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, out: &testkit.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // never outlive the test binary
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// stop sends SIGTERM and waits; it returns the exit error (nil for status 0).
func (p *process) stop(t testing.TB) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("%s did not stop within 30 s of SIGTERM\n%s", p.cmd.Path, p.out)
		return nil
	}
}

func (p *process) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitExit waits for a process that should end by itself.
func (p *process) waitExit(t testing.TB, within time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		p.kill()
		t.Fatalf("%s still running after %s\n%s", p.cmd.Path, within, p.out)
		return nil
	}
}

// waitOutput waits until the process has printed want.
func (p *process) waitOutput(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within 10 s:\n%s", p.cmd.Path, want, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// waitHealthy polls url (an /api/health URL) until it answers 200 with
// Clapshot's health body, and then until the server says it has finished
// starting: /api/health answers from the first moment, while the database
// is migrated and the organizer connected, and other paths get 503 until
// then.
func waitHealthy(t testing.TB, url string, p *process) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	check := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body.String() != "I'm alive!" {
			return fmt.Errorf("status %d, body %q", resp.StatusCode, body.String())
		}
		resp, err = client.Get(url + "?details=1")
		if err != nil {
			return err
		}
		var details struct{ Status, Phase string }
		err = json.NewDecoder(resp.Body).Decode(&details)
		resp.Body.Close()
		if err != nil || details.Status != "ok" {
			return fmt.Errorf("not ready: status %q, phase %q (%v)", details.Status, details.Phase, err)
		}
		return nil
	}
	for {
		err := check()
		if err == nil {
			return
		}
		if p != nil {
			select {
			case <-p.done:
				t.Fatalf("%s exited (%v) before %s answered\n%s", p.cmd.Path, p.err, url, p.out)
			default:
			}
		}
		if time.Now().After(deadline) {
			out := ""
			if p != nil {
				out = p.out.String()
			}
			t.Fatalf("%s: not healthy within 30 s: %v\n%s", url, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// credentialFor runs a command as the given system user.
func credentialFor(t testing.TB, name string) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

func ownerOf(t testing.TB, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	uid := st.Sys().(*syscall.Stat_t).Uid
	u, err := user.LookupId(strconv.Itoa(int(uid)))
	if err != nil {
		return strconv.Itoa(int(uid))
	}
	return u.Username
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
