package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Comment is a row of comments. A reply has ParentID set. Drawing holds the
// file name under videos/<id>/drawings/, not the image.
type Comment struct {
	ID                     int64
	MediaFileID            string
	ParentID               *int64
	Created                time.Time
	Edited                 *time.Time
	UserID                 *string
	UsernameIfNull         string
	Comment                string
	Timecode               *string
	Drawing                *string
	SubtitleID             *int64
	SubtitleFilenameIfNull *string
	// TimecodeEnd is our extension (migration 20261121200000): the end of a
	// range comment; Timecode is its start.
	TimecodeEnd *string
}

const commentCols = `id, media_file_id, parent_id, created, edited, user_id, username_ifnull, comment, timecode,
	drawing, subtitle_id, subtitle_filename_ifnull, timecode_end`

// commentSelect is commentCols for SELECT (times as text, see textTimes).
var commentSelect = textTimes(commentCols, "created", "edited")

// commentOrder is Clapshot's order: newest first.
const commentOrder = " ORDER BY created DESC, id ASC"

func scanComment(sc interface{ Scan(...any) error }) (Comment, error) {
	var c Comment
	err := sc.Scan(&c.ID, &c.MediaFileID, &c.ParentID, reqTimeScanner{&c.Created}, timeScanner{&c.Edited},
		&c.UserID, &c.UsernameIfNull, &c.Comment, &c.Timecode, &c.Drawing, &c.SubtitleID, &c.SubtitleFilenameIfNull, &c.TimecodeEnd)
	return c, err
}

// InsertComment inserts a comment and returns it as stored (with id and
// creation time). A zero Created means now.
func (q *Queries) InsertComment(ctx context.Context, c Comment) (Comment, error) {
	created := any(nil)
	if !c.Created.IsZero() {
		created = dbTime(c.Created)
	}
	id, err := insertID(ctx, q.q, `INSERT INTO comments (media_file_id, parent_id, created, edited, user_id,
		username_ifnull, comment, timecode, drawing, subtitle_id, subtitle_filename_ifnull, timecode_end)
		VALUES (?, ?, COALESCE(?, CURRENT_TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.MediaFileID, c.ParentID, created, dbTimePtr(c.Edited), c.UserID, c.UsernameIfNull, c.Comment,
		c.Timecode, c.Drawing, c.SubtitleID, c.SubtitleFilenameIfNull, c.TimecodeEnd)
	if err != nil {
		return Comment{}, fmt.Errorf("insert comment on %s: %w", c.MediaFileID, err)
	}
	return q.GetComment(ctx, id)
}

// UpdateComment replaces every column but the id.
func (q *Queries) UpdateComment(ctx context.Context, c Comment) error {
	return execOne(ctx, q.q, fmt.Sprintf("update comment %d", c.ID), `UPDATE comments SET media_file_id = ?,
		parent_id = ?, created = ?, edited = ?, user_id = ?, username_ifnull = ?, comment = ?, timecode = ?,
		drawing = ?, subtitle_id = ?, subtitle_filename_ifnull = ?, timecode_end = ? WHERE id = ?`,
		c.MediaFileID, c.ParentID, dbTime(c.Created), dbTimePtr(c.Edited), c.UserID, c.UsernameIfNull, c.Comment,
		c.Timecode, c.Drawing, c.SubtitleID, c.SubtitleFilenameIfNull, c.TimecodeEnd, c.ID)
}

// EditComment changes the text and sets edited to now.
func (q *Queries) EditComment(ctx context.Context, id int64, text string) error {
	return execOne(ctx, q.q, fmt.Sprintf("edit comment %d", id),
		"UPDATE comments SET comment = ?, edited = CURRENT_TIMESTAMP WHERE id = ?", text, id)
}

// GetComment returns one comment or ErrNotFound.
func (q *Queries) GetComment(ctx context.Context, id int64) (Comment, error) {
	c, err := scanComment(q.q.QueryRowContext(ctx, "SELECT "+commentSelect+" FROM comments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, fmt.Errorf("comment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Comment{}, fmt.Errorf("get comment %d: %w", id, err)
	}
	return c, nil
}

// GetComments returns the comments with the given ids that exist.
func (q *Queries) GetComments(ctx context.Context, ids []int64) ([]Comment, error) {
	in, args := inClause(ids)
	out, err := queryList(ctx, q.q, scanComment, "SELECT "+commentSelect+" FROM comments WHERE id IN ("+in+")"+commentOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("get comments: %w", err)
	}
	return out, nil
}

// ListComments lists all comments, newest first.
func (q *Queries) ListComments(ctx context.Context, p Page) ([]Comment, error) {
	out, err := queryList(ctx, q.q, scanComment, "SELECT "+commentSelect+" FROM comments"+commentOrder+p.clause())
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return out, nil
}

// ListCommentsByMediaFile lists a media file's comments, newest first.
func (q *Queries) ListCommentsByMediaFile(ctx context.Context, mediaFileID string, p Page) ([]Comment, error) {
	out, err := queryList(ctx, q.q, scanComment,
		"SELECT "+commentSelect+" FROM comments WHERE media_file_id = ?"+commentOrder+p.clause(), mediaFileID)
	if err != nil {
		return nil, fmt.Errorf("list comments on %s: %w", mediaFileID, err)
	}
	return out, nil
}

// ListCommentsByUser lists a user's comments, newest first.
func (q *Queries) ListCommentsByUser(ctx context.Context, userID string, p Page) ([]Comment, error) {
	out, err := queryList(ctx, q.q, scanComment,
		"SELECT "+commentSelect+" FROM comments WHERE user_id = ?"+commentOrder+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list comments of %q: %w", userID, err)
	}
	return out, nil
}

// CountReplies counts the direct replies to a comment.
func (q *Queries) CountReplies(ctx context.Context, id int64) (int, error) {
	var n int
	if err := q.q.QueryRowContext(ctx, "SELECT count(*) FROM comments WHERE parent_id = ?", id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count replies to comment %d: %w", id, err)
	}
	return n, nil
}

// DeleteComment deletes a comment (replies cascade; callers refuse to
// delete a comment that has replies, as Clapshot does).
func (q *Queries) DeleteComment(ctx context.Context, id int64) error {
	return execOne(ctx, q.q, fmt.Sprintf("delete comment %d", id), "DELETE FROM comments WHERE id = ?", id)
}

// ChangeCounters are counters that move on every write to media files and
// subtitles (Media) or comments (Comments), by anyone: triggers of our
// migration 20261121200100 maintain them. A cache of something read from
// those tables is valid while the counter it was read under is unchanged.
type ChangeCounters struct {
	Media, Comments int64
}

// ReadChangeCounters reads the change counters.
func (q *Queries) ReadChangeCounters(ctx context.Context) (ChangeCounters, error) {
	var c ChangeCounters
	err := q.q.QueryRowContext(ctx, `SELECT (SELECT n FROM review_change_counters WHERE name = 'media'),
		(SELECT n FROM review_change_counters WHERE name = 'comments')`).Scan(&c.Media, &c.Comments)
	if err != nil {
		return c, fmt.Errorf("read change counters: %w", err)
	}
	return c, nil
}

// MediaChangedSince lists the media files written (the row, or one of its
// subtitles) after the 'media' change counter was n, deleted ones included.
func (q *Queries) MediaChangedSince(ctx context.Context, n int64) ([]string, error) {
	rows, err := q.q.QueryContext(ctx, "SELECT media_file_id FROM review_media_changes WHERE n > ?", n)
	if err != nil {
		return nil, fmt.Errorf("read media changes: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read media changes: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
