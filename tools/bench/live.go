package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/coder/websocket"
	"github.com/pion/rtp"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

func init() {
	register(Suite{Name: "live", Title: "Live cameras: RTSP to MSE and LL-HLS, video_server vs mediamtx", Run: runLive})
}

var (
	videoServerBin = flag.String("video-server", "bin/video_server", "video_server binary for the live suite")
	mediamtxBin    = flag.String("mediamtx", "bin/tools/mediamtx-v1.21.0/mediamtx",
		"mediamtx binary for the live suite (built by hand from its v1.21.0 source; see docs/BENCHMARKS.md)")
	liveProfile = flag.String("live-cpuprofile", "", "live suite: write video_server's CPU profiles to FILE-single, FILE-fanout and FILE-scale")
	liveParts   = flag.String("live-parts", "single,fanout,scale",
		"live suite: the parts to run (single: latency and camera returns; fanout: many MSE viewers; scale: streams per core); a section written with fewer parts has only their rows")
)

// The load: every stream is the same pre-encoded 1080p30 2 Mbit/s H.264
// clip (ffmpeg's testsrc2 with a burnt-in clock, 1 s GOP), replayed in
// real time by a gortsplib publisher into an RTSP server in this process
// that both servers pull from, with each frame's send time in an SEI NAL
// unit so that latency is measured on the bytes a viewer gets.
type liveSizes struct {
	streams int           // streams per server for the per-stream figures
	viewers int           // MSE viewers on one stream for the fan-out figure
	measure time.Duration // CPU measurement window
	warm    time.Duration // settling time before a measurement
	returns int           // camera returns timed
}

