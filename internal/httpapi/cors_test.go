package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	loopback := func(r *http.Request) bool { return strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") }
	newServer := func(cors []string, urlBase string) *httptest.Server {
		s := New(slog.New(slog.DiscardHandler))
		s.Origins = NewOriginPolicy(cors, urlBase, loopback)
		s.HandleFunc("/api/upload", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Ok") })
		ts := httptest.NewServer(s.Handler())
		t.Cleanup(ts.Close)
		return ts
	}
	type req struct {
		method, origin string
		preflight      bool
		fwdHost        string
	}
	for _, tc := range []struct {
		name       string
		cors       []string
		urlBase    string
		req        req
		wantStatus int
		wantACAO   string
	}{
		{"no origin header", nil, "", req{method: "POST"}, 200, ""},
		{"same origin", nil, "", req{method: "POST", origin: "SELF"}, 200, ""},
		{"forwarded host from trusted proxy", nil, "", req{method: "POST", origin: "https://review.example.com", fwdHost: "review.example.com"}, 200, ""},
		{"url-base origin", nil, "https://review.example.com", req{method: "POST", origin: "https://review.example.com"}, 200, "https://review.example.com"},
		{"url-base origin with default port", nil, "https://review.example.com:443/clapshot", req{method: "POST", origin: "https://review.example.com"}, 200, "https://review.example.com"},
		{"--cors wins over url-base", []string{"http://localhost:5173"}, "https://review.example.com", req{method: "POST", origin: "https://review.example.com"}, 403, ""},
		{"--cors origin", []string{"http://localhost:5173"}, "", req{method: "POST", origin: "http://localhost:5173"}, 200, "http://localhost:5173"},
		{"--cors '*'", []string{"*"}, "", req{method: "POST", origin: "https://anything.example"}, 200, "https://anything.example"},
		{"cross-site POST refused", nil, "https://review.example.com", req{method: "POST", origin: "https://evil.example"}, 403, ""},
		{"cross-site GET served without CORS headers", nil, "", req{method: "GET", origin: "https://evil.example"}, 200, ""},
		{"preflight allowed", []string{"http://localhost:5173"}, "", req{method: "OPTIONS", origin: "http://localhost:5173", preflight: true}, 204, "http://localhost:5173"},
		{"preflight refused", nil, "", req{method: "OPTIONS", origin: "https://evil.example", preflight: true}, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(tc.cors, tc.urlBase)
			r, _ := http.NewRequest(tc.req.method, ts.URL+"/api/upload", nil)
			origin := tc.req.origin
			if origin == "SELF" {
				origin = ts.URL
			}
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
			if tc.req.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "x-clapshot-cookies")
			}
			if tc.req.fwdHost != "" {
				r.Header.Set("X-Forwarded-Host", tc.req.fwdHost)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantACAO {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantACAO)
			}
			if resp.StatusCode == 403 && !strings.Contains(string(body), "not allowed") {
				t.Errorf("403 body %q does not say why", body)
			}
			if tc.req.preflight && resp.StatusCode == 204 {
				if m := resp.Header.Get("Access-Control-Allow-Methods"); m != corsMethods {
					t.Errorf("methods %q", m)
				}
				if h := resp.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "x-clapshot-cookies") {
					t.Errorf("headers %q", h)
				}
			}
		})
	}
}
