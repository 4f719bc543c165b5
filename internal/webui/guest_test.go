package webui

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A share link's page gets a guest's settings: its own API below the
// link, no uploads, none of the team's menu entries; and the build's files
// below the link's path.
func TestGuestApp(t *testing.T) {
	conf := &ClientConf{WSURL: "wss://team.example.com/api/ws", UserMenuExtraItems: []MenuItem{{Label: "Wiki", Type: "url", Data: "https://wiki"}},
		UserMenuShowBasicAuthLogout: true, AppTitle: "Review"}
	for _, tc := range []struct {
		name, urlBase, wantWS string
	}{
		{"relative", "", "api/ws"},
		{"url base", "https://review.example.com/clap", "wss://review.example.com/clap/s/TOKEN/api/ws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Options{Files: testFiles(), URLBase: tc.urlBase, Conf: conf, TusPath: "/api/upload/tus/", MaxUploadBytes: 5})
			if err != nil {
				t.Fatal(err)
			}
			serve := func(file string) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				h.ServeGuestApp(rec, httptest.NewRequest("GET", "/s/TOKEN/"+file, nil), "s/TOKEN/", file)
				return rec
			}
			rec := serve("")
			if rec.Code != 200 || rec.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("page: %d, Referrer-Policy %q", rec.Code, rec.Header().Get("Referrer-Policy"))
			}
			s := injected(t, rec.Body.String())
			items, _ := s["user_menu_extra_items"].([]any)
			if s["ws_url"] != tc.wantWS || s["guest"] != true || s["shares_url"] != nil || len(items) != 0 ||
				s["user_menu_show_basic_auth_logout"] != false || s["max_upload_bytes"] != 0.0 || s["app_title"] != "Review" {
				t.Errorf("guest settings %v", s)
			}
			if rec := serve("assets/app-abc123.js"); rec.Code != 200 || rec.Body.String() != bigJS {
				t.Errorf("asset: %d", rec.Code)
			}
			if rec := serve("missing.js"); rec.Code != http.StatusNotFound {
				t.Errorf("missing file: %d", rec.Code)
			}
			rec = httptest.NewRecorder()
			h.ServeGuestApp(rec, httptest.NewRequest("POST", "/s/TOKEN/", nil), "s/TOKEN/", "")
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST: %d", rec.Code)
			}
			// The team's page names the share API and is not a guest's.
			main := injected(t, get(t, newHandler(t, Options{URLBase: tc.urlBase}), "GET", "/", nil, "").Body.String())
			if main["guest"] != nil || main["shares_url"] == nil {
				t.Errorf("team settings %v", main)
			}
		})
	}
}