func runLive(ctx context.Context, env *Env) (*Report, error) {
	sz := liveSizes{streams: 16, viewers: 100, measure: 15 * time.Second, warm: 4 * time.Second, returns: 3}
	if env.Quick {
		sz = liveSizes{streams: 3, viewers: 20, measure: 4 * time.Second, warm: 2 * time.Second, returns: 1}
	}
	ours, err := filepath.Abs(*videoServerBin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(ours); err != nil {
		return nil, fmt.Errorf("video_server binary: %w (make video-server builds it)", err)
	}
	mtx, _ := filepath.Abs(*mediamtxBin)
	if _, err := os.Stat(mtx); err != nil {
		return nil, fmt.Errorf("mediamtx binary %s: %w (the reference; see docs/BENCHMARKS.md for how it is built)", mtx, err)
	}

	env.Logf("   encoding the 1080p30 2 Mbit/s clip with ffmpeg")
	clip, err := livetest.Encode(ctx, livetest.CameraOptions{Size: "1920x1080", FPS: 30, GOP: 30, Bitrate: "2M"}, 10)
	if err != nil {
		return nil, err
	}
	var clipBytes int
	for _, au := range clip.AUs {
		for _, n := range au {
			clipBytes += len(n)
		}
	}
	load, err := newLiveLoad(clip)
	if err != nil {
		return nil, err
	}
	defer load.close()
	for i := range sz.streams {
		load.start(i)
	}

	rep := &Report{}
	rep.Notes = append(rep.Notes, fmt.Sprintf("Load: %d publishers (gortsplib, in the benchmark process) replay a %d-frame 1920x1080 30 fps H.264 clip of %.2f Mbit/s (ffmpeg testsrc2 with a burnt-in clock, keyframe every 30 frames) into an RTSP server in the same process; both servers pull every stream from it over RTSP/TCP. CPU is the run time of the server's threads (/proc/PID/task/*/schedstat: user and system time, in nanoseconds), memory its VmRSS.",
		sz.streams, len(clip.AUs), float64(clipBytes)*8/float64(len(clip.AUs))*30/1e6))

	parts := map[string]bool{}
	for _, p := range strings.Split(*liveParts, ",") {
		parts[strings.TrimSpace(p)] = true
	}
	if parts["single"] {
		if err := benchLiveSingle(ctx, env, rep, sz, load, ours, mtx); err != nil {
			return rep, err
		}
	}
	if parts["fanout"] {
		if err := benchLiveFanout(ctx, env, rep, sz, load, ours); err != nil {
			return rep, err
		}
	}
	if parts["scale"] {
		if err := benchLiveScale(ctx, env, rep, sz, load, ours, mtx); err != nil {
			return rep, err
		}
	}
	rep.Notes = append(rep.Notes,
		"mediamtx "+mediamtxVersion+" is built by hand, outside the repository, and only run here (`-mediamtx PATH`, default bin/tools/mediamtx-"+mediamtxVersion+"/mediamtx): `go install` is refused (the proxy will not list its versions), so its "+mediamtxVersion+" module zip from the Go proxy was unpacked, the two files its release generates were stubbed (internal/core/VERSION; internal/servers/hls/hls.min.js, the player page this benchmark does not use) and it was built with `CGO_ENABLED=0 go build`. No mediamtx code or build script is in this repository.",
		"Streams per core = 1 / (CPU share of one core per stream). Ours serves each viewer over MSE (fMP4 muxing, websocket); mediamtx's viewers read RTSP, its cheapest output (it has no MSE), so mediamtx does less work per viewer.")
	return rep, nil
}

const mediamtxVersion = "v1.21.0"

// liveLoad is the cameras: an RTSP server and one publisher per path.
type liveLoad struct {
	clip *livetest.Clip
	srv  *livetest.Server

	mu      sync.Mutex
	cancels map[int]context.CancelFunc
	wg      sync.WaitGroup
}

func newLiveLoad(clip *livetest.Clip) (*liveLoad, error) {
	srv, err := livetest.NewServer("127.0.0.1:0", "", "")
	if err != nil {
		return nil, err
	}
	return &liveLoad{clip: clip, srv: srv, cancels: map[int]context.CancelFunc{}}, nil
}

func (l *liveLoad) url(i int) string { return l.srv.URL(fmt.Sprintf("cam%d", i)) }

// start publishes camera i (again) and waits until the server has it.
func (l *liveLoad) start(i int) {
	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.cancels[i] = cancel
	l.mu.Unlock()
	l.wg.Go(func() {
		for ctx.Err() == nil {
			_ = livetest.Publish(ctx, l.url(i), l.clip, livetest.PublishOptions{Stamp: true, Loop: true})
			time.Sleep(100 * time.Millisecond)
		}
	})
	path := fmt.Sprintf("cam%d", i)
	for deadline := time.Now().Add(5 * time.Second); !l.srv.Publishing(path) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// stop takes camera i away; its readers are disconnected.
func (l *liveLoad) stop(i int) {
	l.mu.Lock()
	cancel := l.cancels[i]
	delete(l.cancels, i)
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	path := fmt.Sprintf("cam%d", i)
	for deadline := time.Now().Add(5 * time.Second); l.srv.Publishing(path) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *liveLoad) close() {
	l.mu.Lock()
	for _, c := range l.cancels {
		c()
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.srv.Close()
}

// liveProc is a server under test.
type liveProc struct {
	name string
	cmd  *exec.Cmd
	dir  string
	// ports
	api, video, rtsp, hls int
}

func (p *liveProc) pid() int { return p.cmd.Process.Pid }

func (p *liveProc) stop() {
	// Stopping is best effort: the figures are already taken.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// freePorts finds n different free loopback ports (all held open until
// chosen, so that none is given twice).
func freePorts(n int) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		out[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}

// logTail is the end of a server's log, for errors.
func (p *liveProc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, p.name+".log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func startProc(ctx context.Context, name, dir string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// procDir makes a server's working directory with its configuration
// file, written by conf from n free ports.
func procDir(env *Env, name string, n int, file string, conf func(ports []int) string) (string, []int, error) {
	ports, err := freePorts(n)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(env.Work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	return dir, ports, os.WriteFile(filepath.Join(dir, file), []byte(conf(ports)), 0o644)
}

// startOurs runs video_server without streams (they are added through
// /enable_camera, so that its idle memory can be measured first).
func startOurs(ctx context.Context, env *Env, bin, tag string) (*liveProc, error) {
	dir, ports, err := procDir(env, "ours-"+tag, 2, "conf.toml", func(ports []int) string {
		return fmt.Sprintf("[api]\nenabled = true\nhost = \"127.0.0.1\"\nport = %d\n\n[video]\nhost = \"127.0.0.1\"\nport = %d\n\n[llhls]\nms_per_segment = 1000\nms_per_part = 200\n",
			ports[0], ports[1])
	})
	if err != nil {
		return nil, err
	}
	args := []string{bin, "-conf", filepath.Join(dir, "conf.toml")}
	if *liveProfile != "" {
		args = append(args, "-cpuprofile", *liveProfile+"-"+tag)
	}
	cmd, err := startProc(ctx, "video_server", dir, args...)
	if err != nil {
		return nil, err
	}
	p := &liveProc{name: "video_server", cmd: cmd, dir: dir, api: ports[0], video: ports[1]}
	if err := waitOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/list", p.api)); err != nil {
		p.stop()
		return nil, fmt.Errorf("video_server: %w; its log:\n%s", err, p.logTail())
	}
	return p, nil
}

// startMediamtx runs mediamtx with RTSP (TCP), its API and, when hls is
// set, LL-HLS muxing every stream (as ours does) with the same segment and
// part lengths. Everything else is off.
func startMediamtx(ctx context.Context, env *Env, bin, tag string, hls bool) (*liveProc, error) {
	dir, ports, err := procDir(env, "mediamtx-"+tag, 3, "mediamtx.yml", func(ports []int) string {
		return fmt.Sprintf(`logLevel: warn
api: true
apiAddress: 127.0.0.1:%d
rtsp: true
rtspTransports: [tcp]
rtspAddress: 127.0.0.1:%d
rtmp: false
webrtc: false
srt: false
moq: false
hls: %v
hlsAddress: 127.0.0.1:%d
hlsAlwaysRemux: true
hlsVariant: lowLatency
hlsSegmentCount: 7
hlsSegmentDuration: 1s
hlsPartDuration: 200ms
paths: {}
`, ports[0], ports[1], hls, ports[2])
	})
	if err != nil {
		return nil, err
	}
	cmd, err := startProc(ctx, "mediamtx", dir, bin, filepath.Join(dir, "mediamtx.yml"))
	if err != nil {
		return nil, err
	}
	p := &liveProc{name: "mediamtx", cmd: cmd, dir: dir, api: ports[0], rtsp: ports[1], hls: ports[2]}
	// (gin answers HEAD with 404, so not waitOK.)
	if err := waitJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/paths/list", p.api), func(v map[string]any) bool { return v != nil }); err != nil {
		p.stop()
		return nil, fmt.Errorf("mediamtx: %w; its log:\n%s", err, p.logTail())
	}
	return p, nil
}

func streamGUID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func postJSON(ctx context.Context, url string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	return nil
}

// addStream has the server pull camera i and waits until media flows.
func (p *liveProc) addStream(ctx context.Context, load *liveLoad, i int, outputs []string) error {
	if p.name == "mediamtx" {
		path := fmt.Sprintf("cam%d", i)
		if err := postJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/config/paths/add/%s", p.api, path),
			map[string]any{"source": load.url(i), "rtspTransport": "tcp"}); err != nil {
			return err
		}
		return waitJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/paths/get/%s", p.api, path), func(v map[string]any) bool {
			return v["ready"] == true
		})
	}
	if err := postJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/enable_camera", p.api),
		map[string]any{"guid": streamGUID(i), "url": load.url(i), "output_types": outputs, "transport": "tcp"}); err != nil {
		return err
	}
	return waitJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/status", p.api), func(v map[string]any) bool {
		st, _ := v["streams"].(map[string]any)
		s, _ := st[streamGUID(i)].(map[string]any)
		return s["status"] == true
	})
}

