// Command video_server is a drop-in for LdDl/video-server: the same
// flags, configuration file, ports, routes and JSON, on the live engine
// (internal/live). See docs/live.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/clapshot-go/clapshot/internal/live/liveconf"
	"github.com/clapshot-go/clapshot/internal/live/vsapi"
)

func main() {
	os.Exit(run())
}

func run() int {
	conf := flag.String("conf", "conf.toml", "configuration file (.toml or .json)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile to this file on exit")
	flag.Parse()
	// JSON lines with RFC 3339 times, as video-server's zerolog wrote.
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "video_server: -cpuprofile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "video_server: -cpuprofile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := liveconf.Load(*conf)
	if err != nil {
		log.Error("Cannot start", "error", err.Error())
		fmt.Fprintln(os.Stderr, "video_server:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("video_server starting", "conf", cfg.Path)
	err = vsapi.Run(ctx, cfg, log, nil)
	if *memProfile != "" {
		if werr := writeHeap(*memProfile); werr != nil {
			log.Error("memprofile", "error", werr.Error())
		}
	}
	if err != nil {
		log.Error("video_server failed", "error", err.Error())
		return 1
	}
	return 0
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
