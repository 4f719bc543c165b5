package main

import (
	"context"
	"database/sql"
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

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

func init() {
	register(Suite{Name: "foundation", Title: "Server foundation: start-up, memory, database migration", Run: runFoundation})
}

// minimalServer is the start-up reference: the least a Go HTTP server can do.
const minimalServer = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("I'm alive!")) })
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
`

func runFoundation(ctx context.Context, env *Env) (*Report, error) {
	rep := &Report{}
	if err := benchStartup(ctx, env, rep); err != nil {
		return nil, err
	}
	if err := benchMigration(ctx, env, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// startTimed starts a server and returns the time to its first 200 on
// /api/health, the time until it is fully started (/api/health?details=1
// says "ok": database open and migrated, everything running; a server
// without details is ready at its first 200), and its resident memory
// after idling for a second.
func startTimed(args func(port int) []string) (time.Duration, time.Duration, int64, error) {
	port, err := testkit.FreePort()
	if err != nil {
		return 0, 0, 0, err
	}
	a := args(port)
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	url := fmt.Sprintf("http://127.0.0.1:%d/api/health", port)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer stopProcess(cmd)
	var took time.Duration
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				took = time.Since(start)
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			return 0, 0, 0, fmt.Errorf("%s: no 200 within 20 s", a[0])
		}
		time.Sleep(500 * time.Microsecond)
	}
	var ready time.Duration
	for {
		resp, err := client.Get(url + "?details=1")
		if err == nil {
			var st struct{ Status string }
			jerr := json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if resp.StatusCode == 200 && (jerr != nil || st.Status == "ok") {
				ready = time.Since(start)
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			return 0, 0, 0, fmt.Errorf("%s: not started within 20 s", a[0])
		}
		time.Sleep(500 * time.Microsecond)
	}
	time.Sleep(time.Second)
	rss, err := rssKB(cmd.Process.Pid)
	return took, ready, rss, err
}

func rssKB(pid int) (int64, error) { return statusKB(pid, "VmRSS") }

func benchStartup(ctx context.Context, env *Env, rep *Report) error {
	refDir := filepath.Join(env.Work, "minimal")
	if err := writeFiles(refDir, map[string]string{"main.go": minimalServer, "go.mod": "module minimal\n\ngo 1.26\n"}); err != nil {
		return err
	}
	refBin := filepath.Join(refDir, "minimal")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", refBin, ".")
	build.Dir = refDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build reference server: %v\n%s", err, out)
	}

	runs := 15
	if env.Quick {
		runs = 3
	}
	type series struct {
		times, ready []time.Duration
		rss          []int64
	}
	measure := func(args func(run, port int) []string) (series, error) {
		var s series
		for i := 0; i < runs; i++ {
			d, r, rss, err := startTimed(func(port int) []string { return args(i, port) })
			if err != nil {
				return s, err
			}
			s.times = append(s.times, d)
			s.ready = append(s.ready, r)
			s.rss = append(s.rss, rss)
		}
		return s, nil
	}
	env.Logf("   start-up: %d runs each", runs)
	ref, err := measure(func(_, p int) []string { return []string{refBin, strconv.Itoa(p)} })
	if err != nil {
		return err
	}
	fresh, err := measure(func(i, p int) []string {
		return []string{env.ServerBin, "-D", filepath.Join(env.Work, fmt.Sprintf("fresh-%d", i)), "-p", strconv.Itoa(p)}
	})
	if err != nil {
		return err
	}
	existing := filepath.Join(env.Work, "existing")
	if err := os.MkdirAll(existing, 0o755); err != nil {
		return err
	}
	if _, _, _, err := startTimed(func(p int) []string { return []string{env.ServerBin, "-D", existing, "-p", strconv.Itoa(p)} }); err != nil {
		return err
	}
	warm, err := measure(func(_, p int) []string { return []string{env.ServerBin, "-D", existing, "-p", strconv.Itoa(p)} })
	if err != nil {
		return err
	}
	refMed := median(ref.times)
	for _, c := range []struct {
		name string
		s    series
	}{{"Cold start to first 200, new data dir (creates the database)", fresh}, {"Cold start to first 200, existing data dir", warm}} {
		m := median(c.s.times)
		rep.Rows = append(rep.Rows, Row{
			Metric:    c.name + " (median of " + strconv.Itoa(runs) + ")",
			Ours:      ms(m) + " (p90 " + ms(percentile(c.s.times, 90)) + "; fully started: " + ms(median(c.s.ready)) + ")",
			Reference: "minimal Go net/http server: " + ms(refMed),
			Ratio:     ratio(float64(m), float64(refMed)),
			Goal:      "< 300 ms",
			Met:       met(m < 300*time.Millisecond),
		})
	}
	ourRSS, refRSS := medianInt(warm.rss), medianInt(ref.rss)
	rep.Rows = append(rep.Rows, Row{
		Metric:    "Idle RSS one second after start-up",
		Ours:      fmt.Sprintf("%.1f MB", float64(ourRSS)/1024),
		Reference: fmt.Sprintf("minimal Go server: %.1f MB", float64(refRSS)/1024),
		Ratio:     ratio(float64(ourRSS), float64(refRSS)),
		Goal:      "< 40 MB",
		Met:       met(ourRSS < 40*1024),
	})
	return nil
}

func medianInt(v []int64) int64 {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x)
	}
	return int64(median(d))
}

// benchMigration builds a Clapshot 0.5.6-shaped database with 10 000 media
// files and 100 000 comments, then migrates copies of it with our server
// code and with the sqlite3 command-line tool running the same SQL.
func benchMigration(ctx context.Context, env *Env, rep *Report) error {
	nMedia, nComments := 10000, 100000
	if env.Quick {
		nMedia, nComments = 1000, 10000
	}
	tmpl := filepath.Join(env.Work, "v056.sqlite")
	env.Logf("   building a v0.5.6 database: %d media, %d comments", nMedia, nComments)
	pending, err := buildV056(tmpl, nMedia, nComments)
	if err != nil {
		return err
	}
	st, _ := os.Stat(tmpl)

	var script strings.Builder
	script.WriteString("PRAGMA foreign_keys=OFF;\nPRAGMA legacy_alter_table=ON;\nPRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n")
	for _, m := range pending {
		fmt.Fprintf(&script, "BEGIN;\n%s\nINSERT INTO __diesel_schema_migrations (version) VALUES ('%s');\nCOMMIT;\n", m.SQL, m.Version)
	}
	script.WriteString("PRAGMA foreign_key_check;\nPRAGMA wal_checkpoint(TRUNCATE);\n")

	runs := 3
	var ours, backup, ref []time.Duration
	for i := 0; i < runs; i++ {
		dir := filepath.Join(env.Work, fmt.Sprintf("mig-ours-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		p := filepath.Join(dir, "clapshot.sqlite")
		if err := copyFile(tmpl, p); err != nil {
			return err
		}
		start := time.Now()
		db, err := store.Open(ctx, store.OpenOptions{Path: p, Migrate: true})
		if err != nil {
			return fmt.Errorf("our migration: %w", err)
		}
		took := time.Since(start)
		if err := checkMigrated(db.SQL(), nMedia, nComments); err != nil {
			return err
		}
		db.Close()
		ours = append(ours, took)
		// The backup alone, on a fresh copy of the same file.
		if err := copyFile(tmpl, p); err != nil {
			return err
		}
		start = time.Now()
		if _, err := store.Backup(p); err != nil {
			return err
		}
		backup = append(backup, time.Since(start))

		rdir := filepath.Join(env.Work, fmt.Sprintf("mig-ref-%d", i))
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			return err
		}
		rp := filepath.Join(rdir, "clapshot.sqlite")
		if err := copyFile(tmpl, rp); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "sqlite3", "-bail", rp)
		cmd.Stdin = strings.NewReader(script.String())
		start = time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("sqlite3 reference: %v\n%s", err, out)
		}
		ref = append(ref, time.Since(start))
		rdb, err := sql.Open("sqlite", rp)
		if err != nil {
			return err
		}
		if err := checkMigrated(rdb, nMedia, nComments); err != nil {
			rdb.Close()
			return fmt.Errorf("reference result: %w", err)
		}
		rdb.Close()
	}
	o, r := median(ours), median(ref)
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("Migrate a v0.5.6 database (%d media, %d comments, %.0f MB) to the latest schema, median of %d", nMedia, nComments, float64(st.Size())/1e6, runs),
		Ours:      ms(o) + " (the tar.gz backup alone: " + ms(median(backup)) + ")",
		Reference: "sqlite3 CLI, same SQL on a copy: " + ms(r),
		Ratio:     ratio(float64(o), float64(r)),
		Goal:      "",
	})
	rep.Notes = append(rep.Notes,
		"Our figure includes inspecting the file (quick_check), the tar.gz backup, every migration in its own transaction, the foreign-key check and the WAL checkpoint; the sqlite3 reference runs only the migration SQL and the foreign-key check.",
		"The server uses modernc.org/sqlite (SQLite compiled to Go, no cgo); sqlite3 is Debian's C build, so part of the ratio is the driver.")
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func checkMigrated(db *sql.DB, nMedia, nComments int) error {
	var media, comments, users int
	if err := db.QueryRow("SELECT (SELECT count(*) FROM media_files), (SELECT count(*) FROM comments), (SELECT count(*) FROM users)").Scan(&media, &comments, &users); err != nil {
		return err
	}
	if media != nMedia || comments != nComments || users == 0 {
		return fmt.Errorf("after migration: %d media, %d comments, %d users", media, comments, users)
	}
	return nil
}

// buildV056 writes a database at Clapshot 0.5.6's schema and returns the
// migrations still pending for it.
func buildV056(p string, nMedia, nComments int) ([]store.Migration, error) {
	const v056 = "20230417100000"
	if err := store.CreateAtVersion(context.Background(), p, v056); err != nil {
		return nil, err
	}
	var pending []store.Migration
	for _, m := range store.Migrations() {
		if m.Version > v056 {
			pending = append(pending, m)
		}
	}
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	meta := `{"media":{"track":[{"@type":"General","Format":"MPEG-4"},{"@type":"Video","Format":"AVC","FrameRate":"25.000"}]}}`
	for i := 0; i < nMedia; i++ {
		u := fmt.Sprintf("user%03d", i%200)
		if _, err := tx.Exec(`INSERT INTO videos (video_hash, added_by_userid, added_by_username, added_time, recompression_done,
			orig_filename, total_frames, duration, fps, raw_metadata_all, title, thumb_sheet_dims)
			VALUES (?, ?, ?, datetime('2023-01-01', '+' || ? || ' minutes'), NULL, ?, 1500, 60.0, '25', ?, ?, '10x10')`,
			fmt.Sprintf("%08x", i), u, "User "+u, i, fmt.Sprintf("clip%05d.mp4", i), meta, fmt.Sprintf("Clip %d", i)); err != nil {
			return nil, err
		}
	}
	for i := 0; i < nComments; i++ {
		var parent any
		if i%4 == 3 {
			parent = i // reply to the previous comment (ids start at 1)
		}
		u := fmt.Sprintf("user%03d", (i*7)%200)
		if _, err := tx.Exec(`INSERT INTO comments (video_hash, parent_id, user_id, username, comment, timecode, drawing)
			VALUES (?, ?, ?, ?, ?, '00:00:01:00', ?)`,
			fmt.Sprintf("%08x", (i/10)%nMedia), parent, u, "User "+u, fmt.Sprintf("Comment number %d about this shot", i),
			fmt.Sprintf("%016x.webp", i)); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, err
	}
	return pending, nil
}
