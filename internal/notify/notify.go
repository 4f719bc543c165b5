// Package notify tells users when someone comments on their media,
// replies to their comment or @mentions them: in the app's message list
// (through the events bus), by e-mail through a configured SMTP server,
// and by webhook calls signed with HMAC-SHA256, each as the user chose.
//
// E-mails and webhook calls are rows in the database before they are
// attempted (store.Delivery); the Dispatcher sends them and retries
// failures with backoff, so a restart or a crash loses none, and a slow
// or broken endpoint never holds up a comment.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Event kinds, as stored in deliveries and sent in webhooks.
const (
	EventComment = "comment" // on a media file of yours
	EventReply   = "reply"   // to a comment of yours
	EventMention = "mention" // @you in a comment
)

// Channels of a delivery.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Store is what the notifier needs from the database.
type Store interface {
	GetNotifySettings(ctx context.Context, userID string) (store.NotifySettings, error)
	QueueDelivery(ctx context.Context, d store.Delivery) (int64, error)
	FindUsersByName(ctx context.Context, names []string) (map[string]string, error)
}

// CommentAdded is what happened, as the review side reports it.
type CommentAdded struct {
	MediaFileID    string
	MediaTitle     string
	MediaOwnerID   string
	CommentID      int64
	Text           string
	Timecode       string // the comment's, "" when untimed
	AuthorID       string // "" for a guest
	AuthorName     string // shown: "alice", "Dana (guest)"
	ParentAuthorID string // the author of the comment replied to, "" if not a reply
}

// Payload is the JSON of a delivery: what webhooks receive, and what
// e-mails are written from.
type Payload struct {
	Event string `json:"event"`
	// Text is a readable line, so chat webhooks (Slack, Mattermost) that
	// show a "text" field show something useful.
	Text      string    `json:"text"`
	Recipient string    `json:"recipient"`
	Time      time.Time `json:"time"`
	MediaFile struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		URL   string `json:"url,omitempty"`
	} `json:"media_file"`
	Comment struct {
		ID       int64  `json:"id"`
		Text     string `json:"text"`
		Timecode string `json:"timecode,omitempty"`
		Author   string `json:"author"`
		AuthorID string `json:"author_id,omitempty"`
		IsReply  bool   `json:"is_reply"`
	} `json:"comment"`
}

// Summary is a one-line description of the event for the recipient.
func (p *Payload) Summary() string {
	title := oneLine(p.MediaFile.Title)
	if title == "" {
		title = p.MediaFile.ID
	}
	author := oneLine(p.Comment.Author)
	switch p.Event {
	case EventReply:
		return fmt.Sprintf(`%s replied to your comment on "%s"`, author, title)
	case EventMention:
		return fmt.Sprintf(`%s mentioned you in a comment on "%s"`, author, title)
	}
	return fmt.Sprintf(`%s commented on "%s"`, author, title)
}

// oneLine collapses line breaks and runs of white space (titles and names
// end up in subject lines and message lists).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Notifier turns new comments into notifications.
type Notifier struct {
	Store  Store
	Events events.Publisher
	Log    *slog.Logger
	// EmailEnabled is set when an SMTP server is configured; without one
	// no e-mail is queued.
	EmailEnabled bool
	// MediaURL builds the link to a media file in the app ("" for none,
	// e.g. when no --url-base is known).
	MediaURL func(mediaFileID string) string
	// Wake is called after deliveries were queued (the Dispatcher's Wake).
	Wake func()
	// Watching reports whether a user has the media file open right now:
	// they see the comment arrive in the list, so the app's message list
	// is not told too (e-mail and webhooks still are). nil: never.
	Watching func(userID, mediaFileID string) bool
	Now      func() time.Time
}

// mentionRE finds @name tokens: at the start or after a space or
// punctuation that cannot be part of an e-mail address.
var mentionRE = regexp.MustCompile(`(?:^|[\s(\[{,;:!?"'])@([\p{L}\p{N}_.\-]{1,64})`)

