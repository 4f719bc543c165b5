package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this binary's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("VIDEO_SERVER_MAIN") == "1" {
		os.Args = append([]string{"video_server"}, strings.Fields(os.Getenv("VIDEO_SERVER_ARGS"))...)
		os.Exit(run())
	}
	os.Exit(m.Run())
}

func runSelf(t *testing.T, args string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDEO_SERVER_MAIN=1", "VIDEO_SERVER_ARGS="+args)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// A config the server cannot use stops it at once with the reason.
func TestBadConfigExits(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "my.conf.v2.toml")
	_ = os.WriteFile(typo, []byte("[api]\nenabeld = true\n"), 0o644)
	for _, tc := range []struct{ args, want string }{
		{"-conf " + typo, `unknown key "api.enabeld" (did you mean "enabled"?)`},
		{"-conf " + filepath.Join(dir, "missing.json"), "no such file"},
		{"-conf " + filepath.Join(dir, "conf.ini"), ".toml or .json"},
	} {
		code, out := runSelf(t, tc.args)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, output %s; want exit 2 mentioning %q", tc.args, code, out, tc.want)
		}
	}
}

// -cpuprofile covers the run, -memprofile is written at SIGTERM.
func TestProfilesAndSignal(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf.json")
	_ = os.WriteFile(conf, []byte(`{"video": {"host": "127.0.0.1", "port": `+freePort(t)+`}}`), 0o644)
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDEO_SERVER_MAIN=1", "VIDEO_SERVER_ARGS=-conf "+conf+" -cpuprofile "+cpu+" -memprofile "+mem)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"Listening"`) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("not listening: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
	for _, p := range []string{cpu, mem} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// lockedBuffer is written by exec's copying goroutines while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
