package app

import (
	"context"
	"net/url"

	"github.com/clapshot-go/clapshot/internal/export/download"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/notify"
	"github.com/clapshot-go/clapshot/internal/store"
)

// newNotifications creates the notifier (which the review side calls for
// every new comment) and the dispatcher that sends queued e-mails and
// webhook calls; Run runs the dispatcher. A broken --smtp-url stops the
// start-up: mail that could never be sent would pile up unseen.
func (a *App) newNotifications() error {
	cfg := a.Config
	log := a.Log.With("subsystem", "notify")
	d := &notify.Dispatcher{
		Store:    a.DB,
		Webhooks: &notify.Webhooks{AllowPrivate: cfg.WebhookAllowPrivate},
		Log:      log,
	}
	if cfg.SMTPURL != "" {
		m, err := notify.NewMailer(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return err
		}
		d.Mailer = m
		log.Info("Notification e-mails enabled", "smtp", m.String())
	}
	a.dispatcher = d
	a.notifier = &notify.Notifier{
		Store:        a.DB,
		Events:       a.Events,
		Log:          log,
		EmailEnabled: d.Mailer != nil,
		Wake:         d.Wake,
		Watching:     a.watching,
	}
	if cfg.URLBase != "" {
		base := cfg.URLBase
		a.notifier.MediaURL = func(id string) string { return base + "/?vid=" + url.QueryEscape(id) }
	}
	return nil
}

// watching tells the notifier who has a media file open (set once the
// review hub exists, before any comment can arrive).
func (a *App) watching(userID, mediaFileID string) bool {
	return a.Review.Watching(userID, mediaFileID)
}

// commentAdded is the review side's hook for new comments.
func (a *App) commentAdded(ctx context.Context, c store.Comment, m store.MediaFile, parent *store.Comment) {
	ev := notify.CommentAdded{
		MediaFileID:  m.ID,
		MediaOwnerID: m.UserID,
		CommentID:    c.ID,
		Text:         c.Comment,
		AuthorName:   c.UsernameIfNull,
	}
	if m.Title != nil {
		ev.MediaTitle = *m.Title
	}
	if c.Timecode != nil {
		ev.Timecode = *c.Timecode
	}
	if c.UserID != nil {
		ev.AuthorID = *c.UserID
	}
	if parent != nil && parent.UserID != nil {
		ev.ParentAuthorID = *parent.UserID
	}
	// The request's context may end with the websocket; the notification
	// rows are quick writes that should still happen.
	a.notifier.CommentAdded(context.WithoutCancel(ctx), ev)
}

// registerNotificationsAndExport serves the users' notification settings
// and the comment exports.
func (a *App) registerNotificationsAndExport() {
	(&notify.API{
		Store:          a.DB,
		Identity:       a.Identity,
		OriginAllowed:  a.HTTP.Origins.Allowed,
		EmailAvailable: a.dispatcher.Mailer != nil,
	}).Register(a.HTTP)
	(&download.Handler{
		Store:    a.DB,
		Identity: a.Identity,
		Access:   a.Review.Access(),
		Drawings: mediadir.New(a.Config.DataDir),
		Stills:   &media.Tools{},
		Layout:   mediadir.Layout{DataDir: a.Config.DataDir},
		URLs:     mediadir.URLs{Base: a.Config.URLBase},
		Log:      a.Log.With("subsystem", "export"),
	}).Register(a.HTTP)
}
