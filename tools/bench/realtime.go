package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

func init() {
	register(Suite{Name: "realtime", Title: "Realtime review API (/api/ws): collab fan-out, comment broadcast, media and page loads, idle sessions", Run: runRealtime})
}

// rtSizes are the benchmark's dimensions (the issue's, or smaller with
// -quick).
type rtSizes struct {
	participants, watchers, comments, media, idle, broadcasts int
	fanout                                                    time.Duration
}

func runRealtime(ctx context.Context, env *Env) (*Report, error) {
	sz := rtSizes{participants: 200, fanout: 30 * time.Second, watchers: 500, broadcasts: 40, comments: 5000, media: 10000, idle: 500}
	if env.Quick {
		sz = rtSizes{participants: 50, fanout: 5 * time.Second, watchers: 100, broadcasts: 10, comments: 1000, media: 1000, idle: 100}
	}
	dir := filepath.Join(env.Work, "data")
	env.Logf("   seeding %d media files and %d comments (a third with drawings)", sz.media, sz.comments)
	if err := seedMedia(ctx, dir, sz.media); err != nil {
		return nil, err
	}
	drawingBytes, err := seedComments(ctx, dir, mediaID(0), sz.comments, commentShape{})
	if err != nil {
		return nil, err
	}
	ours, ourPID, ref, refPID, stop, err := startWithRef(ctx, env, dir)
	if err != nil {
		return nil, err
	}
	defer stop()

	rep := &Report{}
	loadBefore := loadAverage()
	// Idle memory first, before the other loads leave garbage behind.
	if err := benchIdle(ctx, env, rep, sz, ours, ourPID, ref, refPID); err != nil {
		return nil, fmt.Errorf("idle sessions: %w", err)
	}
	if err := benchFanout(ctx, env, rep, sz, ours, ourPID, ref, refPID); err != nil {
		return nil, fmt.Errorf("collab fan-out: %w", err)
	}
	if err := benchBroadcast(ctx, env, rep, sz, ours, ref); err != nil {
		return nil, fmt.Errorf("comment broadcast: %w", err)
	}
	if err := benchLoads(ctx, env, rep, sz, ours, dir, drawingBytes); err != nil {
		return nil, err
	}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("Machine load average (1 min) at the start and end of the suite: %s and %s, on %d CPUs: other work was running. Tail latencies (p99) suffer most from that; compare the ratios.", loadBefore, loadAverage(), runtime.NumCPU()),
		"Load comes from goroutines of the bench process over loopback; the server and the clients share the machine's CPUs, for ours and the reference alike.",
		"The reference (tools/bench/wsref) is a bare coder/websocket relay: every text message to every connection through per-connection queues, no parsing, permissions or storage. For the loads, the reference is the plain SQLite query (same driver) that fetches the same rows.",
		"Collab and broadcast latency is from the sender's write to each receiver's complete read of the message; the server's CPU is user+system time over the run, as a share of one CPU.",
		"The server keeps a rendered comment list per media file until a database change counter (kept by triggers, so writes by an organizer count too) moves, and each user's home page as encoded items that it brings up to date by re-reading only the files written since (also recorded by triggers). The first load after start-up reads and encodes everything; the \"right after\" rows time a load after one write. Drawings are cached as data URLs (their files never change).")
	return rep, nil
}

// loadAverage is the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// startWithRef starts our server on dir and the reference websocket
// server (tools/bench/wsref, built first); stop stops both.
func startWithRef(ctx context.Context, env *Env, dir string) (ours string, ourPID int, ref string, refPID int, stop func(), err error) {
	bin := filepath.Join(env.Work, "wsref")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./tools/bench/wsref")
	build.Dir = env.Root
	if out, err := build.CombinedOutput(); err != nil {
		return "", 0, "", 0, nil, fmt.Errorf("build tools/bench/wsref: %v\n%s", err, out)
	}
	ours, ourPID, stopOurs, err := startServerProc(ctx, env, dir)
	if err != nil {
		return "", 0, "", 0, nil, err
	}
	ref, refPID, stopRef, err := startRef(ctx, bin)
	if err != nil {
		stopOurs()
		return "", 0, "", 0, nil, err
	}
	return ours, ourPID, ref, refPID, func() { stopRef(); stopOurs() }, nil
}

