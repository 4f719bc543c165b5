package ingest

import (
	"context"

	"github.com/clapshot-go/clapshot/internal/media"
)

// Tools is how the pipeline runs ffprobe and ffmpeg (and a
// --transcode-script): probe a file, run a command line with progress
// reports, tile a sprite sheet. media.Tools is the real one. The argument
// lists themselves are media's (TranscodeArgs, ThumbnailArgs), checked by
// its golden argv tests.
type Tools interface {
	// Inspect probes and analyses a file.
	Inspect(ctx context.Context, path string) (*media.Probe, media.Info, error)
	// Command is the argv that runs prog with args the way Run runs
	// tools (under nice).
	Command(prog string, args ...string) []string
	// FFmpegCommand is the argv of an ffmpeg run with args.
	FFmpegCommand(args []string) []string
	// Run runs argv to its end: killed with its process group when ctx
	// ends, -progress reports and the process id passed on (o).
	Run(ctx context.Context, argv []string, o media.RunOptions) error
	// TileSheet makes the sprite sheet from the frames a run left, and
	// returns the tail of its stderr.
	TileSheet(ctx context.Context, o media.Outputs) (string, error)
}

var _ Tools = (*media.Tools)(nil)
