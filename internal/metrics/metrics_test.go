package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/metrics"
	"github.com/clapshot-go/clapshot/internal/store"
)

func scrape(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}

// value returns a sample's value from the text format, or -1 if absent.
func value(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRecordedValuesAreServed(t *testing.T) {
	m := metrics.New()
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()

	m.UploadFinished("multipart", 1000, nil)
	m.UploadFinished("tus", 500, nil)
	m.UploadFinished("tus", 0, errors.New("client went away"))
	m.IngestJobFinished(3*time.Second, false)
	m.IngestJobFinished(time.Second, true)
	m.TranscodeFinished("transcode", 42*time.Second, nil)
	closeA := m.SessionOpened()
	closeB := m.SessionOpened()
	closeA()
	m.CollabRooms(3)
	m.MessageSent("welcome")
	m.MessageSent("showPage")
	m.MessageSent("showPage")
	m.ObserveDBStatement("exec", 2*time.Millisecond)

	text := scrape(t, srv)
	for series, want := range map[string]float64{
		`clapshot_uploads_total{protocol="multipart",result="ok"}`:              1,
		`clapshot_uploads_total{protocol="tus",result="ok"}`:                    1,
		`clapshot_uploads_total{protocol="tus",result="error"}`:                 1,
		`clapshot_upload_bytes_total{protocol="tus"}`:                           500,
		`clapshot_ingest_job_duration_seconds_count{result="done"}`:             1,
		`clapshot_ingest_job_duration_seconds_sum{result="failed"}`:             1,
		`clapshot_transcode_duration_seconds_sum{kind="transcode",result="ok"}`: 42,
		`clapshot_websocket_sessions`:                                           1,
		`clapshot_websocket_sessions_total`:                                     2,
		`clapshot_collab_rooms`:                                                 3,
		`clapshot_messages_sent_total{command="showPage"}`:                      2,
		`clapshot_db_statement_duration_seconds_count{kind="exec"}`:             1,
	} {
		if got := value(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	closeB()
	if got := value(t, scrape(t, srv), "clapshot_websocket_sessions"); got != 0 {
		t.Errorf("sessions after both closed: %v", got)
	}
	for _, series := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if value(t, text, series) < 0 {
			t.Errorf("%s missing", series)
		}
	}
}

func TestCommandOf(t *testing.T) {
	for in, want := range map[string]string{
		`{"showPage":{"pageItems":[]}}`:  "showPage",
		`{"welcome":{}}`:                 "welcome",
		`{"msg":"Invalid message, bye"}`: "msg",
		`[]`:                             "other",
		`{"` + strings.Repeat("x", 100):  "other",
	} {
		if got := metrics.CommandOf([]byte(in)); got != want {
			t.Errorf("CommandOf(%.30q) = %q, want %q", in, got, want)
		}
	}
}

// A nil *Metrics records nothing and does not panic: subsystems may run
// without metrics.
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.UploadFinished("tus", 1, nil)
	m.IngestJobFinished(time.Second, false)
	m.TranscodeFinished("remux", time.Second, nil)
	m.SessionOpened()()
	m.CollabRooms(1)
	m.MessageSent("x")
	m.ObserveDBStatement("query", time.Millisecond)
	m.WatchDBPool(nil)
	m.WatchIngestJobs(nil)
}

// Every statement of a real database is timed, transactions included, and
// the job queue is counted from the database when scraped.
func TestDatabaseMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := metrics.New()
	db.ObserveStatements(m.ObserveDBStatement)
	m.WatchDBPool(db.SQL())
	m.WatchIngestJobs(db.CountJobs)
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()

	// An INSERT returns its id (a query); setting the spec is an exec.
	id, err := db.InsertJob(ctx, store.Job{Kind: "ingest", UserID: "alice", State: store.JobQueued, Spec: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetJobSpec(ctx, id, `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(q *store.Queries) error {
		id, err := q.InsertJob(ctx, store.Job{Kind: "thumbs", UserID: "alice", State: store.JobQueued, Spec: "{}"})
		if err != nil {
			return err
		}
		return q.SetJobSpec(ctx, id, `{"b":1}`)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ListJobs(ctx); err != nil {
		t.Fatal(err)
	}

	text := scrape(t, srv)
	if got := value(t, text, `clapshot_db_statement_duration_seconds_count{kind="exec"}`); got < 2 {
		t.Errorf("exec statements timed: %v, want at least 2 (one of them in a transaction)\n%s", got, text)
	}
	if got := value(t, text, `clapshot_db_statement_duration_seconds_count{kind="query"}`); got < 1 {
		t.Errorf("query statements timed: %v", got)
	}
	for series, want := range map[string]float64{
		`clapshot_ingest_jobs{kind="ingest",state="queued"}`: 1,
		`clapshot_ingest_jobs{kind="thumbs",state="queued"}`: 1,
	} {
		if got := value(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if value(t, text, `go_sql_open_connections{db_name="clapshot"}`) < 0 {
		t.Errorf("connection pool statistics missing")
	}
}
