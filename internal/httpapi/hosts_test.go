package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// A request for a host name the server is not known by (a DNS-rebound
// name) is refused with 403 on every path but the health checks, whatever
// its Origin says; IP addresses, localhost and the allowed names pass.
func TestHostPolicy(t *testing.T) {
	s := New(slog.New(slog.DiscardHandler))
	s.Hosts = NewHostPolicy([]string{"review.example.com", "*.intra.example"}, slog.New(slog.DiscardHandler))
	s.Origins = NewOriginPolicy(nil, "", nil)
	s.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Ok") })
	base, stop := serveLoopback(t, s)
	defer stop()
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"review.example.com", "/api/upload", 200},
		{"Review.Example.COM.:8443", "/api/ws", 200},
		{"cams.intra.example", "/api/ws", 200},
		{"127.0.0.1:8095", "/api/ws", 200},
		{"10.1.2.3", "/api/upload", 200},
		{"[::1]:8095", "/api/ws", 200},
		{"localhost:8095", "/api/ws", 200},
		{"dev.localhost", "/", 200},
		{"rebound.attacker.example:8095", "/api/ws", 403},
		{"rebound.attacker.example", "/api/upload", 403},
		{"rebound.attacker.example", "/", 403},
		{"intra.example", "/api/ws", 403}, // *.intra.example is subdomains only
		{"review.example.com.attacker.example", "/api/ws", 403},
		{"localhost.attacker.example", "/api/ws", 403},
		{"rebound.attacker.example", "/api/health", 200},
		{"rebound.attacker.example", "/api/ready", 200},
	} {
		req, _ := http.NewRequest("POST", base+tc.path, nil)
		req.Host = tc.host
		// Same-origin in the browser's eyes: the rebound page's own origin.
		req.Header.Set("Origin", "http://"+tc.host)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %s, %s: %d %q, want %d", tc.host, tc.path, resp.StatusCode, body, tc.want)
		}
		if tc.want == 403 && !strings.Contains(string(body), "--allowed-hosts") {
			t.Errorf("Host %s: refusal %q does not name --allowed-hosts", tc.host, body)
		}
	}
	if !NewHostPolicy([]string{"*"}, nil).Allowed("anything.example") {
		t.Error("--allowed-hosts '*' must allow any host")
	}
}
