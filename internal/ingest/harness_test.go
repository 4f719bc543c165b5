package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// recorder is a live-delivery layer that records every message.
type recorder struct {
	mu  sync.Mutex
	got []events.Message
}

func (r *recorder) Deliver(_ context.Context, m events.Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	return true
}

func (r *recorder) all() []events.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Message(nil), r.got...)
}

// texts lists "KIND text" of the messages about a media file (or, with
// id "", to user), in order, without progress reports.
func (r *recorder) texts(user, id string) []string {
	var out []string
	for _, m := range r.all() {
		if m.Kind == events.Progress || m.UserID != user || (id != "" && m.MediaFileID != id) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s", m.Kind.EventName(), m.Text))
	}
	return out
}

type harness struct {
	t    *testing.T
	dir  string
	l    mediadir.Layout
	db   *store.DB
	rec  *recorder
	p    *Pipeline
	stop func()
}

const testBitrate = 300_000

func newHarness(t *testing.T, tweak func(*Options)) *harness {
	t.Helper()
	return newHarnessIn(t, t.TempDir(), tweak)
}

// newHarnessIn runs a pipeline on the data directory dir.
func newHarnessIn(t *testing.T, dir string, tweak func(*Options)) *harness {
	t.Helper()
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	bus := events.NewBus(db, log)
	rec := &recorder{}
	bus.SetDeliverer(rec)
	o := Options{DB: store.Bind[Queries](db), Events: bus, Log: log, Layout: mediadir.Layout{DataDir: dir}, Tools: &media.Tools{},
		Workers: 2, TargetBitrate: testBitrate, Poll: 50 * time.Millisecond}
	if tweak != nil {
		tweak(&o)
	}
	h := &harness{t: t, dir: dir, l: o.Layout, db: db, rec: rec, p: New(o)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.Run(ctx) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	}
	t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
		}
	})
	<-h.p.Recovered()
	return h
}

// submit copies src into a new upload directory as name and queues it.
func (h *harness) submit(src, name, user string, cookies map[string]string) {
	h.t.Helper()
	dir, done, err := h.p.NewUploadDir()
	if err != nil {
		h.t.Fatal(err)
	}
	defer done()
	dst := filepath.Join(dir, name)
	b, err := os.ReadFile(src)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := h.p.Submit(context.Background(), Upload{Path: dst, UserID: user, Cookies: cookies, Source: "upload"}); err != nil {
		h.t.Fatal(err)
	}
}

// waitIdle waits until no job is queued or running.
func (h *harness) waitIdle(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		jobs, err := h.db.ListJobs(context.Background(), store.JobQueued, store.JobRunning)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(jobs) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	jobs, _ := h.db.ListJobs(context.Background(), store.JobQueued, store.JobRunning)
	h.t.Fatalf("jobs still pending after %v: %+v", timeout, jobs)
}

// mediaByName finds the media file with the given original name.
func (h *harness) mediaByName(name string) (store.MediaFile, bool) {
	all, err := h.db.ListMediaFiles(context.Background(), store.All)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, m := range all {
		if m.OrigFilename != nil && *m.OrigFilename == name {
			return m, true
		}
	}
	return store.MediaFile{}, false
}

// rejected lists the files under rejected/, relative.
func (h *harness) rejected() []string {
	var out []string
	filepath.WalkDir(h.l.Rejected(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(h.l.Rejected(), p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// errorFor returns the ERROR message whose details name file.
func (h *harness) errorFor(user, file string) (events.Message, bool) {
	for _, m := range h.rec.all() {
		if m.Kind == events.Error && m.UserID == user && strings.Contains(m.Details, "'"+file+"'") {
			return m, true
		}
	}
	return events.Message{}, false
}

// probeOut describes a produced file.
type probeOut struct {
	vcodec, pixfmt, acodec string
	width, height          int
	vdur                   float64
	faststart, rotated     bool
}

func probeFile(t *testing.T, path string) probeOut {
	t.Helper()
	tools := &media.Tools{}
	p, err := tools.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var o probeOut
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			o.vcodec, o.pixfmt, o.width, o.height = s.CodecName, s.PixFmt, s.Width, s.Height
			fmt.Sscanf(s.Duration, "%g", &o.vdur)
			for _, sd := range s.SideDataList {
				if sd.Type == "Display Matrix" && sd.Rotation != 0 {
					o.rotated = true
				}
			}
		case "audio":
			o.acodec = s.CodecName
		}
	}
	if o.vdur == 0 {
		fmt.Sscanf(p.Format.Duration, "%g", &o.vdur)
	}
	if strings.Contains(p.Format.FormatName, "mp4") {
		o.faststart, _ = media.FastStart(path)
	}
	return o
}
