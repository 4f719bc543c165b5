package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to watch the job queue

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

var workerBin = flag.String("worker", "bin/clapshot-worker", "clapshot-worker binary for the scale suite")

func init() {
	register(Suite{Name: "scale", Title: "Several instances on PostgreSQL: comment throughput, cross-instance broadcast, separate transcode workers", Run: runScale})
}

func runScale(ctx context.Context, env *Env) (*Report, error) {
	pg, err := pgtest.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	defer func() { _ = pg.Stop() }()
	rep := &Report{}
	loadBefore := loadAverage()
	if err := benchScaleComments(ctx, env, rep, pg); err != nil {
		return nil, fmt.Errorf("comment throughput: %w", err)
	}
	if err := benchScaleWorkers(ctx, env, rep, pg); err != nil {
		return nil, fmt.Errorf("transcode workers: %w", err)
	}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("Everything (PostgreSQL, the instances, the workers, the clients) shares this machine's %d CPUs; load average %s at the start and %s at the end. Two instances cannot do twice the work of one on the same cores: the ratios say how much the second instance adds when the first is not the bottleneck, not what two machines would give.", runtime.NumCPU(), loadBefore, loadAverage()),
		"Comment throughput: writers on one media file, each sending a comment and waiting for its own copy back before the next; every comment is broadcast to every writer (they all watch the file), across instances through LISTEN/NOTIFY. With two instances, half the writers are on each; the servers run with `--ws-rate-limit 0`, as a writer stands for many users. A logged-in comment is one INSERT (no transaction), so the work is the servers' own: JSON, websocket frames and the fan-out to every writer. Two layouts: every instance may use every CPU, where two instances on the same cores only share them (the figure is CPU-bound, not lock-bound), and each instance pinned to a CPU of its own with taskset, as an instance on a machine of its own would be; the goal (\"the same total cores\" per instance) is the pinned row. PostgreSQL and the clients are not pinned. \"CPUs busy\" is the whole machine over the run: where one instance already keeps the CPUs that busy, a second can add at most the idle rest (1 / busy), whatever the layout; the servers' CPU time a comment says what the second instance costs (it renders every comment of the other for its own watchers, from the copy the event carries).",
		"Cross-instance broadcast: one writer on instance B, one watcher on instance A, comments one at a time; from the write on B to the complete read on A.",
		"Transcode workers: the same clips queued by a `--remote-workers` server, then run by one `clapshot-worker -w 1`, or by two; from the workers' start to the last job done. When every worker may use every CPU, ffmpeg (libx264) already uses all of them for one job and a second worker on the same machine only interleaves. The goal (\"given the cores\") is the second layout: each worker pinned to a CPU of its own with taskset, as a worker on a machine of its own would be; ffmpeg sizes its threads from the CPUs it is given. PostgreSQL and the server are not pinned (they are idle while the workers transcode).")
	return rep, nil
}

// scaleDB makes a new database with one user's media file to comment on,
// whose (token) original is in dir.
func scaleDB(ctx context.Context, pg *pgtest.Server, dir string) (string, error) {
	orig := filepath.Join(dir, "videos", "5ca1e000", "orig")
	if err := os.MkdirAll(orig, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(orig, "scale.mp4"), []byte("not played in this benchmark"), 0o644); err != nil {
		return "", err
	}
	_, u, err := pg.CreateDatabase(ctx)
	if err != nil {
		return "", err
	}
	db, err := store.Open(ctx, store.OpenOptions{URL: u})
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := db.UpsertUser(ctx, "owner", "Owner"); err != nil {
		return "", err
	}
	name := "scale.mp4"
	return u, db.InsertMediaFile(ctx, store.MediaFile{ID: "5ca1e000", UserID: "owner", AddedTime: time.Now().UTC(), Title: &name,
		OrigFilename: &name, MediaType: new("video"), Duration: new(60.0), FPS: new("25"), TotalFrames: new(int64(1500))})
}