func waitJSON(ctx context.Context, url string, ok func(map[string]any) bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			var v map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if ok(v) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: not ready within 20 s", url)
}

// viewer is one client reading a stream, MSE (ours) or RTSP (mediamtx).
// It records the latency of every frame (arrival minus the stamp the
// publisher put in it) while recording is on.
type viewer struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	recording bool
	lat       []time.Duration
	frames    int
	first     time.Time // arrival of the first frame stamped after since
	since     time.Time
}

func (v *viewer) got(b []byte) {
	now := time.Now()
	stamps := livetest.Stamps(b)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.frames += len(stamps)
	for _, s := range stamps {
		if v.recording {
			v.lat = append(v.lat, now.Sub(s))
		}
		if !v.since.IsZero() && v.first.IsZero() && !s.Before(v.since) {
			v.first = now
		}
	}
}

func (v *viewer) record(on bool) {
	v.mu.Lock()
	v.recording = on
	v.mu.Unlock()
}

func (v *viewer) latencies() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Duration(nil), v.lat...)
}

// waitFrameAfter waits for the first frame sent at or after t.
func (v *viewer) waitFrameAfter(t time.Time, within time.Duration) (time.Time, error) {
	v.mu.Lock()
	v.since, v.first = t, time.Time{}
	v.mu.Unlock()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		f := v.first
		v.mu.Unlock()
		if !f.IsZero() {
			return f, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("no frame within %s", within)
}

func (v *viewer) close() {
	v.cancel()
	<-v.done
}

// mseViewer reads video_server's websocket until closed.
func mseViewer(ctx context.Context, p *liveProc, i int) (*viewer, error) {
	ctx, cancel := context.WithCancel(ctx)
	url := fmt.Sprintf("ws://127.0.0.1:%d/ws/live?stream_id=%s", p.video, streamGUID(i))
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	conn.SetReadLimit(16 << 20)
	v := &viewer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		defer conn.CloseNow()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			v.got(b)
		}
	}()
	return v, nil
}

