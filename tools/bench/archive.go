package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The "archive" suite: recording (CPU, bytes written) beside mediamtx's
// recorder, the ranges of a month of one-minute segments, and "Send to
// review" of a 10-minute range beside a bare ffmpeg -c copy of the same
// segments. The live suite's cameras, servers and helpers are reused.
func init() {
	register(Suite{Name: "archive", Title: "Live archive: recording vs mediamtx's recorder, ranges, Send to review vs ffmpeg -c copy", Run: runArchive})
}

// archiveSizes are the suite's inputs.
type archiveSizes struct {
	streams  int
	warm     time.Duration
	measure  time.Duration
	rangeN   int // one-minute segments for the ranges figure
	reviewN  int // recorded segments making the review range
	attempts int
}

func runArchive(ctx context.Context, env *Env) (*Report, error) {
	sz := archiveSizes{streams: 8, warm: 5 * time.Second, measure: 20 * time.Second, rangeN: 30 * 24 * 60, reviewN: 60, attempts: 3}
	if env.Quick {
		sz = archiveSizes{streams: 2, warm: 3 * time.Second, measure: 12 * time.Second, rangeN: 30 * 24 * 60, reviewN: 12, attempts: 1}
	}
	ours, mtx, err := liveBinaries()
	if err != nil {
		return nil, err
	}
	load, note, err := startLiveLoad(ctx, env, sz.streams)
	if err != nil {
		return nil, err
	}
	defer load.close()
	rep := &Report{Notes: []string{note}}
	seg, err := benchRecording(ctx, env, rep, sz, load, ours, mtx)
	if err != nil {
		return rep, err
	}
	if err := benchArchiveRanges(ctx, env, rep, sz, ours, seg); err != nil {
		return rep, err
	}
	if err := benchSendToReview(ctx, env, rep, sz, load, seg); err != nil {
		return rep, err
	}
	rep.Notes = append(rep.Notes,
		"Recording: both servers record every stream into fragmented MP4 with 10 s segments and 1 s parts (ours: `[archive] recording = true, ms_per_file = 10000, ms_per_part = 1000`, each part fsynced as it is written; mediamtx: `record: yes, recordFormat: fmp4, recordSegmentDuration: 10s, recordPartDuration: 1s`). Ours also has its MSE output on (a stream needs one; no viewer), mediamtx serves RTSP (no reader). Bytes written are the archive files' sizes (segments plus, for ours, the index) after the cameras stopped, against the RTP payload the server received (its metrics: `video_server_stream_received_bytes_total`, mediamtx's `bytesReceived`, which counts whole RTP packets, headers included).",
		"The ranges and review archives are made of one closed segment that video_server recorded above, hard-linked under the names and with the index lines of a longer archive (a month of one-minute segments, a gap each day; a 10-minute run of back-to-back segments), read by a server that serves the archive without recording.")
	return rep, nil
}

// recorded is a closed segment video_server recorded: its file and index line.
type recorded struct {
	path  string
	entry map[string]any
	dur   time.Duration
}

