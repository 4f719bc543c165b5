package webapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/ingest"
	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/mediadir"
)

// Ingester is the part of the ingest pipeline "send to review" uses.
type Ingester interface {
	NewUploadDir() (dir string, done func(), err error)
	Submit(ctx context.Context, uploads ...ingest.Upload) error
}

// reviewRequest is POST …/archive/review's body.
type reviewRequest struct {
	// Start and End are RFC 3339 times or Unix seconds (as strings or
	// numbers).
	Start json.RawMessage `json:"start"`
	End   json.RawMessage `json:"end"`
	// Title names the media file ("": the stream's name and the range).
	Title string `json:"title"`
}

func rawTime(field string, raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is missing", field)
	}
	t, err := archive.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// review makes a recorded range a normal media file of the caller: the
// range is exported from the archive without re-encoding and handed to
// the ingest pipeline as the caller's upload (the organizer may refuse
// it, as any upload). It answers 202 with the new media file's id once
// the file is queued.
func (h *Handler) review(w http.ResponseWriter, r *http.Request) {
	ident, ok := h.identify(w, r)
	if !ok {
		return
	}
	st, code, err := h.find(r, ident)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	if h.Review == nil || h.Archive == nil {
		writeError(w, http.StatusNotFound, "send to review is not available: no archive or no media pipeline")
		return
	}
	if h.AuthorizeUpload != nil {
		if err := h.AuthorizeUpload(r, ident); err != nil {
			writeError(w, http.StatusForbidden, "Permission denied: "+err.Error())
			return
		}
	}
	var req reviewRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	from, err := rawTime("start", req.Start)
	var to time.Time
	if err == nil {
		to, err = rawTime("end", req.End)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	title := strings.TrimSpace(req.Title)
	if title == "" {
		title = fmt.Sprintf("%s %s–%s UTC", st.Config().Name, from.UTC().Format("2006-01-02 15:04:05"), to.UTC().Format("15:04:05"))
	}
	raw := title
	if !strings.HasSuffix(strings.ToLower(raw), ".mp4") {
		raw += ".mp4"
	}
	dir, done, err := h.Review.NewUploadDir()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer done()
	path := filepath.Join(dir, mediadir.StoredName(raw))
	log := h.Log.With("stream", st.ID(), "user", ident.UserID)
	exp, err := h.Archive.Export(r.Context(), st.ID(), from, to, path, log)
	if err != nil {
		_ = os.RemoveAll(dir)
		var re *archive.RangeError
		switch {
		case errors.As(err, &re) && re.NotFound:
			writeError(w, http.StatusNotFound, re.Msg)
		case errors.As(err, &re):
			writeError(w, http.StatusBadRequest, re.Msg)
		default:
			log.Error("Send to review: export failed", "error", err)
			writeError(w, http.StatusInternalServerError, "export failed: "+err.Error())
		}
		return
	}
	cookies := auth.Cookies(r.Header)
	id, err := ingest.MediaID(path, ident.UserID, cookies)
	if err == nil {
		err = h.Review.Submit(r.Context(), ingest.Upload{Path: path, Title: mediadir.Title(raw), UserID: ident.UserID,
			UserName: ident.UserName, Cookies: cookies, Source: "archive"})
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	log.Info("Send to review: archive range queued as a media file", "media_file_id", id,
		"start", exp.Start, "duration", exp.Duration.Round(time.Millisecond))
	writeJSON(w, http.StatusAccepted, map[string]any{
		"media_file_id": id, "title": mediadir.Title(raw), "start": exp.Start.UTC(), "duration": exp.Duration.Seconds(),
		"codec": exp.Codec,
	})
}
