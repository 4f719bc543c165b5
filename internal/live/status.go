package live

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clapshot-go/clapshot/internal/live/source"
)

// Status is a stream's state for APIs and the UI.
type Status struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"` // password removed; a file source's path
	State    State  `json:"state"`
	Online   bool   `json:"online"`
	OnDemand bool   `json:"on_demand"`
	// Outputs are the output types ("mse", "hls", "llhls").
	Outputs []string `json:"outputs"`
	// Codecs is the MSE codec string ("avc1.64001f,mp4a.40.2"), "" before
	// the first keyframe.
	Codecs string `json:"codecs"`
	// Video is a readable description ("H.264 1920x1080, AAC").
	Video       string     `json:"video"`
	Width       int        `json:"width"`
	Height      int        `json:"height"`
	BitrateBps  float64    `json:"bitrate_bps"`
	Viewers     int        `json:"viewers"`
	Reconnects  uint64     `json:"reconnects"`
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
	// Since is when the stream entered State.
	Since time.Time `json:"since"`
	// The last health check of an idle on-demand stream (Options.HealthCheck):
	// when (null: none yet), whether the camera answered with a video
	// track (null: none yet), and if not, why.
	LastHealthCheck *time.Time `json:"last_health_check"`
	Reachable       *bool      `json:"reachable"`
	LastHealthError string     `json:"last_health_error"`
}

// Status reports the stream's current state.
func (s *Stream) Status() Status {
	st := Status{
		ID: s.cfg.ID, Name: s.cfg.Name, URL: s.cfg.sourceName(), OnDemand: s.cfg.OnDemand,
		Outputs: s.cfg.OutputTypes(),
	}
	viewers := 0
	if s.mse != nil {
		viewers = s.mse.Viewers()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.State, st.Since, st.Reconnects, st.BitrateBps = s.state, s.since, s.reconnects, s.bitrate
	st.Online = s.state == StateOnline
	st.Viewers = viewers + len(s.hlsClients)
	st.LastError = s.lastErr
	if !s.lastErrAt.IsZero() {
		at := s.lastErrAt
		st.LastErrorAt = &at
	}
	if h := s.health; !h.at.IsZero() {
		at, ok := h.at, h.err == ""
		st.LastHealthCheck, st.Reachable, st.LastHealthError = &at, &ok, h.err
	}
	if t := s.tracks; t != nil && t.Version > 0 {
		st.Codecs = t.CodecString()
		st.Video = t.Describe()
		st.Width, st.Height = t.Video.Size()
	}
	return st
}

// sourceName is the camera's URL without its password, or the file.
func (c StreamConfig) sourceName() string {
	if c.File != "" {
		return c.File
	}
	return source.RedactURL(c.URL)
}

// OutputTypes lists the configured outputs by their config names.
func (c StreamConfig) OutputTypes() []string {
	var out []string
	if c.MSE {
		out = append(out, "mse")
	}
	if c.HLS {
		out = append(out, "hls")
	}
	if c.LLHLS {
		out = append(out, "llhls")
	}
	return out
}

// Collector exports per-stream metrics under namespace (e.g.
// "video_server" or "clapshot_live").
func (e *Engine) Collector(namespace string) prometheus.Collector {
	l := []string{"stream", "name"}
	return &collector{e: e,
		up:         prometheus.NewDesc(namespace+"_stream_up", "1 while the camera sends media, else 0.", l, nil),
		bitrate:    prometheus.NewDesc(namespace+"_stream_bitrate_bits_per_second", "Bitrate received from the camera over the last second.", l, nil),
		bytes:      prometheus.NewDesc(namespace+"_stream_received_bytes_total", "RTP payload bytes received from the camera.", l, nil),
		viewers:    prometheus.NewDesc(namespace+"_stream_viewers", "MSE websocket viewers plus HLS clients seen in the last 10 s.", l, nil),
		reconnects: prometheus.NewDesc(namespace+"_stream_reconnects_total", "Sessions with the camera that failed and were retried.", l, nil),
		decodeErrs: prometheus.NewDesc(namespace+"_stream_decode_errors_total", "Video RTP packets that could not be decoded.", l, nil),
		lastErr:    prometheus.NewDesc(namespace+"_stream_last_error_info", "The last error of the stream (value: its Unix time).", append(l, "error"), nil),
		healthUp:   prometheus.NewDesc(namespace+"_stream_health_check_up", "1 if the last health check of the idle on-demand camera found it answering with video, else 0 (absent before the first check).", l, nil),
		healthAt:   prometheus.NewDesc(namespace+"_stream_health_check_timestamp_seconds", "Unix time of the last health check of the idle on-demand camera.", l, nil),
		healthErr:  prometheus.NewDesc(namespace+"_stream_health_check_error_info", "The error of the last health check, if it failed (value: its Unix time).", append(l, "error"), nil),
	}
}

type collector struct {
	e                                                            *Engine
	up, bitrate, bytes, viewers, reconnects, decodeErrs, lastErr *prometheus.Desc
	healthUp, healthAt, healthErr                                *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.bitrate, c.bytes, c.viewers, c.reconnects, c.decodeErrs, c.lastErr, c.healthUp, c.healthAt, c.healthErr} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.e.Streams() {
		st := s.Status()
		lv := []string{st.ID, st.Name}
		up := 0.0
		if st.Online {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, lv...)
		ch <- prometheus.MustNewConstMetric(c.bitrate, prometheus.GaugeValue, st.BitrateBps, lv...)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.stats.Bytes.Load()), lv...)
		ch <- prometheus.MustNewConstMetric(c.viewers, prometheus.GaugeValue, float64(st.Viewers), lv...)
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(st.Reconnects), lv...)
		ch <- prometheus.MustNewConstMetric(c.decodeErrs, prometheus.CounterValue, float64(s.stats.DecodeErrors.Load()), lv...)
		if st.LastErrorAt != nil {
			ch <- prometheus.MustNewConstMetric(c.lastErr, prometheus.GaugeValue, float64(st.LastErrorAt.Unix()), append(lv, st.LastError)...)
		}
		if st.LastHealthCheck != nil {
			up, at := 0.0, float64(st.LastHealthCheck.Unix())
			if *st.Reachable {
				up = 1
			} else {
				ch <- prometheus.MustNewConstMetric(c.healthErr, prometheus.GaugeValue, at, append(lv, st.LastHealthError)...)
			}
			ch <- prometheus.MustNewConstMetric(c.healthUp, prometheus.GaugeValue, up, lv...)
			ch <- prometheus.MustNewConstMetric(c.healthAt, prometheus.GaugeValue, at, lv...)
		}
	}
}
