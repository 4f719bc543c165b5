// Package webui serves the review app at / and the runtime settings it
// needs. The app is built once (web/dist, embedded in the binary); the
// websocket and upload URLs, the title and the upload limits are injected
// into index.html for each request, so the same build works behind any host
// name or path prefix. /clapshot_client.conf.json serves the same settings
// in the format of Clapshot's own client, so that client can be dropped in
// (with --web-dir) or pointed at this server.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// SettingsMarker is the element in web/index.html that the server fills
// with the settings JSON. A client whose index.html lacks it (Clapshot's)
// is served unchanged and reads /clapshot_client.conf.json instead.
const SettingsMarker = `<script type="application/json" id="clapshot-settings">{}</script>`

// Paths the app itself never serves: other subsystems own them, and an
// unknown path below them must be a 404 rather than the app's page.
var foreignPrefixes = []string{"/api/", "/videos/"}

// Options configures the handler.
type Options struct {
	// Files is the built app: web.Dist(), or os.DirFS(--web-dir).
	Files fs.FS
	// Cache keeps file contents (and their gzip) in memory. Right for the
	// embedded build, which never changes; wrong for a directory an admin
	// may edit.
	Cache bool
	// URLBase is --url-base ("" = derive URLs from each request).
	URLBase string
	// Conf holds the admin's client settings (--client-conf), or nil.
	Conf *ClientConf
	// Trusted says whether a request comes from a trusted reverse proxy,
	// whose X-Forwarded-* headers may then be believed.
	Trusted func(*http.Request) bool
	// TusPath is the tus endpoint's path ("" = the server has none).
	TusPath string
	// LivePath is the live-camera API's path ("" = no cameras configured:
	// the app then shows no Live page).
	LivePath string
	// MaxUploadBytes is announced to the app (0 = no limit).
	MaxUploadBytes int64
	// Version is the server's version, shown in the app's About box.
	Version string
	Log     *slog.Logger
}

// Handler serves the app and its settings.
type Handler struct {
	opts      Options
	indexHead []byte // index.html up to the settings marker
	indexTail []byte // after the marker
	hasMarker bool
	built     bool

	mu    sync.Mutex
	cache map[string]*asset
}

type asset struct {
	data  []byte
	gz    []byte // nil if not worth compressing
	etag  string
	ctype string
}

// New prepares the handler. A build without index.html (the committed
// placeholder) is not an error: the handler then serves a page that says
// how to build the UI.
func New(opts Options) (*Handler, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Trusted == nil {
		opts.Trusted = func(*http.Request) bool { return false }
	}
	h := &Handler{opts: opts, cache: map[string]*asset{}}
	index, err := fs.ReadFile(opts.Files, "index.html")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		opts.Log.Warn("The web UI is not built into this server; / shows build instructions. Run `make run`, or `cd web && npm ci && npm run build` and rebuild the server")
		return h, nil
	case err != nil:
		return nil, fmt.Errorf("web UI: read index.html: %w", err)
	}
	h.built = true
	if i := bytes.Index(index, []byte(SettingsMarker)); i >= 0 {
		h.hasMarker = true
		h.indexHead = index[:i]
		h.indexTail = index[i+len(SettingsMarker):]
	} else {
		h.indexHead = index
	}
	return h, nil
}

// Register adds the handler's routes. They carry no method, so they never
// conflict with method-less routes of other subsystems (e.g. /api/ws).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	mux.Handle("/", http.HandlerFunc(h.serveApp))
	mux.Handle("/clapshot_client.conf.json", http.HandlerFunc(h.serveClientConf))
}

func allowRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func (h *Handler) serveApp(w http.ResponseWriter, r *http.Request) {
	for _, p := range foreignPrefixes {
		if strings.HasPrefix(r.URL.Path, p) {
			http.NotFound(w, r)
			return
		}
	}
	if !allowRead(w, r) {
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		h.serveIndex(w, r)
		return
	}
	h.serveFile(w, r, strings.TrimPrefix(path.Clean(r.URL.Path), "/"))
}

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	h.serveIndexWith(w, h.pageSettings())
}

