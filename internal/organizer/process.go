package organizer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a running organizer command: `sh -c "<cmd> <args>"` in its own
// process group, its output forwarded to our log.
type process struct {
	cmd  *exec.Cmd
	log  *slog.Logger
	done chan struct{} // closed when sh has exited
	err  error         // exit status, valid after done

	tailMu sync.Mutex
	tail   []string // last lines of stderr, for error messages
	output sync.WaitGroup
}

// StopGrace is how long an organizer gets to exit after SIGTERM before
// its process group is killed (Clapshot's 5 s).
const StopGrace = 5 * time.Second

// shellCommand is what sh runs: the operator's command with the arguments
// appended as Clapshot does. The trap makes SIGUSR1 ignored in the shell
// and, because ignored signals stay ignored across exec, in the organizer:
// logrotate signals the server's process group with it, which would kill a
// plugin that does not expect it.
func shellCommand(cmd string, args []string) string {
	var b strings.Builder
	b.WriteString("trap '' USR1; ")
	b.WriteString(cmd)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote leaves ordinary words as they are (so the command is the one
// Clapshot would run) and single-quotes anything else, e.g. a data
// directory with spaces.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// startProcess launches the organizer command.
func startProcess(command string, args []string, log *slog.Logger) (*process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start organizer: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start organizer: %w", err)
	}
	shell := shellCommand(command, args)
	cmd := exec.Command("sh", "-c", shell)
	// Our own pipes rather than exec's: the organizer (a grandchild) keeps
	// them open after sh exits, and Wait must not wait for or close them.
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If the server dies without cleaning up, sh (or the organizer,
		// when sh execs it) is told to go too.
		Pdeathsig: syscall.SIGTERM,
	}
	log.Info("Starting organizer", "command", "sh -c "+shellQuote(shell))
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		return nil, fmt.Errorf("start organizer (sh -c %q): %w", shell, err)
	}
	outW.Close()
	errW.Close()
	p := &process{cmd: cmd, log: log, done: make(chan struct{})}
	p.output.Add(2)
	go p.forward(outR, false)
	go p.forward(errR, true)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the organizer command has exited.
func (p *process) Done() <-chan struct{} { return p.done }

// ExitError describes how the command ended, with its last stderr lines
// ("sh: 1: nosuch: not found"), for an operator. Only valid after Done.
func (p *process) ExitError() error {
	p.tailMu.Lock()
	tail := strings.Join(p.tail, " | ")
	p.tailMu.Unlock()
	what := "exited"
	if p.err != nil {
		what = p.err.Error()
	}
	if tail != "" {
		return fmt.Errorf("organizer command %s; its last error output: %s", what, tail)
	}
	return fmt.Errorf("organizer command %s", what)
}

// Stop sends SIGTERM to the organizer's process group, waits up to grace
// for it to exit, then kills the group.
func (p *process) Stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.log.Warn("Cannot signal the organizer", "pgid", pgid, "err", err)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	select {
	case <-p.done:
	case <-deadline.C:
	}
	// sh may be gone while the organizer it started lingers in the group.
	for groupAlive(pgid) {
		select {
		case <-deadline.C:
			p.log.Warn("Organizer did not exit after SIGTERM; killing it", "pgid", pgid, "grace", grace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
			// Orphans are reaped by init shortly after.
			for i := 0; i < 100 && groupAlive(pgid); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			p.waitOutput(time.Second)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	<-p.done
	p.waitOutput(time.Second)
}

// groupAlive reports whether any process of the group is still running.
// Zombies do not count: orphans wait for init to reap them, which some
// container inits never do.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && pid > 0 {
			return true
		}
	}
	return false
}

// waitOutput waits (a bounded time) for the output forwarders to reach
// the end of the organizer's output.
func (p *process) waitOutput(d time.Duration) {
	ch := make(chan struct{})
	go func() { p.output.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// forward logs the organizer's output line by line. A line whose first
// word is a level (DEBUG, INFO, WARN/WARNING, ERROR/CRITICAL/FATAL) is
// logged at that level, as Clapshot does; a JSON line with "level" and
// "message" (an organizer started with --json) too. Other lines are INFO
// from stdout and ERROR from stderr.
func (p *process) forward(r io.ReadCloser, stderr bool) {
	defer p.output.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(ansiEscape.ReplaceAllString(sc.Text(), ""), " \t\r")
		if line == "" {
			continue
		}
		level, msg := parseLogLine(line, stderr)
		attrs := []any{"source", "organizer"}
		if stderr {
			attrs = append(attrs, "stream", "stderr")
			p.tailMu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > 5 {
				p.tail = p.tail[1:]
			}
			p.tailMu.Unlock()
		}
		p.log.Log(context.Background(), level, "[organizer] "+msg, attrs...)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		p.log.Warn("Reading the organizer's output failed", "err", err)
	}
}

func levelWord(w string) (slog.Level, bool) {
	switch strings.ToUpper(w) {
	case "DEBUG", "TRACE":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR", "CRITICAL", "FATAL":
		return slog.LevelError, true
	}
	return 0, false
}

func parseLogLine(line string, stderr bool) (slog.Level, string) {
	if strings.HasPrefix(line, "{") {
		var j struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Msg     string `json:"msg"`
			Name    string `json:"name"`
		}
		if json.Unmarshal([]byte(line), &j) == nil && (j.Message != "" || j.Msg != "") {
			if lvl, ok := levelWord(j.Level); ok {
				msg := j.Message + j.Msg
				if j.Name != "" {
					msg = "[" + j.Name + "] " + msg
				}
				return lvl, msg
			}
		}
	}
	first, rest, _ := strings.Cut(line, " ")
	if lvl, ok := levelWord(first); ok && rest != "" {
		return lvl, rest
	}
	if stderr {
		return slog.LevelError, line
	}
	return slog.LevelInfo, line
}
