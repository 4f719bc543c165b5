package webui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

const testIndex = `<!doctype html><html><head><title>Clapshot</title>
` + SettingsMarker + `
<script type="module" src="./assets/app-abc123.js"></script></head><body></body></html>`

var bigJS = strings.Repeat("console.log('clapshot');\n", 200)

func testFiles() fstest.MapFS {
	return fstest.MapFS{
		"index.html":           {Data: []byte(testIndex)},
		"assets/app-abc123.js": {Data: []byte(bigJS)},
		"favicon.svg":          {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}
}

func newHandler(t *testing.T, opts Options) http.Handler {
	t.Helper()
	if opts.Files == nil {
		opts.Files = testFiles()
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return mux
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string, remote string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var settingsRE = regexp.MustCompile(`<script type="application/json" id="clapshot-settings">(.*?)</script>`)

func injected(t *testing.T, body string) map[string]any {
	t.Helper()
	m := settingsRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no settings element in page:\n%s", body)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
		t.Fatalf("settings JSON %q: %v", m[1], err)
	}
	return s
}

func TestIndexGetsSettingsForEachRequest(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want map[string]any
	}{
		{
			name: "defaults are relative to the page",
			opts: Options{TusPath: "/api/upload/tus/", Version: "1.2.3", MaxUploadBytes: 5 << 30},
			want: map[string]any{"ws_url": "api/ws", "upload_url": "api/upload", "tus_url": "api/upload/tus/",
				"app_title": "Clapshot", "server_version": "1.2.3", "max_upload_bytes": float64(5 << 30),
				"live_url": nil}, // no cameras: no Live page
		},
		{
			name: "live cameras",
			opts: Options{LivePath: "/api/live/"},
			want: map[string]any{"live_url": "api/live/"},
		},
		{
			name: "url base makes them absolute",
			opts: Options{URLBase: "https://review.example.com/clap", TusPath: "/api/upload/tus/", LivePath: "/api/live/"},
			want: map[string]any{"ws_url": "wss://review.example.com/clap/api/ws", "upload_url": "https://review.example.com/clap/api/upload",
				"tus_url": "https://review.example.com/clap/api/upload/tus/", "live_url": "https://review.example.com/clap/api/live/"},
		},
		{
			name: "admin conf wins",
			opts: Options{Conf: &ClientConf{WSURL: "wss://api.example.com/api/ws", AppTitle: "Dailies", LogoURL: "logo.png",
				UserMenuExtraItems: []MenuItem{{Label: "Home", Type: "url", Data: "/"}}}},
			want: map[string]any{"ws_url": "wss://api.example.com/api/ws", "upload_url": "api/upload", "app_title": "Dailies",
				"logo_url": "logo.png", "tus_url": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, newHandler(t, tt.opts), "GET", "/", nil, "")
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q: the page must be revalidated, its settings can change", cc)
			}
			s := injected(t, rec.Body.String())
			for k, v := range tt.want {
				if s[k] != v {
					t.Errorf("%s = %#v, want %#v", k, s[k], v)
				}
			}
			if strings.Count(rec.Body.String(), "clapshot-settings") != 1 {
				t.Error("the placeholder must be replaced, not repeated")
			}
		})
	}
}

// A title with markup is escaped in <title> and cannot end the JSON
// script element early.
func TestTitleCannotInjectMarkup(t *testing.T) {
	title := `</script><script>alert(1)</script>&<b>`
	rec := get(t, newHandler(t, Options{Conf: &ClientConf{AppTitle: title}}), "GET", "/", nil, "")
	body := rec.Body.String()
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "<b>") {
		t.Fatalf("markup leaked into the page:\n%s", body)
	}
	if !strings.Contains(body, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&lt;b&gt;</title>") {
		t.Errorf("title not escaped:\n%s", body)
	}
	if got := injected(t, body)["app_title"]; got != title {
		t.Errorf("app_title round trip: %q", got)
	}
}

