package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Store is the database as share links use it (store.Bind[share.Store]).
type Store interface {
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	InsertShareLink(ctx context.Context, l store.ShareLink) (store.ShareLink, error)
	GetShareLink(ctx context.Context, id string) (store.ShareLink, error)
	ListShareLinks(ctx context.Context, f store.ShareLinkFilter) ([]store.ShareLink, error)
	RevokeShareLink(ctx context.Context, id string, at time.Time) (bool, error)
	InsertShareGuest(ctx context.Context, g store.ShareGuest) (store.ShareGuest, error)
	GetShareGuest(ctx context.Context, id int64) (store.ShareGuest, error)
	CountShareGuests(ctx context.Context, linkIDs []string) (map[string]int, error)
}

// Sessions are the guests' websocket sessions (review.Hub).
type Sessions interface {
	ServeGuest(w http.ResponseWriter, r *http.Request, g *access.Guest, opt review.GuestOptions)
	// CloseLink ends the sessions of a link's guests, with the reason.
	CloseLink(linkID, reason string) int
}

// App serves the web app for a guest (webui.Handler): the page, with the
// settings of a guest of prefix ("s/<token>/"), or one of its files.
type App interface {
	ServeGuestApp(w http.ResponseWriter, r *http.Request, prefix, file string)
}

// Options configures a Service. DB, Access, Sessions, Identity, Media and
// App are required.
type Options struct {
	DB Store
	// Access answers the owners' questions (may alice share this file?)
	// and the guests' (is this file in the shared folder?), as the
	// websocket sessions do, organizer included.
	Access   *access.Checker
	Sessions Sessions
	// Identity reads the owners' identity from the proxy's headers, and
	// says which peers are trusted proxies (whose X-Real-IP and
	// X-Forwarded-* headers are believed). Guests' requests never get an
	// identity from it.
	Identity *auth.Resolver
	// Media serves /videos/... (httpapi.MediaFiles); guests' media
	// requests are passed to it once allowed.
	Media http.Handler
	App   App
	// URLBase is --url-base ("" = URLs relative to the page).
	URLBase string
	// ClientLimit and LinkLimit limit wrong passphrases, JoinLimit the
	// guests a client becomes (zero values: the defaults).
	ClientLimit, LinkLimit, JoinLimit Limit
	Log                               *slog.Logger
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

// Service creates, lists and revokes links, and serves their guests.
type Service struct {
	opt      Options
	log      *slog.Logger
	byClient *limiter
	byLink   *limiter
	joins    *limiter
	seen     *verdictCache // guests' media verdicts, see mayServe
}

// New creates the service.
func New(opt Options) *Service {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ClientLimit == (Limit{}) {
		opt.ClientLimit = DefaultClientLimit
	}
	if opt.LinkLimit == (Limit{}) {
		opt.LinkLimit = DefaultLinkLimit
	}
	if opt.JoinLimit == (Limit{}) {
		opt.JoinLimit = DefaultJoinLimit
	}
	return &Service{opt: opt, log: opt.Log, byClient: newLimiter(opt.ClientLimit), byLink: newLimiter(opt.LinkLimit),
		joins: newLimiter(opt.JoinLimit), seen: &verdictCache{m: map[string]verdict{}}}
}

// Errors about links, as guests see them. An unknown link and a known one
// with the wrong secret get the same answer, so that the answer says
// nothing about which links exist.
var (
	ErrUnknown = errors.New("This share link does not exist. Check that the whole link was copied, or ask for a new one.")
	ErrRevoked = review.ErrLinkRevoked
	ErrExpired = review.ErrLinkExpired
)

// open checks a link's secret and whether it still works.
func (s *Service) open(ctx context.Context, raw string) (store.ShareLink, Token, error) {
	tok, err := parseToken(raw)
	if err != nil {
		return store.ShareLink{}, tok, err
	}
	l, err := s.opt.DB.GetShareLink(ctx, tok.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Compare anyway, so that an unknown id takes as long as a wrong
		// secret.
		secretMatches(tok.Secret, strings.Repeat("0", 64))
		return l, tok, ErrUnknown
	case err != nil:
		return l, tok, err
	case !secretMatches(tok.Secret, l.SecretSHA256):
		return l, tok, ErrUnknown
	}
	return l, tok, s.usable(l)
}

// usable says whether a link (whose secret was right) still works.
func (s *Service) usable(l store.ShareLink) error {
	switch {
	case l.Revoked != nil:
		return ErrRevoked
	case l.Expires != nil && !s.opt.Now().Before(*l.Expires):
		return ErrExpired
	}
	return nil
}

// guestOf is the access identity of a guest of link l.
func guestOf(l store.ShareLink, g store.ShareGuest) (*access.Guest, error) {
	perm, err := access.ParsePermission(l.Permission)
	if err != nil {
		return nil, fmt.Errorf("share link %s: %w", l.ID, err)
	}
	out := &access.Guest{LinkID: l.ID, GuestID: g.ID, Name: g.Name, Perm: perm,
		CreatedBy: l.CreatedBy, CreatedByAdmin: l.CreatedByAdmin}
	if l.MediaFileID != nil {
		out.MediaFileID = *l.MediaFileID
	}
	if l.FolderID != nil {
		out.FolderID = *l.FolderID
	}
	if l.Expires != nil {
		out.Expires = *l.Expires
	}
	return out, nil
}

// live is review.GuestOptions.Live for a guest of a link: the link still
// works and the guest is still known.
func (s *Service) live(linkID string, guestID int64) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		l, err := s.opt.DB.GetShareLink(ctx, linkID)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("This share link no longer exists (its media file was deleted).")
		} else if err != nil {
			s.log.Error("Cannot check a share link; ending the guest's session", "link", linkID, "err", err)
			return errors.New("Server error: cannot check the share link. Reload the page.")
		}
		if err := s.usable(l); err != nil {
			return err
		}
		if _, err := s.opt.DB.GetShareGuest(ctx, guestID); err != nil {
			return errors.New("Your guest session is no longer known. Reload the page and enter your name again.")
		}
		return nil
	}
}

// guestURLs are the media URLs of a guest of the link with this token.
func (s *Service) guestURLs(tok Token) mediadir.URLs {
	if s.opt.URLBase == "" {
		return mediadir.URLs{} // relative to the guest's page, /s/<token>/
	}
	return mediadir.URLs{Base: s.opt.URLBase + "/s/" + tok.String()}
}

// MaxNameRunes is the longest guest name.
const MaxNameRunes = 60

// guestName checks and tidies the name a guest typed.
func guestName(raw string) (string, error) {
	name := strings.Join(strings.Fields(norm.NFC.String(raw)), " ")
	bad := func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError }
	switch {
	case !utf8.ValidString(raw) || strings.ContainsFunc(name, bad):
		return "", errors.New("the name has characters that cannot be shown; type it again")
	case !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }):
		return "", fmt.Errorf("enter your name (1 to %d characters, with letters or digits): your comments show it", MaxNameRunes)
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return "", fmt.Errorf("the name is too long: at most %d characters", MaxNameRunes)
	}
	return name, nil
}
