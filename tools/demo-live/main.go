// Command demo-live runs a test camera on loopback (make demo-live): an
// RTSP server (gortsplib's, in this process) at rtsp://127.0.0.1:8554/cam
// fed by ffmpeg with lavfi's testsrc2 picture, a burnt-in wall clock and a
// sine tone, and, unless -camera-only, video_server with the example
// configuration (docs/examples/live.toml), whose stream points at that
// camera. clapshot-server shows the same camera on its Live page with
// `make run LIVE_CONFIG=docs/examples/live.toml`. The end-to-end tests of
// the web UI start the camera alone (-camera-only -rtsp 127.0.0.1:0) and
// read its URL from the "Test camera: rtsp://..." line.
// Ctrl-C (or SIGTERM) stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/liveconf"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

type options struct {
	rtsp, path  string
	camera      livetest.CameraOptions
	videoServer string // "" with -camera-only
	conf, dir   string
}

func main() {
	var o options
	flag.StringVar(&o.rtsp, "rtsp", "127.0.0.1:8554", "address of the test camera's RTSP server")
	flag.StringVar(&o.path, "path", "cam", "path of the camera on it")
	flag.StringVar(&o.camera.Codec, "codec", "h264", "h264 or h265")
	flag.StringVar(&o.camera.Size, "size", "640x360", "picture size")
	flag.IntVar(&o.camera.FPS, "fps", 25, "frames per second (a keyframe every second)")
	flag.StringVar(&o.camera.Bitrate, "bitrate", "1M", "video bitrate")
	noAudio := flag.Bool("no-audio", false, "no AAC tone")
	flag.StringVar(&o.videoServer, "video-server", "bin/video_server", "video_server binary")
	cameraOnly := flag.Bool("camera-only", false, "start only the camera (for clapshot-server with --live-config)")
	flag.StringVar(&o.conf, "conf", "docs/examples/live.toml", "video_server configuration")
	flag.StringVar(&o.dir, "dir", "demo/live", "working directory of video_server (its ./hls) and the logs")
	flag.Parse()
	o.camera.Audio = !*noAudio
	if *cameraOnly {
		o.videoServer = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, func(s string) { fmt.Println(s) }); err != nil {
		fmt.Fprintln(os.Stderr, "demo-live:", err)
		os.Exit(1)
	}
}

// run starts the camera (and video_server), calls ready with what to open,
// and stops everything when ctx ends.
func run(ctx context.Context, o options, say func(string)) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg is needed for the test camera (apt-get install ffmpeg)")
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	srv, err := livetest.NewServer(o.rtsp, "", "")
	if err != nil {
		return fmt.Errorf("test camera's RTSP server: %w (is another demo running?)", err)
	}
	defer srv.Close()
	url := srv.URL(o.path)

	camDone := make(chan struct{})
	go func() {
		defer close(camDone)
		camera(ctx, url, o.camera, filepath.Join(dir, "camera.log"), say)
	}()
	defer func() { <-camDone }()
	deadline := time.Now().Add(15 * time.Second)
	for !srv.Publishing(o.path) {
		if time.Now().After(deadline) {
			return fmt.Errorf("ffmpeg did not start publishing within 15 s (see %s)", filepath.Join(dir, "camera.log"))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	say(fmt.Sprintf("Test camera: %s (%s %s, %d fps, clock burnt in)", url, o.camera.Codec, o.camera.Size, o.camera.FPS))

	if o.videoServer == "" {
		say("Start the review app with it:  make run LIVE_CONFIG=" + o.conf)
		say("Ctrl-C stops the camera.")
		<-ctx.Done()
		return nil
	}
	conf, err := filepath.Abs(o.conf)
	if err != nil {
		return err
	}
	cfg, err := liveconf.Load(conf)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(o.videoServer)
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "video_server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	vs := exec.Command(bin, "-conf", conf)
	vs.Dir, vs.Stdout, vs.Stderr = dir, logf, logf
	vs.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := vs.Start(); err != nil {
		return fmt.Errorf("video_server: %w", err)
	}
	vsDone := make(chan error, 1)
	go func() { vsDone <- vs.Wait() }()
	for _, line := range describe(cfg, conf) {
		say(line)
	}
	say("The same camera on the review app's Live page, in another terminal:  make run LIVE_CONFIG=" + o.conf)
	say("video_server logs to " + logf.Name() + ". Ctrl-C stops everything.")
	select {
	case <-ctx.Done():
		_ = vs.Process.Signal(syscall.SIGTERM)
		// The demo is ending either way: how video_server exits is not news.
		select {
		case <-vsDone: //nolint:errcheck
		case <-time.After(15 * time.Second):
			_ = vs.Process.Kill()
			<-vsDone //nolint:errcheck
		}
		return nil
	case err := <-vsDone:
		return fmt.Errorf("video_server exited (%v); see %s", err, logf.Name())
	}
}

// camera runs ffmpeg until ctx ends, starting it again if it fails.
func camera(ctx context.Context, url string, o livetest.CameraOptions, logPath string, say func(string)) {
	for ctx.Err() == nil {
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			say("camera log: " + err.Error())
			return
		}
		cmd := exec.CommandContext(ctx, "ffmpeg", livetest.CameraArgs(url, o)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		err = cmd.Run()
		logf.Close()
		if ctx.Err() != nil {
			return
		}
		say(fmt.Sprintf("ffmpeg (the camera) stopped (%v); starting it again in 1 s", err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// describe says what to open for each stream of the configuration.
func describe(cfg *liveconf.File, conf string) []string {
	api := fmt.Sprintf("http://%s:%d", cfg.API.Host, cfg.API.Port)
	video := fmt.Sprintf("http://%s:%d", cfg.Video.Host, cfg.Video.Port)
	out := []string{"video_server with " + conf + ":"}
	if cfg.API.Enabled {
		out = append(out, "  API:     "+api+"/list  "+api+"/status  "+api+"/metrics")
	}
	streams, _ := cfg.StreamConfigs()
	for _, s := range streams {
		out = append(out, fmt.Sprintf("  stream %s (%s), outputs %s:", s.ID, s.Name, strings.Join(s.OutputTypes(), ", ")))
		if s.LLHLS {
			out = append(out, "    LL-HLS: "+video+"/llhls/"+s.ID+"/index.m3u8")
		}
		if s.HLS {
			out = append(out, "    HLS:    "+video+"/hls/"+s.ID+".m3u8")
		}
		if s.MSE {
			out = append(out, "    MSE:    ws"+strings.TrimPrefix(video, "http")+"/ws/live?stream_id="+s.ID)
		}
	}
	return out
}
