package httpapi

import (
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// mediaTypes are the content types of the files under videos/. Anything
// else is served as application/octet-stream (never sniffed), so an
// uploaded file cannot be made to run as a page.
var mediaTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
	".mkv": "video/x-matroska", ".ts": "video/mp2t", ".avi": "video/x-msvideo", ".mxf": "application/mxf",
	".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg", ".m4a": "audio/mp4",
	".opus": "audio/ogg", ".aac": "audio/aac",
	".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".vtt": "text/vtt; charset=utf-8", ".srt": "text/plain; charset=utf-8", ".ass": "text/plain; charset=utf-8",
	".ssa": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".json": "application/json",
}

// MediaFiles serves <data-dir>/videos at /videos/ as Clapshot did (nginx
// usually does this in production): GET and HEAD with Range requests,
// content types by extension, ETag and Last-Modified validators. It never
// lists a directory, never serves the trash or hidden files, and follows a
// symlink (video.mp4) only to a file inside dataDir.
func MediaFiles(videosDir, dataDir string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		full, ok := mediaPath(videosDir, dataDir, r.URL.Path, log)
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(full)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		ct, known := mediaTypes[strings.ToLower(filepath.Ext(full))]
		if !known {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+strconv.FormatInt(st.Size(), 16)+"-"+strconv.FormatInt(st.ModTime().UnixNano(), 16)+`"`)
		// Revalidate each time: thumbnails can be regenerated.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}

// mediaPath maps a /videos/... URL path to a file, or says no. The file,
// symlinks resolved, must be inside the data directory (or inside videos/
// when that is itself a link to another disk).
func mediaPath(videosDir, dataDir, urlPath string, log *slog.Logger) (string, bool) {
	rel := strings.TrimPrefix(urlPath, "/videos")
	if strings.ContainsRune(rel, 0) {
		return "", false
	}
	clean := path.Clean("/" + rel)
	if clean == "/" {
		return "", false
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if parts[0] == "trash" {
		return "", false
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return "", false
		}
	}
	full := filepath.Join(videosDir, filepath.FromSlash(clean))
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", false
	}
	for _, dir := range []string{dataDir, videosDir} {
		if root, err := filepath.EvalSymlinks(dir); err == nil && strings.HasPrefix(resolved, root+string(filepath.Separator)) {
			return resolved, true
		}
	}
	if log != nil {
		log.Warn("Refused to serve a link that points outside the data directory", "path", urlPath, "target", resolved)
	}
	return "", false
}
