package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// MenuItem is an entry of the user menu (Clapshot's user_menu_extra_items).
type MenuItem struct {
	Label string `json:"label"`
	Type  string `json:"type"` // "url" or "divider"
	Data  string `json:"data,omitempty"`
}

// ClientConf is an admin's clapshot_client.conf.json (on Debian,
// /etc/clapshot_client.conf), given with --client-conf. Every key is
// optional here; ws_url and upload_url override the URLs the server would
// otherwise derive, so leave them out unless the API lives elsewhere.
type ClientConf struct {
	WSURL                       string     `json:"ws_url,omitempty"`
	UploadURL                   string     `json:"upload_url,omitempty"`
	UserMenuExtraItems          []MenuItem `json:"user_menu_extra_items,omitempty"`
	UserMenuShowBasicAuthLogout bool       `json:"user_menu_show_basic_auth_logout,omitempty"`
	LogoURL                     string     `json:"logo_url,omitempty"`
	AppTitle                    string     `json:"app_title,omitempty"`
	LogoutURL                   string     `json:"logout_url,omitempty"`
}

// LoadClientConf reads and checks a client settings file. Unknown keys are
// errors, so a typo is not silently ignored.
func LoadClientConf(path string) (*ClientConf, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client settings: %w", err)
	}
	var c ClientConf
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("client settings %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("client settings %s: %w", path, err)
	}
	return &c, nil
}

func (c *ClientConf) validate() error {
	for _, u := range []struct{ key, val string }{{"ws_url", c.WSURL}, {"upload_url", c.UploadURL}} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil {
			return fmt.Errorf("%s %q: %v", u.key, u.val, err)
		}
		if u.key == "ws_url" && p.Scheme != "ws" && p.Scheme != "wss" {
			return fmt.Errorf("ws_url %q: must start with ws:// or wss://", u.val)
		}
	}
	for i, it := range c.UserMenuExtraItems {
		switch it.Type {
		case "url":
			if it.Label == "" || it.Data == "" {
				return fmt.Errorf("user_menu_extra_items[%d]: a url item needs label and data", i)
			}
		case "divider":
		default:
			return fmt.Errorf("user_menu_extra_items[%d]: type %q is neither \"url\" nor \"divider\"", i, it.Type)
		}
	}
	return nil
}

// settings is what both the page and /clapshot_client.conf.json carry.
// The first four keys are the ones Clapshot's client requires.
type settings struct {
	WSURL                       string     `json:"ws_url"`
	UploadURL                   string     `json:"upload_url"`
	UserMenuExtraItems          []MenuItem `json:"user_menu_extra_items"`
	UserMenuShowBasicAuthLogout bool       `json:"user_menu_show_basic_auth_logout"`
	LogoURL                     string     `json:"logo_url,omitempty"`
	AppTitle                    string     `json:"app_title"`
	LogoutURL                   string     `json:"logout_url,omitempty"`
	// Ours; Clapshot's client ignores them.
	TusURL         string `json:"tus_url"`
	MaxUploadBytes int64  `json:"max_upload_bytes"`
	ServerVersion  string `json:"server_version"`
	// SharesURL is the owners' share link API ("" for a guest).
	SharesURL string `json:"shares_url,omitempty"`
	// Guest is set on the page of a share link (/s/<token>/): the app
	// starts with the guest's landing (name, passphrase) and is limited
	// to what the link grants.
	Guest bool `json:"guest,omitempty"`
	// LiveURL is the live-camera API, present only with --live-config.
	LiveURL string `json:"live_url,omitempty"`
}

func (h *Handler) baseSettings() settings {
	s := settings{
		UserMenuExtraItems: []MenuItem{},
		AppTitle:           h.title(),
		MaxUploadBytes:     h.opts.MaxUploadBytes,
		ServerVersion:      h.opts.Version,
	}
	if c := h.opts.Conf; c != nil {
		if c.UserMenuExtraItems != nil {
			s.UserMenuExtraItems = c.UserMenuExtraItems
		}
		s.UserMenuShowBasicAuthLogout = c.UserMenuShowBasicAuthLogout
		s.LogoURL = c.LogoURL
		s.LogoutURL = c.LogoutURL
	}
	return s
}

