package main

import (
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
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func init() {
	register(Suite{Name: "organizer", Title: "Organizer plugin: folder page and permission round trips", Run: runOrganizer})
}

const benchUser = "bench.user"

// runOrganizer measures, through the websocket API as a browser uses it,
// what the organizer plugin (the Go folders organizer, started by the
// server) adds: the folder page of a folder with many media files, and a
// comment, whose permission the server asks the organizer about. The
// reference is the same server and database without an organizer, in the
// same run, requests alternating between the two.
func runOrganizer(ctx context.Context, env *Env) (*Report, error) {
	items, pages, comments := 1000, 200, 300
	if env.Quick {
		pages, comments = 30, 30
	}
	orgBin := filepath.Join(env.Work, "clapshot-organizer-folders")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", orgBin, "./cmd/clapshot-organizer-folders")
	build.Dir = env.Root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the folders organizer: %v\n%s", err, out)
	}

	env.Logf("   two data directories with %d media files each", items)
	var bases [2]string
	for i, args := range [][]string{{"--org-cmd", orgBin}, nil} {
		dir := filepath.Join(env.Work, fmt.Sprintf("d%d", i))
		if err := seedMedia(ctx, dir, items); err != nil {
			return nil, err
		}
		base, stop, err := startServer(ctx, env, dir, args...)
		if err != nil {
			return nil, err
		}
		defer stop()
		bases[i] = base
	}
	var clients [2]*wsclient.Client
	for i, base := range bases {
		c, err := wsclient.Dial(ctx, base, wsclient.User{ID: benchUser, Name: "Bench User"})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[i] = c
		// The first page adopts the files into the home folder.
		if _, err := pageRoundTrip(ctx, c, items); err != nil {
			return nil, err
		}
	}

	env.Logf("   %d folder pages each", pages)
	var pageTimes [2][]time.Duration
	for range pages {
		for i, c := range clients {
			d, err := pageRoundTrip(ctx, c, items)
			if err != nil {
				return nil, err
			}
			pageTimes[i] = append(pageTimes[i], d)
		}
	}

	env.Logf("   %d comments each", comments)
	for _, c := range clients {
		if err := c.Send(ctx, wsclient.OpenMediaFile(mediaID(0))); err != nil {
			return nil, err
		}
		if _, _, err := c.Wait(ctx, 20*time.Second, func(m *pb.ServerToClientCmd) bool { return m.GetAddComments() != nil }); err != nil {
			return nil, fmt.Errorf("open media file: %w", err)
		}
	}
	var commentTimes [2][]time.Duration
	for n := range comments {
		for i, c := range clients {
			t0 := time.Now()
			if err := c.Send(ctx, wsclient.AddComment(mediaID(0), fmt.Sprintf("comment %d", n))); err != nil {
				return nil, err
			}
			if _, _, err := c.Wait(ctx, 20*time.Second, func(m *pb.ServerToClientCmd) bool { return len(m.GetAddComments().GetComments()) == 1 }); err != nil {
				return nil, fmt.Errorf("comment: %w", err)
			}
			commentTimes[i] = append(commentTimes[i], time.Since(t0))
		}
	}

	p50, p99 := median(pageTimes[0]), percentile(pageTimes[0], 99)
	r50, r99 := median(pageTimes[1]), percentile(pageTimes[1], 99)
	c50, c99 := median(commentTimes[0]), percentile(commentTimes[0], 99)
	n50, n99 := median(commentTimes[1]), percentile(commentTimes[1], 99)
	rep := &Report{Rows: []Row{
		{
			Metric:    fmt.Sprintf("Folder page round trip (openNavigationPage → showPage through navigate_page), folder of %d media files, p50 of %d", items, pages),
			Ours:      ms(p50) + " (p99 " + ms(p99) + ")",
			Reference: "built-in page without organizer, same files: " + ms(r50) + " (p99 " + ms(r99) + ")",
			Ratio:     ratio(float64(p50), float64(r50)),
			Goal:      "p99 < 500 ms",
			Met:       met(p99 < 500*time.Millisecond),
		},
		{
			Metric:    fmt.Sprintf("Comment round trip (addComment → addComments) with authz_user_action asked of the organizer, p50 of %d", comments),
			Ours:      ms(c50) + " (p99 " + ms(c99) + ")",
			Reference: "same without organizer: " + ms(n50) + " (p99 " + ms(n99) + ")",
			Ratio:     ratio(float64(c50), float64(n50)),
			Goal:      "≤ 2× without",
			Met:       met(float64(c50) <= 2*float64(n50)),
		},
	}}
	rep.Notes = append(rep.Notes,
		"The organizer is cmd/clapshot-organizer-folders, started by the server over Unix sockets, with its own SQLite connection to the shared database. Its page is built from its folder tables plus one DbGetMediaFiles call for the listed files (full records with URLs; it leaves out the raw metadata). The reference page is the server's own list of the user's files.",
		"Each comment asks the organizer about COMMENT permission (the folders organizer answers UNIMPLEMENTED, so the server's default applies): one extra gRPC round trip per comment. The two servers run at the same time and requests alternate between them.")
	return rep, nil
}

