// Package webapi is the review app's live-camera API under /api/live/:
// the streams the caller may watch, with their status, and each stream's
// LL-HLS, classic HLS and MSE websocket, behind the same reverse-proxy
// identity as the rest of the app. A stream with a users list is visible
// only to those users (and administrators); admins_only streams only to
// administrators. A stream the caller may not see answers 404, as if it
// did not exist.
package webapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/mse"
)

// Prefix is where the routes live.
const Prefix = "/api/live/"

// Identifier is the part of auth.Resolver the API needs.
type Identifier interface {
	Authenticate(*http.Request) (auth.Identity, error)
}

// Handler serves /api/live/.
type Handler struct {
	Engine *live.Engine
	// Archive serves the recorded ranges and playback (nil: none).
	Archive *archive.Archive
	// Review makes recorded ranges media files (nil: "send to review"
	// is off); AuthorizeUpload, if set, may refuse that as any upload
	// (the organizer's UPLOAD_MEDIA_FILE check).
	Review          Ingester
	AuthorizeUpload func(*http.Request, auth.Identity) error
	Identity        Identifier
	// OriginAllowed checks websocket origins (the app's --cors and
	// same-origin policy).
	OriginAllowed func(*http.Request) bool
	Log           *slog.Logger
}

// Mux is where routes are registered (httpapi.Server, http.ServeMux).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the routes.
func (h *Handler) Register(m Mux) {
	m.Handle("GET "+Prefix+"streams", http.HandlerFunc(h.list))
	m.Handle("GET "+Prefix+"streams/{id}", http.HandlerFunc(h.one))
	m.Handle("GET "+Prefix+"streams/{id}/llhls/{file}", http.HandlerFunc(h.llhls))
	m.Handle("GET "+Prefix+"streams/{id}/hls/{file}", http.HandlerFunc(h.hls))
	m.Handle("GET "+Prefix+"streams/{id}/mse", http.HandlerFunc(h.mse))
	m.Handle("GET "+Prefix+"streams/{id}/archive/ranges", http.HandlerFunc(h.ranges))
	m.Handle("GET "+Prefix+"streams/{id}/archive/vod.m3u8", http.HandlerFunc(h.vod))
	m.Handle("GET "+Prefix+"streams/{id}/archive/vod/{name}", http.HandlerFunc(h.vod))
	m.Handle("GET "+Prefix+"streams/{id}/archive/ws", http.HandlerFunc(h.archiveWS))
	m.Handle("POST "+Prefix+"streams/{id}/archive/review", http.HandlerFunc(h.review))
}

// vod is HLS VOD of the archive: the playlist and its segments.
func (h *Handler) vod(w http.ResponseWriter, r *http.Request) {
	st, ok := h.stream(w, r)
	if !ok {
		return
	}
	if name := r.PathValue("name"); name != "" {
		h.Archive.ServeSegment(w, r, st.ID(), name)
		return
	}
	h.Archive.ServePlaylist(w, r, st.ID())
}

// archiveWS is archive playback over a websocket, in video-server's
// protocol (start, duration as its /ws/archive).
func (h *Handler) archiveWS(w http.ResponseWriter, r *http.Request) {
	if st, ok := h.wsStream(w, r, nil); ok {
		h.Archive.ServeWS(w, r, st.ID(), h.Log)
	}
}

// ranges is the stream's recorded ranges, as video_server's
// /archive/:stream_id/ranges, to those who may watch the stream.
func (h *Handler) ranges(w http.ResponseWriter, r *http.Request) {
	st, ok := h.stream(w, r)
	if !ok {
		return
	}
	h.Archive.ServeRanges(w, st.ID())
}

// Allowed says whether ident may watch a stream.
func Allowed(ident auth.Identity, cfg live.StreamConfig) bool {
	switch {
	case ident.IsAdmin:
		return true
	case cfg.AdminsOnly:
		return false
	case len(cfg.Users) == 0:
		return true
	}
	return slices.Contains(cfg.Users, ident.UserID)
}

// Stream is one entry of the list: the engine's status plus the URLs to
// play it, relative to /api/live/ (the page resolves them against its
// own URL, so any proxy prefix works).
type Stream struct {
	live.Status
	// LLHLS, HLS and MSE are "" when the stream lacks that output.
	LLHLS string `json:"llhls_url"`
	HLS   string `json:"hls_url"`
	MSE   string `json:"mse_url"`
	// Archive is where the stream's archive is served (ranges, vod.m3u8,
	// ws below it), "" when it is not; Recording says whether it is
	// being recorded.
	Archive   string `json:"archive_url"`
	Recording bool   `json:"recording"`
}

