package media

import (
	"context"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	for _, tc := range []struct {
		name     string
		duration float64 // steers seeking (long) or one pass (short)
		frames   []int64
	}{
		{"seeking", 1e6, []int64{0, 1, 11, 12, 13, 40, 63}},
		{"one pass", 1, []int64{63, 0, 5, 5, 24, 25, 26, 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			asked := append(tc.frames, 500, -3) // past the end, before the start
			if err := tools.Stills(context.Background(), src, 25, tc.duration, asked, dir); err != nil {
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
	err := tools.Stills(context.Background(), bad, 25, 10, []int64{1, 2, 3}, t.TempDir())
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
	got := PassStillsArgs("/v/a.mp4", []int64{3, 10}, "/t/%06d.jpg")
	want := []string{"-nostdin", "-nostats", "-hide_banner", "-y", "-v", "error", "-i", "file:/v/a.mp4",
		"-map", "0:v:0", "-vf", "trim=end_frame=11,select='eq(n\\,3)+eq(n\\,10)',scale=640:-2:flags=bicubic,format=yuvj420p",
		"-fps_mode", "passthrough", "-q:v", "4", "-f", "image2", "/t/%06d.jpg"}
	if len(got) != len(want) {
		t.Fatalf("PassStillsArgs = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("arg %d = %q, want %q", i, got[i], want[i])
		}
	}
	seek := SeekStillArgs("/v/a.mp4", 25, 25, "/t/25.jpg")
	if seek[7] != "0.990000" {
		t.Errorf("seek target %s, want a quarter frame before 1 s", seek[7])
	}
}
