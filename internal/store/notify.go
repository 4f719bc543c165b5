package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NotifySettings is a row of notify_settings: what a user wants to be told
// about, and where. A user without a row has the defaults (DefaultNotify).
type NotifySettings struct {
	UserID                        string
	OnComment, OnReply, OnMention bool
	InApp                         bool
	Email                         string
	EmailEnabled                  bool
	WebhookURL                    string
	WebhookSecret                 string
	Updated                       *time.Time
}

// DefaultNotify is the setting of a user who never changed it: told in the
// app about everything, nothing sent elsewhere.
func DefaultNotify(userID string) NotifySettings {
	return NotifySettings{UserID: userID, OnComment: true, OnReply: true, OnMention: true, InApp: true}
}

var notifySettingsSelect = textTimes(`user_id, on_comment, on_reply, on_mention, in_app, COALESCE(email, ''),
	email_enabled, COALESCE(webhook_url, ''), COALESCE(webhook_secret, ''), updated`, "updated")

// GetNotifySettings returns a user's settings, or the defaults.
func (q *Queries) GetNotifySettings(ctx context.Context, userID string) (NotifySettings, error) {
	var s NotifySettings
	err := q.q.QueryRowContext(ctx, "SELECT "+notifySettingsSelect+" FROM notify_settings WHERE user_id = ?", userID).
		Scan(&s.UserID, &s.OnComment, &s.OnReply, &s.OnMention, &s.InApp, &s.Email, &s.EmailEnabled,
			&s.WebhookURL, &s.WebhookSecret, timeScanner{&s.Updated})
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultNotify(userID), nil
	}
	if err != nil {
		return NotifySettings{}, fmt.Errorf("get notification settings of %q: %w", userID, err)
	}
	return s, nil
}

