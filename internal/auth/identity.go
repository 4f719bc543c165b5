// Package auth reads the user's identity from the headers a reverse proxy
// sets (X-Remote-User-Id, -Name, -Is-Admin), as Clapshot does, but only
// believes them when the request comes from a trusted proxy address.
package auth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Identity is who a request or websocket session acts as.
type Identity struct {
	UserID   string
	UserName string
	IsAdmin  bool
	// FromHeaders is true when the identity came from proxy headers rather
	// than the --default-user fallback.
	FromHeaders bool
}

// Resolver turns requests into identities.
type Resolver struct {
	DefaultUser    string
	TrustedProxies []netip.Prefix
	Log            *slog.Logger
}

// Header names in the order Clapshot tries them. Besides the canonical
// form, proxies and CGI-style gateways send underscore and HTTP_ variants.
var (
	userIDHeaders   = []string{"X-Remote-User-Id", "X_Remote_User_Id", "HTTP_X_REMOTE_USER_ID"}
	userNameHeaders = []string{"X-Remote-User-Name", "X_Remote_User_Name", "HTTP_X_REMOTE_USER_NAME"}
	isAdminHeaders  = []string{"X-Remote-User-Is-Admin", "X_Remote_User_Is_Admin", "HTTP_X_REMOTE_USER_IS_ADMIN"}
	cookieHeaders   = []string{"X-Clapshot-Cookies", "X_Clapshot_Cookies", "HTTP_X_CLAPSHOT_COOKIES"}
)

// Trusted reports whether the request's peer address is a trusted proxy.
func (r *Resolver) Trusted(req *http.Request) bool {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ErrUntrustedIdentity is returned by Authenticate for identity headers
// sent by a peer that is not a trusted proxy.
var ErrUntrustedIdentity = errors.New("identity headers (X-Remote-User-*) from an address that is not a trusted proxy (see --trusted-proxies)")

// GuestIDPrefix starts the user ids of guests of share links
// ("guest:<link>:<n>", see access.Guest). No proxy-authenticated user may
// have such an id: a proxy that sends one is refused (Authenticate) or
// ignored (Identify), so a guest's id never names a real user and a user
// can never pass for a guest.
const GuestIDPrefix = "guest:"

// ErrReservedUserID is returned by Authenticate for a proxy user id that
// starts with GuestIDPrefix.
var ErrReservedUserID = errors.New(`user ids starting with "` + GuestIDPrefix + `" are reserved for guests of share links; rename the user in the proxy`)

// reserved reports whether the request's (trusted) user id header claims
// a guest id.
func reserved(req *http.Request) (string, bool) {
	id, ok := firstHeader(req.Header, userIDHeaders)
	return id, ok && strings.HasPrefix(strings.TrimSpace(id), GuestIDPrefix)
}

// HasIdentityHeaders reports whether the request claims an identity.
func HasIdentityHeaders(req *http.Request) bool {
	for _, names := range [][]string{userIDHeaders, userNameHeaders, isAdminHeaders} {
		if _, ok := firstHeader(req.Header, names); ok {
			return true
		}
	}
	return false
}

// Authenticate is Identify for endpoints that refuse, rather than ignore,
// identity headers from untrusted peers: someone claiming to be a user from
// outside the proxy is an attack or a misconfiguration, and either way
// should see a clear refusal. The refusal is logged.
func (r *Resolver) Authenticate(req *http.Request) (Identity, error) {
	if HasIdentityHeaders(req) && !r.Trusted(req) {
		if r.Log != nil {
			id, _ := firstHeader(req.Header, userIDHeaders)
			r.Log.Warn("Refusing identity headers from an untrusted address (see --trusted-proxies)",
				"remote", req.RemoteAddr, "path", req.URL.Path, "claimed_user", id)
		}
		return Identity{}, ErrUntrustedIdentity
	}
	if id, bad := reserved(req); bad {
		if r.Log != nil {
			r.Log.Warn("Refusing a proxy user id reserved for guests", "remote", req.RemoteAddr, "path", req.URL.Path, "claimed_user", id)
		}
		return Identity{}, ErrReservedUserID
	}
	return r.Identify(req), nil
}

// Identify returns the request's identity. Headers from an untrusted peer
// are ignored (and logged), so the default user applies.
func (r *Resolver) Identify(req *http.Request) Identity {
	id, hasID := firstHeader(req.Header, userIDHeaders)
	name, hasName := firstHeader(req.Header, userNameHeaders)
	admin, hasAdmin := firstHeader(req.Header, isAdminHeaders)
	if (hasID || hasName || hasAdmin) && !r.Trusted(req) {
		if r.Log != nil {
			r.Log.Warn("Ignoring identity headers from an untrusted address (see --trusted-proxies)",
				"remote", req.RemoteAddr, "claimed_user", id)
		}
		hasID, hasName, hasAdmin = false, false, false
	}
	if _, bad := reserved(req); bad && hasID {
		if r.Log != nil {
			r.Log.Warn("Ignoring a proxy user id reserved for guests", "remote", req.RemoteAddr, "claimed_user", id)
		}
		hasID, hasName, hasAdmin = false, false, false
	}
	ident := Identity{FromHeaders: hasID}
	if hasID && strings.TrimSpace(id) != "" {
		ident.UserID = strings.TrimSpace(id)
	} else {
		ident.UserID = r.DefaultUser
		ident.FromHeaders = false
	}
	ident.UserName = ident.UserID
	if hasName && strings.TrimSpace(name) != "" {
		ident.UserName = strings.TrimSpace(name)
	}
	if hasAdmin {
		v := strings.TrimSpace(admin)
		ident.IsAdmin = strings.EqualFold(v, "true") || v == "1"
	} else {
		ident.IsAdmin = ident.UserID == "admin"
	}
	return ident
}

// Cookies parses the X-Clapshot-Cookies header (a JSON object of strings).
// Non-string values are replaced by a marker and malformed JSON gives an
// empty map, as in Clapshot. These are client state, not identity, so they
// are read from any peer.
func Cookies(h http.Header) map[string]string {
	raw, ok := firstHeader(h, cookieHeaders)
	out := map[string]string{}
	if !ok || strings.TrimSpace(raw) == "" {
		return out
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return out
	}
	for k, v := range obj {
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			out[k] = "<!ERROR: NON-STRING COOKIE VALUE!>"
		}
	}
	return out
}

// firstHeader finds the first of names present, comparing names without
// regard to case (Go canonicalises "X_Remote_User_Id" differently).
func firstHeader(h http.Header, names []string) (string, bool) {
	for _, n := range names {
		if v, ok := h[http.CanonicalHeaderKey(n)]; ok && len(v) > 0 {
			return v[0], true
		}
		for k, v := range h {
			if strings.EqualFold(k, n) && len(v) > 0 {
				return v[0], true
			}
		}
	}
	return "", false
}
