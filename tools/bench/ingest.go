package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

func init() {
	register(Suite{Name: "ingest", Title: "Media ingest: a corpus vs Clapshot's ffmpeg commands, one transcode vs bare ffmpeg, 2 GiB uploads vs dd", Run: runIngestBench})
}

// benchBitrate is --bitrate for both sides (Clapshot's default).
const benchBitrate = 2_500_000

func runIngestBench(ctx context.Context, env *Env) (*Report, error) {
	for _, tool := range []string{"ffmpeg", "ffprobe", "nice", "dd", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is needed (apt-get install ffmpeg curl coreutils)", tool)
		}
	}
	rep := &Report{}
	if err := benchCorpus(ctx, env, rep); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := benchOneTranscode(ctx, env, rep); err != nil {
		return nil, fmt.Errorf("one transcode: %w", err)
	}
	if err := benchUploads(ctx, env, rep); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return rep, nil
}

// ---------------------------------------------------------------------------
// The server under test.

type pipelineServer struct {
	cmd  *exec.Cmd
	port int
	dir  string
	base string
	out  *bytes.Buffer
}

func startPipelineServer(ctx context.Context, env *Env, dataDir string, args ...string) (*pipelineServer, error) {
	return startPipelineServerOn(ctx, env, "", dataDir, args...)
}

// startPipelineServerOn starts the server on the CPUs listed (taskset's
// list: "0", "1-3"), or on all of them for "". The Go runtime sizes
// GOMAXPROCS from the affinity it starts with, as on a machine with that
// many CPUs.
func startPipelineServerOn(ctx context.Context, env *Env, cpus, dataDir string, args ...string) (*pipelineServer, error) {
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	full := append([]string{"-D", dataDir, "-p", strconv.Itoa(port)}, args...)
	cmd := exec.CommandContext(ctx, env.ServerBin, full...)
	if cpus != "" {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", cpus, env.ServerBin}, full...)...)
	}
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &pipelineServer{cmd: cmd, port: port, dir: dataDir, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: out}
	if err := waitOK(ctx, s.base+"/api/health"); err != nil {
		s.stop()
		return nil, err
	}
	// /api/health answers while the server is still starting; the other
	// routes only once it is up.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/api/health?details=1")
		if err == nil {
			var st struct{ Status string }
			derr := json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if derr == nil && st.Status == "ok" {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready within 60 s:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *pipelineServer) stop() { stopProcess(s.cmd) }

// cpuSeconds is the CPU time of the process and of its waited-for
// children (ffmpeg, ffprobe), from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return float64(ticks) / 100, nil // USER_HZ is 100 on Linux
}

// childCPU is the CPU time of this process's waited-for children.
func childCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) // cannot fail for RUSAGE_CHILDREN
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// kbField reads a "VmRSS:"-style field of /proc/<pid>/status, in KiB.
func kbField(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// waitPipeline waits until the server's queue is empty and n media files
// (or rejections) are through.
func waitPipeline(ctx context.Context, dataDir string, n int, timeout time.Duration) error {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "clapshot.sqlite")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		var pending, ingested int
		err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ingest_jobs WHERE state IN ('queued', 'running')),
			(SELECT count(*) FROM ingest_jobs WHERE kind = 'ingest' AND state IN ('done', 'failed'))`).Scan(&pending, &ingested)
		if err == nil && pending == 0 && ingested >= n {
			var failed int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM ingest_jobs WHERE state = 'failed' AND kind != 'ingest'`).Scan(&failed); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d processing jobs failed", failed)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipeline not done within %v (pending %d, ingested %d of %d)", timeout, pending, ingested, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// 1. A corpus through our pipeline vs Clapshot's commands.

// refJob is one job of Clapshot's ffmpeg worker pool: commands run one
// after another; a job's parallel group runs at the same time.
type refJob struct {
	name     string
	parallel [][][]string // groups of sequential commands, groups in parallel
}