// PutNotifySettings stores a user's settings (the users row must exist).
func (q *Queries) PutNotifySettings(ctx context.Context, s NotifySettings) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO notify_settings (user_id, on_comment, on_reply, on_mention, in_app,
		email, email_enabled, webhook_url, webhook_secret, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
		ON CONFLICT(user_id) DO UPDATE SET on_comment = excluded.on_comment, on_reply = excluded.on_reply,
		on_mention = excluded.on_mention, in_app = excluded.in_app, email = excluded.email,
		email_enabled = excluded.email_enabled, webhook_url = excluded.webhook_url,
		webhook_secret = excluded.webhook_secret, updated = excluded.updated`,
		s.UserID, s.OnComment, s.OnReply, s.OnMention, s.InApp, nullIfEmpty(s.Email), s.EmailEnabled,
		nullIfEmpty(s.WebhookURL), nullIfEmpty(s.WebhookSecret))
	if err != nil {
		return fmt.Errorf("store notification settings of %q: %w", s.UserID, err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Delivery states.
const (
	DeliveryQueued = "queued"
	DeliveryDone   = "done"
	DeliveryFailed = "failed"
)

// Delivery is a row of notify_outbox: one e-mail or webhook call.
type Delivery struct {
	ID          int64
	UserID      string
	Channel     string // "email" or "webhook"
	Target      string
	Event       string
	Payload     string
	State       string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Created     time.Time
	Delivered   *time.Time
}

var deliverySelect = textTimes(`id, user_id, channel, target, event, payload, state, attempts, next_attempt,
	COALESCE(last_error, ''), created, delivered`, "next_attempt", "created", "delivered")

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	err := sc.Scan(&d.ID, &d.UserID, &d.Channel, &d.Target, &d.Event, &d.Payload, &d.State, &d.Attempts,
		reqTimeScanner{&d.NextAttempt}, &d.LastError, reqTimeScanner{&d.Created}, timeScanner{&d.Delivered})
	return d, err
}

// QueueDelivery adds a delivery, due at once.
func (q *Queries) QueueDelivery(ctx context.Context, d Delivery) (int64, error) {
	id, err := insertID(ctx, q.q, `INSERT INTO notify_outbox (user_id, channel, target, event, payload)
		VALUES (?, ?, ?, ?, ?)`, d.UserID, d.Channel, d.Target, d.Event, d.Payload)
	if err != nil {
		return 0, fmt.Errorf("queue %s notification for %q: %w", d.Channel, d.UserID, err)
	}
	return id, nil
}

// ClaimDeliveries takes up to limit queued deliveries whose time has
// come, oldest first, for one attempt by this process: their next attempt
// moves to now+lease, so no other process (another server instance on the
// same PostgreSQL database) takes them meanwhile. DeliveryDone or
// DeliveryFailed then records the outcome; a process that dies before
// that leaves the delivery to be taken again once the lease is over.
// As for ClaimJob, the single statement makes the claim atomic: SQLite has
// one writer at a time; on PostgreSQL the sub-select skips rows another
// instance's claim holds, and the outer WHERE checks them again.
func (q *Queries) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	// The picked ids are materialized once: a sub-select in the WHERE may
	// run again for each row (PostgreSQL then locks further rows past
	// the LIMIT).
	out, err := queryList(ctx, q.q, scanDelivery, `WITH due AS MATERIALIZED (SELECT id FROM notify_outbox
			WHERE state = 'queued' AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`+q.d.claimLock+`)
		UPDATE notify_outbox SET next_attempt = ?
		WHERE state = 'queued' AND next_attempt <= ? AND id IN (SELECT id FROM due)
		RETURNING `+deliverySelect, dbTime(now), limit, dbTime(now.Add(lease)), dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	// RETURNING gives no order.
	slices.SortFunc(out, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ReleaseDelivery gives back a claimed delivery that was not attempted
// (the process is stopping): it is due again at once, for any instance.
func (q *Queries) ReleaseDelivery(ctx context.Context, id int64, now time.Time) error {
	return execOne(ctx, q.q, fmt.Sprintf("release notification %d", id),
		"UPDATE notify_outbox SET next_attempt = ? WHERE id = ? AND state = 'queued'", dbTime(now), id)
}

// NextDeliveryDue is when the earliest queued delivery is due (ok false
// when none is queued).
func (q *Queries) NextDeliveryDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var s sql.NullString
	if err := q.q.QueryRowContext(ctx, `SELECT min(next_attempt) FROM notify_outbox WHERE state = 'queued'`).Scan(&s); err != nil {
		return time.Time{}, false, fmt.Errorf("next notification: %w", err)
	}
	if !s.Valid {
		return time.Time{}, false, nil
	}
	t, err = parseDBTime(s.String)
	return t, err == nil, err
}

// GetDelivery returns one delivery or ErrNotFound.
func (q *Queries) GetDelivery(ctx context.Context, id int64) (Delivery, error) {
	d, err := scanDelivery(q.q.QueryRowContext(ctx, "SELECT "+deliverySelect+" FROM notify_outbox WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("notification %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("get notification %d: %w", id, err)
	}
	return d, nil
}

// ListDeliveries lists a user's deliveries, newest first.
func (q *Queries) ListDeliveries(ctx context.Context, userID string, p Page) ([]Delivery, error) {
	out, err := queryList(ctx, q.q, scanDelivery, "SELECT "+deliverySelect+
		" FROM notify_outbox WHERE user_id = ? ORDER BY id DESC"+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list notifications of %q: %w", userID, err)
	}
	return out, nil
}

// DeliveryDone records a successful delivery.
func (q *Queries) DeliveryDone(ctx context.Context, id int64, at time.Time) error {
	return execOne(ctx, q.q, fmt.Sprintf("notification %d done", id), `UPDATE notify_outbox
		SET state = 'done', attempts = attempts + 1, delivered = ?, last_error = NULL WHERE id = ?`, dbTime(at), id)
}

// DeliveryFailed records a failed attempt: retried at next, or given up
// for good when giveUp is set.
func (q *Queries) DeliveryFailed(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error {
	state := DeliveryQueued
	if giveUp {
		state = DeliveryFailed
	}
	return execOne(ctx, q.q, fmt.Sprintf("notification %d failed", id), `UPDATE notify_outbox
		SET state = ?, attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`,
		state, dbTime(next), truncate(errText, 2000), id)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// FindUsersByName maps each name to the user whose id or name it is
// (case-insensitively; an exact id wins over a name). Names that match
// nobody, or several users by name only, are left out.
func (q *Queries) FindUsersByName(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	in, args := inClause(lower)
	rows, err := q.q.QueryContext(ctx, "SELECT id, name FROM users WHERE lower(id) IN ("+in+") OR lower(name) IN ("+in+")",
		append(args, args...)...)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	byID := map[string]string{}
	byName := map[string][]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		byID[strings.ToLower(id)] = id
		byName[strings.ToLower(name)] = append(byName[strings.ToLower(name)], id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	for i, n := range names {
		if id, ok := byID[lower[i]]; ok {
			out[n] = id
		} else if ids := byName[lower[i]]; len(ids) == 1 {
			out[n] = ids[0]
		}
	}
	return out, nil
}
