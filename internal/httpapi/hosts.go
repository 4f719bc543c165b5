package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
)

// HostPolicy refuses requests whose Host header names a host the server
// is not known by (--allowed-hosts). This stops DNS rebinding: a page on
// attacker.example that makes its name resolve to this server (or to
// 127.0.0.1 on the victim's machine) is same-origin with the server in the
// browser's eyes, so the Origin check lets it in; only the Host header
// still says attacker.example. Browsers set Host from the URL, and a page
// cannot change it.
//
// IP addresses and localhost (with *.localhost) are always allowed: no DNS
// answer can point them elsewhere, so they cannot be rebound.
type HostPolicy struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	log      *slog.Logger

	mu      sync.Mutex
	refused map[string]bool // hosts already warned about
}

// maxRefusedLogged bounds how many refused host names are remembered (and
// warned about once each), so that a flood of made-up names cannot grow
// memory or the log.
const maxRefusedLogged = 64

// NewHostPolicy builds the policy from --allowed-hosts as validated by the
// config: lower-case names, "*.suffix" for subdomains, "*" for any host.
func NewHostPolicy(allowed []string, log *slog.Logger) *HostPolicy {
	p := &HostPolicy{names: map[string]bool{}, log: log, refused: map[string]bool{}}
	for _, h := range allowed {
		switch {
		case h == "*":
			p.any = true
		case strings.HasPrefix(h, "*."):
			p.suffixes = append(p.suffixes, h[1:])
		default:
			p.names[h] = true
		}
	}
	return p
}

// AllowsAny is true with --allowed-hosts '*' (no check).
func (p *HostPolicy) AllowsAny() bool { return p.any }

// Allowed reports whether a Host header value (with or without a port) is
// one the server answers for.
func (p *HostPolicy) Allowed(hostHeader string) bool {
	if p.any || hostHeader == "" {
		// No Host header at all is not a browser (browsers always send it).
		return true
	}
	name := HostName(hostHeader)
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || p.names[name] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// HostName reduces a Host header to the host name it names: lower case,
// without the port, the IPv6 brackets or a trailing dot ("Example.COM.:80"
// is "example.com"); "" if it is not a host at all.
func HostName(hostHeader string) string {
	u := url.URL{Host: hostHeader}
	name := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if name == "" || strings.ContainsAny(name, "/\\@ ") {
		return ""
	}
	return name
}

// guard wraps next with the Host check. The health checks stay open to any
// Host: monitors often use an address or a name of their own, and the
// answers say nothing about the data.
func (p *HostPolicy) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Allowed(r.Host) || isHealthPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		p.warnOnce(r)
		http.Error(w, "Forbidden: this server does not answer for host "+HostName(r.Host)+
			" (add it to --allowed-hosts, or set --url-base)", http.StatusForbidden)
	})
}

func isHealthPath(p string) bool {
	return p == "/api/health" || strings.HasPrefix(p, "/api/health/") || p == "/api/ready"
}

func (p *HostPolicy) warnOnce(r *http.Request) {
	if p.log == nil {
		return
	}
	name := HostName(r.Host)
	p.mu.Lock()
	first := !p.refused[name] && len(p.refused) < maxRefusedLogged
	if first {
		p.refused[name] = true
	}
	p.mu.Unlock()
	if first {
		p.log.Warn("Refusing requests for a host name this server is not known by (a DNS rebinding attempt, "+
			"or a name missing from --allowed-hosts); warned once per name",
			"host", name, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
}