// pageSettings are injected into our own index.html. Unless --url-base or
// the admin's conf says otherwise, URLs are relative to the page, so they
// stay right behind any proxy, host name or path prefix without the proxy
// having to tell us about them.
func (h *Handler) pageSettings() settings {
	s := h.baseSettings()
	base := ""
	if h.opts.URLBase != "" {
		base = h.opts.URLBase + "/"
	}
	s.WSURL = wsScheme(base) + "api/ws"
	s.UploadURL = base + "api/upload"
	if h.opts.TusPath != "" {
		s.TusURL = base + strings.TrimPrefix(h.opts.TusPath, "/")
	}
	s.SharesURL = base + "api/shares"
	if h.opts.LivePath != "" {
		s.LiveURL = base + strings.TrimPrefix(h.opts.LivePath, "/")
	}
	h.applyConfURLs(&s)
	return s
}

// guestSettings are the page settings of a guest of the share link at
// prefix ("s/<token>/"): its own API, no uploads, and none of the admin's
// menu entries (they are for the team). The admin's ws_url is not used:
// it names the team's API, which a guest cannot reach.
func (h *Handler) guestSettings(prefix string) settings {
	s := h.baseSettings()
	base := "" // the page is at the prefix: relative URLs are below it
	if h.opts.URLBase != "" {
		base = h.opts.URLBase + "/" + prefix
	}
	s.WSURL = wsScheme(base) + "api/ws"
	s.UserMenuExtraItems = []MenuItem{}
	s.UserMenuShowBasicAuthLogout = false
	s.LogoutURL = ""
	s.MaxUploadBytes = 0
	s.Guest = true
	return s
}

// confSettings answer /clapshot_client.conf.json with absolute URLs:
// Clapshot's client hands ws_url straight to new WebSocket().
func (h *Handler) confSettings(r *http.Request) settings {
	s := h.baseSettings()
	base := h.externalBase(r)
	s.WSURL = wsScheme(base) + "/api/ws"
	s.UploadURL = base + "/api/upload"
	if h.opts.TusPath != "" {
		s.TusURL = base + "/" + strings.TrimPrefix(h.opts.TusPath, "/")
	}
	if h.opts.LivePath != "" {
		s.LiveURL = base + "/" + strings.TrimPrefix(h.opts.LivePath, "/")
	}
	h.applyConfURLs(&s)
	return s
}

func (h *Handler) applyConfURLs(s *settings) {
	if c := h.opts.Conf; c != nil {
		if c.WSURL != "" {
			s.WSURL = c.WSURL
		}
		if c.UploadURL != "" {
			s.UploadURL = c.UploadURL
		}
	}
}

func wsScheme(u string) string {
	switch {
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u
}

// externalBase is the public URL of the server's root as this request saw
// it: --url-base if set, else the request's scheme and host, corrected by
// X-Forwarded-Proto/-Host/-Prefix when a trusted proxy sent them.
func (h *Handler) externalBase(r *http.Request) string {
	if h.opts.URLBase != "" {
		return h.opts.URLBase
	}
	scheme, host, prefix := "http", r.Host, ""
	if r.TLS != nil {
		scheme = "https"
	}
	if h.opts.Trusted(r) {
		if v := firstValue(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			scheme = v
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			host = v
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Prefix")); strings.HasPrefix(v, "/") && !strings.ContainsAny(v, "?#\\ ") {
			prefix = strings.TrimRight(v, "/")
		}
	}
	return scheme + "://" + host + prefix
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

func validHost(h string) bool {
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.User == nil && u.Path == ""
}

func (h *Handler) serveClientConf(w http.ResponseWriter, r *http.Request) {
	if !allowRead(w, r) {
		return
	}
	b, err := json.MarshalIndent(h.confSettings(r), "", "  ")
	if err != nil {
		http.Error(w, "settings: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(append(b, '\n'))
}
