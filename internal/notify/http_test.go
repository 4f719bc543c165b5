package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/auth"
)

func TestSettingsAPI(t *testing.T) {
	db := openDB(t)
	mux := http.NewServeMux()
	resolver := &auth.Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	(&API{Store: db, Identity: resolver, EmailAvailable: true,
		OriginAllowed: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://review.example" }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, user, body string, hdr ...string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/notifications/settings", strings.NewReader(body))
		req.Header.Set("X-Remote-User-Id", user)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return res.StatusCode, m
	}
	code, got := do("GET", "erin", "")
	if code != 200 || got["on_comment"] != true || got["in_app"] != true || got["email_enabled"] != false || got["email_available"] != true {
		t.Fatalf("defaults: %d %v", code, got)
	}
	code, got = do("PUT", "erin", `{"on_comment":true,"on_reply":false,"on_mention":true,"in_app":true,
		"email":"Erin <erin@example.com>","email_enabled":true,"webhook_url":"https://hooks.example/x"}`)
	secret, _ := got["webhook_secret"].(string)
	if code != 200 || got["email"] != "erin@example.com" || got["on_reply"] != false || len(secret) != 64 {
		t.Fatalf("put: %d %v", code, got)
	}
	// The same URL keeps its secret; a new URL or a request gets a new one.
	_, got = do("PUT", "erin", `{"on_comment":true,"in_app":true,"webhook_url":"https://hooks.example/x"}`)
	if got["webhook_secret"] != secret {
		t.Error("the secret changed without a reason")
	}
	_, got = do("PUT", "erin", `{"in_app":true,"webhook_url":"https://hooks.example/y"}`)
	if got["webhook_secret"] == secret {
		t.Error("a new webhook URL kept the old secret")
	}
	// Another user sees their own (default) settings, not erin's.
	if _, got = do("GET", "frank", ""); got["webhook_url"] != "" {
		t.Errorf("frank sees %v", got)
	}
	for _, bad := range []struct {
		body string
		hdr  []string
		code int
		want string
	}{
		{`{"email":"not an address","email_enabled":true}`, nil, 400, "not valid"},
		{`{"email":"a@b.example\r\nBcc: x@y"}`, nil, 400, "not valid"},
		{`{"email_enabled":true}`, nil, 400, "need an e-mail address"},
		{`{"webhook_url":"file:///etc/passwd"}`, nil, 400, "http:// or https://"},
		{`{"surprise":1}`, nil, 400, "unknown field"},
		{`{"on_comment":`, nil, 400, "invalid settings"},
		{`{}`, []string{"Content-Type", "text/plain"}, 415, "application/json"},
		{`{}`, []string{"Origin", "https://evil.example"}, 403, "other sites"},
	} {
		code, got := do("PUT", "erin", bad.body, bad.hdr...)
		if code != bad.code || !strings.Contains(got["error"].(string), bad.want) {
			t.Errorf("PUT %s: %d %v, want %d with %q", bad.body, code, got, bad.code, bad.want)
		}
	}
}
