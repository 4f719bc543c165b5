// Command clapshot-worker runs the media pipeline's ffmpeg jobs
// (transcodes, thumbnails, HLS ladders) from the PostgreSQL job queue that
// clapshot-server instances started with the same --db-url fill. It takes
// the server's options and config file; those about serving are ignored.
// The data directory must be the servers' (a shared file system).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/logging"
	"github.com/clapshot-go/clapshot/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 2 for a bad command line or config, 1 for failures at run
// time.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, action, err := config.Parse(args, os.LookupEnv)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "clapshot-worker: %v\nTry 'clapshot-worker --help' for more information.\n", err)
		return 2
	case action == config.ActionHelp:
		fmt.Fprint(stdout, "clapshot-worker runs transcodes, thumbnails and HLS ladders for clapshot-server instances\n"+
			"sharing a PostgreSQL database (--db-url, required) and a data directory (-D). It takes the server's options:\n\n"+config.Usage())
		return 0
	case action == config.ActionVersion:
		fmt.Fprintln(stdout, version.String())
		return 0
	case action != config.ActionRun:
		fmt.Fprintln(stderr, "clapshot-worker: that option is clapshot-server's")
		return 2
	}
	log, logOut, err := logging.New(logging.Options{File: cfg.LogFile, JSON: cfg.JSONLog, Debug: cfg.Debug})
	if err != nil {
		fmt.Fprintf(stderr, "clapshot-worker: %v\n", err)
		return 1
	}
	defer logOut.Close()
	// SIGINT/SIGTERM: running jobs are stopped and go back in the queue
	// for another worker (or this one's next start).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go logOut.WatchSIGUSR1(ctx, log)
	if err := app.RunWorker(ctx, cfg, log); err != nil {
		log.Error("clapshot-worker failed", "err", err)
		fmt.Fprintf(stderr, "clapshot-worker: %v\n", err)
		return 1
	}
	return 0
}