func startRef(ctx context.Context, bin string) (string, int, func(), error) {
	port, err := testkit.FreePort()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, bin, strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitOK(ctx, base+"/api/health"); err != nil {
		stop()
		return "", 0, nil, err
	}
	return base, cmd.Process.Pid, stop, nil
}

// commentShape says what seeded comments look like beyond their text and
// drawings; the zero value is the realtime suite's: top-level comments on
// whole seconds.
type commentShape struct {
	// Frames spreads timecodes over the frames of a 25 fps clip this long
	// (0: one comment per whole second).
	Frames int
	// Replies makes every third comment a reply to the last top-level one.
	Replies bool
	// Ranges makes every tenth top-level comment a 12-frame range.
	Ranges bool
}

// seedComments adds n comments to a media file, every third with a
// drawing file (a real WebP made by ffmpeg, each under its own name), and
// returns the drawing's size.
func seedComments(ctx context.Context, dir, mediaFileID string, n int, shape commentShape) (int, error) {
	drawings := filepath.Join(dir, "videos", mediaFileID, "drawings")
	if err := os.MkdirAll(drawings, 0o755); err != nil {
		return 0, err
	}
	sample := filepath.Join(dir, "sample.webp")
	// A 1280x720 canvas with a few marks, like a reviewer's sketch (the
	// client's blank canvas is about 1 KB).
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "color=c=black@0.0:s=1280x720,format=rgba,drawbox=x=100:y=80:w=400:h=220:color=red@1:t=8,drawbox=x=700:y=300:w=240:h=180:color=yellow@1:t=6,drawgrid=w=160:h=90:t=2:c=white@0.5",
		"-frames:v", "1", "-c:v", "libwebp", "-quality", "80", "-y", sample).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("make a drawing with ffmpeg: %v\n%s", err, out)
	}
	img, err := os.ReadFile(sample)
	if err != nil {
		return 0, err
	}
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	base := time.Now().UTC().Add(-time.Duration(n) * time.Second)
	err = db.InTx(ctx, func(q *store.Queries) error {
		// The comments' author must exist (user_id is a foreign key).
		if err := q.EnsureUser(ctx, benchUser, "Bench User"); err != nil {
			return err
		}
		var lastTop *int64
		for i := range n {
			c := store.Comment{MediaFileID: mediaFileID, UserID: new(benchUser), UsernameIfNull: "Bench User",
				Comment: fmt.Sprintf("Comment %d: the colour grade drifts here, please check", i), Timecode: new(fmt.Sprintf("00:%02d:%02d:00", i/60%60, i%60)),
				Created: base.Add(time.Duration(i) * time.Second)}
			if shape.Frames > 0 {
				f := (i * 7919) % shape.Frames // spread, not in order
				c.Timecode = new(frameTimecode(f))
				if shape.Ranges && i%10 == 0 && f+12 < shape.Frames {
					c.TimecodeEnd = new(frameTimecode(f + 12))
				}
			}
			if shape.Replies && i%3 == 2 && lastTop != nil {
				c.ParentID, c.Timecode, c.TimecodeEnd = lastTop, nil, nil
			}
			if i%3 == 0 {
				sum := sha256.Sum256([]byte(strconv.Itoa(i)))
				name := hex.EncodeToString(sum[:])[:16] + ".webp"
				if err := os.WriteFile(filepath.Join(drawings, name), img, 0o644); err != nil {
					return err
				}
				c.Drawing = &name
			}
			stored, err := q.InsertComment(ctx, c)
			if err != nil {
				return err
			}
			if stored.ParentID == nil {
				lastTop = &stored.ID
			}
		}
		return nil
	})
	return len(img), err
}

// frameTimecode is a frame's timecode at 25 fps as the clients store it.
func frameTimecode(f int) string {
	return fmt.Sprintf("00:%02d:%02d:%02d", f/25/60, f/25%60, f%25)
}

