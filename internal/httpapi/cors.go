package httpapi

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS as Clapshot's server does it (warp::cors): these methods and request
// headers, for the origins of --cors, or of --url-base when --cors is not
// given, or for any origin when the list holds "*". PATCH, DELETE and the
// tus headers are added for resumable uploads (/api/upload/tus/), whose
// responses must also expose their tus headers to the page.
const (
	corsMethods = "GET, POST, HEAD, OPTIONS, PATCH, DELETE"
	corsHeaders = "x-file-name, x-clapshot-cookies, x-clapshot-version-of, content-type, upgrade, sec-websocket-protocol, sec-websocket-version, " +
		"tus-resumable, upload-length, upload-offset, upload-metadata, upload-defer-length, upload-concat"
	corsExpose = "Location, Upload-Offset, Upload-Length, Upload-Metadata, Tus-Resumable, Tus-Version, Tus-Max-Size, Tus-Extension"
)

// OriginPolicy decides which browser origins may use the API.
type OriginPolicy struct {
	any     bool
	allowed map[string]bool // "scheme://host[:port]", lower case
	// TrustedProxy reports whether a request comes from a trusted reverse
	// proxy, whose X-Forwarded-Host and X-Forwarded-Proto then count for the
	// same-origin check.
	TrustedProxy func(*http.Request) bool
}

// NewOriginPolicy builds the policy from --cors and --url-base.
func NewOriginPolicy(cors []string, urlBase string, trustedProxy func(*http.Request) bool) *OriginPolicy {
	p := &OriginPolicy{allowed: map[string]bool{}, TrustedProxy: trustedProxy}
	list := cors
	if len(list) == 0 && urlBase != "" {
		list = []string{urlBase}
	}
	for _, o := range list {
		if o == "*" {
			p.any = true
			continue
		}
		if n := normalizeOrigin(o); n != "" {
			p.allowed[n] = true
		}
	}
	return p
}

// AllowsAny is true with --cors '*'.
func (p *OriginPolicy) AllowsAny() bool { return p.any }

// normalizeOrigin reduces a URL to its origin, "scheme://host[:port]", with
// the default port dropped; "" if it is not an http(s) URL.
func normalizeOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch scheme {
	case "http", "ws":
		scheme, host = "http", strings.TrimSuffix(host, ":80")
	case "https", "wss":
		scheme, host = "https", strings.TrimSuffix(host, ":443")
	default:
		return ""
	}
	return scheme + "://" + host
}

// SameOrigin reports whether the request's Origin header names the host the
// request was sent to (as the browser saw it, through a trusted proxy).
func (p *OriginPolicy) SameOrigin(r *http.Request) bool {
	o, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || o.Host == "" {
		return false
	}
	originHost := strings.ToLower(o.Host)
	hosts := []string{r.Host}
	if p.TrustedProxy != nil && p.TrustedProxy(r) {
		if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
			hosts = append(hosts, strings.TrimSpace(strings.Split(fh, ",")[0]))
		}
	}
	scheme := strings.ToLower(o.Scheme)
	for _, h := range hosts {
		h = strings.ToLower(h)
		if h == originHost {
			return true
		}
		// A default port may be spelled out on one side only.
		if scheme == "http" && (h == originHost+":80" || h+":80" == originHost) ||
			scheme == "https" && (h == originHost+":443" || h+":443" == originHost) {
			return true
		}
	}
	return false
}

// Allowed reports whether a request may act from its origin: requests
// without an Origin header (not from a browser page), same-origin requests,
// and listed origins are.
func (p *OriginPolicy) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.any || p.SameOrigin(r) {
		return true
	}
	return p.allowed[normalizeOrigin(origin)]
}

// cors wraps next with CORS headers and preflight answers. A request from a
// foreign origin that is not allowed gets 403 if it could change something
// (any method but GET and HEAD), so another site cannot upload or post in
// the user's name; GET and HEAD are served without CORS headers, so the
// browser does not let that site read the answer.
func (p *OriginPolicy) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || p.SameOrigin(r) {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !p.Allowed(r) {
			if preflight || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
				http.Error(w, "Origin "+origin+" is not allowed (see --cors and --url-base)", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExpose)
		next.ServeHTTP(w, r)
	})
}
