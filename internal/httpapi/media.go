package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
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
	".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment", // adaptive ladders
}

// MediaFiles serves <data-dir>/videos at /videos/ as Clapshot did (nginx
// usually does this in production): GET and HEAD with Range requests,
// content types by extension, ETag and Last-Modified validators. It never
// lists a directory, never serves the trash or hidden files, resolves every
// path beneath videos/ without following a link out of it, and never opens
// the database at dbPath or its -wal/-shm/-journal files under any name:
// opening and closing another descriptor of the database in this process
// would drop SQLite's POSIX locks on it (see openMedia).
func MediaFiles(videosDir, dbPath string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &mediaHandler{opener: &mediaOpener{videos: videosDir, db: dbPath, log: log}}
}

type mediaHandler struct{ opener *mediaOpener }

func (m *mediaHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	{
		f, ok := m.opener.open(r.URL.Path)
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
	}
}

// mediaOpener opens the files /videos/ URLs name.
//
// Why so careful: SQLite keeps its locks as POSIX (fcntl) locks, which the
// kernel drops as soon as the process closes any descriptor of the file,
// not just SQLite's own. One GET of a link to clapshot.sqlite used to open
// and close it, after which an admin's `sqlite3 clapshot.sqlite` believed it
// was alone, checkpointed and deleted the live -wal/-shm, and writes the
// server answered Ok for were lost at the next crash. So a file is first
// looked up with O_PATH (a descriptor that neither reads the file nor,
// when closed, touches its locks), resolved beneath videos/ only
// (openat2 RESOLVE_BENEATH, or a check of where the descriptor really
// is), checked to be a regular file that is none of the database's files,
// and only then opened for reading, through that same descriptor, so that
// nothing can be swapped in between.
type mediaOpener struct {
	videos, db string
	log        *slog.Logger
	// noOpenat2 is set once openat2 turned out to be missing (kernel before
	// 5.6) or filtered out (seccomp); the /proc check is used instead.
	noOpenat2 atomic.Bool
	warned    sync.Map // refusals already logged, by reason
}

func (m *mediaOpener) open(urlPath string) (*os.File, bool) {
	rel := strings.TrimPrefix(urlPath, "/videos")
	if strings.ContainsRune(rel, 0) {
		return nil, false
	}
	clean := path.Clean("/" + rel)
	if clean == "/" {
		return nil, false
	}
	rel = strings.TrimPrefix(clean, "/")
	parts := strings.Split(rel, "/")
	if parts[0] == "trash" {
		return nil, false
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return nil, false
		}
	}
	// videos/ itself may be a link (to a bigger disk): the operator's
	// choice, followed.
	root, err := unix.Open(m.videos, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(root)
	pfd, err := m.lookup(root, rel, urlPath)
	if err != nil {
		return nil, false
	}
	defer unix.Close(pfd) // O_PATH: closing it leaves every lock alone
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, false
	}
	if m.isDatabase(&st) {
		m.warn("Refused to serve the database through a media URL (a link or hard link under videos/)", urlPath)
		return nil, false
	}
	// Reopen the very file the O_PATH descriptor holds. A blocking
	// descriptor, handed to os.NewFile: os.Open would also try (and fail)
	// to register a regular file with the network poller.
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		// No /proc: reopening by name could race with a swap to the
		// database, so nothing is served.
		m.warn("Cannot serve media without /proc/self/fd", urlPath)
		return nil, false
	}
	return os.NewFile(uintptr(fd), filepath.Join(m.videos, filepath.FromSlash(rel))), true
}

// lookup resolves rel beneath root into an O_PATH descriptor, following
// links only while they stay beneath root.
func (m *mediaOpener) lookup(root int, rel, urlPath string) (int, error) {
	if !m.noOpenat2.Load() {
		fd, err := unix.Openat2(root, rel, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.EXDEV):
			m.warn("Refused to serve a link that points outside videos/", urlPath)
			return -1, err
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			m.noOpenat2.Store(true)
		default:
			return -1, err
		}
	}
	// Fallback: resolve freely, then check where the descriptor landed.
	fd, err := unix.Openat(root, rel, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	rootPath, err1 := os.Readlink("/proc/self/fd/" + strconv.Itoa(root))
	got, err2 := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err1 != nil || err2 != nil || !strings.HasPrefix(got, strings.TrimSuffix(rootPath, "/")+"/") {
		unix.Close(fd)
		m.warn("Refused to serve a link that points outside videos/", urlPath)
		return -1, unix.EXDEV
	}
	return fd, nil
}

// dbSuffixes name the files of a SQLite database besides the main one.
var dbSuffixes = []string{"", "-wal", "-shm", "-journal"}

// isDatabase reports whether st is one of the database's files. They are
// looked up on every request: -wal and -shm are recreated now and then,
// and a cached identity could miss the new ones.
func (m *mediaOpener) isDatabase(st *unix.Stat_t) bool {
	if m.db == "" {
		return false
	}
	for _, suffix := range dbSuffixes {
		var d unix.Stat_t
		if unix.Stat(m.db+suffix, &d) == nil && d.Dev == st.Dev && d.Ino == st.Ino {
			return true
		}
	}
	return false
}

// warn logs a refusal once per reason: links are not going to change
// between two requests of a player.
func (m *mediaOpener) warn(msg, urlPath string) {
	if _, seen := m.warned.LoadOrStore(msg+" "+urlPath, true); !seen {
		m.log.Warn(msg, "path", urlPath)
	}
}