// clapshotDecision is Clapshot 0.8.2's needs_transcoding (§4.4), with
// ffprobe's figures standing in for mediainfo's.
func clapshotDecision(in media.Info, target int64) (bool, int64) {
	switch in.Type {
	case media.Audio, media.Image:
		return true, target
	}
	newBR := max(in.Bitrate/2, min(in.Bitrate, target))
	containerFine := in.Ext == "mp4" || in.Ext == "mkv"
	codecFine := in.Codec == "h264" || in.Codec == "hevc"
	bitrateFine := newBR >= in.Bitrate || float64(in.Bitrate) <= 1.2*float64(target)
	return !(containerFine && codecFine && bitrateFine), newBR
}

// clapshotJobs are the commands Clapshot 0.8.2 runs for a file: its
// transcode (§4.5; with the ffprobe frame count its progress thread makes)
// and its thumbnailer (§4.8: poster and sheet as two parallel ffmpeg runs,
// the sheet after another frame count).
func clapshotJobs(in media.Info, src, out string, target int64) []refJob {
	transcode, br := clapshotDecision(in, target)
	b := strconv.FormatInt(br, 10)
	count := []string{"ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", src}
	prefix := []string{"nice", "ffmpeg", "-nostats", "-hide_banner", "-y", "-i", src, "-progress", "pipe:1"}
	var jobs []refJob
	if transcode {
		var opts []string
		switch in.Type {
		case media.Video:
			opts = []string{"-map", "0", "-dn", "-vcodec", "libx264", "-vf", "scale=1920:-8", "-preset", "faster", "-acodec", "aac",
				"-ac", "2", "-strict", "experimental", "-b:v", b, "-b:a", "128000"}
		case media.Audio:
			d := strconv.FormatFloat(in.Duration, 'f', -1, 64)
			graph := "color=c=white:s=2x720 [cursor]; " +
				"[0:a] showwavespic=s=1920x720:split_channels=1:draw=scale:filter=peak:colors=#181818 [stillwave_peak];" +
				"[0:a] showwavespic=s=1920x720:split_channels=1:draw=scale:filter=average [stillwave_avg];" +
				"[stillwave_peak][stillwave_avg] overlay [stillwave];" +
				"[stillwave] loop=loop=-1:size=1:start=0, fps=30, trim=duration=" + d + " [stillwave_loop]; " +
				"[stillwave_loop][cursor] overlay=(W*t)/(" + d + "):0:shortest=1 [progress]; " +
				"[progress] format=yuv420p [out]" // Clapshot ends with ";", which ffmpeg 5.1 refuses
			opts = []string{"-dn", "-r", "60", "-filter_complex", graph, "-map", "[out]", "-map", "0:a", "-strict", "experimental",
				"-vcodec", "libx264", "-b:v", b, "-acodec", "aac", "-b:a", "384k"}
		case media.Image:
			opts = []string{"-map", "0", "-dn", "-vcodec", "libx264", "-tune", "stillimage", "-vf", "scale=1920:-8,loop=-1:1",
				"-t", "1", "-r", "24", "-pix_fmt", "yuv422p", "-b:v", b}
		}
		cmd := append(append(append([]string{}, prefix...), opts...), filepath.Join(out, "transcoded.mp4"))
		group := [][]string{cmd}
		if in.Type == media.Video {
			jobs = append(jobs, refJob{"transcode", [][][]string{group, {count}}})
		} else {
			jobs = append(jobs, refJob{"transcode", [][][]string{group}})
		}
	}
	shape := "scale=160:90:force_original_aspect_ratio=decrease,pad=160:90:(ow-iw)/2:(oh-ih)/2"
	poster := []string{"nice", "-n", "10", "--", "ffmpeg", "-y", "-i", src, "-nostats", "-vcodec", "libwebp", "-vf", "thumbnail," + shape,
		"-frames:v", "1", "-strict", "experimental", "-c:v", "libwebp", filepath.Join(out, "thumb.webp")}
	switch in.Type {
	case media.Video:
		n := in.TotalFrames
		var sel []string
		for i := int64(0); i < 100; i++ {
			sel = append(sel, fmt.Sprintf("eq(n\\,%d)", i*n/100))
		}
		sheet := []string{"nice", "-n", "10", "--", "ffmpeg", "-y", "-i", src, "-nostats", "-vf",
			"select=" + strings.Join(sel, "+") + "," + shape + ",tile=10x10", "-strict", "experimental", "-c:v", "libwebp",
			"-vsync", "vfr", "-start_number", "0", filepath.Join(out, "sheet-10x10.webp")}
		jobs = append(jobs, refJob{"thumbs", [][][]string{{poster}, {count, sheet}}})
	case media.Image:
		jobs = append(jobs, refJob{"thumbs", [][][]string{{poster}}})
	}
	return jobs
}