// describe is the stream as ident may see it: the camera's URL (its host,
// path and user name, the password already removed) only for
// administrators.
func (h *Handler) describe(st *live.Stream, ident auth.Identity) Stream {
	s := Stream{Status: st.Status()}
	if !ident.IsAdmin {
		s.URL = ""
	}
	base := "streams/" + st.ID()
	if st.LLHLS() != nil {
		s.LLHLS = base + "/llhls/index.m3u8"
	}
	if st.HLS() != nil {
		s.HLS = base + "/hls/index.m3u8"
	}
	if st.MSE() != nil {
		s.MSE = base + "/mse"
	}
	if h.Archive != nil && h.Archive.Settings(st.ID()).Serving {
		s.Archive = base + "/archive/"
	}
	if rs, ok := h.Archive.Status(st.ID()); ok {
		s.Recording = rs.Recording
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (h *Handler) identify(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	ident, err := h.Identity.Authenticate(r)
	if err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return ident, false
	}
	return ident, true
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ident, ok := h.identify(w, r)
	if !ok {
		return
	}
	out := []Stream{}
	for _, st := range h.Engine.Streams() {
		if Allowed(ident, st.Config()) {
			out = append(out, h.describe(st, ident))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"streams": out, "time": time.Now().UTC()})
}

// stream finds a stream the caller may see, or answers the error.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) (*live.Stream, bool) {
	ident, ok := h.identify(w, r)
	if !ok {
		return nil, false
	}
	st, code, err := h.find(r, ident)
	if err != nil {
		writeError(w, code, err.Error())
		return nil, false
	}
	return st, true
}

// find looks up the request's stream for ident, with the HTTP status of a
// failure. A stream the caller may not watch is "no such stream".
func (h *Handler) find(r *http.Request, ident auth.Identity) (*live.Stream, int, error) {
	st, err := h.Engine.Get(r.PathValue("id"))
	switch {
	case errors.Is(err, live.ErrInvalidID):
		return nil, http.StatusBadRequest, err
	case err != nil || !Allowed(ident, st.Config()):
		if err == nil {
			h.Log.Info("Live stream refused: not in its users list", "stream", st.ID(), "user", ident.UserID)
		}
		return nil, http.StatusNotFound, errors.New("stream " + r.PathValue("id") + ": no such stream")
	}
	return st, http.StatusOK, nil
}

func (h *Handler) one(w http.ResponseWriter, r *http.Request) {
	ident, ok := h.identify(w, r)
	if !ok {
		return
	}
	st, code, err := h.find(r, ident)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.describe(st, ident))
}

func (h *Handler) llhls(w http.ResponseWriter, r *http.Request) {
	st, ok := h.stream(w, r)
	if !ok {
		return
	}
	if st.LLHLS() == nil {
		writeError(w, http.StatusNotFound, "stream "+st.ID()+" has no llhls output")
		return
	}
	st.TouchHLS(r)
	st.LLHLS().ServeHTTP(w, r)
}

func (h *Handler) hls(w http.ResponseWriter, r *http.Request) {
	st, ok := h.stream(w, r)
	if !ok {
		return
	}
	if st.HLS() == nil {
		writeError(w, http.StatusNotFound, "stream "+st.ID()+" has no hls output")
		return
	}
	st.TouchHLS(r)
	w.Header().Set("Cache-Control", "no-cache")
	st.HLS().ServeHTTP(w, r)
}

func (h *Handler) mse(w http.ResponseWriter, r *http.Request) {
	st, ok := h.wsStream(w, r, func(st *live.Stream) error {
		if st.MSE() == nil {
			return errors.New("stream " + st.ID() + " has no mse output")
		}
		return nil
	})
	if !ok {
		return
	}
	release := st.Acquire()
	defer release()
	mse.Serve(r.Context(), w, r, st.MSE(), h.Log.With("stream", st.ID()))
}

// wsStream finds the stream of a websocket request, or refuses it: a
// foreign origin gets no websocket at all (403); a stream the caller may
// not watch, or that fails check (nil: none), is upgraded and closed with
// the reason, which is all a browser's WebSocket can see.
func (h *Handler) wsStream(w http.ResponseWriter, r *http.Request, check func(*live.Stream) error) (*live.Stream, bool) {
	ident, ok := h.identify(w, r)
	if !ok {
		return nil, false
	}
	if h.OriginAllowed != nil && !h.OriginAllowed(r) {
		h.Log.Warn("Refusing a live websocket from a foreign origin (see --cors and --url-base)",
			"origin", r.Header.Get("Origin"), "stream", r.PathValue("id"), "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" is not allowed (see --cors and --url-base)")
		return nil, false
	}
	st, code, err := h.find(r, ident)
	if err == nil && check != nil {
		code, err = http.StatusNotFound, check(st)
	}
	if err != nil {
		mse.Refuse(w, r, err.Error(), func() { writeError(w, code, err.Error()) })
		return nil, false
	}
	return st, true
}
