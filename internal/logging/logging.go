// Package logging sets up log/slog the way Clapshot's operators expect:
// text with local ISO-8601 times or JSON, -d for debug and -dd for trace,
// to stdout or to a file that is reopened on SIGUSR1 for logrotate.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// LevelTrace is below slog.LevelDebug; -dd enables it.
const LevelTrace = slog.Level(-8)

// Options configure New.
type Options struct {
	File  string // "" = stdout
	JSON  bool
	Debug int // 0 info, 1 debug, 2+ trace
}

// Level maps the -d count to a slog level.
func Level(debug int) slog.Level {
	switch {
	case debug >= 2:
		return LevelTrace
	case debug == 1:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// New builds a logger. The returned Output must be closed at exit; when
// logging to a file, call Output.WatchSIGUSR1 to reopen it for logrotate.
func New(o Options) (*slog.Logger, *Output, error) {
	out := &Output{path: o.File}
	if o.File == "" {
		out.w = os.Stdout
	} else if err := out.Reopen(); err != nil {
		return nil, nil, err
	}
	level := Level(o.Debug)
	subsecond := level < slog.LevelInfo
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				if o.JSON {
					return a
				}
				t := a.Value.Time().Local()
				if subsecond {
					return slog.String(a.Key, t.Format("2006-01-02T15:04:05.0000Z07:00"))
				}
				return slog.String(a.Key, t.Format(time.RFC3339))
			case slog.LevelKey:
				if l, ok := a.Value.Any().(slog.Level); ok && l <= LevelTrace {
					return slog.String(a.Key, "TRACE")
				}
			}
			return a
		},
	}
	var h slog.Handler
	if o.JSON {
		h = slog.NewJSONHandler(out, opts)
	} else {
		h = slog.NewTextHandler(out, opts)
	}
	return slog.New(h), out, nil
}

// Output is a log destination that can be reopened (after logrotate moved the
// file away) without losing or interleaving lines.
type Output struct {
	mu   sync.Mutex
	path string
	w    io.Writer
	f    *os.File
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Write(p)
}

// Reopen closes the log file and opens it again in append mode, creating it
// if logrotate moved it away. It is a no-op for stdout.
func (o *Output) Reopen() error {
	if o.path == "" {
		return nil
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log file %s: %w", o.path, err)
	}
	o.mu.Lock()
	old := o.f
	o.f, o.w = f, f
	o.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// WatchSIGUSR1 reopens the log file on every SIGUSR1 until ctx ends. It
// always consumes the signal, so SIGUSR1 never kills the server even when
// logging to stdout.
func (o *Output) WatchSIGUSR1(ctx context.Context, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if err := o.Reopen(); err != nil {
				log.Error("Cannot reopen log file after SIGUSR1", "err", err)
			} else if o.path != "" {
				log.Info("Log file reopened after SIGUSR1", "file", o.path)
			}
		}
	}
}

// Close closes the log file, if any.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f != nil {
		err := o.f.Close()
		o.f = nil
		o.w = io.Discard
		return err
	}
	return nil
}
