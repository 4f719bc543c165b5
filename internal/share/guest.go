package share

// Everything under /s/<token>/, which the proxy lets through without
// authentication (docs/deployment.md):
//
//	/s/<token>/               the web app, as a guest's page
//	/s/<token>/assets/...     its files
//	/s/<token>/api/guest      GET: what the link is and whether the browser is its guest yet;
//	                          POST {"name", "passphrase"}: become its guest (a cookie)
//	/s/<token>/api/health     the client's health check: 200 while the link works
//	/s/<token>/api/ws         the guest's websocket session
//	/s/<token>/videos/...     the media files the link grants
//
// No identity header is ever read here: whoever comes in through /s/ is a
// guest of that link or nobody.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/httpapi"
	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/store"
)

// GuestPath is the prefix of the guests' routes.
const GuestPath = "/s/"

// cookiePrefix names a guest's cookie: one per link, so that a browser
// can be the guest of several links at once.
const cookiePrefix = "clapshot_share_"

// cookieLifetime is how long a guest's cookie lasts at most (a link that
// expires sooner ends it sooner).
const cookieLifetime = 30 * 24 * time.Hour

// linkStatus is the HTTP status for a link that cannot be used.
func linkStatus(err error) int {
	switch {
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknown):
		return http.StatusNotFound
	case errors.Is(err, ErrRevoked), errors.Is(err, ErrExpired):
		return http.StatusGone
	}
	return http.StatusInternalServerError
}

// linkError answers for a link that cannot be used: the reason as text, or
// as {"error": ...} for the API.
func (s *Service) linkError(w http.ResponseWriter, err error, asJSON bool) {
	code := linkStatus(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		s.log.Error("Share link lookup failed", "err", err)
		msg = "Server error: cannot check the share link. Try again later."
	}
	if asJSON {
		apiError(w, code, msg)
		return
	}
	http.Error(w, msg, code)
}

func (s *Service) serveGuest(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, GuestPath)
	raw, sub, slash := strings.Cut(rest, "/")
	h := w.Header()
	// The token is in the URL: never send it on to another site, and
	// keep the page out of search engines.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	if !slash {
		// The page's URLs are relative to /s/<token>/.
		if _, err := parseToken(raw); err != nil {
			s.linkError(w, err, false)
			return
		}
		target := raw + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		// Relative, so that a prefix the proxy adds stays (http.Redirect
		// would make it absolute from the path the server sees).
		h.Set("Location", target)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	switch {
	case sub == "api/guest":
		s.guestAPI(w, r, raw)
	case sub == "api/health":
		s.guestHealth(w, r, raw)
	case sub == "api/ws" || strings.HasPrefix(sub, "api/ws/"):
		s.guestSocket(w, r, raw)
	case strings.HasPrefix(sub, "videos/"):
		s.guestMedia(w, r, raw, strings.TrimPrefix(sub, "videos/"))
	case strings.HasPrefix(sub, "api/"):
		apiError(w, http.StatusNotFound, "no such guest API: /s/<token>/"+sub)
	default:
		if _, err := parseToken(raw); err != nil {
			s.linkError(w, err, false)
			return
		}
		s.opt.App.ServeGuestApp(w, r, "s/"+raw+"/", sub)
	}
}

// guestInfo is what GET and POST /s/<token>/api/guest answer.
type guestInfo struct {
	NeedsPassphrase bool       `json:"needs_passphrase"`
	Permission      string     `json:"permission"`
	Kind            string     `json:"kind"` // "media" or "folder"
	Expires         *time.Time `json:"expires,omitempty"`
	// Guest is set once this browser is the link's guest; only then are
	// the shared media file's or folder's id and title given.
	Guest *guestSelf `json:"guest"`
}

type guestSelf struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	MediaFileID string `json:"media_file_id,omitempty"`
	FolderID    string `json:"folder_id,omitempty"`
	Title       string `json:"title,omitempty"`
}

func (s *Service) info(ctx context.Context, l store.ShareLink, g *store.ShareGuest) guestInfo {
	out := guestInfo{NeedsPassphrase: l.PassphraseHash != nil, Permission: l.Permission, Kind: "media", Expires: l.Expires}
	if l.FolderID != nil {
		out.Kind = "folder"
	}
	if g != nil {
		self := &guestSelf{Name: g.Name, DisplayName: g.Name + " (guest)", MediaFileID: deref(l.MediaFileID), FolderID: deref(l.FolderID),
			Title: deref(l.FolderTitle)}
		if l.MediaFileID != nil {
			if m, err := s.opt.DB.GetMediaFile(ctx, *l.MediaFileID); err == nil {
				self.Title = deref(m.Title)
			}
		}
		out.Guest = self
	}
	return out
}

