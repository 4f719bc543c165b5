package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ShareLink is a row of share_links (our migration 20261123130000): a
// guest link to one media file (MediaFileID) or one organizer folder
// (FolderID). SecretSHA256 is the hex SHA-256 of the token's secret part;
// the token itself is never stored.
type ShareLink struct {
	ID             string
	SecretSHA256   string
	MediaFileID    *string
	FolderID       *string
	FolderTitle    *string
	CreatedBy      string
	CreatedByAdmin bool
	Created        time.Time
	Expires        *time.Time
	Revoked        *time.Time
	Permission     string
	PassphraseHash *string
	Label          string
}

// ShareGuest is a row of share_guests: someone who entered a name on a
// link's page.
type ShareGuest struct {
	ID           int64
	LinkID       string
	Name         string
	SecretSHA256 string
	Created      time.Time
}

// ShareLinkFilter selects links for ListShareLinks; empty fields match
// everything.
type ShareLinkFilter struct {
	MediaFileID string
	FolderID    string
	CreatedBy   string
}

const shareLinkCols = `id, secret_sha256, media_file_id, folder_id, folder_title, created_by, created_by_admin,
	created, expires, revoked, permission, passphrase_hash, label`

var shareLinkSelect = textTimes(shareLinkCols, "created", "expires", "revoked")

func scanShareLink(sc interface{ Scan(...any) error }) (ShareLink, error) {
	var l ShareLink
	err := sc.Scan(&l.ID, &l.SecretSHA256, &l.MediaFileID, &l.FolderID, &l.FolderTitle, &l.CreatedBy, &l.CreatedByAdmin,
		reqTimeScanner{&l.Created}, timeScanner{&l.Expires}, timeScanner{&l.Revoked}, &l.Permission, &l.PassphraseHash, &l.Label)
	return l, err
}