// Mentions lists the distinct @names in a text, in order, without a
// trailing full stop ("@bob." mentions bob).
func Mentions(text string) []string {
	var out []string
	for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
		name := strings.TrimRight(m[1], ".-")
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// CommentAdded notifies everyone concerned by a new comment: the media
// file's owner, the author of the comment replied to, and every mentioned
// user, each once (a mention wins over a reply, a reply over a comment),
// never the author. Failures are logged, not returned: the comment is
// stored already and must not fail because a notification could not be.
func (n *Notifier) CommentAdded(ctx context.Context, c CommentAdded) {
	kinds := map[string]string{}
	var order []string
	add := func(userID, kind string) {
		if userID == "" || userID == c.AuthorID {
			return
		}
		prev, seen := kinds[userID]
		if !seen {
			order = append(order, userID)
		}
		if !seen || rank(kind) > rank(prev) {
			kinds[userID] = kind
		}
	}
	add(c.MediaOwnerID, EventComment)
	add(c.ParentAuthorID, EventReply)
	if names := Mentions(c.Text); len(names) > 0 {
		users, err := n.Store.FindUsersByName(ctx, names)
		if err != nil {
			n.log().Error("Notifications: cannot look up mentioned users", "comment_id", c.CommentID, "err", err)
		}
		for _, name := range names {
			add(users[name], EventMention)
		}
	}
	queued := false
	for _, userID := range order {
		if n.notifyUser(ctx, userID, kinds[userID], c) {
			queued = true
		}
	}
	if queued && n.Wake != nil {
		n.Wake()
	}
}

// wants applies a user's choice of events.
func wants(s store.NotifySettings, kind string) bool {
	switch kind {
	case EventComment:
		return s.OnComment
	case EventReply:
		return s.OnReply
	case EventMention:
		return s.OnMention
	}
	return false
}

func rank(kind string) int {
	switch kind {
	case EventMention:
		return 3
	case EventReply:
		return 2
	}
	return 1
}

// notifyUser applies one user's settings; it reports whether a delivery
// was queued.
func (n *Notifier) notifyUser(ctx context.Context, userID, kind string, c CommentAdded) bool {
	set, err := n.Store.GetNotifySettings(ctx, userID)
	if err != nil {
		n.log().Error("Notifications: cannot read settings", "user", userID, "err", err)
		return false
	}
	if !wants(set, kind) {
		return false
	}
	p := n.payload(userID, kind, c)
	if set.InApp && n.Events != nil && (n.Watching == nil || !n.Watching(userID, c.MediaFileID)) {
		cid := c.CommentID
		n.Events.Publish(ctx, events.Message{Kind: events.OK, UserID: userID, MediaFileID: c.MediaFileID,
			CommentID: &cid, Text: p.Summary(), Details: c.Text, Personal: true})
	}
	body, err := json.Marshal(p)
	if err != nil {
		n.log().Error("Notifications: cannot encode", "err", err)
		return false
	}
	queued := false
	queue := func(channel, target string) {
		if _, err := n.Store.QueueDelivery(ctx, store.Delivery{UserID: userID, Channel: channel, Target: target,
			Event: kind, Payload: string(body)}); err != nil {
			n.log().Error("Notifications: cannot queue", "user", userID, "channel", channel, "err", err)
			return
		}
		queued = true
	}
	if n.EmailEnabled && set.EmailEnabled && set.Email != "" {
		queue(ChannelEmail, set.Email)
	}
	if set.WebhookURL != "" {
		queue(ChannelWebhook, set.WebhookURL)
	}
	return queued
}

func (n *Notifier) payload(userID, kind string, c CommentAdded) *Payload {
	p := &Payload{Event: kind, Recipient: userID, Time: n.now().UTC()}
	p.MediaFile.ID, p.MediaFile.Title = c.MediaFileID, c.MediaTitle
	if n.MediaURL != nil {
		p.MediaFile.URL = n.MediaURL(c.MediaFileID)
	}
	p.Comment.ID, p.Comment.Text, p.Comment.Timecode = c.CommentID, c.Text, c.Timecode
	p.Comment.Author, p.Comment.AuthorID, p.Comment.IsReply = c.AuthorName, c.AuthorID, c.ParentAuthorID != ""
	p.Text = p.Summary() + ": " + c.Text
	if p.MediaFile.URL != "" {
		p.Text += " " + p.MediaFile.URL
	}
	return p
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) log() *slog.Logger {
	if n.Log != nil {
		return n.Log
	}
	return slog.Default()
}
