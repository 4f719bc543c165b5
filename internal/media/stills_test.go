package media

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// grayFrames makes an H.264 MP4 whose frame n is a flat gray of level
// 16+3n (25 fps, 64 frames), so a still tells which frame it shows.
func grayFrames(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	path := filepath.Join(t.TempDir(), "gray.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", "color=black:size=128x72:rate=25:duration=2.56,geq=lum='16+3*N':cb=128:cr=128",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "12", "-pix_fmt", "yuv420p", "-y", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// frameShown reads which gray frame a still shows.
func frameShown(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if w := img.Bounds().Dx(); w != StillWidth {
		t.Errorf("%s is %d pixels wide, want %d", path, w, StillWidth)
	}
	ycc, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("%s is %T", path, img)
	}
	sum := 0
	for _, y := range ycc.Y {
		sum += int(y)
	}
	// Full-range JPEG: limited-range level L shows as (L-16)*255/219.
	mean := float64(sum) / float64(len(ycc.Y))
	return int((mean*219/255)/3 + 0.5)
}

func TestStills(t *testing.T) {
	src := grayFrames(t)
	tools := &Tools{NoNice: true}
	defaultGap := runGap
	defer func() { runGap = defaultGap }()
	for _, tc := range []struct {
		name   string
		gap    int64 // frames decoded through before seeking instead
		frames []int64
	}{
		{"seeking to each run", 3, []int64{0, 1, 11, 12, 13, 40, 63}},
		{"one run from the start", 100, []int64{63, 0, 5, 5, 24, 25, 26, 50}},
		{"one run after a seek", 100, []int64{37, 38, 50, 63}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runGap = func(float64) int64 { return tc.gap }
			dir := t.TempDir()
			asked := append(tc.frames, 500, -3) // past the end, before the start
			if err := tools.Stills(context.Background(), src, 25, asked, dir); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.frames {
				path := filepath.Join(dir, strconv.FormatInt(f, 10)+".jpg")
				if got := frameShown(t, path); got != int(f) {
					t.Errorf("still of frame %d shows frame %d", f, got)
				}
			}
			entries, _ := os.ReadDir(dir)
			if want := len(uniq(tc.frames)); len(entries) != want {
				names := []string{}
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("%d files %v, want %d (no still past the end, no temporary files)", len(entries), names, want)
			}
		})
	}
	// A file that is not a video fails with ffmpeg's reason.
	bad := filepath.Join(t.TempDir(), "bad.mp4")
	os.WriteFile(bad, []byte("not a video"), 0o644)
	err := tools.Stills(context.Background(), bad, 25, []int64{1, 2, 3}, t.TempDir())
	if err == nil {
		t.Fatal("stills of garbage: no error")
	}
	t.Logf("garbage: %v", err)
}

func uniq(fs []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, f := range fs {
		m[f] = true
	}
	return m
}

func TestStillsArgs(t *testing.T) {
	for _, tc := range []struct {
		frames []int64
		want   []string
	}{
		{[]int64{3, 10}, []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error", "-ss", "0.110000", "-i", "file:/v/a.mp4",
			"-map", "0:v:0", "-vf", "trim=end_frame=8,select='eq(n\\,0)+eq(n\\,7)',scale=640:-2:flags=bicubic,format=yuvj420p",
			"-fps_mode", "passthrough", "-q:v", "4", "-f", "image2", "/t/%06d.jpg"}},
		{[]int64{0}, []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error", "-i", "file:/v/a.mp4",
			"-map", "0:v:0", "-vf", "trim=end_frame=1,select='eq(n\\,0)',scale=640:-2:flags=bicubic,format=yuvj420p",
			"-fps_mode", "passthrough", "-q:v", "4", "-f", "image2", "/t/%06d.jpg"}},
	} {
		if got := StillsArgs("/v/a.mp4", tc.frames, 25, "/t/%06d.jpg"); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("StillsArgs(%v) =\n%q\nwant\n%q", tc.frames, got, tc.want)
		}
	}
}

func TestStillRuns(t *testing.T) {
	for _, tc := range []struct {
		frames []int64
		gap    int64
		max    int
		want   string
	}{
		{[]int64{1, 2, 3}, 5, 10, "[[1 2 3]]"},
		{[]int64{1, 7, 8, 30}, 5, 10, "[[1] [7 8] [30]]"},
		{[]int64{1, 2, 3, 4, 5}, 5, 2, "[[1 2] [3 4] [5]]"},
		{[]int64{0, 6}, 6, 10, "[[0 6]]"},
	} {
		if got := fmt.Sprint(stillRuns(tc.frames, tc.gap, tc.max)); got != tc.want {
			t.Errorf("stillRuns(%v, %d, %d) = %s, want %s", tc.frames, tc.gap, tc.max, got, tc.want)
		}
	}
}
