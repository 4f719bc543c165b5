package ingest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// A disk that fills up during a transcode: the user is told why, the
// partial output is removed, the original stays, and the pipeline carries
// on. videos/ is a small tmpfs of its own (as when media live on another
// volume) when the test may mount one; otherwise ffmpeg runs under a file
// size limit (prlimit --fsize), which fails its writes the same way a full
// disk fails them for one file.
func TestDiskFullDuringTranscode(t *testing.T) {
	mediatest.Require(t)
	src := mediatest.MakeArgs(t, t.TempDir(), "noise.mkv", "-f", "lavfi", "-i",
		"nullsrc=s=320x240:r=24:d=1,geq=lum='random(1)*255':cb=128:cr=128", "-c:v", "mpeg2video", "-q:v", "2")
	st, _ := os.Stat(src)
	dir := t.TempDir()
	videos := filepath.Join(dir, "videos")
	os.MkdirAll(videos, 0o755)
	var tools *media.Tools
	margin := int64(64 << 10)
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+itoa(st.Size()+margin), "tmpfs", videos).Run(); err == nil {
		t.Cleanup(func() { exec.Command("umount", "-l", videos).Run() })
		t.Log("videos/ is a tmpfs of", st.Size()+margin, "bytes")
	} else {
		if _, err := exec.LookPath("prlimit"); err != nil {
			t.Skip("cannot mount a tmpfs and prlimit is missing (apt-get install util-linux)")
		}
		wrapper := filepath.Join(t.TempDir(), "ffmpeg-limited")
		os.WriteFile(wrapper, []byte("#!/bin/sh\nexec prlimit --fsize="+itoa(margin)+" -- ffmpeg \"$@\"\n"), 0o755)
		tools = &media.Tools{FFmpeg: wrapper}
		t.Log("no tmpfs (", err, "); ffmpeg runs with a file size limit of", margin, "bytes")
	}
	h := newHarnessIn(t, dir, func(o *Options) {
		if tools != nil {
			o.Tools = tools
		}
		o.TargetBitrate = 10_000_000
	})
	h.submit(src, "noise.mkv", "kim", nil)
	h.waitIdle(2 * time.Minute)

	m, ok := h.mediaByName("noise.mkv")
	if !ok {
		t.Fatalf("not ingested: %v", h.rec.all())
	}
	msg, ok := h.errorFor("kim", "noise.mkv")
	if !ok || msg.Text != "Media transcoding failed" ||
		!(strings.Contains(msg.Details, "No space left on device") || strings.Contains(msg.Details, "file size limit exceeded")) {
		t.Fatalf("message: %+v", msg)
	}
	t.Log("the user was told:", msg.Details)
	orig, err := os.ReadFile(filepath.Join(h.l.OrigDir(m.ID), "noise.mkv"))
	want, _ := os.ReadFile(src)
	if err != nil || string(orig) != string(want) {
		t.Errorf("original damaged or lost: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.l.MediaDir(m.ID), "transcoded_*")); len(left) != 0 {
		t.Errorf("partial output left behind: %v", left)
	}
	if m.RecompressionDone != nil {
		t.Error("marked transcoded")
	}
	// Still working.
	h.submit(mediatest.WriteFile(t, t.TempDir(), "after.mp4", []byte("not media")), "after.mp4", "kim", nil)
	h.waitIdle(time.Minute)
	if _, ok := h.errorFor("kim", "after.mp4"); !ok {
		t.Error("the pipeline stopped after the full disk")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