// rtspViewer reads a stream over RTSP/TCP, reconnecting when it ends (a
// player that retries), and reassembles the frames to find their stamps.
func rtspViewer(ctx context.Context, url string) *viewer {
	ctx, cancel := context.WithCancel(ctx)
	v := &viewer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		for ctx.Err() == nil {
			_ = readRTSP(ctx, url, v)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return v
}

func readRTSP(ctx context.Context, url string, v *viewer) error {
	u, err := base.ParseURL(url)
	if err != nil {
		return err
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return errors.New("no H.264")
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		return err
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return err
	}
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err == nil {
			v.got(bytes.Join(au, nil))
		}
	})
	if _, err := c.Play(nil); err != nil {
		return err
	}
	return c.Wait()
}

// cpuShare is a server's CPU use over d as a share of one core, from its
// threads' run time in nanoseconds (/proc/PID/stat counts 10 ms ticks,
// too coarse for a stream that uses 1 % of a core).
func cpuShare(ctx context.Context, pid int, d time.Duration) (float64, error) {
	t0, err := runTimeNs(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	t1, err := runTimeNs(pid)
	if err != nil {
		return 0, err
	}
	return float64(t1-t0) / float64(time.Since(start)), nil
}

// benchLiveSingle: one stream, latency (MSE, LL-HLS), and the camera
// going away and coming back.
func benchLiveSingle(ctx context.Context, env *Env, rep *Report, sz liveSizes, load *liveLoad, oursBin, mtxBin string) error {
	ours, err := startOurs(ctx, env, oursBin, "single")
	if err != nil {
		return err
	}
	defer ours.stop()
	if err := ours.addStream(ctx, load, 0, []string{"mse", "llhls"}); err != nil {
		return fmt.Errorf("video_server: %w", err)
	}
	mtx, err := startMediamtx(ctx, env, mtxBin, "single", true)
	if err != nil {
		return err
	}
	defer mtx.stop()
	if err := mtx.addStream(ctx, load, 0, nil); err != nil {
		return fmt.Errorf("mediamtx: %w", err)
	}

	// MSE latency.
	env.Logf("   one stream, one MSE viewer: latency")
	first, err := mseViewer(ctx, ours, 0)
	if err != nil {
		return err
	}
	defer first.close()
	ref := rtspViewer(ctx, fmt.Sprintf("rtsp://127.0.0.1:%d/cam0", mtx.rtsp))
	defer ref.close()
	time.Sleep(sz.warm)
	first.record(true)
	ref.record(true)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(sz.measure):
	}
	first.record(false)
	ref.record(false)
	mseLat, refLat := first.latencies(), ref.latencies()
	if len(mseLat) == 0 || len(refLat) == 0 {
		return fmt.Errorf("no frames measured (MSE %d, mediamtx RTSP %d)", len(mseLat), len(refLat))
	}
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("MSE latency: frame sent by the camera → its fragment received by a websocket viewer (median of %d frames)", len(mseLat)),
		Ours:      fmt.Sprintf("%s (p95 %s)", ms(median(mseLat)), ms(percentile(mseLat, 95))),
		Reference: fmt.Sprintf("mediamtx, RTSP reader: %s (p95 %s)", ms(median(refLat)), ms(percentile(refLat, 95))),
		Ratio:     ratio(float64(median(mseLat)), float64(median(refLat))),
		Goal:      "≤ 500 ms", Met: met(percentile(mseLat, 95) <= 500*time.Millisecond),
	})

	// LL-HLS latency, both servers, one at a time.
	env.Logf("   LL-HLS latency")
	oursHLS, err := llhlsLatency(ctx, fmt.Sprintf("http://127.0.0.1:%d/llhls/%s/index.m3u8", ours.video, streamGUID(0)), sz.measure)
	if err != nil {
		return fmt.Errorf("video_server LL-HLS: %w", err)
	}
	refHLS, err := llhlsLatency(ctx, fmt.Sprintf("http://127.0.0.1:%d/cam0/index.m3u8", mtx.hls), sz.measure)
	if err != nil {
		return fmt.Errorf("mediamtx LL-HLS: %w", err)
	}
	rep.Rows = append(rep.Rows, Row{
		Metric: fmt.Sprintf("LL-HLS latency at 1 s GOP, 200 ms parts: first frame of a part sent → that part listed in a blocking playlist reload (median of %d parts)", len(oursHLS)),
		Ours:   fmt.Sprintf("%s (p95 %s)", ms(median(oursHLS)), ms(percentile(oursHLS, 95))),
		Reference: fmt.Sprintf("mediamtx %s, same settings: %s (p95 %s)", mediamtxVersion, ms(median(refHLS)),
			ms(percentile(refHLS, 95))),
		Ratio: ratio(float64(median(oursHLS)), float64(median(refHLS))),
		Goal:  "≤ 1.5 s", Met: met(percentile(oursHLS, 95) <= 1500*time.Millisecond),
	})

	// The camera goes away and comes back.
	env.Logf("   camera returns")
	var back, refBack []time.Duration
	for range sz.returns {
		load.stop(0)
		time.Sleep(3 * time.Second)
		returned := time.Now()
		load.start(0)
		t, err := first.waitFrameAfter(returned, 20*time.Second)
		if err != nil {
			return fmt.Errorf("video_server after the camera's return: %w", err)
		}
		back = append(back, t.Sub(returned))
		t, err = ref.waitFrameAfter(returned, 20*time.Second)
		if err != nil {
			return fmt.Errorf("mediamtx after the camera's return: %w", err)
		}
		refBack = append(refBack, t.Sub(returned))
	}
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Camera gone for 3 s, then back: its return → first new frame at the viewer (median of %d; worst)", len(back)),
		Ours:      fmt.Sprintf("%s (worst %s)", ms(median(back)), ms(percentile(back, 100))),
		Reference: fmt.Sprintf("mediamtx (retries after 5 s), RTSP reader retrying every 50 ms: %s (worst %s)", ms(median(refBack)), ms(percentile(refBack, 100))),
		Ratio:     ratio(float64(median(back)), float64(median(refBack))),
		Goal:      "≤ 3 s", Met: met(percentile(back, 100) <= 3*time.Second),
	})
	return nil
}

