// Package vsapi is LdDl/video-server's HTTP surface on the live engine:
// the API server (/list, /status, /enable_camera, /disable_camera,
// /archive/:stream_id/ranges, plus /metrics) and the video server
// (/ws/...?stream_id= for MSE, /ws/archive for archive playback, /hls/
// for HLS, /llhls/ for Low-Latency HLS, /archive/:stream_id/vod.m3u8 for
// HLS VOD of the archive), with its JSON shapes and CORS keys.
package vsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/liveconf"
	"github.com/clapshot-go/clapshot/internal/live/mse"
)

// Server serves both front doors of one engine.
type Server struct {
	Engine *live.Engine
	Conf   *liveconf.File
	Log    *slog.Logger
	// Gatherer is served at /metrics on the API server (nil: none).
	Gatherer prometheus.Gatherer
	// Archive serves the recorded ranges and playback (nil: none).
	Archive *archive.Archive
}

// video-server's StreamType numbers, used in supported_output_types;
// llhls is ours.
var outputNumbers = map[string]int{"hls": 2, "mse": 3, "llhls": 5}

// errorJSON answers like gin's ctx.JSON(code, gin.H{"Error": ...}).
func errorJSON(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"Error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// APIHandler is the API server's routes.
func (s *Server) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /list", s.list)
	mux.HandleFunc("GET /status", s.status)
	mux.HandleFunc("POST /enable_camera", s.enable)
	mux.HandleFunc("POST /disable_camera", s.disable)
	mux.HandleFunc("GET /archive/{stream_id}/ranges", func(w http.ResponseWriter, r *http.Request) {
		s.Archive.ServeRanges(w, r.PathValue("stream_id"))
	})
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	return s.cors(mux)
}

// VideoHandler is the video server's routes.
func (s *Server) VideoHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/", s.ws)
	mux.HandleFunc("GET /ws", s.ws)
	mux.HandleFunc("GET /ws/archive", s.wsArchive)
	mux.HandleFunc("GET /archive/{stream_id}/vod.m3u8", func(w http.ResponseWriter, r *http.Request) {
		s.Archive.ServePlaylist(w, r, r.PathValue("stream_id"))
	})
	mux.HandleFunc("GET /archive/{stream_id}/vod/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.Archive.ServeSegment(w, r, r.PathValue("stream_id"), r.PathValue("name"))
	})
	mux.HandleFunc("GET /hls/", s.hls)
	mux.HandleFunc("GET /llhls/", s.hls)
	return s.cors(mux)
}