// wsConn is a bench client connection whose reader hands every message to
// onMsg with its arrival time.
type wsConn struct {
	c    *websocket.Conn
	done chan struct{}
}

func dialWS(ctx context.Context, base, user string, onMsg func(b []byte, at time.Time)) (*wsConn, error) {
	h := http.Header{}
	if user != "" {
		h.Set("X-Remote-User-Id", user)
		h.Set("X-Remote-User-Name", user)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(512 << 20)
	w := &wsConn{c: c, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			onMsg(b, time.Now())
		}
	}()
	return w, nil
}

func (w *wsConn) send(ctx context.Context, msg string) error {
	return w.c.Write(ctx, websocket.MessageText, []byte(msg))
}

func closeAll(conns []*wsConn) {
	for _, w := range conns {
		_ = w.c.CloseNow()
		<-w.done
	}
}

// cpuTicks is a process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// latencies collects delivery times from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

var seqRE = regexp.MustCompile(`"seekTimeSec":\s*(\d+)`)

// fanoutRun is one presenter reporting 30 times a second to n listeners.
type fanoutRun struct {
	lat        latencies
	cpuPercent float64
	expected   int
}

func runFanout(ctx context.Context, base string, pid int, n int, dur time.Duration, collab bool) (*fanoutRun, error) {
	const room = "bench-room"
	res := &fanoutRun{}
	sent := make([]atomic.Int64, int(dur.Seconds()*30)+20)
	var joined atomic.Int64
	onMsg := func(me string) func([]byte, time.Time) {
		return func(b []byte, at time.Time) {
			if m := seqRE.FindSubmatch(b); m != nil {
				seq, _ := strconv.Atoi(string(m[1]))
				if seq < len(sent) {
					if t := sent[seq].Load(); t != 0 {
						res.lat.add(at.Sub(time.Unix(0, t)))
					}
				}
				return
			}
			if collab && strings.Contains(string(b), "'"+me+"' joined collab") {
				joined.Add(1)
			}
		}
	}
	var conns []*wsConn
	defer func() { closeAll(conns) }()
	join := `{"joinCollab":{"collabId":"` + room + `","mediaFileId":"` + mediaID(0) + `"}}`
	for i := range n {
		me := fmt.Sprintf("viewer%03d", i)
		w, err := dialWS(ctx, base, me, onMsg(me))
		if err != nil {
			return nil, err
		}
		conns = append(conns, w)
		if collab {
			if err := w.send(ctx, join); err != nil {
				return nil, err
			}
		}
	}
	presenter, err := dialWS(ctx, base, "presenter", func([]byte, time.Time) {})
	if err != nil {
		return nil, err
	}
	conns = append(conns, presenter)
	if collab {
		if err := presenter.send(ctx, join); err != nil {
			return nil, err
		}
		for deadline := time.Now().Add(2 * time.Minute); joined.Load() < int64(n); {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%d of %d joined the room", joined.Load(), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // let the join announcements settle
	cpu0, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / 30)
	seq := 1 // 0 would be left out of the JSON (a proto3 default)
	for time.Since(start) < dur {
		<-tick.C
		msg := `{"collabReport":{"paused":false,"loop":false,"seekTimeSec":` + strconv.Itoa(seq) + `}}`
		sent[seq].Store(time.Now().UnixNano())
		if err := presenter.send(ctx, msg); err != nil {
			return nil, err
		}
		seq++
	}
	tick.Stop()
	time.Sleep(500 * time.Millisecond) // the last deliveries
	cpu1, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	res.cpuPercent = float64(cpu1-cpu0) / 100 / time.Since(start).Seconds() * 100
	res.expected = (seq - 1) * n
	return res, nil
}

func benchFanout(ctx context.Context, env *Env, rep *Report, sz rtSizes, ours string, ourPID int, ref string, refPID int) error {
	env.Logf("   collab fan-out: 1 presenter, 30 reports/s, %d participants, %s (ours, then the reference)", sz.participants, sz.fanout)
	o, err := runFanout(ctx, ours, ourPID, sz.participants, sz.fanout, true)
	if err != nil {
		return err
	}
	r, err := runFanout(ctx, ref, refPID, sz.participants, sz.fanout, false)
	if err != nil {
		return err
	}
	if len(o.lat.d) < o.expected*99/100 {
		return fmt.Errorf("only %d of %d events delivered", len(o.lat.d), o.expected)
	}
	p50, p99 := percentile(o.lat.d, 50), percentile(o.lat.d, 99)
	r50, r99 := percentile(r.lat.d, 50), percentile(r.lat.d, 99)
	what := fmt.Sprintf("Collab fan-out: 1 presenter, 30 reports/s to %d participants for %s", sz.participants, sz.fanout)
	rep.Rows = append(rep.Rows,
		Row{Metric: what + ": p50 delivery latency", Ours: ms(p50), Reference: "bare relay: " + ms(r50), Ratio: ratio(float64(p50), float64(r50))},
		Row{Metric: what + ": p99 delivery latency", Ours: fmt.Sprintf("%s (%d events delivered of %d)", ms(p99), len(o.lat.d), o.expected),
			Reference: "bare relay: " + ms(r99), Ratio: ratio(float64(p99), float64(r99)), Goal: "< 20 ms", Met: met(p99 < 20*time.Millisecond)},
		Row{Metric: what + ": server CPU", Ours: fmt.Sprintf("%.0f%% of one CPU", o.cpuPercent),
			Reference: fmt.Sprintf("bare relay: %.0f%%", r.cpuPercent), Ratio: ratio(o.cpuPercent, r.cpuPercent)},
	)
	return nil
}

var commentSeqRE = regexp.MustCompile(`"comment":\s*"bench (\d+)"`)

func runBroadcast(ctx context.Context, base string, n, count int, ours bool) (*latencies, error) {
	lat := &latencies{}
	sent := make([]atomic.Int64, count)
	var opened atomic.Int64
	onMsg := func(b []byte, at time.Time) {
		if m := commentSeqRE.FindSubmatch(b); m != nil {
			seq, _ := strconv.Atoi(string(m[1]))
			if seq < count {
				lat.add(at.Sub(time.Unix(0, sent[seq].Load())))
			}
			return
		}
		if strings.HasPrefix(string(b), `{"addComments"`) {
			opened.Add(1)
		}
	}
	var conns []*wsConn
	defer func() { closeAll(conns) }()
	for i := range n {
		w, err := dialWS(ctx, base, fmt.Sprintf("watcher%03d", i), onMsg)
		if err != nil {
			return nil, err
		}
		conns = append(conns, w)
		if ours {
			if err := w.send(ctx, `{"openMediaFile":{"mediaFileId":"`+mediaID(1)+`"}}`); err != nil {
				return nil, err
			}
		}
	}
	if ours {
		for deadline := time.Now().Add(2 * time.Minute); opened.Load() < int64(n); {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%d of %d watchers opened the file", opened.Load(), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	sender, err := dialWS(ctx, base, benchUser, func([]byte, time.Time) {})
	if err != nil {
		return nil, err
	}
	conns = append(conns, sender)
	time.Sleep(time.Second)
	for seq := range count {
		// The reference relays the message as it is: give it the size of
		// the comment the server sends.
		msg := `{"addComments":{"comments":[{"id":"` + strconv.Itoa(seq) + `","mediaFileId":"` + mediaID(1) + `","userId":"bench.user","usernameIfnull":"Bench User","comment":"bench ` + strconv.Itoa(seq) + `","created":"2026-01-01T00:00:00Z"}]}}`
		if ours {
			msg = `{"addComment":{"mediaFileId":"` + mediaID(1) + `","comment":"bench ` + strconv.Itoa(seq) + `"}}`
		}
		sent[seq].Store(time.Now().UnixNano())
		if err := sender.send(ctx, msg); err != nil {
			return nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if len(lat.d) < n*count*99/100 {
		return nil, fmt.Errorf("only %d of %d deliveries", len(lat.d), n*count)
	}
	return lat, nil
}

func benchBroadcast(ctx context.Context, env *Env, rep *Report, sz rtSizes, ours, ref string) error {
	env.Logf("   comment broadcast: %d comments to %d watchers", sz.broadcasts, sz.watchers)
	o, err := runBroadcast(ctx, ours, sz.watchers, sz.broadcasts, true)
	if err != nil {
		return err
	}
	r, err := runBroadcast(ctx, ref, sz.watchers, sz.broadcasts, false)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("A comment broadcast to %d watchers (%d comments, 5 a second)", sz.watchers, sz.broadcasts)
	rep.Rows = append(rep.Rows,
		Row{Metric: what + ": p50 latency", Ours: ms(percentile(o.d, 50)), Reference: "bare relay: " + ms(percentile(r.d, 50)),
			Ratio: ratio(float64(percentile(o.d, 50)), float64(percentile(r.d, 50)))},
		Row{Metric: what + ": p99 latency", Ours: ms(percentile(o.d, 99)), Reference: "bare relay: " + ms(percentile(r.d, 99)),
			Ratio: ratio(float64(percentile(o.d, 99)), float64(percentile(r.d, 99)))},
	)
	return nil
}

// timeReply sends msg and times the arrival of the complete reply whose
// key is want, returning its size.
func timeReply(ctx context.Context, base, msg, want string) (time.Duration, int, error) {
	got := make(chan int, 1)
	w, err := dialWS(ctx, base, benchUser, func(b []byte, at time.Time) {
		if strings.HasPrefix(string(b), `{"`+want+`"`) {
			got <- len(b)
		}
	})
	if err != nil {
		return 0, 0, err
	}
	defer closeAll([]*wsConn{w})
	time.Sleep(100 * time.Millisecond) // welcome, defineActions
	start := time.Now()
	if err := w.send(ctx, msg); err != nil {
		return 0, 0, err
	}
	select {
	case n := <-got:
		return time.Since(start), n, nil
	case <-time.After(time.Minute):
		return 0, 0, fmt.Errorf("no %s within a minute", want)
	}
}

func benchLoads(ctx context.Context, env *Env, rep *Report, sz rtSizes, ours, dir string, drawingBytes int) error {
	runs := 10
	if env.Quick {
		runs = 3
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clapshot.sqlite")+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	query := func(q string, args ...any) (time.Duration, error) {
		start := time.Now()
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return 0, err
			}
		}
		return time.Since(start), rows.Err()
	}
	// change makes what invalidates a rendered reply (a new comment, a
	// renamed file), as the owner, and waits until it is stored.
	// Each message is sent once the previous one's ack has arrived.
	change := func(msgs []string, ack string) error {
		done := make(chan struct{}, len(msgs))
		w, err := dialWS(ctx, ours, benchUser, func(b []byte, at time.Time) {
			if strings.HasPrefix(string(b), `{"`+ack+`"`) {
				select {
				case done <- struct{}{}:
				default:
				}
			}
		})
		if err != nil {
			return err
		}
		defer closeAll([]*wsConn{w})
		time.Sleep(100 * time.Millisecond) // welcome, defineActions
		for _, msg := range msgs {
			if err := w.send(ctx, msg); err != nil {
				return err
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				return fmt.Errorf("no %s after %s", ack, msg)
			}
		}
		return nil
	}
	for _, load := range []struct {
		what, msg, reply, refQuery, refWhat string
		arg                                 string
		change                              []string
		changeAck, changeWhat               string
	}{
		{fmt.Sprintf("openMediaFile with %d comments (a third with a %.1f KB drawing): time to the last byte of addComments", sz.comments, float64(drawingBytes)/1024),
			`{"openMediaFile":{"mediaFileId":"` + mediaID(0) + `"}}`, "addComments",
			"SELECT * FROM comments WHERE media_file_id = ? ORDER BY created DESC, id ASC", "SQLite query of the comments", mediaID(0),
			// A watcher of the file gets the new comment: open it first.
			[]string{`{"openMediaFile":{"mediaFileId":"` + mediaID(0) + `"}}`, `{"addComment":{"mediaFileId":"` + mediaID(0) + `","comment":"one more"}}`},
			"addComments", "a comment was added"},
		{fmt.Sprintf("Home page with %d media files: time to the last byte of showPage", sz.media),
			`{"openNavigationPage":{}}`, "showPage",
			"SELECT * FROM media_files WHERE user_id = ? ORDER BY added_time DESC, id ASC", "SQLite query of the user's media files", benchUser,
			[]string{`{"renameMediaFile":{"mediaFileId":"` + mediaID(1) + `","newName":"renamed %d"}}`}, "showMessages", "a file was renamed"},
	} {
		env.Logf("   %s", load.what)
		var ourTimes, refTimes []time.Duration
		size := 0
		for range runs {
			d, n, err := timeReply(ctx, ours, load.msg, load.reply)
			if err != nil {
				return err
			}
			ourTimes, size = append(ourTimes, d), n
			q, err := query(load.refQuery, load.arg)
			if err != nil {
				return err
			}
			refTimes = append(refTimes, q)
		}
		m, rm := median(ourTimes), median(refTimes)
		rep.Rows = append(rep.Rows, Row{
			Metric:    load.what + fmt.Sprintf(" (median of %d)", runs),
			Ours:      fmt.Sprintf("%s (first after start-up, nothing cached: %s; %.1f MB message)", ms(m), ms(ourTimes[0]), float64(size)/1e6),
			Reference: load.refWhat + ": " + ms(rm),
			Ratio:     ratio(float64(m), float64(rm)),
			Goal:      "< 100 ms",
			Met:       met(m < 100*time.Millisecond),
		})
		// After each change the reply is rendered again from the database;
		// only what changed is encoded anew.
		var changed []time.Duration
		for i := range runs {
			msgs := slices.Clone(load.change)
			last := len(msgs) - 1
			if strings.Contains(msgs[last], "%d") {
				msgs[last] = fmt.Sprintf(msgs[last], i)
			}
			if err := change(msgs, load.changeAck); err != nil {
				return err
			}
			d, _, err := timeReply(ctx, ours, load.msg, load.reply)
			if err != nil {
				return err
			}
			changed = append(changed, d)
		}
		cm := median(changed)
		rep.Rows = append(rep.Rows, Row{
			Metric:    fmt.Sprintf("%s, right after %s (median of %d)", load.what, load.changeWhat, runs),
			Ours:      ms(cm),
			Reference: load.refWhat + ": " + ms(rm),
			Ratio:     ratio(float64(cm), float64(rm)),
			Goal:      "< 100 ms",
			Met:       met(cm < 100*time.Millisecond),
		})
	}
	return nil
}

// idleRSS is the memory a server holds for n idle connections, per
// connection: the growth of its resident memory from before they connect
// (the server has just started) to the highest of several readings while
// they are connected.
func idleRSS(ctx context.Context, base string, pid, n int) (float64, error) {
	before, err := rssKB(pid)
	if err != nil {
		return 0, err
	}
	var conns []*wsConn
	defer func() { closeAll(conns) }()
	for i := range n {
		w, err := dialWS(ctx, base, fmt.Sprintf("idle%03d", i), func([]byte, time.Time) {})
		if err != nil {
			return 0, err
		}
		conns = append(conns, w)
	}
	var after int64
	for range 6 {
		time.Sleep(500 * time.Millisecond)
		r, err := rssKB(pid)
		if err != nil {
			return 0, err
		}
		after = max(after, r)
	}
	return float64(after-before) / float64(n), nil
}

func benchIdle(ctx context.Context, env *Env, rep *Report, sz rtSizes, ours string, ourPID int, ref string, refPID int) error {
	env.Logf("   %d idle sessions", sz.idle)
	o, err := idleRSS(ctx, ours, ourPID, sz.idle)
	if err != nil {
		return err
	}
	r, err := idleRSS(ctx, ref, refPID, sz.idle)
	if err != nil {
		return err
	}
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("%d idle sessions: RSS per session", sz.idle),
		Ours:      fmt.Sprintf("%.1f KB", o),
		Reference: fmt.Sprintf("bare coder/websocket connection: %.1f KB", r),
		Ratio:     ratio(o, r),
	})
	return nil
}