func TestClientConfForClapshotsClient(t *testing.T) {
	trusted := func(r *http.Request) bool { return strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") }
	tests := []struct {
		name           string
		opts           Options
		hdr            map[string]string
		remote         string
		wantWS, wantUp string
	}{
		{"from the request's host", Options{}, nil, "127.0.0.1:5000", "ws://example.com/api/ws", "http://example.com/api/upload"},
		{"trusted proxy headers", Options{},
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "review.example.org", "X-Forwarded-Prefix": "/clapshot/"},
			"127.0.0.1:5000", "wss://review.example.org/clapshot/api/ws", "https://review.example.org/clapshot/api/upload"},
		{"untrusted proxy headers are ignored", Options{},
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.net"},
			"203.0.113.9:5000", "ws://example.com/api/ws", "http://example.com/api/upload"},
		{"a malformed forwarded host is ignored", Options{},
			map[string]string{"X-Forwarded-Host": "evil.example.net/path"},
			"127.0.0.1:5000", "ws://example.com/api/ws", "http://example.com/api/upload"},
		{"url base wins", Options{URLBase: "https://clap.example.com"},
			map[string]string{"X-Forwarded-Host": "other.example.com"},
			"127.0.0.1:5000", "wss://clap.example.com/api/ws", "https://clap.example.com/api/upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Trusted = trusted
			rec := get(t, newHandler(t, tt.opts), "GET", "http://example.com/clapshot_client.conf.json", tt.hdr, tt.remote)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var s map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			// Clapshot's client throws if any of these is missing.
			for _, k := range []string{"ws_url", "upload_url", "user_menu_extra_items", "user_menu_show_basic_auth_logout"} {
				if _, ok := s[k]; !ok {
					t.Errorf("required key %s missing", k)
				}
			}
			if _, ok := s["user_menu_extra_items"].([]any); !ok {
				t.Errorf("user_menu_extra_items must be an array, got %#v", s["user_menu_extra_items"])
			}
			if s["ws_url"] != tt.wantWS || s["upload_url"] != tt.wantUp {
				t.Errorf("ws_url %v upload_url %v, want %s %s", s["ws_url"], s["upload_url"], tt.wantWS, tt.wantUp)
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	h := newHandler(t, Options{Cache: true})

	rec := get(t, h, "GET", "/assets/app-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"}, "")
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("hashed asset Cache-Control %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != bigJS {
		t.Error("gzip body does not decode to the file")
	}

	rec = get(t, h, "GET", "/assets/app-abc123.js", nil, "")
	if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != bigJS {
		t.Error("a client without gzip must get the plain file")
	}
	etag := rec.Header().Get("ETag")
	if rec = get(t, h, "GET", "/assets/app-abc123.js", map[string]string{"If-None-Match": etag}, ""); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d", rec.Code)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/favicon.svg", 200},
		{"HEAD", "/favicon.svg", 200},
		{"GET", "/index.html", 200},
		{"GET", "/nope.js", 404},
		{"GET", "/assets/", 404},
		{"GET", "/api/not-a-route", 404},
		{"GET", "/videos/abc/x.mp4", 404},
		{"POST", "/", 405},
		{"PUT", "/clapshot_client.conf.json", 405},
	} {
		if rec := get(t, h, tc.method, tc.path, nil, ""); rec.Code != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}

func TestUnbuiltAndForeignClients(t *testing.T) {
	// The committed placeholder: no index.html.
	rec := get(t, newHandler(t, Options{Files: fstest.MapFS{".gitkeep": {}}}), "GET", "/", nil, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "npm run build") {
		t.Errorf("unbuilt UI: status %d body %q", rec.Code, rec.Body.String())
	}
	// Clapshot's own client has no placeholder: its page is served as is.
	page := `<!doctype html><html><head><title>Clapshot</title><script src="/assets/index.js"></script></head></html>`
	rec = get(t, newHandler(t, Options{Files: fstest.MapFS{"index.html": {Data: []byte(page)}}}), "GET", "/", nil, "")
	if rec.Body.String() != page {
		t.Errorf("foreign index changed:\n%s", rec.Body.String())
	}
}

func TestLoadClientConf(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, wantErr string
	}{
		{"Debian's default file", `{"ws_url":"ws://127.0.0.1:8095/api/ws","upload_url":"http://127.0.0.1:8095/api/upload",
			"user_menu_extra_items":[{"label":"My Videos","type":"url","data":"/"}],"user_menu_show_basic_auth_logout":false,
			"logo_url":"clapshot-logo.svg","app_title":"Clapshot"}`, ""},
		{"empty object", `{}`, ""},
		{"typo in a key", `{"app_tilte":"x"}`, `unknown field "app_tilte"`},
		{"wrong type", `{"user_menu_show_basic_auth_logout":"yes"}`, "cannot unmarshal"},
		{"bad ws scheme", `{"ws_url":"http://x/api/ws"}`, "must start with ws://"},
		{"bad menu type", `{"user_menu_extra_items":[{"label":"a","type":"link","data":"/"}]}`, `type "link"`},
		{"url item without data", `{"user_menu_extra_items":[{"label":"a","type":"url"}]}`, "needs label and data"},
		{"not JSON", `ws_url = x`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadClientConf(p)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), p):
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := LoadClientConf(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}
