package httpapi

import (
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	roots := &mediaRoots{dirs: []string{dataDir, videosDir}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := openMedia(videosDir, roots, r.URL.Path, log)
		if !ok {
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
		ct, known := mediaTypes[strings.ToLower(filepath.Ext(f.Name()))]
		if !known {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+strconv.FormatInt(st.Size(), 16)+"-"+strconv.FormatInt(st.ModTime().UnixNano(), 16)+`"`)
		// Revalidate each time: thumbnails can be regenerated.
		h.Set("Cache-Control", "no-cache")
		defer cork(r.Context())()
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}

// openMedia opens the file a /videos/... URL path names, or says no. The
// file, symlinks resolved, must be inside the data directory (or inside
// videos/ when that is itself a link to another disk). The check is made
// on the file that was opened (its /proc/self/fd link), so nothing can be
// swapped in between, and it costs one readlink where resolving the path
// first cost an lstat per component.
func openMedia(videosDir string, roots *mediaRoots, urlPath string, log *slog.Logger) (*os.File, bool) {
	rel := strings.TrimPrefix(urlPath, "/videos")
	if strings.ContainsRune(rel, 0) {
		return nil, false
	}
	clean := path.Clean("/" + rel)
	if clean == "/" {
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if parts[0] == "trash" {
		return nil, false
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return nil, false
		}
	}
	full := filepath.Join(videosDir, filepath.FromSlash(clean))
	// A blocking descriptor, handed to os.NewFile: os.Open would also try
	// (and fail) to register a regular file with the network poller.
	fd, err := syscall.Open(full, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	f := os.NewFile(uintptr(fd), full)
	resolved, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil { // no /proc: resolve the path instead
		resolved, err = filepath.EvalSymlinks(full)
	}
	if err == nil && roots.contain(resolved) {
		return f, true
	}
	f.Close()
	if err == nil && log != nil {
		log.Warn("Refused to serve a link that points outside the data directory", "path", urlPath, "target", resolved)
	}
	return nil, false
}

// mediaRoots are the directories media may resolve into, with their
// symlinks resolved once rather than on every request (each resolution is
// an lstat per path component). A path outside the remembered roots is
// checked again against freshly resolved ones, in case a directory was
// moved or relinked while the server ran.
type mediaRoots struct {
	dirs     []string
	mu       sync.Mutex
	resolved []string
}

func (m *mediaRoots) contain(p string) bool {
	m.mu.Lock()
	cached := m.resolved
	m.mu.Unlock()
	if cached != nil && within(p, cached) {
		return true
	}
	var fresh []string
	for _, d := range m.dirs {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			fresh = append(fresh, r)
		}
	}
	m.mu.Lock()
	m.resolved = fresh
	m.mu.Unlock()
	return within(p, fresh)
}

func within(p string, roots []string) bool {
	for _, r := range roots {
		if strings.HasPrefix(p, r+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
