package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	"github.com/clapshot-go/clapshot/packaging"
)

func init() {
	register(Suite{Name: "serving", Title: "Media serving: /videos Range requests, our server vs nginx", Run: runServing})
}

// The load: readers in parallel, each requesting rangeSize bytes at a random
// offset of one large file, as video players seeking around do.
const (
	servingReaders = 32
	rangeSize      = 1 << 20
)

func runServing(ctx context.Context, env *Env) (*Report, error) {
	fileSize := int64(1 << 30)
	duration, rounds := 10*time.Second, 3
	if env.Quick {
		fileSize, duration, rounds = 64<<20, 2*time.Second, 1
	}

	dataDir := filepath.Join(env.Work, "data")
	const rel = "0123abcd/video.mp4"
	file := filepath.Join(dataDir, "videos", rel)
	env.Logf("   writing a %d MiB media file", fileSize>>20)
	if err := writeFile(file, fileSize); err != nil {
		return nil, err
	}
	// Both read from the page cache: the figure is the server, not the disk.
	if err := readAll(file); err != nil {
		return nil, err
	}

	serverPort, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	srv := exec.CommandContext(ctx, env.ServerBin, "-D", dataDir, "-p", strconv.Itoa(serverPort))
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer stopProcess(srv)
	ours := fmt.Sprintf("http://127.0.0.1:%d/videos/%s", serverPort, rel)
	if err := waitOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/videos/%s", serverPort, rel)); err != nil {
		return nil, fmt.Errorf("our server: %w", err)
	}

	nginxPort, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	nginxDir := filepath.Join(env.Work, "nginx")
	if err := os.MkdirAll(nginxDir, 0o755); err != nil {
		return nil, err
	}
	// nginx's workers (nobody, when run as root) must reach the file.
	for _, d := range []string{filepath.Dir(env.Work), env.Work, dataDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	site := packaging.Site{
		Example: packaging.ExamplePlain, Dir: nginxDir, Workers: "auto",
		Listen:   fmt.Sprintf("127.0.0.1:%d", nginxPort),
		Upstream: fmt.Sprintf("127.0.0.1:%d", serverPort),
		DataDir:  dataDir,
	}
	ngx, err := site.Start(io.Discard)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ngx.Stop(10 * time.Second) }()
	ref := fmt.Sprintf("http://127.0.0.1:%d/videos/%s", nginxPort, rel)
	if err := waitOK(ctx, ref); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}

	// Alternate the two, so that noise from the shared machine hits both.
	var oursRuns, refRuns []loadResult
	for i := 0; i < rounds; i++ {
		for _, t := range []struct {
			url  string
			runs *[]loadResult
			name string
		}{{ours, &oursRuns, "ours"}, {ref, &refRuns, "nginx"}} {
			r, err := rangeLoad(ctx, t.url, fileSize, duration)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			env.Logf("   round %d %-5s %7.0f MB/s  p50 %s  p99 %s  (%d requests)", i+1, t.name, r.mbps(), ms(r.p50), ms(r.p99), r.requests)
			*t.runs = append(*t.runs, r)
		}
	}
	o, n := medianResult(oursRuns), medianResult(refRuns)

	rep := &Report{}
	desc := fmt.Sprintf("%d readers, %d MiB Range GETs at random offsets of a %d MiB file, %s per run, median of %d runs",
		servingReaders, rangeSize>>20, fileSize>>20, duration, rounds)
	rep.Rows = append(rep.Rows,
		Row{
			Metric:    "Throughput: " + desc,
			Ours:      fmt.Sprintf("%.0f MB/s", o.mbps()),
			Reference: fmt.Sprintf("nginx %s, same file: %.0f MB/s", nginxVersion(), n.mbps()),
			Ratio:     ratio(o.mbps(), n.mbps()),
			Goal:      "≥ 0.9× nginx",
			Met:       met(o.mbps() >= 0.9*n.mbps()),
		},
		Row{
			Metric:    "p99 latency of one Range GET (same runs)",
			Ours:      ms(o.p99) + " (p50 " + ms(o.p50) + ")",
			Reference: "nginx: " + ms(n.p99) + " (p50 " + ms(n.p50) + ")",
			Ratio:     ratio(float64(o.p99), float64(n.p99)),
		},
	)
	rep.Notes = append(rep.Notes,
		"Both serve the same file from the same disk, read into the page cache beforehand, over loopback HTTP/1.1 keep-alive connections. nginx runs the shipped clapshot.nginx.conf (/videos/ by alias, sendfile on) with worker_processes auto; our server is `clapshot-server -D <dir>` serving /videos/ itself.",
		"The load generator runs on the same 2-CPU machine as the server under test, so both figures include its cost; every request's body is read to the end and checked for length.")
	return rep, nil
}

type loadResult struct {
	bytes    int64
	requests int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r loadResult) mbps() float64 { return float64(r.bytes) / r.elapsed.Seconds() / 1e6 }

// medianResult is the run with the median throughput.
func medianResult(rs []loadResult) loadResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b loadResult) int { return cmp.Compare(a.mbps(), b.mbps()) })
	return sorted[len(sorted)/2]
}

// rangeLoad runs servingReaders readers against url for d.
func rangeLoad(ctx context.Context, url string, size int64, d time.Duration) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: servingReaders, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		total     int64
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for i := 0; i < servingReaders; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, seed*7+1))
			b := make([]byte, 256<<10)
			for ctx.Err() == nil {
				off := rnd.Int64N(size - rangeSize)
				t0 := time.Now()
				n, err := getRange(ctx, client, url, off, b)
				if ctx.Err() != nil {
					return // the run ended mid-request: not counted
				}
				lat := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				total += n
				latencies = append(latencies, lat)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(uint64(i + 1))
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if len(latencies) == 0 {
		return loadResult{}, errors.New("no request finished")
	}
	return loadResult{bytes: total, requests: len(latencies), elapsed: elapsed,
		p50: percentile(latencies, 50), p99: percentile(latencies, 99)}, nil
}

func getRange(ctx context.Context, client *http.Client, url string, off int64, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+rangeSize-1))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return 0, fmt.Errorf("GET %s with Range: %s", url, resp.Status)
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err == nil && n != rangeSize {
		err = fmt.Errorf("GET %s with Range: %d bytes, want %d", url, n, rangeSize)
	}
	return n, err
}

// writeFile writes size bytes of pseudo-random data (incompressible, so
// nothing along the way can shortcut it).
func writeFile(path string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 4<<20)
	for written := int64(0); written < size; written += int64(len(chunk)) {
		for i := 0; i+8 <= len(chunk); i += 8 {
			v := rnd.Uint64()
			for j := 0; j < 8; j++ {
				chunk[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-written)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func waitOK(ctx context.Context, url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready within 20 s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func nginxVersion() string {
	out, err := exec.Command("nginx", "-v").CombinedOutput()
	if err != nil {
		return ""
	}
	v := string(out)
	if i := len("nginx version: nginx/"); len(v) > i {
		return v[i : len(v)-1]
	}
	return ""
}
