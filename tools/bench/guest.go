package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

func init() {
	register(Suite{Name: "guest", Title: "Guest share links: opening a link to the first frame, against a logged-in open", Run: runGuest})
}

// guestTimes are one kind of open's times, as web/bench/guest.mjs prints.
type guestTimes struct {
	Median, P90 float64
	All         []float64
}

type guestResult struct {
	Chromium           string
	Runs               int
	User, Guest, First guestTimes
}

// runGuest drives Debian's Chromium (web/bench/guest.mjs) against the
// real server: cold opens of one media file by a logged-in user and by a
// guest of a share link, alternating, each to the first frame on screen.
func runGuest(ctx context.Context, env *Env) (*Report, error) {
	web := filepath.Join(env.Root, "web")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core")); err != nil {
		return nil, fmt.Errorf("web/node_modules is missing: run `make ui` first")
	}
	if _, err := os.Stat(filepath.Join(web, "dist", "index.html")); err != nil {
		return nil, fmt.Errorf("the web UI is not built: run `make build` first")
	}
	runs := 15
	if env.Quick {
		runs = 4
	}
	env.Logf("   %d cold opens each", runs)
	loadBefore := loadAverage()
	cmd := exec.CommandContext(ctx, "node", "bench/guest.mjs", "--server", env.ServerBin, "--work", env.Work, "--runs", strconv.Itoa(runs))
	cmd.Dir = web
	cmd.Stderr = env.Log
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("web/bench/guest.mjs: %w", err)
	}
	var r guestResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return nil, fmt.Errorf("web/bench/guest.mjs output %q: %w", out, err)
	}
	ms := func(t guestTimes) string { return fmt.Sprintf("%.0f ms (p90 %.0f ms)", t.Median, t.P90) }
	rep := &Report{}
	rep.Rows = append(rep.Rows,
		Row{
			Metric:    fmt.Sprintf("Open a media file through a share link (returning guest), navigation to the first frame on screen, median of %d cold loads", r.Runs),
			Ours:      ms(r.Guest),
			Reference: "the same file opened by a logged-in user: " + ms(r.User),
			Ratio:     ratio(r.Guest.Median, r.User.Median),
			Goal:      "≤ 1.2× the logged-in open",
			Met:       met(r.Guest.Median <= 1.2*r.User.Median),
		},
		Row{
			Metric:    fmt.Sprintf("The same for a first visit: the link's page, the name typed and sent, to the first frame (median of %d)", r.Runs),
			Ours:      ms(r.First),
			Reference: "logged-in open: " + ms(r.User),
			Ratio:     ratio(r.First.Median, r.User.Median),
		},
	)
	rep.Notes = append(rep.Notes,
		"Headless Debian Chromium "+r.Chromium+" driven by playwright-core, a fresh browser context (empty cache) per open, the server on loopback without a proxy; the file is a 5 s 1280x720 H.264 clip (lavfi), played as uploaded.",
		"A logged-in open is the page at /?vid=<id> with the proxy's identity headers: health check, websocket, openMediaFile, then video.mp4 from /videos/. A guest's is the link's page /s/<token>/?vid=<id> with the guest's cookie: the same, with the link checked on every request (a primary-key read of share_links and share_guests and a SHA-256 compare), and the media file from /s/<token>/videos/, which checks the link before handing over to the same file server.",
		"A first visit adds the link's own API call (api/guest), the name form (typed by playwright) and the join (a share_guests row), before the app starts; a link with a passphrase adds one argon2id run (about 20 ms here).",
		fmt.Sprintf("The two kinds of open alternate, so that the machine's load falls on both alike: its load average (1 min) was %s at the start and %s at the end, on %d CPUs.", loadBefore, loadAverage(), runtime.NumCPU()),
	)
	return rep, nil
}
