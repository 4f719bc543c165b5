package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

func init() {
	register(Suite{Name: "export", Title: "Comment export: 5 000 comments in every format", Run: runExport})
}

// runExport times GET /api/media/<id>/comments/export for each format on a
// real server, with 5 000 comments (a third of them replies, some with
// ranges) on one 60 s video. The reference is the floor for reading the
// same rows out of the same database file: the sqlite3 shell writing them
// as CSV, measured in the same run.
func runExport(ctx context.Context, env *Env) (*Report, error) {
	n, seconds := 5000, 60.0
	if env.Quick {
		n, seconds = 1000, 10
	}
	dataDir := filepath.Join(env.Work, "export")
	clip, err := mediatest.Generate(ctx, env.Work, mediatest.Families["h264_mp4"],
		mediatest.Options{Seconds: seconds, Width: 640, Height: 360, FPS: 25})
	if err != nil {
		return nil, err
	}
	srv, err := startPipelineServer(ctx, env, dataDir, "-w", "1", "-P", "0.2")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := uploadFile(ctx, srv.base, clip, "alice"); err != nil {
		return nil, err
	}
	if err := waitPipeline(ctx, dataDir, 1, 3*time.Minute); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dataDir, "clapshot.sqlite")
	mediaID, err := onlyMediaID(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	if _, err := seedComments(ctx, dataDir, mediaID, n, commentShape{Frames: int(seconds * 25), Replies: true, Ranges: true}); err != nil {
		return nil, err
	}
	env.Logf("   %d comments on media %s", n, mediaID)

	// The reference: sqlite3 dumping the comment rows as CSV.
	refRuns := make([]time.Duration, 0, 5)
	for range 5 {
		start := time.Now()
		cmd := exec.CommandContext(ctx, "sqlite3", "-readonly", "-csv", dbPath,
			"SELECT id, parent_id, user_id, username_ifnull, timecode, comment FROM comments WHERE media_file_id = '"+mediaID+"' ORDER BY created")
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("sqlite3 reference: %w", err)
		}
		refRuns = append(refRuns, time.Since(start))
	}
	ref := median(refRuns)

	rep := &Report{}
	get := func(format string) (time.Duration, int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.base+"/api/media/"+mediaID+"/comments/export?format="+format, nil)
		req.Header.Set("X-Remote-User-Id", "alice")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.Copy(io.Discard, resp.Body)
		took := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("export %s: HTTP %d", format, resp.StatusCode)
		}
		return took, int(b), nil
	}
	// The report's first request makes the frame images with ffmpeg; they
	// are kept, so it is timed apart from the warm ones.
	cold, size, err := get("html")
	if err != nil {
		return nil, err
	}
	rep.Rows = append(rep.Rows, Row{
		Metric:    fmt.Sprintf("HTML report, first request (ffmpeg makes the frames under %d comments)", n),
		Ours:      fmt.Sprintf("%s (%.1f MB)", ms(cold), float64(size)/1e6),
		Reference: "sqlite3 -csv of the same rows: " + ms(ref),
		Ratio:     ratio(float64(cold), float64(ref)),
		Goal:      "",
	})
	for _, f := range []struct{ format, label string }{
		{"edl", "EDL (CMX3600)"}, {"csv", "CSV"}, {"fcpxml", "FCPXML markers"},
		{"premiere", "Premiere markers (xmeml)"}, {"html", "HTML report (frames cached)"},
	} {
		var runs []time.Duration
		var bytes int
		for range 5 {
			d, b, err := get(f.format)
			if err != nil {
				return nil, err
			}
			runs = append(runs, d)
			bytes = b
		}
		m := median(runs)
		met := "no"
		if m < 500*time.Millisecond {
			met = "yes"
		}
		rep.Rows = append(rep.Rows, Row{
			Metric:    fmt.Sprintf("%s of %d comments, median of 5", f.label, n),
			Ours:      fmt.Sprintf("%s (%.0f KB)", ms(m), float64(bytes)/1e3),
			Reference: "sqlite3 -csv of the same rows: " + ms(ref),
			Ratio:     ratio(float64(m), float64(ref)),
			Goal:      "< 500 ms",
			Met:       met,
		})
	}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("One %g s 640×360 25 fps H.264 clip; %d comments on it, one in three a reply, one in ten of the others a range, one in three with a drawing; timed over HTTP on loopback from the request to the last byte (the server reads the comments, builds the threads and writes the format).", seconds, n),
		"The report embeds each comment's frame as a JPEG (made once with ffmpeg, kept in videos/<id>/thumbs/stills/) and its drawing; the first request's figure includes making the frames.")
	return rep, nil
}

// onlyMediaID is the id of the one media file in the database.
func onlyMediaID(ctx context.Context, dbPath string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var id string
	if err := db.QueryRowContext(ctx, `SELECT id FROM media_files LIMIT 1`).Scan(&id); err != nil {
		return "", fmt.Errorf("no media file in %s: %w", dbPath, err)
	}
	return id, nil
}

// uploadFile posts a file to /api/upload as user.
func uploadFile(ctx context.Context, base, path, user string) error {
	body, ctype, err := multipartFile(path)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/upload", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Remote-User-Id", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("upload %s: HTTP %d %s", filepath.Base(path), resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

func multipartFile(path string) (io.Reader, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("fileupload", filepath.Base(path))
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return &b, w.FormDataContentType(), nil
}
