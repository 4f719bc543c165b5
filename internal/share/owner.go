package share

// The owners' API, /api/shares, behind the proxy's authentication like
// the rest of the app:
//
//	GET    /api/shares?media_file_id=ID   the links to a media file (its owner, an admin)
//	GET    /api/shares?folder_id=ID       one's links to an organizer folder (an admin: everyone's)
//	GET    /api/shares                    one's links (an admin: everyone's)
//	POST   /api/shares                    make a link (JSON, see createRequest); the token is in the answer only
//	DELETE /api/shares/{id}               revoke a link (its maker, the media file's owner, an admin)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// APIPath is where the owners' API lives.
const APIPath = "/api/shares"

// Register adds the owners' API and the guests' routes to mux.
func (s *Service) Register(mux interface {
	Handle(string, http.Handler)
}) {
	mux.Handle("GET "+APIPath, http.HandlerFunc(s.listLinks))
	mux.Handle("POST "+APIPath, http.HandlerFunc(s.createLink))
	mux.Handle("DELETE "+APIPath+"/{id}", http.HandlerFunc(s.revokeLink))
	mux.Handle(GuestPath, http.HandlerFunc(s.serveGuest))
}

// Link is a link as the API shows it (never its token, which is not kept).
type Link struct {
	ID            string     `json:"id"`
	MediaFileID   string     `json:"media_file_id,omitempty"`
	MediaTitle    string     `json:"media_title,omitempty"`
	FolderID      string     `json:"folder_id,omitempty"`
	FolderTitle   string     `json:"folder_title,omitempty"`
	Permission    string     `json:"permission"`
	HasPassphrase bool       `json:"has_passphrase"`
	Label         string     `json:"label"`
	CreatedBy     string     `json:"created_by"`
	Created       time.Time  `json:"created"`
	Expires       *time.Time `json:"expires,omitempty"`
	Revoked       *time.Time `json:"revoked,omitempty"`
	// State is "active", "expired" or "revoked".
	State  string `json:"state"`
	Guests int    `json:"guests"`
}

func (s *Service) linkJSON(l store.ShareLink, guests int, title string) Link {
	out := Link{ID: l.ID, Permission: l.Permission, HasPassphrase: l.PassphraseHash != nil, Label: l.Label,
		CreatedBy: l.CreatedBy, Created: l.Created, Expires: l.Expires, Revoked: l.Revoked, Guests: guests, State: "active", MediaTitle: title}
	if l.MediaFileID != nil {
		out.MediaFileID = *l.MediaFileID
	}
	if l.FolderID != nil {
		out.FolderID = *l.FolderID
	}
	if l.FolderTitle != nil {
		out.FolderTitle = *l.FolderTitle
	}
	switch err := s.usable(l); {
	case errors.Is(err, ErrRevoked):
		out.State = "revoked"
	case errors.Is(err, ErrExpired):
		out.State = "expired"
	}
	return out
}

// apiError answers with {"error": msg}.
func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// owner is the identity of an owners' API request, or an answer saying
// why there is none.
func (s *Service) owner(w http.ResponseWriter, r *http.Request) (access.Identity, bool) {
	ident, err := s.opt.Identity.Authenticate(r)
	if err != nil {
		apiError(w, http.StatusForbidden, err.Error())
		return access.Identity{}, false
	}
	return access.Identity{User: ident, Cookies: auth.Cookies(r.Header), SID: "<share-links>"}, true
}

// mayShare asks whether who may share media file m (and list or revoke
// its links): EDIT, as for its subtitles, by default its owner or an
// admin, and the organizer's verdict.
func (s *Service) mayShare(ctx context.Context, who access.Identity, m store.MediaFile) *access.Denial {
	return s.opt.Access.Check(ctx, who, access.MediaOp(who, "share media file", pb.AuthzUserActionRequest_MediaFileOp_EDIT, m, who.Owns(m), mediadir.URLs{Base: s.opt.URLBase}))
}

// mediaFor loads a media file named in a request, answering 404 if it is
// missing.
func (s *Service) mediaFor(w http.ResponseWriter, r *http.Request, id string) (store.MediaFile, bool) {
	m, err := s.opt.DB.GetMediaFile(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		apiError(w, http.StatusNotFound, fmt.Sprintf("no media file %q", id))
		return m, false
	case err != nil:
		s.serverError(w, "read media file", err)
		return m, false
	}
	return m, true
}

