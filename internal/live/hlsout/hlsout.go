// Package hlsout is a stream's HLS output on gohlslib: Low-Latency HLS
// (fMP4 parts, blocking playlist reload, EXT-X-PROGRAM-DATE-TIME) served
// from memory, or classic HLS (MPEG-TS segments for H.264, fMP4 for H.265)
// with video-server's segment length and window, optionally on disk.
//
// gohlslib fixes a track's parameters at the first init segment, so a
// camera that changes its SPS/PPS gets a new muxer; a camera that
// reconnects keeps its muxer and its timeline continues.
package hlsout

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// Options configure one output.
type Options struct {
	// LowLatency selects LL-HLS; otherwise classic HLS.
	LowLatency bool
	// SegmentCount is the number of segments in the playlist (LL-HLS: at
	// least 7, classic: at least 3).
	SegmentCount int
	// SegmentDuration is the minimum segment length (cut at the next
	// keyframe after it).
	SegmentDuration time.Duration
	// PartDuration is the LL-HLS part length (default 200 ms).
	PartDuration time.Duration
	// Directory keeps segments on disk instead of in memory ("": memory).
	// It is created, and removed when the output closes.
	Directory string
	Log       *slog.Logger
}

// Output is one HLS rendition of a stream. SetTracks, WriteUnit, Restart
// and Close are called from one goroutine; ServeHTTP from any.
type Output struct {
	opt Options

	mu      sync.RWMutex
	mux     *gohlslib.Muxer
	changed chan struct{} // closed and replaced when mux changes
	closed  bool

	// Owned by the writing goroutine.
	tracks    *media.Tracks
	vt, at    *gohlslib.Track
	started   bool
	offset    int64 // added to the source's PTS (90 kHz) across reconnects
	lastPTS   int64
	haveLast  bool
	needAlign bool
}

// New makes an output; it serves 503 until the first keyframe.
func New(opt Options) *Output {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.LowLatency && opt.SegmentCount < 7 {
		opt.SegmentCount = 7
	}
	if !opt.LowLatency && opt.SegmentCount < 3 {
		opt.SegmentCount = 3
	}
	if opt.PartDuration <= 0 {
		opt.PartDuration = 200 * time.Millisecond
	}
	if opt.SegmentDuration <= 0 {
		opt.SegmentDuration = time.Second
	}
	return &Output{opt: opt, changed: make(chan struct{})}
}

// SetTracks starts a new muxer for new codec parameters.
func (o *Output) SetTracks(t *media.Tracks) error {
	if o.tracks != nil && o.tracks.Video.SameParams(t.Video) && o.tracks.Audio.SameParams(t.Audio) {
		o.tracks = t
		return nil
	}
	o.tracks = t
	o.closeMuxer()
	return nil
}

func (o *Output) start(t *media.Tracks) error {
	m := &gohlslib.Muxer{
		SegmentCount:       o.opt.SegmentCount,
		SegmentMinDuration: o.opt.SegmentDuration,
		PartMinDuration:    o.opt.PartDuration,
		Directory:          o.opt.Directory,
		OnEncodeError: func(err error) {
			o.opt.Log.Warn("Live HLS: encode error", "error", err)
		},
	}
	switch {
	case o.opt.LowLatency:
		m.Variant = gohlslib.MuxerVariantLowLatency
	case t.Video.Codec == media.H264 && (t.Audio == nil || t.Audio.Codec == media.AAC):
		m.Variant = gohlslib.MuxerVariantMPEGTS
	default:
		m.Variant = gohlslib.MuxerVariantFMP4 // MPEG-TS carries neither H.265 nor Opus here
	}
	o.vt = &gohlslib.Track{Codec: t.Video.HLSCodec(), ClockRate: 90000}
	m.Tracks = []*gohlslib.Track{o.vt}
	o.at = nil
	if t.Audio != nil {
		o.at = &gohlslib.Track{Codec: t.Audio.HLSCodec(), ClockRate: t.Audio.ClockRate}
		m.Tracks = append(m.Tracks, o.at)
	}
	if o.opt.Directory != "" {
		if err := os.MkdirAll(o.opt.Directory, 0o755); err != nil {
			return fmt.Errorf("HLS directory: %w", err)
		}
	}
	if err := m.Start(); err != nil {
		return fmt.Errorf("HLS muxer: %w", err)
	}
	o.mu.Lock()
	o.mux = m
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	return nil
}