// startInstances starts n servers on database u. With pin, server i runs
// on CPU i only, as on a machine of its own.
func startInstances(ctx context.Context, env *Env, n int, pin bool, u, dir string, args ...string) ([]*pipelineServer, func(), error) {
	var out []*pipelineServer
	stop := func() {
		for _, s := range out {
			s.stop()
		}
	}
	for i := range n {
		cpus := ""
		if pin {
			cpus = strconv.Itoa(i % runtime.NumCPU())
		}
		s, err := startPipelineServerOn(ctx, env, cpus, dir, append([]string{"--db-url", u, "-P", "0.2"}, args...)...)
		if err != nil {
			stop()
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, stop, nil
}

// layout is how processes of the scale suite (instances, workers) get
// the machine's CPUs.
type layout struct {
	name string
	pin  bool // each process on a CPU of its own (taskset)
}

// cpuLayouts are every process using every CPU (what one machine gives),
// and, given two CPUs or more, each pinned to a CPU of its own, as on
// machines of their own.
func cpuLayouts() []layout {
	layouts := []layout{{"sharing the machine's CPUs", false}}
	if runtime.NumCPU() >= 2 {
		layouts = append(layouts, layout{"one CPU each (taskset)", true})
	}
	return layouts
}

// commentStats is one comment run: the comments acknowledged per
// second, how busy the machine's CPUs were (0–1) and the servers' CPU
// time per comment.
type commentStats struct {
	rate, busy float64
	serverCPU  time.Duration
}

func (c commentStats) String() string {
	return fmt.Sprintf("%.0f comments/s (CPUs %.0f%% busy; servers %.2f CPU-ms a comment)", c.rate, 100*c.busy, float64(c.serverCPU)/1e6)
}

// commentRun has writers on the instances for dur.
func commentRun(ctx context.Context, servers []*pipelineServer, writers int, dur time.Duration) (commentStats, error) {
	var clients []*wsclient.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range writers {
		c, err := wsclient.Dial(ctx, servers[i%len(servers)].base, wsclient.User{ID: "w" + strconv.Itoa(i), Name: "w" + strconv.Itoa(i)})
		if err != nil {
			return commentStats{}, err
		}
		clients = append(clients, c)
		if err := c.Send(ctx, wsclient.OpenMediaFile("5ca1e000")); err != nil {
			return commentStats{}, err
		}
		if _, _, err := c.Wait(ctx, 20*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil }); err != nil {
			return commentStats{}, err
		}
	}
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				text := fmt.Sprintf("w%d-%d", i, n)
				if err := c.Send(ctx, wsclient.AddComment("5ca1e000", text)); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if _, _, err := c.Wait(ctx, 20*time.Second, func(m *pb.ServerToClientCmd) bool {
					cs := m.GetAddComments().GetComments()
					return len(cs) == 1 && cs[0].GetComment() == text
				}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	serverCPU := func() (sum float64) {
		for _, s := range servers {
			sec, _ := cpuSeconds(s.cmd.Process.Pid)
			sum += sec
		}
		return sum
	}
	cpu0 := serverCPU()
	busy0, total0 := machineCPU()
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	busy1, total1 := machineCPU()
	st := commentStats{rate: float64(done.Load()) / elapsed}
	if total1 > total0 {
		st.busy = (busy1 - busy0) / (total1 - total0)
	}
	if n := done.Load(); n > 0 {
		st.serverCPU = time.Duration((serverCPU() - cpu0) / float64(n) * 1e9)
	}
	return st, firstErr
}

// machineCPU is the busy and the total time of all CPUs, in ticks, from
// /proc/stat (busy is all but idle and iowait).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseFloat(f, 64)
		if i >= 8 { // guest time is counted in user time already
			break
		}
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total
}

// crossLatency sends count comments on B and times their arrival on A.
func crossLatency(ctx context.Context, a, b *pipelineServer, count int) (*latencies, error) {
	watcher, err := wsclient.Dial(ctx, a.base, wsclient.User{ID: "watcher", Name: "watcher"})
	if err != nil {
		return nil, err
	}
	defer watcher.Close()
	writer, err := wsclient.Dial(ctx, b.base, wsclient.User{ID: "writer", Name: "writer"})
	if err != nil {
		return nil, err
	}
	defer writer.Close()
	for _, c := range []*wsclient.Client{watcher, writer} {
		if err := c.Send(ctx, wsclient.OpenMediaFile("5ca1e000")); err != nil {
			return nil, err
		}
		if _, _, err := c.Wait(ctx, 20*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil }); err != nil {
			return nil, err
		}
	}
	lat := &latencies{}
	for i := range count {
		text := "x" + strconv.Itoa(i)
		sent := time.Now()
		if err := writer.Send(ctx, wsclient.AddComment("5ca1e000", text)); err != nil {
			return nil, err
		}
		if _, _, err := watcher.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool {
			cs := m.GetAddComments().GetComments()
			return len(cs) == 1 && cs[0].GetComment() == text
		}); err != nil {
			return nil, fmt.Errorf("comment %d did not reach A: %w", i, err)
		}
		lat.add(time.Since(sent))
		time.Sleep(5 * time.Millisecond)
	}
	return lat, nil
}