// benchRecording records every camera with ours, then with mediamtx, and
// returns one of ours' closed segments for the other figures.
func benchRecording(ctx context.Context, env *Env, rep *Report, sz archiveSizes, load *liveLoad, ours, mtx string) (recorded, error) {
	n := float64(sz.streams)
	type result struct {
		cpu              float64
		written, receivd int64
	}
	env.Logf("   recording %d streams: video_server", sz.streams)
	arch := filepath.Join(env.Work, "ours-archive", "mp4")
	p, err := startOursWith(ctx, env, ours, "archive",
		fmt.Sprintf("[archive]\nrecording = true\ndirectory = %q\nms_per_file = 10000\nms_per_part = 1000\n", arch))
	if err != nil {
		return recorded{}, err
	}
	var o result
	err = func() error {
		defer p.stop()
		for i := range sz.streams {
			if err := p.addStream(ctx, load, i, []string{"mse"}); err != nil {
				return err
			}
		}
		time.Sleep(sz.warm)
		if o.cpu, err = cpuShare(ctx, p.pid(), sz.measure); err != nil {
			return err
		}
		// Everything received is written once the cameras are gone.
		for i := range sz.streams {
			load.stop(i)
		}
		time.Sleep(3 * time.Second)
		metrics, err := httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", p.api))
		if err != nil {
			return err
		}
		o.receivd = int64(sumMetric(metrics, "video_server_stream_received_bytes_total"))
		o.written, err = dirBytes(arch)
		return err
	}()
	if err != nil {
		return recorded{}, fmt.Errorf("video_server: %w; its log:\n%s", err, p.logTail())
	}
	seg, err := closedSegment(arch, streamGUID(0))
	if err != nil {
		return recorded{}, err
	}

	env.Logf("   recording %d streams: mediamtx", sz.streams)
	for i := range sz.streams {
		load.start(i)
	}
	m, err := startMediamtx(ctx, env, mtx, "archive", false)
	if err != nil {
		return recorded{}, err
	}
	var r result
	err = func() error {
		defer m.stop()
		for i := range sz.streams {
			path := fmt.Sprintf("cam%d", i)
			if err := postJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/config/paths/add/%s", m.api, path), map[string]any{
				"source": load.url(i), "rtspTransport": "tcp", "record": true, "recordFormat": "fmp4",
				"recordPath": "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f", "recordSegmentDuration": "10s", "recordPartDuration": "1s",
			}); err != nil {
				return err
			}
			if err := waitJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/paths/get/%s", m.api, path), func(v map[string]any) bool { return v["ready"] == true }); err != nil {
				return err
			}
		}
		time.Sleep(sz.warm)
		if r.cpu, err = cpuShare(ctx, m.pid(), sz.measure); err != nil {
			return err
		}
		for i := range sz.streams {
			var v struct{ BytesReceived int64 }
			body, err := httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/v3/paths/get/cam%d", m.api, i))
			if err == nil {
				err = json.Unmarshal([]byte(body), &v)
			}
			if err != nil {
				return err
			}
			r.receivd += v.BytesReceived
		}
		for i := range sz.streams {
			load.stop(i)
		}
		time.Sleep(3 * time.Second)
		r.written, err = dirBytes(filepath.Join(m.dir, "recordings"))
		return err
	}()
	if err != nil {
		return recorded{}, fmt.Errorf("mediamtx: %w; its log:\n%s", err, m.logTail())
	}
	for i := range sz.streams {
		load.start(i)
	}
	if o.receivd == 0 || r.receivd == 0 {
		return recorded{}, fmt.Errorf("nothing received (ours %d bytes, mediamtx %d)", o.receivd, r.receivd)
	}
	oa, ra := float64(o.written)/float64(o.receivd), float64(r.written)/float64(r.receivd)
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Recording CPU per stream, 1080p30 2 Mbit/s H.264 (%d streams, share of one core)", sz.streams),
		Ours:      fmt.Sprintf("%.2f %%", o.cpu/n*100),
		Reference: fmt.Sprintf("mediamtx %s recorder: %.2f %%", mediamtxVersion, r.cpu/n*100),
		Ratio:     ratio(o.cpu, r.cpu), Goal: "≤ 1.0× mediamtx", Met: met(o.cpu <= r.cpu),
	}, Row{
		Metric:    "Write amplification: bytes written to the archive / bytes received from the cameras",
		Ours:      fmt.Sprintf("%.3f (%.1f MB of %.1f MB)", oa, float64(o.written)/1e6, float64(o.receivd)/1e6),
		Reference: fmt.Sprintf("mediamtx: %.3f (%.1f MB of %.1f MB, RTP headers included)", ra, float64(r.written)/1e6, float64(r.receivd)/1e6),
		Ratio:     ratio(oa, ra), Goal: "≤ 1.05", Met: met(oa <= 1.05),
	})
	return seg, nil
}

