package media

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Tools locates the external programs. The zero value uses ffmpeg,
// ffprobe and nice from PATH with niceness 10, as Clapshot does.
type Tools struct {
	FFmpeg  string
	FFprobe string
	// Nice is the niceness heavy jobs run with; negative disables nice.
	Nice int
	// NoNice disables nice (the zero value of Nice means 10).
	NoNice bool
}

func (t *Tools) ffmpeg() string  { return or(t.FFmpeg, "ffmpeg") }
func (t *Tools) ffprobe() string { return or(t.FFprobe, "ffprobe") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Command is the full argv that runs prog with args under nice.
func (t *Tools) Command(prog string, args ...string) []string {
	if t.NoNice {
		return append([]string{prog}, args...)
	}
	n := t.Nice
	if n == 0 {
		n = 10
	}
	return append([]string{"nice", "-n", strconv.Itoa(n), "--", prog}, args...)
}

// FFmpegCommand is the full argv of an ffmpeg run.
func (t *Tools) FFmpegCommand(args []string) []string { return t.Command(t.ffmpeg(), args...) }

// Progress is one ffmpeg -progress report.
type Progress struct {
	Frame   int64
	FPS     float64
	Speed   string // e.g. "1.23x"; "" when not reported
	OutTime time.Duration
	End     bool
}

// ReadProgress parses ffmpeg's -progress key=value stream and calls fn at
// every "progress=" line (continue or end). It returns at EOF.
func ReadProgress(r io.Reader, fn func(Progress)) error {
	sc := bufio.NewScanner(r)
	var p Progress
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "frame":
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				p.Frame = n
			}
		case "fps":
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				p.FPS = f
			}
		case "speed":
			if val != "N/A" {
				p.Speed = val
			}
		case "out_time_us", "out_time_ms": // both are microseconds
			if n, err := strconv.ParseInt(val, 10, 64); err == nil && n >= 0 {
				p.OutTime = time.Duration(n) * time.Microsecond
			}
		case "progress":
			p.End = val == "end"
			fn(p)
		}
	}
	return sc.Err()
}

// RunOptions control Run.
type RunOptions struct {
	// Env is added to the environment of the process.
	Env []string
	// Stdout and Stderr receive the process's output (stdout goes to
	// Stderr when Stdout is nil).
	Stdout io.Writer
	Stderr io.Writer
	// Progress, if set, receives -progress reports from ProgressFD.
	Progress func(Progress)
	// Started is called with the process id (also its process group id)
	// once it runs.
	Started func(pid int)
}

// ExitError is a process that ran and failed.
type ExitError struct {
	Cmd    string
	Status string // "exit status 1", "signal: killed", ...
}

func (e *ExitError) Error() string { return e.Cmd + ": " + e.Status }

// Run runs argv (see the function Run); it makes Tools the media tools
// of the ingest pipeline.
func (t *Tools) Run(ctx context.Context, argv []string, o RunOptions) error { return Run(ctx, argv, o) }

// Run runs argv to completion. The process gets its own process group,
// which is killed when ctx ends, and is killed by the kernel if this
// process dies (so a crashed server leaves no ffmpeg behind). -progress
// reports written to file descriptor 3 are parsed and passed on.
func Run(ctx context.Context, argv []string, o RunOptions) error {
	if len(argv) == 0 {
		return errors.New("run: empty command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if o.Stdout == nil {
		cmd.Stdout = o.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("progress pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{pw} // becomes fd 3
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	pw.Close()
	pid := cmd.Process.Pid
	if o.Started != nil {
		o.Started(pid)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if o.Progress != nil {
			_ = ReadProgress(pr, o.Progress)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		werr = <-done
	}
	// A grandchild that inherited the pipe (a script's ffmpeg) could keep
	// it open; the group is gone or killed, so do not wait for long.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	waitTimeout(&wg, 2*time.Second)
	pr.Close()
	wg.Wait()

	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return &ExitError{Cmd: commandName(argv), Status: ee.ProcessState.String()}
		}
		return fmt.Errorf("%s: %w", commandName(argv), werr)
	}
	return nil
}

// commandName is the program a (possibly nice-wrapped) argv runs.
func commandName(argv []string) string {
	for i, a := range argv {
		if a == "--" && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return argv[0]
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(d):
	}
}

// SystemErrors are what the system says when a write or read fails. After
// such a failure ffmpeg still prints its encoders' statistics and muxer
// warnings, so the line that names it may be far above the last ones.
var SystemErrors = []string{"No space left on device", "Disk quota exceeded", "File too large",
	"file size limit exceeded", "Read-only file system", "Permission denied", "Input/output error"}

// Tail keeps the last Max bytes written to it (ffmpeg's stderr, for
// error messages and the job log), and the last line that names a system
// error (SystemErrors) even after it has scrolled out of them.
type Tail struct {
	Max     int
	mu      sync.Mutex
	buf     []byte
	partial []byte // the line being written, for Cause
	cause   string
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.Max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	for rest := p; len(rest) > 0; {
		i := bytes.IndexAny(rest, "\r\n")
		if i < 0 {
			if len(t.partial) < 4096 {
				t.partial = append(t.partial, rest...)
			}
			break
		}
		t.partial = append(t.partial, rest[:i]...)
		if line := string(t.partial); containsAny(line, SystemErrors) {
			t.cause = strings.TrimSpace(line)
		}
		t.partial, rest = t.partial[:0], rest[i+1:]
	}
	return len(p), nil
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// String is the kept text.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// WithCause is String, preceded by the last system-error line when that
// has scrolled out of the kept text.
func (t *Tail) WithCause() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cause != "" && !strings.Contains(string(t.buf), t.cause) {
		return t.cause + "\n" + string(t.buf)
	}
	return string(t.buf)
}

// LastLines is the last n non-empty lines, joined by "; ".
func (t *Tail) LastLines(n int) string { return lastLines(t.String(), n) }

// TileSheet makes the sprite sheet o.Sheet from the frames a
// TranscodeArgs or ThumbnailArgs run left at o.SheetFrames(), then removes
// them. A few milliseconds: 100 frames of 160×90. It returns the tail of
// ffmpeg's stderr.
func (t *Tools) TileSheet(ctx context.Context, o Outputs) (string, error) {
	defer os.Remove(o.SheetFrames())
	tail := &Tail{Max: 4096}
	if err := Run(ctx, t.FFmpegCommand(SheetArgs(o)), RunOptions{Stderr: tail}); err != nil {
		return tail.String(), fmt.Errorf("sprite sheet: %w", err)
	}
	return tail.String(), nil
}
