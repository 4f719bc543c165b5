// Command clapshot-organizer-folders is an organizer plugin for Clapshot
// (and this server) that gives every user folders. It is a drop-in for
// Clapshot's Python basic_folders organizer: same command line, tables and
// behaviour. The server starts it as
//
//	clapshot-organizer-folders <data-dir>/grpc-srv-to-org.sock [--debug] [--json]
//
// and it listens there for the server's calls (OrganizerInbound).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/clapshot-go/clapshot/internal/folders"
	"github.com/clapshot-go/clapshot/internal/version"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

const usage = `Organizer plugin that gives Clapshot users folders.

Usage:
  clapshot-organizer-folders [options] <bind>

<bind> is a Unix socket path (e.g. /srv/clapshot/grpc-srv-to-org.sock), or
with --tcp an address: 127.0.0.1:50051 or [::1]:50051. The Clapshot server
normally starts this program itself (org-cmd in its configuration) and gives
the socket path.

Options:
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("clapshot-organizer-folders", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	debug := fs.BoolP("debug", "d", false, "Debug logging")
	jsonLog := fs.BoolP("json", "j", false, "Log in JSON")
	tcp := fs.BoolP("tcp", "t", false, "Listen on a TCP address instead of a Unix socket")
	showVersion := fs.BoolP("version", "v", false, "Print the version")
	help := fs.BoolP("help", "h", false, "Print this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "Try 'clapshot-organizer-folders --help'.\n")
		return 2
	}
	switch {
	case *help:
		fmt.Fprint(stdout, usage+fs.FlagUsages())
		return 0
	case *showVersion:
		fmt.Fprintln(stdout, version.Version)
		return 0
	case fs.NArg() != 1:
		fmt.Fprintf(stderr, "clapshot-organizer-folders: expected one <bind> argument, got %d\nTry 'clapshot-organizer-folders --help'.\n", fs.NArg())
		return 2
	}
	bind := fs.Arg(0)
	log := newLogger(stdout, stderr, *debug, *jsonLog)

	var ln net.Listener
	var err error
	if *tcp {
		if !regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]*\]):\d+$`).MatchString(bind) {
			log.Error("With --tcp, <bind> must be ip:port or [ipv6]:port", "bind", bind)
			return 2
		}
		ln, err = net.Listen("tcp", bind)
	} else {
		if st, serr := os.Lstat(bind); serr == nil && st.Mode().Type() == os.ModeSocket {
			os.Remove(bind) // a socket left by an earlier run
		}
		ln, err = net.Listen("unix", bind)
	}
	if err != nil {
		log.Error("Cannot listen", "bind", bind, "err", err)
		return 1
	}
	org := folders.New(log, version.Version)
	defer org.Close()
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(folders.MaxMessageBytes), grpc.MaxSendMsgSize(folders.MaxMessageBytes))
	pb.RegisterOrganizerInboundServer(srv, org)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		log.Info("Stopping")
		srv.Stop()
	}()
	log.Info("Organizer listening", "bind", bind, "version", version.Version)
	if err := srv.Serve(ln); err != nil {
		log.Error("Serving failed", "err", err)
		return 1
	}
	if !*tcp {
		os.Remove(bind)
	}
	log.Info("Organizer stopped")
	return 0
}

// newLogger writes lines the Clapshot server merges into its own log:
// "LEVEL [folders] message key=value", below ERROR to stdout and ERROR to
// stderr, or JSON objects with --json. The server adds the time.
func newLogger(stdout, stderr io.Writer, debug, json bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	if json {
		return slog.New(slog.NewJSONHandler(&splitWriter{out: stdout, err: stderr}, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&lineHandler{level: level, out: stdout, err: stderr, mu: &sync.Mutex{}})
}

// splitWriter sends JSON error records to stderr.
type splitWriter struct{ out, err io.Writer }

func (w *splitWriter) Write(b []byte) (int, error) {
	if strings.Contains(string(b), `"level":"ERROR"`) {
		return w.err.Write(b)
	}
	return w.out.Write(b)
}

type lineHandler struct {
	level    slog.Level
	out, err io.Writer
	mu       *sync.Mutex
	attrs    []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteString(" [folders] ")
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	w := h.out
	if r.Level >= slog.LevelError {
		w = h.err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &n
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