func countFrames(v *viewer) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames
}

// benchLiveScale: N streams with one viewer each, per-stream CPU and
// memory, ours then mediamtx, each in a fresh process.
func benchLiveScale(ctx context.Context, env *Env, rep *Report, sz liveSizes, load *liveLoad, oursBin, mtxBin string) error {
	type result struct{ cpu, idleMB, rssMB float64 }
	measure := func(p *liveProc, view func(i int) (*viewer, error)) (result, error) {
		defer p.stop()
		time.Sleep(time.Second)
		idle, err := rssKB(p.pid())
		if err != nil {
			return result{}, err
		}
		var vs []*viewer
		defer func() {
			for _, v := range vs {
				v.close()
			}
		}()
		for i := range sz.streams {
			if err := p.addStream(ctx, load, i, []string{"mse"}); err != nil {
				return result{}, fmt.Errorf("%s: %w", p.name, err)
			}
			v, err := view(i)
			if err != nil {
				return result{}, err
			}
			vs = append(vs, v)
		}
		time.Sleep(sz.warm)
		cpu, err := cpuShare(ctx, p.pid(), sz.measure)
		if err != nil {
			return result{}, err
		}
		rss, err := rssKB(p.pid())
		if err != nil {
			return result{}, err
		}
		for i, v := range vs {
			if countFrames(v) == 0 {
				return result{}, fmt.Errorf("%s: the viewer of stream %d got nothing", p.name, i)
			}
		}
		return result{cpu: cpu, idleMB: float64(idle) / 1024, rssMB: float64(rss) / 1024}, nil
	}

	env.Logf("   %d streams × 1 viewer: video_server", sz.streams)
	ours, err := startOurs(ctx, env, oursBin, "scale")
	if err != nil {
		return err
	}
	o, err := measure(ours, func(i int) (*viewer, error) { return mseViewer(ctx, ours, i) })
	if err != nil {
		return err
	}
	env.Logf("   %d streams × 1 viewer: mediamtx", sz.streams)
	mtx, err := startMediamtx(ctx, env, mtxBin, "scale", false)
	if err != nil {
		return err
	}
	r, err := measure(mtx, func(i int) (*viewer, error) {
		return rtspViewer(ctx, fmt.Sprintf("rtsp://127.0.0.1:%d/cam%d", mtx.rtsp, i)), nil
	})
	if err != nil {
		return err
	}
	n := float64(sz.streams)
	perCore := func(cpu float64) float64 { return n / cpu }
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Streams per core, 1080p30 2 Mbit/s H.264 pass-through, 1 viewer each (%d streams)", sz.streams),
		Ours:      fmt.Sprintf("%.0f (%.2f %% of a core per stream)", perCore(o.cpu), o.cpu/n*100),
		Reference: fmt.Sprintf("mediamtx %s: %.0f (%.2f %%)", mediamtxVersion, perCore(r.cpu), r.cpu/n*100),
		Ratio:     ratio(perCore(o.cpu), perCore(r.cpu)),
		Goal:      "≥ 1.0× mediamtx", Met: met(perCore(o.cpu) >= perCore(r.cpu)),
	}, Row{
		Metric: fmt.Sprintf("Memory per stream (RSS with %d streams minus idle RSS, divided by %d)", sz.streams, sz.streams),
		Ours:   fmt.Sprintf("%.2f MB (idle %.1f MB, with streams %.1f MB)", (o.rssMB-o.idleMB)/n, o.idleMB, o.rssMB),
		Reference: fmt.Sprintf("mediamtx: %.2f MB (idle %.1f MB, with streams %.1f MB)", (r.rssMB-r.idleMB)/n,
			r.idleMB, r.rssMB),
		Ratio: ratio(o.rssMB-o.idleMB, r.rssMB-r.idleMB),
		Goal:  "≤ 1.0× mediamtx", Met: met(o.rssMB-o.idleMB <= r.rssMB-r.idleMB),
	})
	return nil
}