// ServeGuestApp serves the app to a guest of a share link below
// /s/<token>/ (prefix, "s/<token>/", relative to the app's root): the page
// (file "" or "index.html") with a guest's settings, or a file of the
// build. The link itself is the caller's to check.
func (h *Handler) ServeGuestApp(w http.ResponseWriter, r *http.Request, prefix, file string) {
	if !allowRead(w, r) {
		return
	}
	if file == "" || file == "index.html" {
		h.serveIndexWith(w, h.guestSettings(prefix))
		return
	}
	h.serveFile(w, r, strings.TrimPrefix(path.Clean("/"+file), "/"))
}

func (h *Handler) serveIndexWith(w http.ResponseWriter, s settings) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if s.Guest {
		hd.Set("Referrer-Policy", "no-referrer") // the link's token is in the page's URL
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if !h.built {
		// 200: the server works; only its page is missing. Health checks
		// of "/" (some proxies do that) should not fail over it.
		_, _ = w.Write([]byte(notBuiltPage))
		return
	}
	var b bytes.Buffer
	b.Grow(len(h.indexHead) + len(h.indexTail) + 1024)
	if h.hasMarker {
		settings, err := json.Marshal(s)
		if err != nil {
			http.Error(w, "settings: "+err.Error(), http.StatusInternalServerError)
			return
		}
		b.Write(h.retitle(h.indexHead))
		b.WriteString(`<script type="application/json" id="clapshot-settings">`)
		// json.Marshal escapes <, > and &, so the JSON cannot end the script element.
		b.Write(settings)
		b.WriteString(`</script>`)
		b.Write(h.indexTail)
	} else {
		b.Write(h.indexHead)
	}
	_, _ = w.Write(b.Bytes())
}

// retitle puts the configured app title into the page's <title>.
func (h *Handler) retitle(head []byte) []byte {
	title := h.title()
	const open, end = "<title>", "</title>"
	i := bytes.Index(head, []byte(open))
	j := bytes.Index(head, []byte(end))
	if i < 0 || j < i {
		return head
	}
	out := make([]byte, 0, len(head)+len(title))
	out = append(out, head[:i+len(open)]...)
	out = append(out, html.EscapeString(title)...)
	return append(out, head[j:]...)
}

func (h *Handler) title() string {
	if h.opts.Conf != nil && h.opts.Conf.AppTitle != "" {
		return h.opts.Conf.AppTitle
	}
	return "Clapshot"
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	a, err := h.load(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
		} else {
			h.opts.Log.Error("Web UI file", "file", name, "err", err)
			http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		}
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", a.etag)
	hd.Add("Vary", "Accept-Encoding")
	if strings.HasPrefix(name, "assets/") {
		// Vite puts a content hash in every file name below assets/.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.data
	if a.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

var compressible = map[string]bool{".js": true, ".mjs": true, ".css": true, ".svg": true, ".json": true, ".html": true, ".txt": true, ".map": true, ".webmanifest": true}

func (h *Handler) load(name string) (*asset, error) {
	if name == "" || name == "." || strings.HasPrefix(name, ".") {
		return nil, fs.ErrNotExist
	}
	if h.opts.Cache {
		h.mu.Lock()
		a, ok := h.cache[name]
		h.mu.Unlock()
		if ok {
			return a, nil
		}
	}
	st, err := fs.Stat(h.opts.Files, name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fs.ErrNotExist
	}
	data, err := fs.ReadFile(h.opts.Files, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	a := &asset{data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	ext := strings.ToLower(path.Ext(name))
	if a.ctype = mime.TypeByExtension(ext); a.ctype == "" {
		a.ctype = http.DetectContentType(data)
	}
	if compressible[ext] && len(data) > 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(data)
		_ = zw.Close()
		if b.Len() < len(data) {
			a.gz = b.Bytes()
		}
	}
	if h.opts.Cache {
		h.mu.Lock()
		h.cache[name] = a
		h.mu.Unlock()
	}
	return a, nil
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clapshot: web UI not built</title>
<style>body{font:16px system-ui,sans-serif;background:#15161a;color:#d8dbe2;max-width:40em;margin:4em auto;padding:0 1em}code{background:#24262d;padding:.1em .3em}</style></head>
<body><h1>The web UI is not built into this server</h1>
<p>This binary was built without the web app. The server and its API are running.</p>
<p>Build the app and the server with <code>make run</code>, or run
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and rebuild the server.
Or serve another client build with <code>--web-dir</code>.</p></body></html>
`
