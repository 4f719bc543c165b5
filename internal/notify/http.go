package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/store"
)

// SettingsStore is what the settings API needs from the database.
type SettingsStore interface {
	GetNotifySettings(ctx context.Context, userID string) (store.NotifySettings, error)
	PutNotifySettings(ctx context.Context, s store.NotifySettings) error
	EnsureUser(ctx context.Context, id, name string) error
	ListDeliveries(ctx context.Context, userID string, p store.Page) ([]store.Delivery, error)
}

// Authenticator resolves a request's user (auth.Resolver).
type Authenticator interface {
	Authenticate(req *http.Request) (auth.Identity, error)
}

// API serves a user's own notification settings and recent deliveries:
//
//	GET /api/notifications/settings    the settings (JSON, SettingsJSON)
//	PUT /api/notifications/settings    replace them
//	GET /api/notifications/deliveries  the last 50 e-mails and webhook calls, with their state
type API struct {
	Store    SettingsStore
	Identity Authenticator
	// OriginAllowed refuses writes from other sites' pages (CSRF).
	OriginAllowed func(*http.Request) bool
	// EmailAvailable tells the UI whether an SMTP server is configured.
	EmailAvailable bool
}

// SettingsJSON is the settings as the API reads and writes them.
type SettingsJSON struct {
	OnComment    bool   `json:"on_comment"`
	OnReply      bool   `json:"on_reply"`
	OnMention    bool   `json:"on_mention"`
	InApp        bool   `json:"in_app"`
	Email        string `json:"email"`
	EmailEnabled bool   `json:"email_enabled"`
	WebhookURL   string `json:"webhook_url"`
	// WebhookSecret is made by the server when a webhook URL is set; the
	// receiver needs it to check signatures.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// RegenerateSecret (PUT only) replaces the secret.
	RegenerateSecret bool `json:"regenerate_secret,omitempty"`
	// EmailAvailable (GET only) is false when the server cannot send mail.
	EmailAvailable bool `json:"email_available"`
}

// Register adds the routes.
func (a *API) Register(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle("GET /api/notifications/settings", http.HandlerFunc(a.getSettings))
	mux.Handle("PUT /api/notifications/settings", http.HandlerFunc(a.putSettings))
	mux.Handle("GET /api/notifications/deliveries", http.HandlerFunc(a.deliveries))
}

func (a *API) user(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	id, err := a.Identity.Authenticate(r)
	if err != nil {
		httpError(w, http.StatusForbidden, err.Error())
		return id, false
	}
	return id, true
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	s, err := a.Store.GetNotifySettings(r.Context(), id.UserID)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "cannot read your notification settings")
		return
	}
	writeJSON(w, a.toJSON(s))
}

func (a *API) toJSON(s store.NotifySettings) SettingsJSON {
	return SettingsJSON{OnComment: s.OnComment, OnReply: s.OnReply, OnMention: s.OnMention, InApp: s.InApp,
		Email: s.Email, EmailEnabled: s.EmailEnabled, WebhookURL: s.WebhookURL, WebhookSecret: s.WebhookSecret,
		EmailAvailable: a.EmailAvailable}
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	if a.OriginAllowed != nil && r.Header.Get("Origin") != "" && !a.OriginAllowed(r) {
		httpError(w, http.StatusForbidden, "requests from other sites may not change settings")
		return
	}
	// A JSON content type cannot come from a plain HTML form, which keeps
	// other sites from posting here without CORS's say.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		httpError(w, http.StatusUnsupportedMediaType, "send the settings as application/json")
		return
	}
	var in SettingsJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		httpError(w, http.StatusBadRequest, "invalid settings: "+err.Error())
		return
	}
	old, err := a.Store.GetNotifySettings(r.Context(), id.UserID)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "cannot read your notification settings")
		return
	}
	s, err := merge(old, in)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.Store.EnsureUser(r.Context(), id.UserID, id.UserName); err != nil {
		httpError(w, http.StatusInternalServerError, "cannot store your notification settings")
		return
	}
	if err := a.Store.PutNotifySettings(r.Context(), s); err != nil {
		httpError(w, http.StatusInternalServerError, "cannot store your notification settings")
		return
	}
	writeJSON(w, a.toJSON(s))
}

// merge checks new settings and applies them over the old ones.
func merge(old store.NotifySettings, in SettingsJSON) (store.NotifySettings, error) {
	s := old
	s.OnComment, s.OnReply, s.OnMention, s.InApp = in.OnComment, in.OnReply, in.OnMention, in.InApp
	s.Email, s.EmailEnabled = strings.TrimSpace(in.Email), in.EmailEnabled
	if s.Email != "" {
		addr, err := mail.ParseAddress(s.Email)
		if err != nil || strings.ContainsAny(s.Email, "\r\n") {
			return s, fmt.Errorf("e-mail address %q is not valid", s.Email)
		}
		s.Email = addr.Address
	} else if s.EmailEnabled {
		return s, errors.New("e-mail notifications need an e-mail address")
	}
	s.WebhookURL = strings.TrimSpace(in.WebhookURL)
	switch {
	case s.WebhookURL == "":
		s.WebhookSecret = ""
	case CheckURL(s.WebhookURL) != nil:
		return s, CheckURL(s.WebhookURL)
	case s.WebhookSecret == "" || in.RegenerateSecret || s.WebhookURL != old.WebhookURL:
		// A new endpoint gets a new secret: the old receiver must not be
		// able to sign for the new one.
		s.WebhookSecret = NewSecret()
	}
	return s, nil
}

// DeliveryJSON is one delivery as the API lists it.
type DeliveryJSON struct {
	ID        int64      `json:"id"`
	Channel   string     `json:"channel"`
	Target    string     `json:"target"`
	Event     string     `json:"event"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	Created   time.Time  `json:"created"`
	NextTry   *time.Time `json:"next_attempt,omitempty"`
	Delivered *time.Time `json:"delivered,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

func (a *API) deliveries(w http.ResponseWriter, r *http.Request) {
	id, ok := a.user(w, r)
	if !ok {
		return
	}
	ds, err := a.Store.ListDeliveries(r.Context(), id.UserID, store.Page{Size: 50})
	if err != nil {
		httpError(w, http.StatusInternalServerError, "cannot read your notifications")
		return
	}
	out := make([]DeliveryJSON, 0, len(ds))
	for _, d := range ds {
		j := DeliveryJSON{ID: d.ID, Channel: d.Channel, Target: d.Target, Event: d.Event, State: d.State,
			Attempts: d.Attempts, Created: d.Created, Delivered: d.Delivered, LastError: d.LastError}
		if d.Channel == ChannelWebhook {
			j.Target = redact(d.Target)
		}
		if d.State == store.DeliveryQueued {
			j.NextTry = &d.NextAttempt
		}
		out = append(out, j)
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