// InsertShareLink stores a new link. A zero Created means now.
func (q *Queries) InsertShareLink(ctx context.Context, l ShareLink) (ShareLink, error) {
	created := any(nil)
	if !l.Created.IsZero() {
		created = dbTime(l.Created)
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO share_links (id, secret_sha256, media_file_id, folder_id, folder_title,
		created_by, created_by_admin, created, expires, revoked, permission, passphrase_hash, label)
		VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE(?, CURRENT_TIMESTAMP), ?, ?, ?, ?, ?)`,
		l.ID, l.SecretSHA256, l.MediaFileID, l.FolderID, l.FolderTitle, l.CreatedBy, l.CreatedByAdmin, created,
		dbTimePtr(l.Expires), dbTimePtr(l.Revoked), l.Permission, l.PassphraseHash, l.Label)
	if err != nil {
		return ShareLink{}, fmt.Errorf("insert share link: %w", err)
	}
	return q.GetShareLink(ctx, l.ID)
}

// GetShareLink returns one link or ErrNotFound.
func (q *Queries) GetShareLink(ctx context.Context, id string) (ShareLink, error) {
	l, err := scanShareLink(q.q.QueryRowContext(ctx, "SELECT "+shareLinkSelect+" FROM share_links WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return ShareLink{}, fmt.Errorf("share link %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return ShareLink{}, fmt.Errorf("get share link %q: %w", id, err)
	}
	return l, nil
}

// ListShareLinks lists links matching f, newest first.
func (q *Queries) ListShareLinks(ctx context.Context, f ShareLinkFilter) ([]ShareLink, error) {
	query := "SELECT " + shareLinkSelect + " FROM share_links WHERE TRUE"
	var args []any
	for _, c := range []struct{ col, val string }{{"media_file_id", f.MediaFileID}, {"folder_id", f.FolderID}, {"created_by", f.CreatedBy}} {
		if c.val != "" {
			query += " AND " + c.col + " = ?"
			args = append(args, c.val)
		}
	}
	out, err := queryList(ctx, q.q, scanShareLink, query+" ORDER BY created DESC, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list share links: %w", err)
	}
	return out, nil
}

// RevokeShareLink marks a link revoked at the given time, unless it is
// already; it reports whether this call revoked it. A missing link is
// ErrNotFound.
func (q *Queries) RevokeShareLink(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, "UPDATE share_links SET revoked = ? WHERE id = ? AND revoked IS NULL", dbTime(at), id)
	if err != nil {
		return false, fmt.Errorf("revoke share link %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("revoke share link %q: %w", id, err)
	}
	if n == 0 {
		if _, err := q.GetShareLink(ctx, id); err != nil {
			return false, err
		}
	}
	return n > 0, nil
}

const shareGuestCols = "id, link_id, name, secret_sha256, created"

var shareGuestSelect = textTimes(shareGuestCols, "created")

func scanShareGuest(sc interface{ Scan(...any) error }) (ShareGuest, error) {
	var g ShareGuest
	err := sc.Scan(&g.ID, &g.LinkID, &g.Name, &g.SecretSHA256, reqTimeScanner{&g.Created})
	return g, err
}

// InsertShareGuest stores a guest of a link and returns it with its id.
func (q *Queries) InsertShareGuest(ctx context.Context, g ShareGuest) (ShareGuest, error) {
	id, err := insertID(ctx, q.q, "INSERT INTO share_guests (link_id, name, secret_sha256) VALUES (?, ?, ?)",
		g.LinkID, g.Name, g.SecretSHA256)
	if err != nil {
		return ShareGuest{}, fmt.Errorf("insert guest of share link %q: %w", g.LinkID, err)
	}
	return q.GetShareGuest(ctx, id)
}

// GetShareGuest returns one guest or ErrNotFound.
func (q *Queries) GetShareGuest(ctx context.Context, id int64) (ShareGuest, error) {
	g, err := scanShareGuest(q.q.QueryRowContext(ctx, "SELECT "+shareGuestSelect+" FROM share_guests WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return ShareGuest{}, fmt.Errorf("share guest %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return ShareGuest{}, fmt.Errorf("get share guest %d: %w", id, err)
	}
	return g, nil
}

// CountShareGuests counts the guests of each of the links (ids without
// guests are absent from the map).
func (q *Queries) CountShareGuests(ctx context.Context, linkIDs []string) (map[string]int, error) {
	in, args := inClause(linkIDs)
	rows, err := q.q.QueryContext(ctx, "SELECT link_id, count(*) FROM share_guests WHERE link_id IN ("+in+") GROUP BY link_id", args...)
	if err != nil {
		return nil, fmt.Errorf("count share guests: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count share guests: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// ShareComment says which guest of which link wrote a comment.
type ShareComment struct {
	CommentID int64
	LinkID    string
	GuestID   int64
}

// InsertShareComment records the guest who wrote a comment.
func (q *Queries) InsertShareComment(ctx context.Context, c ShareComment) error {
	_, err := q.q.ExecContext(ctx, "INSERT INTO share_comments (comment_id, link_id, guest_id) VALUES (?, ?, ?)",
		c.CommentID, c.LinkID, c.GuestID)
	if err != nil {
		return fmt.Errorf("record guest of comment %d: %w", c.CommentID, err)
	}
	return nil
}

// GetShareComment returns the guest who wrote a comment, or ErrNotFound
// for a comment no guest wrote.
func (q *Queries) GetShareComment(ctx context.Context, commentID int64) (ShareComment, error) {
	var c ShareComment
	err := q.q.QueryRowContext(ctx, "SELECT comment_id, link_id, guest_id FROM share_comments WHERE comment_id = ?", commentID).
		Scan(&c.CommentID, &c.LinkID, &c.GuestID)
	if errors.Is(err, sql.ErrNoRows) {
		return ShareComment{}, fmt.Errorf("guest of comment %d: %w", commentID, ErrNotFound)
	}
	if err != nil {
		return ShareComment{}, fmt.Errorf("guest of comment %d: %w", commentID, err)
	}
	return c, nil
}