var (
	extPartRE = regexp.MustCompile(`#EXT-X-PART:[^\n]*URI="([^"]+)"`)
	mediaSeq  = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
)

// llhlsLatency follows an LL-HLS stream as a player does (blocking
// playlist reloads for the next part) for d, and returns for every new
// part the time from its first frame's stamp to the reload that listed it.
func llhlsLatency(ctx context.Context, index string, d time.Duration) ([]time.Duration, error) {
	base := index[:strings.LastIndexByte(index, '/')+1]
	body, err := httpGet(ctx, index)
	if err != nil {
		return nil, err
	}
	media := ""
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			media = l
			break
		}
	}
	if media == "" {
		return nil, fmt.Errorf("no media playlist in %s:\n%s", index, body)
	}
	pl, err := httpGet(ctx, base+media)
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	seen := map[string]bool{}
	for _, p := range listParts(pl) {
		seen[p.uri] = true
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		parts := listParts(pl)
		if len(parts) == 0 {
			return nil, fmt.Errorf("no parts in the media playlist:\n%s", pl)
		}
		last := parts[len(parts)-1]
		sep := "?"
		if strings.Contains(media, "?") {
			sep = "&" // mediamtx adds a session id
		}
		url := fmt.Sprintf("%s%s%s_HLS_msn=%d&_HLS_part=%d", base, media, sep, last.msn, last.part+1)
		pl, err = httpGet(ctx, url)
		if err != nil {
			return nil, err
		}
		listed := time.Now()
		for _, p := range listParts(pl) {
			if seen[p.uri] {
				continue
			}
			seen[p.uri] = true
			data, err := httpGet(ctx, base+p.uri)
			if err != nil {
				return nil, err
			}
			if st := livetest.Stamps([]byte(data)); len(st) > 0 {
				out = append(out, listed.Sub(st[0]))
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no stamped parts")
	}
	return out, nil
}

type hlsPart struct {
	uri       string
	msn, part int
}

func listParts(pl string) []hlsPart {
	seq := 0
	if m := mediaSeq.FindStringSubmatch(pl); m != nil {
		seq, _ = strconv.Atoi(m[1])
	}
	var out []hlsPart
	msn, idx := seq, 0
	for _, l := range strings.Split(pl, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			if m := extPartRE.FindStringSubmatch(l); m != nil {
				out = append(out, hlsPart{uri: m[1], msn: msn, part: idx})
				idx++
			}
		case l != "" && !strings.HasPrefix(l, "#"):
			msn++
			idx = 0
		}
	}
	return out
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