// sumMetric adds up every sample of a Prometheus counter.
func sumMetric(text, name string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// dirBytes is the size of every file below dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// closedSegment is the longest segment of stream id the index lists.
func closedSegment(dir, id string) (recorded, error) {
	f, err := os.Open(filepath.Join(dir, id+".index.jsonl"))
	if err != nil {
		return recorded{}, err
	}
	defer f.Close()
	var best recorded
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil || e["deleted"] == true {
			continue
		}
		name, _ := e["name"].(string)
		d, _ := e["duration_ns"].(float64)
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil && time.Duration(d) > best.dur {
			best = recorded{path: filepath.Join(dir, name), entry: e, dur: time.Duration(d)}
		}
	}
	if best.path == "" {
		return best, fmt.Errorf("video_server closed no segment of %s in %s", id, dir)
	}
	return best, nil
}

// fakeArchive links seg into dir once per start, with index lines that
// give each the duration dur, for stream id.
func fakeArchive(dir, id string, seg recorded, starts []time.Time, dur time.Duration) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var idx bytes.Buffer
	names := make([]string, len(starts))
	for i, t := range starts {
		names[i] = fmt.Sprintf("%s_%d.mp4", id, t.UnixMilli())
		if err := os.Link(seg.path, filepath.Join(dir, names[i])); err != nil {
			return nil, err
		}
		e := map[string]any{}
		for k, v := range seg.entry {
			e[k] = v
		}
		e["name"], e["start"], e["duration_ns"] = names[i], t.UTC(), int64(dur)
		b, _ := json.Marshal(e)
		idx.Write(append(b, '\n'))
	}
	return names, os.WriteFile(filepath.Join(dir, id+".index.jsonl"), idx.Bytes(), 0o644)
}

// benchArchiveRanges times GET /archive/<id>/ranges over a month of
// one-minute segments, against GET /list of the same server.
func benchArchiveRanges(ctx context.Context, env *Env, rep *Report, sz archiveSizes, ours string, seg recorded) error {
	env.Logf("   ranges of %d one-minute segments", sz.rangeN)
	id := streamGUID(90)
	dir := filepath.Join(env.Work, "ranges-archive")
	t0 := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Minute)
	starts := make([]time.Time, sz.rangeN)
	for i := range starts {
		starts[i] = t0.Add(time.Duration(i) * time.Minute)
		if i%1440 == 0 && i > 0 {
			starts[i] = starts[i].Add(5 * time.Second) // a gap a day
		}
	}
	if _, err := fakeArchive(dir, id, seg, starts, time.Minute); err != nil {
		return err
	}
	p, err := startOursWith(ctx, env, ours, "ranges", fmt.Sprintf(
		"[archive]\nserving = true\ndirectory = %q\n\n[[rtsp_streams]]\nguid = %q\nurl = \"rtsp://127.0.0.1:9/none\"\noutput_types = [\"mse\"]\non_demand = true\n", dir, id))
	if err != nil {
		return err
	}
	defer p.stop()
	base := fmt.Sprintf("http://127.0.0.1:%d", p.api)
	var body string
	ranges := timeGets(ctx, base+"/archive/"+id+"/ranges", 30, &body)
	var got struct{ Ranges []any }
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Ranges) != 30 {
		return fmt.Errorf("ranges: %d ranges (want 30): %v %.200s", len(got.Ranges), err, body)
	}
	list := timeGets(ctx, base+"/list", 30, nil)
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Ranges of 30 days of 1-minute segments (%d segments, 30 ranges): GET /archive/<id>/ranges, median of 30", sz.rangeN),
		Ours:      ms(median(ranges)) + fmt.Sprintf(" (p95 %s)", ms(percentile(ranges, 95))),
		Reference: "GET /list of the same server (no archive work): " + ms(median(list)),
		Ratio:     ratio(median(ranges).Seconds(), median(list).Seconds()), Goal: "< 50 ms", Met: met(median(ranges) < 50*time.Millisecond),
	})
	return nil
}

