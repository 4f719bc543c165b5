package organizer

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testLogger logs to a file (safe for the forwarding goroutines); read
// it back with the returned function.
func testLogger(t *testing.T) (*slog.Logger, func() string) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
}

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line   string
		stderr bool
		level  slog.Level
		msg    string
	}{
		{"DEBUG [BF] checking", false, slog.LevelDebug, "[BF] checking"},
		{"INFO [BF] listening", false, slog.LevelInfo, "[BF] listening"},
		{"WARNING something", false, slog.LevelWarn, "something"},
		{"WARN something", true, slog.LevelWarn, "something"},
		{"CRITICAL boom", false, slog.LevelError, "boom"},
		{"FATAL boom", false, slog.LevelError, "boom"},
		{"ERROR [BF] failed", true, slog.LevelError, "[BF] failed"},
		{"plain stdout line", false, slog.LevelInfo, "plain stdout line"},
		{"Traceback (most recent call last):", true, slog.LevelError, "Traceback (most recent call last):"},
		{"INFO", false, slog.LevelInfo, "INFO"}, // a level word alone is a message
		{`{"time":"x","level":"WARNING","name":"BF","message":"json line"}`, false, slog.LevelWarn, "[BF] json line"},
		{`{"not":"a log record"}`, false, slog.LevelInfo, `{"not":"a log record"}`},
	}
	for _, tc := range tests {
		level, msg := parseLogLine(tc.line, tc.stderr)
		if level != tc.level || msg != tc.msg {
			t.Errorf("parseLogLine(%q) = %v %q, want %v %q", tc.line, level, msg, tc.level, tc.msg)
		}
	}
}

func TestShellCommand(t *testing.T) {
	got := shellCommand("/usr/bin/org --x", []string{"/data/grpc-srv-to-org.sock", "--debug"})
	if got != "trap '' USR1; /usr/bin/org --x /data/grpc-srv-to-org.sock --debug" {
		t.Errorf("got %q", got)
	}
	if got := shellQuote("/my data/it's.sock"); got != `'/my data/it'\''s.sock'` {
		t.Errorf("quote: %q", got)
	}
}

// The organizer runs in its own process group with SIGUSR1 ignored, its
// output is logged with levels (colour codes removed), and Stop ends the
// whole group: SIGTERM, then SIGKILL for what ignores it.
func TestProcessLifecycle(t *testing.T) {
	log, logged := testLogger(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// A child that ignores SIGTERM, and reports its ignored signals.
	cmd := `sh -c 'trap "" TERM; echo $$ > ` + pidFile + `; grep SigIgn /proc/self/status; printf "\033[31mERROR red alert\033[0m\n" >&2; echo stray >&2; while :; do sleep 0.1; done'`
	p, err := startProcess(cmd, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	var childPid int
	deadline := time.Now().Add(10 * time.Second)
	for childPid == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(pidFile)
		childPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if childPid == 0 {
		t.Fatal("child did not start")
	}
	if pgid, _ := syscall.Getpgid(childPid); pgid != p.cmd.Process.Pid {
		t.Errorf("child in process group %d, want %d", pgid, p.cmd.Process.Pid)
	}
	for !strings.Contains(logged(), "[organizer] stray") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logged()
	// SigIgn is a hex mask; SIGUSR1 (10) is bit 9.
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "SigIgn:"); i >= 0 {
			field := strings.TrimPrefix(strings.Fields(line[i+len("SigIgn:"):])[0], `\t`)
			mask, err := strconv.ParseUint(strings.Trim(field, `"`), 16, 64)
			if err != nil || mask&(1<<(syscall.SIGUSR1-1)) == 0 {
				t.Errorf("SIGUSR1 not ignored in the organizer: %s", line)
			}
		}
	}
	if !strings.Contains(out, `level=ERROR msg="[organizer] red alert" source=organizer stream=stderr`) {
		t.Errorf("stderr level line not logged as ERROR without colour codes:\n%s", out)
	}
	if !strings.Contains(out, `level=ERROR msg="[organizer] stray" source=organizer stream=stderr`) {
		t.Errorf("plain stderr line not logged as ERROR:\n%s", out)
	}

	t0 := time.Now()
	p.Stop(300 * time.Millisecond)
	if time.Since(t0) < 300*time.Millisecond {
		t.Errorf("stopped before the grace period although the child ignores SIGTERM")
	}
	if groupAlive(p.cmd.Process.Pid) {
		ps, _ := exec.Command("sh", "-c", "ps -eo pid,ppid,pgid,stat,comm | awk '$3 == "+strconv.Itoa(p.cmd.Process.Pid)+"'").CombinedOutput()
		t.Errorf("process group still alive after Stop:\n%s", ps)
	}
	if !strings.Contains(logged(), "did not exit after SIGTERM; killing it") {
		t.Errorf("SIGKILL not logged:\n%s", logged())
	}
	if err := p.ExitError(); err == nil || !strings.Contains(err.Error(), "killed") && !strings.Contains(err.Error(), "terminated") {
		t.Errorf("exit error %v", err)
	}
}

// A process that exits on SIGTERM is not waited for needlessly.
func TestProcessStopsOnSigterm(t *testing.T) {
	log, _ := testLogger(t)
	p, err := startProcess("sleep 30", nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	p.Stop(10 * time.Second)
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if groupAlive(p.cmd.Process.Pid) {
		t.Errorf("process group still alive")
	}
}
