package auth

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestIdentify(t *testing.T) {
	r := &Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16")}}
	cases := []struct {
		name    string
		remote  string
		headers map[string]string
		want    Identity
	}{
		{"no headers", "127.0.0.1:5000", nil, Identity{UserID: "anonymous", UserName: "anonymous"}},
		{"id and name", "127.0.0.1:5000", map[string]string{"X-Remote-User-Id": "alice", "X-Remote-User-Name": "Alice A."},
			Identity{UserID: "alice", UserName: "Alice A.", FromHeaders: true}},
		{"id only: name is id", "[::1]:5000", map[string]string{"X-Remote-User-Id": "bob"},
			Identity{UserID: "bob", UserName: "bob", FromHeaders: true}},
		{"underscore variant", "10.1.2.3:1", map[string]string{"X_Remote_User_Id": "carol", "X_REMOTE_USER_NAME": "Carol"},
			Identity{UserID: "carol", UserName: "Carol", FromHeaders: true}},
		{"CGI variant", "127.0.0.1:1", map[string]string{"HTTP_X_REMOTE_USER_ID": "dave", "HTTP_X_REMOTE_USER_IS_ADMIN": "1"},
			Identity{UserID: "dave", UserName: "dave", IsAdmin: true, FromHeaders: true}},
		{"admin true", "127.0.0.1:1", map[string]string{"X-Remote-User-Id": "eve", "X-Remote-User-Is-Admin": "True"},
			Identity{UserID: "eve", UserName: "eve", IsAdmin: true, FromHeaders: true}},
		{"admin header false beats id admin", "127.0.0.1:1", map[string]string{"X-Remote-User-Id": "admin", "X-Remote-User-Is-Admin": "false"},
			Identity{UserID: "admin", UserName: "admin", FromHeaders: true}},
		{"id admin without header", "127.0.0.1:1", map[string]string{"X-Remote-User-Id": "admin"},
			Identity{UserID: "admin", UserName: "admin", IsAdmin: true, FromHeaders: true}},
		{"untrusted peer is ignored", "192.0.2.7:1", map[string]string{"X-Remote-User-Id": "admin", "X-Remote-User-Is-Admin": "true"},
			Identity{UserID: "anonymous", UserName: "anonymous"}},
		{"guest id from the proxy is ignored", "127.0.0.1:1", map[string]string{"X-Remote-User-Id": "guest:abc:1", "X-Remote-User-Is-Admin": "true"},
			Identity{UserID: "anonymous", UserName: "anonymous"}},
		{"IPv4-mapped IPv6 peer", "[::ffff:127.0.0.1]:1", map[string]string{"X-Remote-User-Id": "frank"},
			Identity{UserID: "frank", UserName: "frank", FromHeaders: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/ws", nil)
			req.RemoteAddr = tc.remote
			for k, v := range tc.headers {
				req.Header[k] = []string{v} // raw, as a proxy may send it
			}
			if got := r.Identify(req); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	cases := []struct {
		header string
		want   map[string]string
	}{
		{"", map[string]string{}},
		{`{"a":"1","folder":"x"}`, map[string]string{"a": "1", "folder": "x"}},
		{`{"n":5}`, map[string]string{"n": "<!ERROR: NON-STRING COOKIE VALUE!>"}},
		{`not json`, map[string]string{}},
		{`["array"]`, map[string]string{}},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set("X-Clapshot-Cookies", tc.header)
		}
		got := Cookies(h)
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v", tc.header, got)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q", tc.header, k, got[k])
			}
		}
	}
}

func TestAuthenticateRefusesUntrustedClaims(t *testing.T) {
	r := &Resolver{DefaultUser: "anonymous", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	for _, tc := range []struct {
		remote  string
		headers map[string]string
		wantErr bool
		wantID  string
	}{
		{"192.0.2.7:1", nil, false, "anonymous"},
		{"192.0.2.7:1", map[string]string{"X-Remote-User-Id": "admin"}, true, ""},
		{"192.0.2.7:1", map[string]string{"x_remote_user_is_admin": "1"}, true, ""},
		{"127.0.0.1:1", map[string]string{"X-Remote-User-Id": "alice"}, false, "alice"},
		{"127.0.0.1:1", map[string]string{"X-Remote-User-Id": " guest:abcdefghijkl:3"}, true, ""},
	} {
		req := httptest.NewRequest("GET", "/api/ws", nil)
		req.RemoteAddr = tc.remote
		for k, v := range tc.headers {
			req.Header[k] = []string{v}
		}
		id, err := r.Authenticate(req)
		if (err != nil) != tc.wantErr || id.UserID != tc.wantID {
			t.Errorf("%s %v: %+v, %v", tc.remote, tc.headers, id, err)
		}
	}
}