// timeGets times n GETs of url; body gets the last answer.
func timeGets(ctx context.Context, url string, n int, body *string) []time.Duration {
	var out []time.Duration
	for range n {
		t := time.Now()
		b, err := httpGet(ctx, url)
		if err != nil {
			continue
		}
		out = append(out, time.Since(t))
		if body != nil {
			*body = b
		}
	}
	return out
}

// benchSendToReview times POST …/archive/review of a 10-minute range in
// clapshot-server (export and remux; the answer comes once the file is
// queued) against ffmpeg -c copy of the same segments.
func benchSendToReview(ctx context.Context, env *Env, rep *Report, sz archiveSizes, load *liveLoad, seg recorded) error {
	id := streamGUID(91)
	dir := filepath.Join(env.Work, "review-archive")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	starts := make([]time.Time, sz.reviewN)
	for i := range starts {
		starts[i] = t0.Add(time.Duration(i) * seg.dur)
	}
	span := time.Duration(sz.reviewN) * seg.dur
	env.Logf("   send to review of %s (%d segments of %s)", span.Round(time.Second), sz.reviewN, seg.dur.Round(time.Millisecond))
	names, err := fakeArchive(dir, id, seg, starts, seg.dur)
	if err != nil {
		return err
	}
	conf := filepath.Join(env.Work, "review-live.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[archive]\nserving = true\ndirectory = %q\n\n[[rtsp_streams]]\nguid = %q\nname = \"Bench\"\nurl = %q\noutput_types = [\"mse\"]\non_demand = true\n",
		dir, id, load.url(0))), 0o644); err != nil {
		return err
	}
	s, err := startPipelineServer(ctx, env, filepath.Join(env.Work, "review-data"), "--live-config", conf, "--workers", "1")
	if err != nil {
		return err
	}
	defer s.stop()

	list := filepath.Join(env.Work, "concat.txt")
	var lb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&lb, "file '%s'\n", filepath.Join(dir, n))
	}
	if err := os.WriteFile(list, []byte(lb.String()), 0o644); err != nil {
		return err
	}
	var oursT, refT []time.Duration
	body := map[string]any{"start": t0.Format(time.RFC3339Nano), "end": t0.Add(span).Format(time.RFC3339Nano)}
	for i := range sz.attempts {
		body["title"] = fmt.Sprintf("bench %d", i)
		b, _ := json.Marshal(body)
		t := time.Now()
		resp, err := http.Post(s.base+"/api/live/streams/"+id+"/archive/review", "application/json", bytes.NewReader(b))
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("send to review: %s: %s", resp.Status, out)
		}
		oursT = append(oursT, time.Since(t))
		var got struct{ Duration float64 }
		if err := json.Unmarshal(out, &got); err != nil || got.Duration < span.Seconds()-2 {
			return fmt.Errorf("send to review exported %.1f s of %.1f s: %v", got.Duration, span.Seconds(), err)
		}
		dst := filepath.Join(env.Work, fmt.Sprintf("ref-%d.mp4", i))
		t = time.Now()
		cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", list,
			"-map", "0", "-c", "copy", "-t", strconv.FormatFloat(span.Seconds(), 'f', 3, 64), "-movflags", "+faststart", "-f", "mp4", dst)
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg -c copy: %w: %s", err, o)
		}
		refT = append(refT, time.Since(t))
		_ = os.Remove(dst)
	}
	o, r := median(oursT), median(refT)
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Send to review of a %s range (%d segments, %.0f MB): POST …/archive/review until 202 (cut from the archive, ffmpeg -c copy +faststart, queued), median of %d", span.Round(time.Second), sz.reviewN, float64(seg.entrySize())*float64(sz.reviewN)/1e6, sz.attempts),
		Ours:      ms(o),
		Reference: "bare `ffmpeg -f concat -c copy -movflags +faststart` of the same segment files: " + ms(r),
		Ratio:     ratio(o.Seconds(), r.Seconds()), Goal: "≤ 1.2×", Met: met(o.Seconds() <= 1.2*r.Seconds()),
	})
	return nil
}

func (r recorded) entrySize() int64 {
	n, _ := r.entry["size"].(float64)
	return int64(n)
}