func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	type item struct {
		StreamID string `json:"stream_id"`
	}
	data := []item{}
	for _, st := range s.Engine.Streams() {
		data = append(data, item{st.ID()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

type hostPort struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

type codecJSON struct {
	Type   string `json:"type"`
	Codec  string `json:"codec"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

type streamJSON struct {
	URL                  string      `json:"url"`
	Status               bool        `json:"status"`
	SupportedOutputTypes []int       `json:"supported_output_types"`
	Codecs               []codecJSON `json:"codecs"`
	OnDemand             bool        `json:"on_demand"`
	Online               bool        `json:"online"`
	Streaming            bool        `json:"streaming"`
	Viewers              int         `json:"viewers"`
	LastHealthCheck      *time.Time  `json:"last_health_check"`
	LastHealthError      string      `json:"last_health_error"`
	// Ours.
	Name        string     `json:"name"`
	State       live.State `json:"state"`
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
	Reconnects  uint64     `json:"reconnects"`
	BitrateBps  float64    `json:"bitrate_bps"`
	OutputTypes []string   `json:"output_types"`
	Reachable   *bool      `json:"reachable"`
	// Archive is the recording's state (absent when not recorded).
	Archive *archive.RecorderStatus `json:"archive,omitempty"`
}

// StatusJSON is /status: the shape of video-server's Application.
func (s *Server) StatusJSON() map[string]any {
	streams := map[string]streamJSON{}
	for _, st := range s.Engine.Streams() {
		v := st.Status()
		j := streamJSON{
			URL: v.URL, Status: v.Online, OnDemand: v.OnDemand, Online: v.Online,
			Streaming: v.State == live.StateOnline || v.State == live.StateConnecting,
			Viewers:   v.Viewers, Name: v.Name, State: v.State, LastError: v.LastError, LastErrorAt: v.LastErrorAt,
			Reconnects: v.Reconnects, BitrateBps: v.BitrateBps, OutputTypes: v.Outputs, Codecs: []codecJSON{},
			SupportedOutputTypes: []int{}, LastHealthCheck: v.LastHealthCheck, LastHealthError: v.LastHealthError,
			Reachable: v.Reachable,
		}
		for _, o := range v.Outputs {
			j.SupportedOutputTypes = append(j.SupportedOutputTypes, outputNumbers[o])
		}
		if a, ok := s.Archive.Status(v.ID); ok {
			j.Archive = &a
		}
		if v.Codecs != "" {
			for i, c := range strings.Split(v.Codecs, ",") {
				cj := codecJSON{Codec: c}
				if i == 0 {
					cj.Type = strings.SplitN(v.Video, " ", 2)[0]
					cj.Width, cj.Height = v.Width, v.Height
				} else if parts := strings.Split(v.Video, ", "); len(parts) > 1 {
					cj.Type = parts[1]
				}
				j.Codecs = append(j.Codecs, cj)
			}
		}
		streams[v.ID] = j
	}
	c := s.Conf
	return map[string]any{
		"api":     hostPort{c.API.Host, c.API.Port},
		"video":   hostPort{c.Video.Host, c.Video.Port},
		"streams": streams,
		"hls": map[string]any{
			"hls_ms_per_segment": c.HLS.MsPerSegment, "hls_window_size": c.HLS.WindowSize,
			"hls_window_capacity": c.HLS.WindowCapacity,
		},
		"on_demand": map[string]any{
			"enabled": c.OnDemand.Enabled, "idle_ms": c.OnDemand.IdleMs, "health_check": c.OnDemand.HealthCheck,
			"health_interval_ms": c.OnDemand.HealthIntervalMs, "health_timeout_ms": c.OnDemand.HealthTimeoutMs,
		},
	}
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.StatusJSON())
}

// cameraBody is /enable_camera's and /disable_camera's body; older
// video-server clients send stream_types instead of output_types.
type cameraBody struct {
	GUID        string   `json:"guid"`
	URL         string   `json:"url"`
	OutputTypes []string `json:"output_types"`
	StreamTypes []string `json:"stream_types"`
	// Ours (optional).
	Name      string `json:"name"`
	Transport string `json:"transport"`
	OnDemand  *bool  `json:"on_demand"`
}

func readBody(w http.ResponseWriter, r *http.Request) (cameraBody, bool) {
	var b cameraBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
		errorJSON(w, http.StatusBadRequest, "Bad JSON binding: "+err.Error())
		return b, false
	}
	return b, true
}

func (s *Server) enable(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	id, err := live.NormalizeID(b.GUID)
	if err != nil {
		errorJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := s.Engine.Get(id); err == nil {
		s.status(w, r) // video-server: an existing guid is left as it is
		return
	}
	cfg := live.StreamConfig{ID: id, Name: b.Name, URL: b.URL, Transport: b.Transport, OnDemand: s.Conf.OnDemand.Enabled}
	if b.OnDemand != nil {
		cfg.OnDemand = *b.OnDemand
	}
	if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		errorJSON(w, http.StatusBadRequest, fmt.Sprintf("stream %s: url must be rtsp://[user:password@]host[:port]/path", id))
		return
	}
	types := b.OutputTypes
	if len(types) == 0 {
		types = b.StreamTypes
	}
	if len(types) == 0 {
		types = []string{"mse", "llhls"}
	}
	if err := liveconf.OutputTypes(types, &cfg); err != nil {
		errorJSON(w, http.StatusBadRequest, fmt.Sprintf("stream %s: %v", id, err))
		return
	}
	if _, err := s.Engine.Add(cfg); err != nil && !errors.Is(err, live.ErrExists) {
		errorJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	s.Log.Info("Live stream enabled through the API", "stream", id, "outputs", cfg.OutputTypes())
	s.status(w, r)
}

func (s *Server) disable(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	if err := s.Engine.Remove(b.GUID); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, live.ErrNotFound) {
			code = http.StatusNotFound
		}
		errorJSON(w, code, err.Error())
		return
	}
	s.Log.Info("Live stream disabled through the API", "stream", b.GUID)
	s.status(w, r)
}

// ws is video-server's MSE websocket: the stream comes from the query
// (the path segment is ignored, as there).
func (s *Server) ws(w http.ResponseWriter, r *http.Request) {
	id := r.FormValue("stream_id")
	if !s.originAllowed(r) {
		s.Log.Warn("Refusing an MSE websocket from a foreign origin (see cors.allow_origins)", "origin", r.Header.Get("Origin"), "stream", id)
		errorJSON(w, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" is not in cors.allow_origins")
		return
	}
	st, code, err := s.find(id)
	if err == nil && st.MSE() == nil {
		code, err = http.StatusNotFound, fmt.Errorf("stream %s has no mse output", st.ID())
	}
	if err != nil {
		s.Log.Info("MSE viewer refused", "stream", id, "remote", r.RemoteAddr, "error", err)
		mse.Refuse(w, r, err.Error(), func() { errorJSON(w, code, err.Error()) })
		return
	}
	release := st.Acquire()
	defer release()
	mse.Serve(r.Context(), w, r, st.MSE(), s.Log.With("stream", st.ID()))
}

// wsArchive is video-server's archive playback websocket
// (/ws/archive?stream_id=&start=&duration=).
func (s *Server) wsArchive(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.Log.Warn("Refusing an archive websocket from a foreign origin (see cors.allow_origins)", "origin", r.Header.Get("Origin"))
		errorJSON(w, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" is not in cors.allow_origins")
		return
	}
	s.Archive.ServeWS(w, r, r.FormValue("stream_id"), s.Log)
}

func (s *Server) stream(w http.ResponseWriter, id string) (*live.Stream, bool) {
	st, code, err := s.find(id)
	if err != nil {
		errorJSON(w, code, err.Error())
		return nil, false
	}
	return st, true
}

// find looks a stream up, with the HTTP status of a failure.
func (s *Server) find(id string) (*live.Stream, int, error) {
	st, err := s.Engine.Get(id)
	switch {
	case errors.Is(err, live.ErrInvalidID):
		return nil, http.StatusBadRequest, err
	case err != nil:
		return nil, http.StatusNotFound, err
	}
	return st, http.StatusOK, nil
}

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// hls serves /hls/<uuid>.m3u8 (video-server's playlist URL) and the
// files below /hls/<uuid>/; /llhls/ the same for Low-Latency HLS.
func (s *Server) hls(w http.ResponseWriter, r *http.Request) {
	low := strings.HasPrefix(r.URL.Path, "/llhls/")
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/llhls/"), "/hls/")
	id := uuidRE.FindString(rest)
	if id == "" || !strings.HasPrefix(rest, id) {
		errorJSON(w, http.StatusBadRequest, fmt.Sprintf("%q: no stream UUID in the file name", rest))
		return
	}
	st, ok := s.stream(w, id)
	if !ok {
		return
	}
	out := st.HLS()
	if low || out == nil {
		out = st.LLHLS()
	}
	if out == nil {
		errorJSON(w, http.StatusNotFound, fmt.Sprintf("stream %s has no hls output", st.ID()))
		return
	}
	st.TouchHLS(r)
	w.Header().Set("Cache-Control", "no-cache")
	file := strings.TrimPrefix(rest, id)
	switch {
	case file == ".m3u8":
		out.ServePlaylistAt(w, r, id+"/")
	case strings.HasPrefix(file, "/") && !strings.Contains(file[1:], "/"):
		out.ServeHTTP(w, r)
	default:
		errorJSON(w, http.StatusNotFound, fmt.Sprintf("stream %s: no such HLS file %q", st.ID(), file))
	}
}

// originAllowed: with CORS enabled and a list of origins, websockets must
// come from one of them (or have no Origin: not a browser); video-server
// accepted any origin.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	c := s.Conf.CORS
	if o == "" || !c.Enabled || slices.Contains(c.AllowOrigins, "*") || len(c.AllowOrigins) == 0 {
		return true
	}
	if u, err := url.Parse(o); err == nil && u.Host == r.Host {
		return true
	}
	return slices.Contains(c.AllowOrigins, strings.TrimRight(o, "/"))
}

// cors applies the cors section the way gin-contrib/cors does.
func (s *Server) cors(next http.Handler) http.Handler {
	c := s.Conf.CORS
	if !c.Enabled {
		return next
	}
	methods := c.AllowMethods
	if len(methods) == 0 {
		methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	}
	headers := c.AllowHeaders
	if len(headers) == 0 {
		headers = []string{"Origin", "Content-Length", "Content-Type"}
	}
	anyOrigin := slices.Contains(c.AllowOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !anyOrigin && !slices.Contains(c.AllowOrigins, origin) {
			if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
				errorJSON(w, http.StatusForbidden, "origin "+origin+" is not in cors.allow_origins")
				return
			}
		}
		h := w.Header()
		if anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if c.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		if len(c.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
		}
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
			h.Set("Access-Control-Allow-Headers", strings.Join(headers, ","))
			h.Set("Access-Control-Max-Age", "43200")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