func (s *Service) guestAPI(w http.ResponseWriter, r *http.Request, raw string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		apiError(w, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	l, tok, err := s.open(r.Context(), raw)
	if err != nil {
		s.linkError(w, err, true)
		return
	}
	if r.Method == http.MethodGet {
		var self *store.ShareGuest
		if g, err := s.guestFromCookie(r, l); err == nil {
			self = &g
		}
		writeJSON(w, http.StatusOK, s.info(r.Context(), l, self))
		return
	}
	s.join(w, r, l, tok)
}

// joinRequest is the body of POST /s/<token>/api/guest.
type joinRequest struct {
	Name       string `json:"name"`
	Passphrase string `json:"passphrase"`
}

// join makes the browser a guest of the link: the name, and the
// passphrase if it has one (rate-limited per client and per link).
func (s *Service) join(w http.ResponseWriter, r *http.Request, l store.ShareLink, tok Token) {
	var req joinRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, err := guestName(req.Name)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	ip := s.clientIP(r)
	now := s.opt.Now()
	tooMany := func(wait time.Duration, what string) {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		apiError(w, http.StatusTooManyRequests, fmt.Sprintf("%s Try again in %d seconds.", what, secs))
	}
	if wait := s.joins.wait(ip, now); wait > 0 {
		tooMany(wait, "Too many guests from this address.")
		return
	}
	if l.PassphraseHash != nil {
		if wait := max(s.byClient.wait(ip, now), s.byLink.wait(l.ID, now)); wait > 0 {
			tooMany(wait, "Too many wrong passphrases.")
			return
		}
		if req.Passphrase == "" {
			apiError(w, http.StatusUnauthorized, "This link needs a passphrase: ask whoever sent it to you.")
			return
		}
		ok := false
		if len(req.Passphrase) <= MaxPassphraseBytes {
			ok, err = passphraseMatches(r.Context(), req.Passphrase, *l.PassphraseHash)
			if err != nil {
				s.serverError(w, "check the passphrase", err)
				return
			}
		}
		if !ok {
			s.byClient.count(ip, now)
			s.byLink.count(l.ID, now)
			s.log.Warn("Wrong passphrase for a share link", "link", l.ID, "client", ip)
			apiError(w, http.StatusUnauthorized, "Wrong passphrase.")
			return
		}
	}
	secret, err := newToken()
	if err != nil {
		s.serverError(w, "make a guest secret", err)
		return
	}
	g, err := s.opt.DB.InsertShareGuest(r.Context(), store.ShareGuest{LinkID: l.ID, Name: name, SecretSHA256: hashSecret(secret.Secret)})
	if err != nil {
		s.serverError(w, "store the guest", err)
		return
	}
	s.joins.count(ip, now)
	s.log.Info("Guest joined a share link", "link", l.ID, "guest", g.ID, "name", name, "client", ip)
	age := cookieLifetime
	if l.Expires != nil {
		age = min(age, l.Expires.Sub(s.opt.Now()))
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookiePrefix + tok.ID, Value: strconv.FormatInt(g.ID, 10) + "." + secret.Secret,
		// Path "/": the server cannot know a prefix the proxy adds; the
		// name carries the link.
		Path: "/", MaxAge: max(1, int(age/time.Second)), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r),
	})
	writeJSON(w, http.StatusOK, s.info(r.Context(), l, &g))
}

// errNoGuest is a request through a link from a browser that has not
// joined it (or whose cookie is not one of its guests').
var errNoGuest = errors.New("Enter your name on the share link's page first (this browser is not its guest yet).")

// guestFromCookie finds the request's guest of link l.
func (s *Service) guestFromCookie(r *http.Request, l store.ShareLink) (store.ShareGuest, error) {
	c, err := r.Cookie(cookiePrefix + l.ID)
	if err != nil {
		return store.ShareGuest{}, errNoGuest
	}
	idStr, secret, ok := strings.Cut(c.Value, ".")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok || err != nil {
		return store.ShareGuest{}, errNoGuest
	}
	g, err := s.opt.DB.GetShareGuest(r.Context(), id)
	if err != nil || g.LinkID != l.ID || !secretMatches(secret, g.SecretSHA256) {
		return store.ShareGuest{}, errNoGuest
	}
	return g, nil
}