func runRefJob(ctx context.Context, j refJob) error {
	var wg sync.WaitGroup
	errs := make([]error, len(j.parallel))
	for i, group := range j.parallel {
		wg.Add(1)
		go func(i int, group [][]string) {
			defer wg.Done()
			for _, c := range group {
				cmd := exec.CommandContext(ctx, c[0], c[1:]...)
				var stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = io.Discard, &stderr
				if err := cmd.Run(); err != nil {
					errs[i] = fmt.Errorf("%s: %v: %s", media.ShellQuote(c), err, lastLines(stderr.String(), 4))
					return
				}
			}
		}(i, group)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// runClapshotReference processes the corpus the way Clapshot 0.8.2 does:
// a metadata read per file, then its transcode and thumbnail jobs through
// a pool of `workers` threads. It returns wall and CPU time.
func runClapshotReference(ctx context.Context, paths []string, infos []media.Info, outDir string, workers int) (time.Duration, float64, error) {
	metaCmd := func(p string) []string {
		if _, err := exec.LookPath("mediainfo"); err == nil {
			return []string{"mediainfo", "--Output=JSON", "--", p}
		}
		return []string{"ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", p}
	}
	cpu0, start := childCPU(), time.Now()
	queue := make(chan refJob, 64)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if err := runRefJob(ctx, j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i, p := range paths {
		if err := runRefJob(ctx, refJob{"metadata", [][][]string{{metaCmd(p)}}}); err != nil {
			close(queue)
			wg.Wait()
			return 0, 0, err
		}
		out := filepath.Join(outDir, strconv.Itoa(i))
		if err := os.MkdirAll(out, 0o755); err != nil {
			close(queue)
			wg.Wait()
			return 0, 0, err
		}
		for _, j := range clapshotJobs(infos[i], p, out, benchBitrate) {
			queue <- j
		}
	}
	close(queue)
	wg.Wait()
	return time.Since(start), childCPU() - cpu0, firstErr
}

// corpusDir keeps the generated corpus between runs (it is the same
// every time, and takes minutes to encode).
func corpusDir(quick bool) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	name := "ingest-corpus-" + mediatest.CorpusVersion
	if quick {
		name += "-quick"
	}
	return filepath.Join(base, "clapshot-bench", name)
}

func benchCorpus(ctx context.Context, env *Env, rep *Report) error {
	dir := corpusDir(env.Quick)
	env.Logf("   the corpus (cached in %s)", dir)
	paths, seconds, err := mediatest.MakeCorpus(ctx, dir, env.Quick)
	if err != nil {
		return err
	}
	tools := &media.Tools{}
	var infos []media.Info
	var lines []string
	for _, p := range paths {
		_, in, err := tools.Inspect(ctx, p)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		infos = append(infos, in)
		clap, _ := clapshotDecision(in, benchBitrate)
		clapWord := "served as is"
		if clap {
			clapWord = "transcoded"
		}
		ours := media.Decide(in, benchBitrate).Action
		lines = append(lines, fmt.Sprintf("%s (%s %dx%d, %.0f s): ours %s, Clapshot %s", filepath.Base(p), in.Codec, in.Width, in.Height,
			in.Duration, strings.ReplaceAll(string(ours), "_", " "), clapWord))
	}
	const workers = 2

	env.Logf("   Clapshot's commands on %d files (%.0f s of media)", len(paths), seconds)
	refWall, refCPU, err := runClapshotReference(ctx, paths, infos, filepath.Join(env.Work, "clapshot-out"), workers)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	env.Logf("   reference: %.1f s wall, %.1f CPU-s", refWall.Seconds(), refCPU)

	env.Logf("   our server")
	data := filepath.Join(env.Work, "corpus-data")
	srv, err := startPipelineServer(ctx, env, data, "-w", strconv.Itoa(workers), "-P", "0.1", "-b", "2.5")
	if err != nil {
		return err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, p := range paths {
		// A hard link: the server moves it away, the corpus stays.
		if err := os.Link(p, filepath.Join(data, "incoming", filepath.Base(p))); err != nil {
			return err
		}
	}
	if err := waitPipeline(ctx, data, len(paths), 30*time.Minute); err != nil {
		return fmt.Errorf("%w\n%s", err, srv.out.String())
	}
	ourWall := time.Since(start)
	cpu1, _ := cpuSeconds(pid)
	ourCPU := cpu1 - cpu0
	env.Logf("   ours: %.1f s wall, %.1f CPU-s", ourWall.Seconds(), ourCPU)

	what := fmt.Sprintf("Corpus of %d files, %.1f min of media, %d workers", len(paths), seconds/60, workers)
	rep.Rows = append(rep.Rows,
		Row{Metric: what + ": CPU time", Ours: fmt.Sprintf("%.1f CPU-s", ourCPU),
			Reference: fmt.Sprintf("Clapshot 0.8.2's ffmpeg/ffprobe commands run directly: %.1f CPU-s", refCPU),
			Ratio:     ratio(ourCPU, refCPU), Goal: "≤ 0.5", Met: met(ourCPU <= 0.5*refCPU)},
		Row{Metric: what + ": wall time", Ours: fmt.Sprintf("%.1f s", ourWall.Seconds()),
			Reference: fmt.Sprintf("the same commands: %.1f s", refWall.Seconds()),
			Ratio:     ratio(ourWall.Seconds(), refWall.Seconds())})
	rep.Notes = append(rep.Notes,
		"Corpus (made with lavfi sources, the same bytes every run): "+strings.Join(lines, "; ")+".",
		"Ours: the server binary with `-w 2`, files dropped into `incoming/`, timed until the last job is done; CPU is the server's plus its ffmpeg/ffprobe children's (/proc). "+
			"Reference: the commands Clapshot 0.8.2 runs for the same files (server.md §4.3–4.8: a metadata read, the transcode with its progress-thread frame count, the poster and sheet thumbnailers with another frame count), through a pool of 2 workers, with its transcode decision; "+
			"`mediainfo` is replaced by an ffprobe JSON read when it is not installed.")
	return nil
}

// ---------------------------------------------------------------------------
// 2. One transcode through the server vs the same ffmpeg command.

func benchOneTranscode(ctx context.Context, env *Env, rep *Report) error {
	o := mediatest.Options{Seconds: 60, Width: 1920, Height: 1080, FPS: 30}
	if env.Quick {
		o = mediatest.Options{Seconds: 10, Width: 640, Height: 360, FPS: 30}
	}
	src := filepath.Join(env.Work, "clip60.mp4")
	env.Logf("   generating a %.0f s %dx%d clip", o.Seconds, o.Width, o.Height)
	err := mediatest.FFmpeg(ctx, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d:duration=%g", o.Width, o.Height, o.FPS, o.Seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=duration=%g", o.Seconds), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "12M",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", src)
	if err != nil {
		return err
	}
	tools := &media.Tools{}
	_, in, err := tools.Inspect(ctx, src)
	if err != nil {
		return err
	}
	plan := media.Decide(in, benchBitrate)
	if plan.Action != media.Transcode {
		return fmt.Errorf("the clip would not be transcoded (%s)", plan.Action)
	}
	bare := func() (time.Duration, error) {
		out := filepath.Join(env.Work, "bare")
		os.RemoveAll(out)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, err
		}
		outs := media.Outputs{Video: filepath.Join(out, "t.mp4"),
			Poster: filepath.Join(out, "thumb.webp"), Sheet: filepath.Join(out, "sheet-10x10.webp")}
		args, err := media.TranscodeArgs(in, plan, src, outs)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		// The server's runner, so fd 3 (the progress pipe) exists too.
		if err = media.Run(ctx, tools.FFmpegCommand(args), media.RunOptions{Stderr: io.Discard}); err == nil {
			_, err = tools.TileSheet(ctx, outs)
		}
		return time.Since(start), err
	}
	server := func() (time.Duration, error) {
		data := filepath.Join(env.Work, "one-data")
		os.RemoveAll(data)
		srv, err := startPipelineServer(ctx, env, data, "-w", "1", "-b", "2.5")
		if err != nil {
			return 0, err
		}
		defer srv.stop()
		// Uploaded, then timed from the moment the server has the file.
		cmd := exec.CommandContext(ctx, "curl", "-sS", "-f", "-o", "/dev/null", "-F", "fileupload=@"+src+";filename=clip60.mp4", srv.base+"/api/upload")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("upload: %v %s", err, out)
		}
		start := time.Now()
		if err := waitPipeline(ctx, data, 1, 30*time.Minute); err != nil {
			return 0, fmt.Errorf("%w\n%s", err, srv.out.String())
		}
		return time.Since(start), nil
	}
	// Alternated, so that load from elsewhere hits both alike.
	env.Logf("   bare ffmpeg and the server, alternately")
	var bares, ours []time.Duration
	for i, step := range []string{"bare", "server", "bare", "server", "bare"} {
		if env.Quick && i >= 3 {
			break
		}
		run := bare
		if step == "server" {
			run = server
		}
		d, err := run()
		if err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
		env.Logf("     %s: %.1f s", step, d.Seconds())
		if step == "server" {
			ours = append(ours, d)
		} else {
			bares = append(bares, d)
		}
	}
	ref, s := median(bares), meanDuration(ours)
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Transcode a %.0f s %dx%d H.264 clip at 12 Mbit/s (with poster and sheet), upload done to job done", o.Seconds, o.Width, o.Height),
		Ours:      fmt.Sprintf("%.1f s (runs: %s)", s.Seconds(), seconds(ours)),
		Reference: fmt.Sprintf("bare ffmpeg, identical arguments: %.1f s (median; runs: %s)", ref.Seconds(), seconds(bares)),
		Ratio:     ratio(s.Seconds(), ref.Seconds()), Goal: "≤ 1.05", Met: met(s.Seconds() <= 1.05*ref.Seconds()),
	})
	return nil
}

