// Package metrics keeps the server's Prometheus metrics and serves them at
// /api/metrics.
//
// Subsystems record through the methods of *Metrics. A nil *Metrics is
// valid and records nothing, so a subsystem (and its tests) works without
// one. Every metric is created here, so that the full list, with names,
// labels and help texts, is in one place (and in docs/deployment.md).
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "clapshot"

// Buckets for things that take from milliseconds to about a minute
// (database statements, uploads' processing) and for long work (transcodes,
// review sessions).
var (
	fastBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	slowBuckets = []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}
)

// Metrics is the server's set of metrics.
type Metrics struct {
	reg *prometheus.Registry

	uploads       *prometheus.CounterVec
	uploadBytes   *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	transcode     *prometheus.HistogramVec
	wsSessions    prometheus.Gauge
	wsSessionsAll prometheus.Counter
	collabRooms   prometheus.Gauge
	messages      *prometheus.CounterVec
	dbQuery       *prometheus.HistogramVec
}

// New creates the metrics, with Go runtime and process metrics.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}

	m.uploads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "uploads_total",
		Help: "Finished uploads by protocol (multipart, tus) and result (ok, error).",
	}, []string{"protocol", "result"})
	m.uploadBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "upload_bytes_total",
		Help: "Bytes of successfully received uploads, by protocol.",
	}, []string{"protocol"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "ingest_job_duration_seconds", Buckets: slowBuckets,
		Help: "Time from queueing a media file to the end of its ingestion, by result (done, failed).",
	}, []string{"result"})
	m.transcode = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "transcode_duration_seconds", Buckets: slowBuckets,
		Help: "Wall time of ffmpeg (or --transcode-script) runs, by kind (transcode, remux, audio, image, thumbs) and result (ok, error).",
	}, []string{"kind", "result"})
	m.wsSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "websocket_sessions",
		Help: "Open websocket review sessions.",
	})
	m.wsSessionsAll = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "websocket_sessions_total",
		Help: "Websocket review sessions opened since start-up.",
	})
	m.collabRooms = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "collab_rooms",
		Help: "Live collaborative review sessions (rooms) in progress.",
	})
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "messages_sent_total",
		Help: "Messages sent to websocket clients, by command (welcome, showPage, showMessages, ...).",
	}, []string{"command"})
	m.dbQuery = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "db_statement_duration_seconds", Buckets: fastBuckets,
		Help: "Time to run an SQL statement against the database, by kind (exec, query).",
	}, []string{"kind"})

	f(m.uploads)
	f(m.uploadBytes)
	f(m.jobDuration)
	f(m.transcode)
	f(m.wsSessions)
	f(m.wsSessionsAll)
	f(m.collabRooms)
	f(m.messages)
	f(m.dbQuery)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds a subsystem's own collector (the live engine's per-stream
// metrics, whose set of label values changes as streams come and go).
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(c)
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slogErrorLog{log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	if l.log != nil {
		l.log.Warn("Metrics collection", "err", v)
	}
}

// ObserveDBStatement records how long an SQL statement took. kind is "exec"
// or "query". Its signature matches store.StatementObserver.
func (m *Metrics) ObserveDBStatement(kind string, d time.Duration) {
	if m == nil {
		return
	}
	m.dbQuery.WithLabelValues(kind).Observe(d.Seconds())
}

// WatchDBPool adds the connection pool's statistics (open, in use, waits).
func (m *Metrics) WatchDBPool(db *sql.DB) {
	if m == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, "clapshot"))
}

// JobCounter counts the ingest jobs by kind and state at scrape time
// (store.Queries.CountJobs).
type JobCounter func(ctx context.Context) (map[[2]string]int, error)

// WatchIngestJobs reports the ingest queue by kind and state, read from the
// database when scraped, so that the figures are right across restarts.
func (m *Metrics) WatchIngestJobs(count JobCounter) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&jobCollector{
		desc: prometheus.NewDesc(namespace+"_ingest_jobs", "Media processing jobs, by kind and state (queued, running, done, failed).",
			[]string{"kind", "state"}, nil),
		count: count,
	})
}

type jobCollector struct {
	desc  *prometheus.Desc
	count JobCounter
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for l, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), l[0], l[1])
	}
}

// UploadFinished records an upload over protocol ("multipart" or "tus").
func (m *Metrics) UploadFinished(protocol string, bytes int64, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.uploads.WithLabelValues(protocol, "error").Inc()
		return
	}
	m.uploads.WithLabelValues(protocol, "ok").Inc()
	m.uploadBytes.WithLabelValues(protocol).Add(float64(bytes))
}

// IngestJobFinished records an ingested media file, d after it was queued.
func (m *Metrics) IngestJobFinished(d time.Duration, failed bool) {
	if m == nil {
		return
	}
	res := "done"
	if failed {
		res = "failed"
	}
	m.jobDuration.WithLabelValues(res).Observe(d.Seconds())
}

// TranscodeFinished records an ffmpeg run of the given kind.
func (m *Metrics) TranscodeFinished(kind string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.transcode.WithLabelValues(kind, result(err, "ok", "error")).Observe(d.Seconds())
}

// SessionOpened records a new websocket session; call the returned func
// when it closes.
func (m *Metrics) SessionOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.wsSessions.Inc()
	m.wsSessionsAll.Inc()
	return m.wsSessions.Dec
}

// CollabRooms sets the number of live collaborative sessions.
func (m *Metrics) CollabRooms(n int) {
	if m == nil {
		return
	}
	m.collabRooms.Set(float64(n))
}

// MessageSent records a message to a websocket client.
func (m *Metrics) MessageSent(command string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(command).Inc()
}

func result(err error, ok, failed string) string {
	if err != nil {
		return failed
	}
	return ok
}

// CommandOf is the command name of an encoded server-to-client message,
// `{"<command>":...}`, for MessageSent.
func CommandOf(msg []byte) string {
	if len(msg) < 4 || msg[0] != '{' || msg[1] != '"' {
		return "other"
	}
	for i := 2; i < len(msg) && i < 66; i++ {
		if msg[i] == '"' {
			return string(msg[2:i])
		}
	}
	return "other"
}