func (o *Output) closeMuxer() {
	o.mu.Lock()
	m := o.mux
	o.mux = nil
	o.mu.Unlock()
	if m != nil {
		m.Close()
	}
	o.started = false
}

// Restart is called when the camera reconnects: the next keyframe
// continues the timeline where it stopped.
func (o *Output) Restart() { o.needAlign = true }

// WriteUnit muxes one unit.
func (o *Output) WriteUnit(u *media.Unit) error {
	if o.tracks == nil {
		return nil
	}
	if !o.started {
		if !u.Video || !u.Key {
			return nil
		}
		if err := o.start(o.tracks); err != nil {
			return err
		}
		o.started = true
	}
	if o.needAlign || !o.haveLast {
		if !u.Video || !u.Key {
			return nil
		}
		if o.haveLast {
			o.offset = o.lastPTS + 3000 - u.PTS
		}
		o.needAlign = false
	}
	o.mu.RLock()
	m := o.mux
	o.mu.RUnlock()
	if u.Video {
		pts := u.PTS + o.offset
		if o.haveLast && pts <= o.lastPTS-90000 {
			return nil // far in the past: a reordering glitch
		}
		o.lastPTS, o.haveLast = pts, true
		if u.Tracks.Video.Codec == media.H264 {
			return m.WriteH264(o.vt, u.NTP, pts, u.Data)
		}
		return m.WriteH265(o.vt, u.NTP, pts, u.Data)
	}
	if o.at == nil {
		return nil
	}
	pts := u.PTS + o.offset*int64(o.at.ClockRate)/90000
	if pts < 0 {
		return nil
	}
	if u.Tracks.Audio.Codec == media.AAC {
		return m.WriteMPEG4Audio(o.at, u.NTP, pts, u.Data)
	}
	return m.WriteOpus(o.at, u.NTP, pts, u.Data)
}

// Close stops the muxer and removes its directory.
func (o *Output) Close() {
	o.closeMuxer()
	o.mu.Lock()
	o.closed = true
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	if o.opt.Directory != "" {
		_ = os.RemoveAll(o.opt.Directory)
	}
}

// Ready reports whether the output has a playlist to serve.
func (o *Output) Ready() bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.mux != nil
}

// wait returns the current muxer, waiting up to ctx for the first one.
func (o *Output) wait(ctx context.Context) *gohlslib.Muxer {
	for {
		o.mu.RLock()
		m, ch, closed := o.mux, o.changed, o.closed
		o.mu.RUnlock()
		if m != nil || closed {
			return m
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

// ColdStartWait is how long a request waits for a stream's first keyframe
// (video-server: up to 2 segments, at most 25 s).
const ColdStartWait = 10 * time.Second

// ServeHTTP serves the playlists and segments; the file is the last path
// element (index.m3u8 is the multivariant playlist).
func (o *Output) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ColdStartWait)
	m := o.wait(ctx)
	cancel()
	if m == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Service Unavailable: the stream has no video yet", http.StatusServiceUnavailable)
		return
	}
	rec := &probeWriter{ResponseWriter: w}
	m.Handle(rec, r)
	if !rec.wrote {
		http.Error(w, "Not Found: no such HLS file", http.StatusNotFound)
	}
}

// ServePlaylistAt serves the multivariant playlist with its relative URIs
// prefixed by prefix, so that video-server's /hls/<uuid>.m3u8 can point
// into /hls/<uuid>/.
func (o *Output) ServePlaylistAt(w http.ResponseWriter, r *http.Request, prefix string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/index.m3u8"
	rec := httptest.NewRecorder()
	o.ServeHTTP(rec, r2)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(rec.Body.String(), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
		case !strings.HasPrefix(t, "#"):
			line = prefix + line
		case strings.Contains(t, `URI="`):
			line = strings.ReplaceAll(line, `URI="`, `URI="`+prefix)
		}
		out.WriteString(line)
	}
	w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(out.Bytes())
}

// probeWriter notes whether gohlslib answered at all (it writes nothing
// for a file it does not know).
type probeWriter struct {
	http.ResponseWriter
	wrote bool
}

func (p *probeWriter) WriteHeader(code int) {
	p.wrote = true
	p.ResponseWriter.WriteHeader(code)
}

func (p *probeWriter) Write(b []byte) (int, error) {
	p.wrote = true
	return p.ResponseWriter.Write(b)
}

func (p *probeWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
