package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/objstore"
)

// ObjectOptions configure MediaObjects.
type ObjectOptions struct {
	// Proxy streams objects through this server (with Range requests)
	// instead of redirecting to a presigned URL: for object stores the
	// browsers cannot reach.
	Proxy bool
	// URLTTL is how long a presigned URL is valid (default 1 h: long
	// enough for a player to seek in a long video without asking again).
	URLTTL time.Duration
	// LookupTimeout bounds the wait for the store's answer (default
	// 10 s): a store that is down is a 502 a player can report, not a
	// request that hangs while the store's retries go on.
	LookupTimeout time.Duration
	// Local serves what is not (yet) in the store: files the pipeline is
	// still working on in the data directory.
	Local http.Handler
	Log   *slog.Logger
}

// MediaObjects serves /videos/ from an object store (--media-url): the
// same names as MediaFiles, looked up as objects, and answered with a 302
// to a short-lived presigned URL of the object (or, with Proxy, and always
// for text and adaptive streams, see redirectable, streamed with Range
// support). A name the store does not have goes to Local. The
// trash and hidden names are refused before the store is asked.
func MediaObjects(st *objstore.Store, o ObjectOptions) http.Handler {
	if o.URLTTL <= 0 {
		o.URLTTL = time.Hour
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rel, ok := mediaPath(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		key := "videos/" + rel
		ct := mediadir.ContentType(path.Ext(rel))
		// A player waits this long at most for the store's answer (the
		// store's own retries go on for minutes).
		lookup, cancel := context.WithTimeout(r.Context(), o.LookupTimeout)
		defer cancel()
		info, err := st.Stat(lookup, key)
		if errors.Is(err, objstore.ErrNotFound) {
			o.Local.ServeHTTP(w, r)
			return
		}
		if err != nil {
			o.Log.Error("Cannot look up a media object", "key", key, "err", err)
			http.Error(w, "The media store does not answer; try again later", http.StatusBadGateway)
			return
		}
		if !o.Proxy && redirectable(rel, ct) {
			u, err := st.Presign(r.Context(), key, o.URLTTL, ct)
			if err != nil {
				o.Log.Error("Cannot presign a media URL", "key", key, "err", err)
				http.Error(w, "The media store does not answer; try again later", http.StatusBadGateway)
				return
			}
			// The redirect itself is not cached past the URL's life.
			w.Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(int(o.URLTTL.Seconds()/2)))
			w.Header().Set("ETag", `"`+info.ETag+`"`)
			http.Redirect(w, r, u.String(), http.StatusFound)
			return
		}
		obj, err := st.Open(r.Context(), key)
		if err != nil {
			o.Log.Error("Cannot open a media object", "key", key, "err", err)
			http.Error(w, "The media store does not answer; try again later", http.StatusBadGateway)
			return
		}
		defer obj.Close()
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+info.ETag+`"`)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", info.Modified, obj)
	})
}

// redirectable says whether a media file can be answered with a redirect
// to the store: pictures, video and audio, which browsers load across
// origins without CORS. Text (subtitles, which <track> loads only from
// the page's origin or with CORS) and adaptive streams (playlists with
// relative names, segments fetched by hls.js) are streamed through.
func redirectable(rel, contentType string) bool {
	if strings.Contains("/"+rel, "/hls/") {
		return false
	}
	for _, p := range []string{"video/", "audio/", "image/"} {
		if strings.HasPrefix(contentType, p) {
			return true
		}
	}
	return false
}
