package livetest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Camera is a running ffmpeg publisher.
type Camera struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	stderr *bytes.Buffer
	once   sync.Once
}

// CameraOptions describe the test picture.
type CameraOptions struct {
	Codec string // "h264" (default) or "h265"
	Size  string // default 320x240
	FPS   int    // default 25
	// GOP in frames (default FPS: one keyframe a second).
	GOP int
	// Audio adds an AAC sine tone.
	Audio bool
	// Bitrate, e.g. "2M" ("": encoder default).
	Bitrate string
	// BFrames between reference frames (H.264; default 0, as a camera).
	BFrames int
}

// ClockFilter burns the wall clock (to the millisecond) into the picture.
const ClockFilter = "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf:" +
	"text='%{localtime\\:%T}.%{eif\\:mod(t*1000\\,1000)\\:d\\:3}':fontsize=20:fontcolor=white:box=1:boxcolor=black:x=8:y=8"

// CameraArgs is the ffmpeg command line publishing the test picture to
// url (shared with the demo, so both run the same camera).
func CameraArgs(url string, o CameraOptions) []string {
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re"}, encoderArgs(o)...)
	return append(args, "-f", "rtsp", "-rtsp_transport", "tcp", url)
}

// encoderArgs are the input and encoder options of the test picture.
func encoderArgs(o CameraOptions) []string {
	if o.Size == "" {
		o.Size = "320x240"
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.GOP == 0 {
		o.GOP = o.FPS
	}
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", o.Size, o.FPS)}
	if o.Audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	args = append(args, "-vf", ClockFilter, "-pix_fmt", "yuv420p")
	g := strconv.Itoa(o.GOP)
	switch o.Codec {
	case "h265":
		args = append(args, "-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
			"-x265-params", "keyint="+g+":min-keyint="+g+":bframes=0:repeat-headers=1:log-level=error")
	default:
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast")
		if o.BFrames == 0 {
			args = append(args, "-tune", "zerolatency")
		}
		args = append(args, "-g", g, "-keyint_min", g, "-bf", strconv.Itoa(o.BFrames))
	}
	if o.Bitrate != "" {
		args = append(args, "-b:v", o.Bitrate, "-maxrate", o.Bitrate, "-bufsize", o.Bitrate)
	}
	if o.Audio {
		args = append(args, "-c:a", "aac", "-b:a", "64k")
	}
	return args
}

// StartCamera publishes the test picture to url until Stop or the end of
// the test.
func StartCamera(t testing.TB, url string, o CameraOptions) *Camera {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Camera{cancel: cancel, done: make(chan struct{}), stderr: &bytes.Buffer{}}
	c.cmd = exec.CommandContext(ctx, "ffmpeg", CameraArgs(url, o)...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.Stop)
	return c
}

// Stop kills ffmpeg and waits for it.
func (c *Camera) Stop() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
}

// Exited reports whether ffmpeg ended by itself, with its error output.
func (c *Camera) Exited() (bool, string) {
	select {
	case <-c.done:
		return true, c.stderr.String()
	default:
		return false, ""
	}
}

// WaitPublishing waits until the server has the path from the camera.
func WaitPublishing(t testing.TB, s *Server, path string, c *Camera) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !s.Publishing(path) {
		if ex, out := c.Exited(); ex {
			t.Fatalf("ffmpeg exited: %s", out)
		}
		if time.Now().After(deadline) {
			t.Fatal("ffmpeg did not start publishing within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// MP4 has ffmpeg write seconds of the test picture (and tone, with
// Audio) to an MP4 file in dir, with extra output options; it returns
// the file's path.
func MP4(t testing.TB, dir, name string, o CameraOptions, seconds float64, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	path := filepath.Join(dir, name)
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, encoderArgs(o)...)
	args = append(append(args, "-t", strconv.FormatFloat(seconds, 'f', -1, 64)), extra...)
	out, err := exec.Command("ffmpeg", append(args, "-y", path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg writing %s: %v: %s", name, err, out)
	}
	return path
}