func benchScaleComments(ctx context.Context, env *Env, rep *Report, pg *pgtest.Server) error {
	dur, writers, count := 15*time.Second, 8, 300
	if env.Quick {
		dur, count = 4*time.Second, 60
	}
	// Two layouts, as for the workers below: every instance may use every
	// CPU (one machine), and each instance is pinned to a CPU of its own,
	// as an instance on a machine of its own would be (PostgreSQL and the
	// clients are not pinned).
	layouts := cpuLayouts()
	rates := map[layout]map[int]commentStats{}
	for _, l := range layouts {
		rates[l] = map[int]commentStats{}
		for _, n := range []int{1, 2} {
			dir := filepath.Join(env.Work, fmt.Sprintf("scale-comments-%d-%t", n, l.pin))
			u, err := scaleDB(ctx, pg, dir)
			if err != nil {
				return err
			}
			// A writer stands for many users: it may send more than one
			// session's --ws-rate-limit.
			servers, stop, err := startInstances(ctx, env, n, l.pin, u, dir, "--ws-rate-limit", "0")
			if err != nil {
				return err
			}
			env.Logf("   %d instance(s), %s: %d writers for %v", n, l.name, writers, dur)
			rate, err := commentRun(ctx, servers, writers, dur)
			if err == nil && n == 2 && !l.pin {
				var lat *latencies
				if lat, err = crossLatency(ctx, servers[0], servers[1], count); err == nil {
					p50, p99 := percentile(lat.d, 50), percentile(lat.d, 99)
					rep.Rows = append(rep.Rows, Row{Metric: fmt.Sprintf("Comment on B reaching a watcher on A, p50 / p99 (%d comments)", count),
						Ours: fmt.Sprintf("%s / %s", ms(p50), ms(p99)), Reference: "—", Goal: "p99 < 50 ms (and < 100 ms)", Met: met(p99 < 50*time.Millisecond)})
				}
			}
			stop()
			if err != nil {
				return err
			}
			rates[l][n] = rate
			env.Logf("   %s", rate)
		}
	}
	for i := len(layouts) - 1; i >= 0; i-- { // the goal's row first
		l := layouts[i]
		row := Row{Metric: fmt.Sprintf("Websocket comment throughput, %d writers: 2 instances + PostgreSQL, %s", writers, l.name),
			Ours: rates[l][2].String(), Reference: "1 instance + PostgreSQL: " + rates[l][1].String(),
			Ratio: ratio(rates[l][2].rate, rates[l][1].rate)}
		if l.pin || len(layouts) == 1 {
			row.Goal, row.Met = "≥ 1.6×", met(rates[l][2].rate >= 1.6*rates[l][1].rate)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return nil
}

func benchScaleWorkers(ctx context.Context, env *Env, rep *Report, pg *pgtest.Server) error {
	clips, seconds := 4, 12.0
	if env.Quick {
		clips, seconds = 2, 4
	}
	worker, err := filepath.Abs(*workerBin)
	if err == nil {
		_, err = os.Stat(worker)
	}
	if err != nil {
		return fmt.Errorf("clapshot-worker binary: %w (make worker builds it)", err)
	}
	src := filepath.Join(env.Work, "scale-clips")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	var paths []string
	for i := range clips {
		d := filepath.Join(src, strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		p, err := mediatest.Generate(ctx, d, mediatest.Families["hevc_mkv"],
			mediatest.Options{Seconds: seconds, Width: 1280, Height: 720, FPS: 25})
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	// Two layouts: every worker may use every CPU (what one machine gives),
	// and each worker is pinned to a CPU of its own (taskset), as workers on
	// machines of their own would be: that is the goal's "given the cores".
	layouts := cpuLayouts()
	took := map[layout]map[int]time.Duration{}
	for _, l := range layouts {
		took[l] = map[int]time.Duration{}
		for _, n := range []int{1, 2} {
			dir := filepath.Join(env.Work, fmt.Sprintf("scale-workers-%d-%t", n, l.pin))
			_, u, err := pg.CreateDatabase(ctx) // the server creates the tables
			if err != nil {
				return err
			}
			servers, stop, err := startInstances(ctx, env, 1, false, u, dir, "--remote-workers")
			if err != nil {
				return err
			}
			d, err := runWorkers(ctx, env, servers[0], worker, u, dir, paths, n, l.pin)
			stop()
			if err != nil {
				return err
			}
			took[l][n] = d
			env.Logf("   %d worker(s), %s: %d transcodes in %v", n, l.name, clips, d.Round(time.Millisecond))
		}
	}
	for i := len(layouts) - 1; i >= 0; i-- { // the goal's row first
		l := layouts[i]
		r := took[l][1].Seconds() / took[l][2].Seconds()
		row := Row{Metric: fmt.Sprintf("Transcode throughput, %d HEVC 720p clips of %gs: 2 workers, %s", clips, seconds, l.name),
			Ours:      fmt.Sprintf("%.2f s (%.2f clips/s)", took[l][2].Seconds(), float64(clips)/took[l][2].Seconds()),
			Reference: fmt.Sprintf("1 worker: %.2f s (%.2f clips/s)", took[l][1].Seconds(), float64(clips)/took[l][1].Seconds()),
			Ratio:     fmt.Sprintf("%.2f×", r)}
		if l.pin || len(layouts) == 1 {
			row.Goal, row.Met = "≥ 1.8× given the cores", met(r >= 1.8)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return nil
}

// runWorkers uploads the clips, waits until their transcodes are queued,
// then starts n workers and times them until the queue is done.
// With pin, worker i runs on CPU i only (ffmpeg sizes its threads from
// the affinity mask it inherits).
func runWorkers(ctx context.Context, env *Env, srv *pipelineServer, bin, u, dir string, paths []string, n int, pin bool) (time.Duration, error) {
	for _, p := range paths {
		if err := uploadFile(ctx, srv.base, p, "owner"); err != nil {
			return 0, err
		}
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	count := func(q string) int {
		var c int
		_ = db.QueryRowContext(ctx, q).Scan(&c)
		return c
	}
	for deadline := time.Now().Add(2 * time.Minute); count(`SELECT count(*) FROM ingest_jobs WHERE kind = 'transcode'`) < len(paths); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the uploads were not filed within 2 minutes:\n%s", srv.out)
		}
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			stopProcess(c)
		}
	}()
	start := time.Now()
	for i := range n {
		args := []string{bin, "-D", dir, "--db-url", u, "-w", "1"}
		if pin {
			args = append([]string{"taskset", "-c", strconv.Itoa(i % runtime.NumCPU())}, args...)
		}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)))
		if err != nil {
			return 0, err
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, cmd)
	}
	for deadline := time.Now().Add(20 * time.Minute); count(`SELECT count(*) FROM ingest_jobs WHERE kind = 'transcode' AND state = 'done'`) < len(paths); time.Sleep(50 * time.Millisecond) {
		if failed := count(`SELECT count(*) FROM ingest_jobs WHERE state = 'failed'`); failed > 0 {
			out, _ := exec.Command("sh", "-c", "cat "+filepath.Join(dir, "worker-*.log")).CombinedOutput()
			env.Logf("%s", lastLines(string(out), 20))
			return 0, fmt.Errorf("%d jobs failed (logs in %s)", failed, dir)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("transcodes not done within 20 minutes (logs in %s)", dir)
		}
	}
	return time.Since(start), nil
}