func meanDuration(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(max(len(d), 1))
}

func seconds(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, fmt.Sprintf("%.1f", x.Seconds()))
	}
	return strings.Join(s, ", ")
}

// ---------------------------------------------------------------------------
// 3. 2 GiB uploads vs dd.

func benchUploads(ctx context.Context, env *Env, rep *Report) error {
	size := int64(2 << 30)
	if env.Quick {
		size = 256 << 20
	}
	src := filepath.Join(env.Work, "upload.bin")
	env.Logf("   writing a %d MiB file", size>>20)
	if err := writeFile(src, size); err != nil {
		return err
	}
	defer os.Remove(src)
	data := filepath.Join(env.Work, "upload-data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}

	dd := func() (time.Duration, error) {
		if err := readAll(src); err != nil {
			return 0, err
		}
		dst := filepath.Join(data, "dd.bin")
		defer os.Remove(dst)
		start := time.Now()
		out, err := exec.CommandContext(ctx, "dd", "if="+src, "of="+dst, "bs=1M", "conv=fsync").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("dd: %v %s", err, out)
		}
		return time.Since(start), nil
	}
	type result struct {
		took   time.Duration
		growKB int64
	}
	upload := func(protocol string, round int) (result, error) {
		dir := filepath.Join(data, protocol)
		os.RemoveAll(dir)
		srv, err := startPipelineServer(ctx, env, dir, "-w", "1")
		if err != nil {
			return result{}, err
		}
		defer srv.stop()
		if err := readAll(src); err != nil {
			return result{}, err
		}
		pid := srv.cmd.Process.Pid
		before := kbField(pid, "VmRSS")
		name := fmt.Sprintf("big%d.bin", round)
		start := time.Now()
		switch protocol {
		case "multipart":
			out, err := exec.CommandContext(ctx, "curl", "-sS", "-f", "-o", "/dev/null", "-F", "fileupload=@"+src+";filename="+name,
				srv.base+"/api/upload").CombinedOutput()
			if err != nil {
				return result{}, fmt.Errorf("curl: %v %s", err, out)
			}
		case "tus":
			if err := tusUpload(ctx, srv.base, src, name, size); err != nil {
				return result{}, err
			}
		}
		took := time.Since(start)
		peak := kbField(pid, "VmHWM")
		// The file is not media: it is rejected; wait, then free the disk.
		if err := waitPipeline(ctx, dir, 1, 5*time.Minute); err != nil {
			return result{}, err
		}
		os.RemoveAll(filepath.Join(dir, "rejected"))
		return result{took, peak - before}, nil
	}
	rounds := 3
	if env.Quick {
		rounds = 1
	}
	env.Logf("   dd, multipart (curl -F), tus (curl -T), %d rounds", rounds)
	var dds []time.Duration
	took := map[string][]time.Duration{}
	grow := map[string]int64{}
	for round := 0; round < rounds; round++ {
		d, err := dd()
		if err != nil {
			return err
		}
		dds = append(dds, d)
		for _, p := range []string{"multipart", "tus"} {
			r, err := upload(p, round)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			took[p] = append(took[p], r.took)
			grow[p] = max(grow[p], r.growKB)
		}
	}
	ref := median(dds)
	mbs := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	for _, p := range []string{"multipart", "tus"} {
		t := median(took[p])
		label := map[string]string{"multipart": "POST /api/upload (multipart, curl -F)", "tus": "tus (curl -T, one PATCH)"}[p]
		rep.Rows = append(rep.Rows, Row{
			Metric:    fmt.Sprintf("%d MiB upload over loopback, %s: throughput to disk (synced), median of %d", size>>20, label, rounds),
			Ours:      fmt.Sprintf("%.0f MB/s (%s s)", mbs(t), seconds(took[p])),
			Reference: fmt.Sprintf("dd bs=1M conv=fsync to the same disk: %.0f MB/s (%s s)", mbs(ref), seconds(dds)),
			Ratio:     ratio(mbs(t), mbs(ref)), Goal: "≥ 0.8", Met: met(mbs(t) >= 0.8*mbs(ref)),
		}, Row{
			Metric: fmt.Sprintf("%d MiB upload, %s: server peak RSS growth (largest of %d)", size>>20, label, rounds),
			Ours:   fmt.Sprintf("%.1f MB", float64(grow[p])/1024), Goal: "< 64 MB", Met: met(grow[p] < 64*1024),
		})
	}
	rep.Notes = append(rep.Notes, "Uploads: the same client (curl) for both protocols and the file read from the page cache; the server streams to disk and syncs before answering, so the reference is dd with conv=fsync. Peak RSS growth is VmHWM after the upload minus VmRSS before it, on a fresh server each time.")
	return nil
}

// tusUpload creates a resumable upload and sends the file with curl in
// one PATCH.
func tusUpload(ctx context.Context, base, path, name string, size int64) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/upload/tus/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("tus create: %s", resp.Status)
	}
	out, err := exec.CommandContext(ctx, "curl", "-sS", "-f", "-o", "/dev/null", "-X", "PATCH", "-T", path,
		"-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
		base+resp.Header.Get("Location")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("curl PATCH: %v %s", err, out)
	}
	return nil
}
