package archive

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/clapshot-go/clapshot/internal/live"
)

// RangesResponse is GET /archive/:stream_id/ranges, in video-server's
// shape.
type RangesResponse struct {
	StreamID string  `json:"stream_id"`
	Ranges   []Range `json:"ranges"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// lookup finds a stream's store for serving, with video-server's status
// codes and messages for a failure. a may be nil (no archive configured).
func (a *Archive) lookup(id string) (*Store, int, string) {
	nid, err := live.NormalizeID(id)
	if err != nil {
		return nil, http.StatusBadRequest, "invalid stream_id"
	}
	if a == nil {
		return nil, http.StatusNotFound, "archive not available: no archive is configured (see the archive section of the configuration)"
	}
	st, err := a.Store(nid)
	switch {
	case errors.Is(err, ErrNoArchive):
		return nil, http.StatusNotFound, "no archive segments found"
	case err != nil:
		return nil, http.StatusNotFound, "archive not available: " + err.Error()
	}
	return st, http.StatusOK, ""
}

// ServeRanges answers GET /archive/:stream_id/ranges: the stream's
// recorded ranges, measured from its segments, with video-server's JSON
// and errors (400 invalid stream_id, 404 archive not available or no
// archive segments found). a may be nil.
func (a *Archive) ServeRanges(w http.ResponseWriter, id string) {
	st, code, msg := a.lookup(id)
	if st == nil {
		writeError(w, code, msg)
		return
	}
	rs := st.Ranges()
	if len(rs) == 0 {
		writeError(w, http.StatusNotFound, "no archive segments found")
		return
	}
	writeJSON(w, http.StatusOK, RangesResponse{StreamID: id, Ranges: rs})
}
