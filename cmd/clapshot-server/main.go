// Command clapshot-server is a drop-in replacement for Clapshot's server:
// same command line, config file, database, websocket protocol and
// organizer plugin API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/folders"
	"github.com/clapshot-go/clapshot/internal/logging"
	"github.com/clapshot-go/clapshot/internal/orgtest"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 2 for a bad command line or config, 1 for failures at run
// time (including a second interrupt signal).
func run(args []string, stdout, stderr io.Writer) int {
	cfg, action, err := config.Parse(args, os.LookupEnv)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "clapshot-server: %v\nTry 'clapshot-server --help' for more information.\n", err)
		return 2
	case action == config.ActionHelp:
		fmt.Fprint(stdout, config.Usage())
		return 0
	case action == config.ActionVersion:
		fmt.Fprintln(stdout, version.String())
		return 0
	case action == config.ActionOrgTest:
		return runOrgTests(cfg, stdout, stderr)
	case action == config.ActionMigrateTo:
		return runMigrateTo(cfg, stdout, stderr)
	}

	log, logOut, err := logging.New(logging.Options{File: cfg.LogFile, JSON: cfg.JSONLog, Debug: cfg.Debug})
	if err != nil {
		fmt.Fprintf(stderr, "clapshot-server: %v\n", err)
		return 1
	}
	defer logOut.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go logOut.WatchSIGUSR1(ctx, log)

	// First SIGINT/SIGTERM: graceful shutdown. Second: exit at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			log.Info("Shutting down; send the signal again to exit immediately", "signal", s.String())
			cancel()
		case <-ctx.Done():
			return
		}
		s := <-sigs
		log.Error("Second signal received, exiting without cleanup", "signal", s.String())
		logOut.Close()
		os.Exit(1)
	}()

	a, err := app.Start(ctx, cfg, log)
	if err != nil && ctx.Err() != nil {
		// A signal during start-up (/api/health answers from the start,
		// so a supervisor may well send one): a clean stop, not a failure.
		log.Info("Start-up interrupted by a signal", "detail", err.Error())
		log.Info("Clapshot server stopped")
		return 0
	}
	if err != nil {
		log.Error("Cannot start: " + err.Error())
		if cfg.LogFile != "" {
			fmt.Fprintf(stderr, "clapshot-server: %v\n", err)
		}
		return 1
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("Server failed: " + err.Error())
		return 1
	}
	return 0
}

// runOrgTests is --org-test: the organizer's own tests, each against a
// fresh server, data directory and test database; a table on stdout.
func runOrgTests(cfg *config.Config, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "Running the tests of organizer %q\n", cfg.OrgCmd)
	results, dir, err := orgtest.Run(ctx, orgtest.Options{Config: cfg, Progress: stderr})
	failed := orgtest.PrintTable(stdout, results)
	if err != nil {
		fmt.Fprintf(stderr, "clapshot-server: organizer tests: %v\n", err)
	}
	if err != nil || failed > 0 {
		fmt.Fprintf(stderr, "Test data directories kept in %s\n", dir)
		return 1
	}
	if len(results) == 0 {
		fmt.Fprintln(stdout, "The organizer lists no tests.")
	}
	os.RemoveAll(dir)
	return 0
}

// runMigrateTo is --migrate-to: the SQLite database into PostgreSQL, with
// a table of the row counts on both sides on stdout. Exit status 0 only
// when every count matches and the copy is committed.
func runMigrateTo(cfg *config.Config, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Progress on stderr, whatever --log says: the report is on stdout.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logging.Level(cfg.Debug)}))
	target := store.RedactURL(cfg.MigrateTo)
	fmt.Fprintf(stdout, "Copying %s into %s\n", cfg.DBPath(), target)
	// The folders organizer's tables (basic_folders', Clapshot's Python
	// organizer's too) move with the server's; another plugin's stay.
	rep, err := store.CopyToPostgres(ctx, store.CopyOptions{SQLitePath: cfg.DBPath(), URL: cfg.MigrateTo,
		Schemas: []store.CopySchema{folders.CopySchema}, Log: log})
	if rep != nil {
		if rep.Upgraded {
			fmt.Fprintf(stdout, "The file is at schema version %s: a copy of it was upgraded first (the file is unchanged).\n", rep.SourceVersion)
		}
		width := len("table")
		for _, t := range rep.Tables {
			width = max(width, len(t.Table))
		}
		fmt.Fprintf(stdout, "%-*s  %10s  %10s\n", width, "table", "SQLite", "PostgreSQL")
		for _, t := range rep.Tables {
			mark := ""
			if t.SQLite != t.Postgres {
				mark = "  MISMATCH"
			}
			fmt.Fprintf(stdout, "%-*s  %10d  %10d%s\n", width, t.Table, t.SQLite, t.Postgres, mark)
		}
		if len(rep.LeftBehind) > 0 {
			fmt.Fprintln(stdout, "Left in the SQLite file, not copied (another organizer plugin's tables: on PostgreSQL it starts with empty tables of its own; the folders organizer's tables are copied):")
			for _, t := range rep.LeftBehind {
				fmt.Fprintf(stdout, "  %s: %d rows\n", t.Table, t.SQLite)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "clapshot-server: copy to PostgreSQL failed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Done: %d tables copied, every row count matches. Now set db-url to this database and start the server.\n", len(rep.Tables))
	return 0
}
