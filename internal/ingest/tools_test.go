package ingest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// observedTools are the real media tools behind a layer that records
// what the pipeline asks of them.
type observedTools struct {
	Tools
	mu    sync.Mutex
	calls []string
}

func (o *observedTools) record(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, s)
}

func (o *observedTools) Inspect(ctx context.Context, path string) (*media.Probe, media.Info, error) {
	o.record("inspect")
	return o.Tools.Inspect(ctx, path)
}

func (o *observedTools) Run(ctx context.Context, argv []string, opt media.RunOptions) error {
	run := "run"
	if slices.Contains(argv, "-progress") && opt.Progress != nil {
		run += " with progress"
	}
	o.record(run)
	return o.Tools.Run(ctx, argv, opt)
}

func (o *observedTools) TileSheet(ctx context.Context, out media.Outputs) (string, error) {
	o.record("tile")
	return o.Tools.TileSheet(ctx, out)
}

// Every tool run of an ingest goes through the pipeline's Tools: a VP9
// upload is inspected, transcoded with progress reports (thumbnails made
// by the same decode) and its sprite sheet tiled, and it plays.
func TestToolsSeam(t *testing.T) {
	mediatest.Require(t)
	tools := &observedTools{Tools: &media.Tools{}}
	h := newHarness(t, func(o *Options) { o.Tools = tools })
	spec := mediatest.Families["vp9_webm"]
	h.submit(mediatest.Make(t, t.TempDir(), spec, mediatest.Small), spec.Name, "alice", nil)
	h.waitIdle(2 * time.Minute)
	m, ok := h.mediaByName(spec.Name)
	if !ok || m.RecompressionDone == nil || m.ThumbSheetCols == nil {
		t.Fatalf("not transcoded with thumbnails: %+v", m)
	}
	tools.mu.Lock()
	defer tools.mu.Unlock()
	if got, want := strings.Join(tools.calls, ", "), "inspect, run with progress, tile"; got != want {
		t.Errorf("tool calls: %s, want %s", got, want)
	}
}
