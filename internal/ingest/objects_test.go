package ingest

import (
	"path/filepath"
	"testing"

	"github.com/clapshot-go/clapshot/internal/mediadir"
)

// A job names files in the data directory of the process that queued it;
// a worker with a data directory of its own (or the shared one mounted
// elsewhere) finds them in its own, below videos/<id>/.
func TestJobPath(t *testing.T) {
	p := New(Options{Layout: mediadir.Layout{DataDir: "/spool/w1"}})
	for _, c := range []struct{ id, in, want string }{
		{"0a1b2c3d", "/srv/clapshot/videos/0a1b2c3d/orig/clip.mkv", "/spool/w1/videos/0a1b2c3d/orig/clip.mkv"},
		{"0a1b2c3d", "/srv/clapshot/videos/0a1b2c3d/video.mp4", "/spool/w1/videos/0a1b2c3d/video.mp4"},
		// A data directory whose own path looks like the layout.
		{"0a1b2c3d", "/srv/videos/0a1b2c3d/data/videos/0a1b2c3d/orig/x.mkv", "/spool/w1/videos/0a1b2c3d/orig/x.mkv"},
		// Already ours.
		{"0a1b2c3d", "/spool/w1/videos/0a1b2c3d/orig/clip.mkv", "/spool/w1/videos/0a1b2c3d/orig/clip.mkv"},
		// Another media file's path, or no layout at all: unchanged.
		{"0a1b2c3d", "/srv/clapshot/videos/4e5f6a7b/orig/clip.mkv", "/srv/clapshot/videos/4e5f6a7b/orig/clip.mkv"},
		{"0a1b2c3d", "/elsewhere/clip.mkv", "/elsewhere/clip.mkv"},
	} {
		if got := p.jobPath(c.id, filepath.FromSlash(c.in)); got != filepath.FromSlash(c.want) {
			t.Errorf("jobPath(%s, %s) = %s, want %s", c.id, c.in, got, c.want)
		}
	}
}