// guest checks the link and the request's guest of it, answering with
// the reason when either fails.
func (s *Service) guest(w http.ResponseWriter, r *http.Request, raw string, asJSON bool) (*access.Guest, Token, bool) {
	l, tok, err := s.open(r.Context(), raw)
	if err != nil {
		s.linkError(w, err, asJSON)
		return nil, tok, false
	}
	row, err := s.guestFromCookie(r, l)
	if err != nil {
		if asJSON {
			apiError(w, http.StatusUnauthorized, err.Error())
		} else {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
		return nil, tok, false
	}
	g, err := guestOf(l, row)
	if err != nil {
		s.linkError(w, err, asJSON)
		return nil, tok, false
	}
	return g, tok, true
}

func (s *Service) guestHealth(w http.ResponseWriter, r *http.Request, raw string) {
	w.Header().Set("Cache-Control", "no-store")
	if _, _, err := s.open(r.Context(), raw); err != nil {
		s.linkError(w, err, false)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(httpapi.HealthBody))
}

func (s *Service) guestSocket(w http.ResponseWriter, r *http.Request, raw string) {
	g, tok, ok := s.guest(w, r, raw, false)
	if !ok {
		return
	}
	s.opt.Sessions.ServeGuest(w, r, g, review.GuestOptions{URLs: s.guestURLs(tok), Live: s.live(g.LinkID, g.GuestID)})
}

// guestMedia serves a file below videos/<id>/ if the link grants it: the
// media file is the link's (or, for a folder link, the organizer says it
// may be viewed), and an original needs the download permission unless it
// is what plays. Anything else is a 404, as for a file that is not there.
func (s *Service) guestMedia(w http.ResponseWriter, r *http.Request, raw, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	g, _, ok := s.guest(w, r, raw, false)
	if !ok {
		return
	}
	id, file, _ := strings.Cut(rest, "/")
	v, err := s.mayServe(r.Context(), g, id)
	if err != nil {
		s.log.Error("Guest media check failed", "link", g.LinkID, "media_file", id, "err", err)
		http.Error(w, "Server error: cannot check the share link's media. Try again later.", http.StatusInternalServerError)
		return
	}
	if !v.view || (strings.HasPrefix(file, "orig/") && !v.orig) {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/videos/" + rest
	r2.URL.RawPath = ""
	s.opt.Media.ServeHTTP(w, r2)
}

// verdict is what a guest may fetch of one media file.
type verdict struct {
	view, orig bool
	until      time.Time
}

// verdictTTL is how long a guest's media verdict is reused: a player
// makes many Range requests, and a folder link's verdict is an organizer
// call. (Revocation and expiry are checked on every request anyway.)
const verdictTTL = 30 * time.Second

// mayServe decides (or recalls) what guest g may fetch of media file id.
func (s *Service) mayServe(ctx context.Context, g *access.Guest, id string) (verdict, error) {
	key := fmt.Sprintf("%s/%d/%s", g.LinkID, g.GuestID, id)
	now := s.opt.Now()
	if v, ok := s.seen.get(key, now); ok {
		return v, nil
	}
	var v verdict
	if g.MediaFileID == "" || g.MediaFileID == id {
		m, err := s.opt.DB.GetMediaFile(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return v, err
		default:
			who := access.GuestIdentity(g, "<media>", nil)
			if s.opt.Access.MayViewMedia(ctx, who, m, s.guestURLs(Token{})) == nil {
				v.view = true
				// What plays before a transcode is the original itself.
				v.orig = g.Perm >= access.PermDownload || m.RecompressionDone == nil
			}
		}
	}
	v.until = now.Add(verdictTTL)
	s.seen.put(key, v, now)
	return v, nil
}

// verdictCache holds recent media verdicts, bounded.
type verdictCache struct {
	mu sync.Mutex
	m  map[string]verdict
}

func (c *verdictCache) get(key string, now time.Time) (verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok || !now.Before(v.until) {
		return verdict{}, false
	}
	return v, true
}

func (c *verdictCache) put(key string, v verdict, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 4096 {
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= 4096 {
			clear(c.m)
		}
	}
	c.m[key] = v
}

// clientIP is the address a wrong passphrase is counted against: the
// peer, or for a trusted proxy the client it names (X-Real-IP, or the
// last address of X-Forwarded-For, the one the proxy added).
func (s *Service) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.opt.Identity.Trusted(r) {
		return host
	}
	if v := strings.TrimSpace(r.Header.Get("X-Real-IP")); v != "" {
		return v
	}
	if v := r.Header.Get("X-Forwarded-For"); v != "" {
		parts := strings.Split(v, ",")
		if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
			return last
		}
	}
	return host
}

// secure says whether the browser reached us over https (cookies are then
// sent only over https).
func (s *Service) secure(r *http.Request) bool {
	if r.TLS != nil || strings.HasPrefix(s.opt.URLBase, "https://") {
		return true
	}
	return s.opt.Identity.Trusted(r) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