func (s *Service) serverError(w http.ResponseWriter, what string, err error) {
	s.log.Error("Share links: "+what, "err", err)
	apiError(w, http.StatusInternalServerError, "server error: cannot "+what+"; see the server log")
}

func (s *Service) listLinks(w http.ResponseWriter, r *http.Request) {
	who, ok := s.owner(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.ShareLinkFilter{MediaFileID: q.Get("media_file_id"), FolderID: q.Get("folder_id")}
	titles := map[string]string{}
	switch {
	case f.MediaFileID != "" && f.FolderID != "":
		apiError(w, http.StatusBadRequest, "give media_file_id or folder_id, not both")
		return
	case f.MediaFileID != "":
		m, ok := s.mediaFor(w, r, f.MediaFileID)
		if !ok {
			return
		}
		if d := s.mayShare(r.Context(), who, m); d != nil {
			apiError(w, http.StatusForbidden, d.Message)
			return
		}
		titles[m.ID] = deref(m.Title)
	case !who.User.IsAdmin:
		f.CreatedBy = who.User.UserID
	}
	links, err := s.opt.DB.ListShareLinks(r.Context(), f)
	if err != nil {
		s.serverError(w, "list share links", err)
		return
	}
	ids := make([]string, len(links))
	for i, l := range links {
		ids[i] = l.ID
	}
	guests, err := s.opt.DB.CountShareGuests(r.Context(), ids)
	if err != nil {
		s.serverError(w, "count guests", err)
		return
	}
	out := make([]Link, 0, len(links))
	for _, l := range links {
		title, ok := "", false
		if l.MediaFileID != nil {
			if title, ok = titles[*l.MediaFileID]; !ok {
				if m, err := s.opt.DB.GetMediaFile(r.Context(), *l.MediaFileID); err == nil {
					title = deref(m.Title)
					titles[m.ID] = title
				}
			}
		}
		out = append(out, s.linkJSON(l, guests[l.ID], title))
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": out})
}

// createRequest is the body of POST /api/shares.
type createRequest struct {
	MediaFileID string `json:"media_file_id"`
	FolderID    string `json:"folder_id"`
	FolderTitle string `json:"folder_title"`
	// Permission is "view", "comment" or "download".
	Permission string `json:"permission"`
	// Passphrase is optional ("" = none).
	Passphrase string `json:"passphrase"`
	// Expires is an RFC 3339 time, optional (none: never).
	Expires string `json:"expires"`
	Label   string `json:"label"`
}

// Created is the answer to POST /api/shares: the link, its token and its
// path relative to the app's root (the only time the token is shown).
type Created struct {
	Link  Link   `json:"link"`
	Token string `json:"token"`
	Path  string `json:"path"`
}

// Limits of what owners type.
const (
	MaxLabelRunes = 200
	// MaxLifetime is the furthest a link's expiry can be.
	MaxLifetime = 5 * 366 * 24 * time.Hour
	maxBody     = 16 << 10
)

// readJSON decodes a small JSON body into v, answering 400/415 on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		// Also what keeps plain HTML forms of other sites out.
		apiError(w, http.StatusUnsupportedMediaType, "send the request as JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return false
	}
	return true
}

func (s *Service) createLink(w http.ResponseWriter, r *http.Request) {
	who, ok := s.owner(w, r)
	if !ok {
		return
	}
	var req createRequest
	if !readJSON(w, r, &req) {
		return
	}
	perm, err := access.ParsePermission(req.Permission)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	row := store.ShareLink{CreatedBy: who.User.UserID, CreatedByAdmin: who.User.IsAdmin, Permission: perm.String(),
		Label: strings.TrimSpace(req.Label)}
	if !utf8.ValidString(row.Label) || utf8.RuneCountInString(row.Label) > MaxLabelRunes {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("the label must be text of at most %d characters", MaxLabelRunes))
		return
	}
	if req.Expires != "" {
		exp, err := time.Parse(time.RFC3339, req.Expires)
		now := s.opt.Now()
		switch {
		case err != nil:
			apiError(w, http.StatusBadRequest, fmt.Sprintf("expires %q: not a time such as 2030-01-31T18:00:00Z", req.Expires))
			return
		case !exp.After(now):
			apiError(w, http.StatusBadRequest, "expires is in the past: a link must expire later than now")
			return
		case exp.Sub(now) > MaxLifetime:
			apiError(w, http.StatusBadRequest, "expires is too far ahead: at most 5 years, or leave it out for a link that never expires")
			return
		}
		exp = exp.UTC()
		row.Expires = &exp
	}
	if req.Passphrase != "" {
		if err := checkPassphrase(req.Passphrase); err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	tok, err := newToken()
	if err != nil {
		s.serverError(w, "make a token", err)
		return
	}
	row.ID, row.SecretSHA256 = tok.ID, hashSecret(tok.Secret)
	title := ""
	switch {
	case (req.MediaFileID == "") == (req.FolderID == ""):
		apiError(w, http.StatusBadRequest, "give either media_file_id or folder_id: a link is to one media file or one folder")
		return
	case req.MediaFileID != "":
		m, ok := s.mediaFor(w, r, req.MediaFileID)
		if !ok {
			return
		}
		if d := s.mayShare(r.Context(), who, m); d != nil {
			apiError(w, http.StatusForbidden, d.Message)
			return
		}
		row.MediaFileID, title = &m.ID, deref(m.Title)
	default:
		row.FolderID = &req.FolderID
		if t := strings.TrimSpace(req.FolderTitle); t != "" && utf8.ValidString(t) {
			row.FolderTitle = &t
		}
		if d := s.organizerSharesFolder(r.Context(), row, perm); d != "" {
			apiError(w, http.StatusForbidden, d)
			return
		}
	}
	if req.Passphrase != "" {
		h, err := hashPassphrase(r.Context(), req.Passphrase)
		if err != nil {
			s.serverError(w, "hash the passphrase", err)
			return
		}
		row.PassphraseHash = &h
	}
	l, err := s.opt.DB.InsertShareLink(r.Context(), row)
	if err != nil {
		s.serverError(w, "store the share link", err)
		return
	}
	s.log.Info("Share link created", "link", l.ID, "by", who.User.UserID, "media_file", deref(l.MediaFileID),
		"folder", deref(l.FolderID), "permission", l.Permission, "passphrase", l.PassphraseHash != nil, "expires", l.Expires)
	writeJSON(w, http.StatusCreated, Created{Link: s.linkJSON(l, 0, title), Token: tok.String(), Path: "s/" + tok.String() + "/"})
}

// organizerSharesFolder asks the organizer whether a guest of the link
// about to be made could see its folder (VIEW_HOME, the folder as
// subject): only an organizer that knows guests says yes, and it answers
// for the link's maker (the created_by cookies). A refusal is returned as
// the text for the owner.
func (s *Service) organizerSharesFolder(ctx context.Context, l store.ShareLink, perm access.Permission) string {
	g, err := guestOf(l, store.ShareGuest{Name: "(link check)"})
	if err != nil {
		return err.Error()
	}
	g.Perm = perm
	who := access.GuestIdentity(g, "<share-links>", nil)
	if d := s.opt.Access.Check(ctx, who, access.OtherOp("share folder", pb.AuthzUserActionRequest_OtherOp_VIEW_HOME, l.FolderID)); d != nil {
		return "cannot share this folder: " + d.Message + ": " + deref(d.Details)
	}
	return ""
}

func (s *Service) revokeLink(w http.ResponseWriter, r *http.Request) {
	who, ok := s.owner(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	l, err := s.opt.DB.GetShareLink(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no share link %q", id))
		return
	} else if err != nil {
		s.serverError(w, "read the share link", err)
		return
	}
	allowed := l.CreatedBy == who.User.UserID || who.User.IsAdmin
	if !allowed && l.MediaFileID != nil {
		if m, err := s.opt.DB.GetMediaFile(r.Context(), *l.MediaFileID); err == nil {
			allowed = s.mayShare(r.Context(), who, m) == nil
		}
	}
	if !allowed {
		apiError(w, http.StatusForbidden, "only the link's maker, the media file's owner or an admin can revoke it")
		return
	}
	did, err := s.opt.DB.RevokeShareLink(r.Context(), id, s.opt.Now())
	if err != nil {
		s.serverError(w, "revoke the share link", err)
		return
	}
	// Open sessions end now, whether this call revoked it or an earlier one.
	closed := s.opt.Sessions.CloseLink(id, ErrRevoked.Error())
	if did {
		s.log.Info("Share link revoked", "link", id, "by", who.User.UserID, "sessions_closed", closed)
	}
	l, err = s.opt.DB.GetShareLink(r.Context(), id)
	if err != nil {
		s.serverError(w, "read the share link", err)
		return
	}
	guests, _ := s.opt.DB.CountShareGuests(r.Context(), []string{id})
	writeJSON(w, http.StatusOK, map[string]any{"link": s.linkJSON(l, guests[id], ""), "sessions_closed": closed, "already_revoked": !did})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