func mediaID(i int) string { return fmt.Sprintf("%08x", 0xb0000000+i) }

// seedMedia creates dir with a database holding n transcoded, thumbnailed
// video files of benchUser, each with a realistic amount of metadata.
func seedMedia(ctx context.Context, dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.UpsertUser(ctx, benchUser, "Bench User"); err != nil {
		return err
	}
	meta := `{"streams":[{"codec_name":"h264","width":1920,"height":1080,"r_frame_rate":"25/1","pix_fmt":"yuv420p"},{"codec_name":"aac","sample_rate":"48000","channels":2}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"60.0","bit_rate":"2500000","tags":{"encoder":"Lavf60.3.100"}}}`
	now := time.Now().UTC()
	return db.InTx(ctx, func(q *store.Queries) error {
		for i := range n {
			name := fmt.Sprintf("clip %04d.mov", i)
			cols := int64(10)
			if err := q.InsertMediaFile(ctx, store.MediaFile{
				ID: mediaID(i), UserID: benchUser, AddedTime: now.Add(-time.Duration(i) * time.Minute),
				OrigFilename: &name, Title: &name, MediaType: new("video"), RawMetadataAll: &meta,
				RecompressionDone: &now, ThumbsDone: &now, HasThumbnail: new(true), ThumbSheetCols: &cols, ThumbSheetRows: &cols,
				TotalFrames: new(int64(1500)), Duration: new(60.0), FPS: new("25"),
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// startServer runs the server binary on dir and waits until it is ready
// (/api/health?details=1 says "ok", so the organizer is connected).
func startServer(ctx context.Context, env *Env, dir string, extra ...string) (string, func(), error) {
	base, _, stop, err := startServerProc(ctx, env, dir, extra...)
	return base, stop, err
}

// startServerProc is startServer that also returns the server's process id
// (for CPU and memory figures).
func startServerProc(ctx context.Context, env *Env, dir string, extra ...string) (string, int, func(), error) {
	port, err := testkit.FreePort()
	if err != nil {
		return "", 0, nil, err
	}
	args := append([]string{"-D", dir, "-p", strconv.Itoa(port), "--migrate"}, extra...)
	srv := exec.CommandContext(ctx, env.ServerBin, args...)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return "", 0, nil, err
	}
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		stopProcess(srv)
		logf.Close()
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/api/health?details=1")
		if err == nil {
			var st struct {
				Status    string
				Organizer struct{ State string }
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if json.Unmarshal(b, &st) == nil && st.Status == "ok" {
				if len(extra) > 0 && st.Organizer.State != "connected" {
					stop()
					return "", 0, nil, fmt.Errorf("organizer not connected: %s (log: %s)", b, logf.Name())
				}
				return base, srv.Process.Pid, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("server on %s not ready within 30 s (log: %s)", dir, logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pageRoundTrip asks for the home page and waits for it, checking that it
// lists every file.
func pageRoundTrip(ctx context.Context, c *wsclient.Client, items int) (time.Duration, error) {
	t0 := time.Now()
	if err := c.Send(ctx, wsclient.OpenNavigationPage("")); err != nil {
		return 0, err
	}
	m, _, err := c.Wait(ctx, 30*time.Second, wsclient.Page)
	if err != nil {
		return 0, fmt.Errorf("page: %w", err)
	}
	d := time.Since(t0)
	n := 0
	for _, it := range m.GetShowPage().GetPageItems() {
		n += len(it.GetFolderListing().GetItems())
	}
	if n != items {
		var html []string
		for _, it := range m.GetShowPage().GetPageItems() {
			html = append(html, it.GetHtml())
		}
		return 0, fmt.Errorf("page lists %d items, want %d (%s)", n, items, strings.Join(html, " "))
	}
	return d, nil
}
