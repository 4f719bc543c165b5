package orgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
)

// Options configure a run.
type Options struct {
	// Config is the server configuration to start each server with
	// (OrgCmd is required); its DataDir is where the test directories go.
	Config *config.Config
	// TestTimeout bounds one run_test call (default 5 minutes).
	TestTimeout time.Duration
	// Progress, if set, gets a line per test as it finishes.
	Progress io.Writer
	// NewDatabase, if set, gives each server a new empty PostgreSQL
	// database (its URL), seeded with the fixture, instead of a SQLite
	// file in its data directory. Without it Config.DBURL must be unset:
	// every test needs a database of its own.
	NewDatabase func(ctx context.Context) (string, error)
}

// Result is one test's outcome.
type Result struct {
	Name     string
	Passed   bool
	Error    string // the plugin's error, or why the test could not run
	Output   string
	Duration time.Duration
	Dir      string // data directory, with server.log (the plugin's log lines included)
}

// Run lists the plugin's tests (on a server of its own) and runs each
// against a fresh server, data directory and fixture database. Dir is the
// directory holding every test's data directory. A plugin that answers
// list_tests with UNIMPLEMENTED or NOT_FOUND has no tests.
func Run(ctx context.Context, opt Options) (results []Result, dir string, err error) {
	if opt.Config == nil || opt.Config.OrgCmd == "" {
		return nil, "", errors.New("organizer tests need --org-cmd")
	}
	if opt.Config.DBURL != "" && opt.NewDatabase == nil {
		return nil, "", errors.New("organizer tests run each test on a fresh SQLite database of its own; leave out --db-url")
	}
	if opt.TestTimeout <= 0 {
		opt.TestTimeout = 5 * time.Minute
	}
	// Short paths: the plugin's Unix socket lives in each data directory.
	if dir, err = os.MkdirTemp(opt.Config.DataDir, "orgtest-"); err != nil {
		return nil, "", fmt.Errorf("organizer tests: %w", err)
	}
	names, err := listTests(ctx, opt, filepath.Join(dir, "list"))
	if err != nil {
		return nil, dir, err
	}
	for i, name := range names {
		r := runOne(ctx, opt, name, filepath.Join(dir, fmt.Sprintf("t%02d", i+1)))
		results = append(results, r)
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "%s %s (%.1fs)\n", passFail(r.Passed), r.Name, r.Duration.Seconds())
		}
		if ctx.Err() != nil {
			return results, dir, ctx.Err()
		}
	}
	return results, dir, nil
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// server is one started server with its plugin.
type server struct {
	app  *app.App
	stop func()
}

// start seeds a fresh data directory (and database) and starts a server
// on it.
func start(ctx context.Context, opt Options, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := *opt.Config
	if opt.NewDatabase != nil {
		var err error
		if c.DBURL, err = opt.NewDatabase(ctx); err != nil {
			return nil, fmt.Errorf("a database for the test: %w", err)
		}
	}
	if err := SeedFixtureIn(ctx, dir, c.DBURL); err != nil {
		return nil, fmt.Errorf("seed the test database: %w", err)
	}
	c.DataDir, c.Host, c.Port, c.Migrate, c.Workers, c.LogFile = dir, "127.0.0.1", 0, true, 1, ""
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	if c.Debug > 0 {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: level}))
	a, err := app.Start(ctx, &c, log)
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start the server: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	s := &server{app: a, stop: func() {
		cancel()
		if err := <-done; err != nil {
			log.Error("Server stopped with an error", "err", err)
		}
		logf.Close()
	}}
	if a.Organizer.Info() == nil {
		s.stop()
		return nil, fmt.Errorf("the organizer did not connect: %v", a.Organizer.Status()["last_error"])
	}
	return s, nil
}

func listTests(ctx context.Context, opt Options, dir string) ([]string, error) {
	s, err := start(ctx, opt, dir)
	if err != nil {
		return nil, fmt.Errorf("list the organizer's tests: %w (log: %s)", err, filepath.Join(dir, "server.log"))
	}
	defer s.stop()
	names, err := s.app.Organizer.Inbound().ListTests(ctx)
	switch status.Code(err) {
	case codes.OK:
		return names, nil
	case codes.Unimplemented, codes.NotFound:
		return nil, nil
	}
	return nil, fmt.Errorf("list_tests: %w", err)
}

func runOne(ctx context.Context, opt Options, name, dir string) Result {
	r := Result{Name: name, Dir: dir}
	t0 := time.Now()
	defer func() { r.Duration = time.Since(t0) }()
	s, err := start(ctx, opt, dir)
	if err != nil {
		r.Error = err.Error()
		r.Duration = time.Since(t0)
		return r
	}
	defer s.stop()
	res, err := s.app.Organizer.Inbound().RunTest(ctx, name, opt.TestTimeout)
	r.Duration = time.Since(t0)
	if err != nil {
		r.Error = "run_test: " + err.Error()
		return r
	}
	r.Output = res.GetOutput()
	r.Error = res.GetError()
	r.Passed = r.Error == ""
	return r
}

// PrintTable writes the results as a table, then the details of failures,
// and returns how many failed.
func PrintTable(w io.Writer, results []Result) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tRESULT\tTIME")
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1fs\n", r.Name, passFail(r.Passed), r.Duration.Seconds())
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d passed, %d failed\n", len(results)-failed, failed)
	for _, r := range results {
		if r.Passed {
			continue
		}
		fmt.Fprintf(w, "\n--- %s\n%s\n", r.Name, strings.TrimSpace(r.Error))
		if out := strings.TrimSpace(r.Output); out != "" {
			fmt.Fprintf(w, "output:\n%s\n", out)
		}
		fmt.Fprintf(w, "server log: %s\n", filepath.Join(r.Dir, "server.log"))
	}
	return failed
}
