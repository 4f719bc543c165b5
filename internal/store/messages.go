package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Message event names as stored in messages.event_name.
const (
	EventOK               = "ok"
	EventError            = "error"
	EventProgress         = "progress"
	EventMediaFileUpdated = "media_file_updated"
	EventMediaFileAdded   = "media_file_added"
)

// Message is a row of messages: a persisted notification to a user.
type Message struct {
	ID          int64
	UserID      string
	Created     time.Time
	Seen        bool
	MediaFileID *string
	CommentID   *int64
	EventName   string
	Message     string
	Details     string
	SubtitleID  *int64
}

const messageCols = "id, user_id, created, seen, media_file_id, comment_id, event_name, message, details, subtitle_id"

const messageOrder = " ORDER BY created DESC, id ASC"

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	err := sc.Scan(&m.ID, &m.UserID, reqTimeScanner{&m.Created}, &m.Seen, &m.MediaFileID, &m.CommentID,
		&m.EventName, &m.Message, &m.Details, &m.SubtitleID)
	return m, err
}

// InsertMessage stores a message and returns it with its id and time. A
// zero Created means now.
func (q *Queries) InsertMessage(ctx context.Context, m Message) (Message, error) {
	created := any(nil)
	if !m.Created.IsZero() {
		created = dbTime(m.Created)
	}
	id, err := insertID(ctx, q.q, `INSERT INTO messages (user_id, created, seen, media_file_id, comment_id,
		event_name, message, details, subtitle_id) VALUES (?, COALESCE(?, CURRENT_TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)`,
		m.UserID, created, m.Seen, m.MediaFileID, m.CommentID, m.EventName, m.Message, m.Details, m.SubtitleID)
	if err != nil {
		return Message{}, fmt.Errorf("insert message for %q: %w", m.UserID, err)
	}
	return q.GetMessage(ctx, id)
}

// UpdateMessage replaces every column but the id.
func (q *Queries) UpdateMessage(ctx context.Context, m Message) error {
	return execOne(ctx, q.q, fmt.Sprintf("update message %d", m.ID), `UPDATE messages SET user_id = ?, created = ?,
		seen = ?, media_file_id = ?, comment_id = ?, event_name = ?, message = ?, details = ?, subtitle_id = ? WHERE id = ?`,
		m.UserID, dbTime(m.Created), m.Seen, m.MediaFileID, m.CommentID, m.EventName, m.Message, m.Details,
		m.SubtitleID, m.ID)
}

// GetMessage returns one message or ErrNotFound.
func (q *Queries) GetMessage(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(q.q.QueryRowContext(ctx, "SELECT "+messageCols+" FROM messages WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("get message %d: %w", id, err)
	}
	return m, nil
}

// GetMessages returns the messages with the given ids that exist.
func (q *Queries) GetMessages(ctx context.Context, ids []int64) ([]Message, error) {
	in, args := inClause(ids)
	out, err := queryList(ctx, q.q, scanMessage, "SELECT "+messageCols+" FROM messages WHERE id IN ("+in+")"+messageOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("get messages: %w", err)
	}
	return out, nil
}

// ListMessages lists all messages, newest first.
func (q *Queries) ListMessages(ctx context.Context, p Page) ([]Message, error) {
	out, err := queryList(ctx, q.q, scanMessage, "SELECT "+messageCols+" FROM messages"+messageOrder+p.clause())
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// ListMessagesByUser lists a user's messages, newest first.
func (q *Queries) ListMessagesByUser(ctx context.Context, userID string, p Page) ([]Message, error) {
	out, err := queryList(ctx, q.q, scanMessage, "SELECT "+messageCols+" FROM messages WHERE user_id = ?"+messageOrder+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", userID, err)
	}
	return out, nil
}

// ListMessagesByMediaFile lists messages about a media file, newest first.
func (q *Queries) ListMessagesByMediaFile(ctx context.Context, mediaFileID string, p Page) ([]Message, error) {
	out, err := queryList(ctx, q.q, scanMessage, "SELECT "+messageCols+" FROM messages WHERE media_file_id = ?"+messageOrder+p.clause(), mediaFileID)
	if err != nil {
		return nil, fmt.Errorf("list messages about %s: %w", mediaFileID, err)
	}
	return out, nil
}

// ListMessagesByComment lists messages about a comment, newest first.
func (q *Queries) ListMessagesByComment(ctx context.Context, commentID int64, p Page) ([]Message, error) {
	out, err := queryList(ctx, q.q, scanMessage, "SELECT "+messageCols+" FROM messages WHERE comment_id = ?"+messageOrder+p.clause(), commentID)
	if err != nil {
		return nil, fmt.Errorf("list messages about comment %d: %w", commentID, err)
	}
	return out, nil
}

// MarkMessagesSeen marks all of a user's messages seen.
func (q *Queries) MarkMessagesSeen(ctx context.Context, userID string) error {
	if _, err := q.q.ExecContext(ctx, "UPDATE messages SET seen = ? WHERE user_id = ? AND seen = ?", true, userID, false); err != nil {
		return fmt.Errorf("mark messages of %q seen: %w", userID, err)
	}
	return nil
}

// SetMessageSeen sets one message's seen flag.
func (q *Queries) SetMessageSeen(ctx context.Context, id int64, seen bool) error {
	return execOne(ctx, q.q, fmt.Sprintf("set message %d seen", id), "UPDATE messages SET seen = ? WHERE id = ?", seen, id)
}

// DeleteMessage deletes one message.
func (q *Queries) DeleteMessage(ctx context.Context, id int64) error {
	return execOne(ctx, q.q, fmt.Sprintf("delete message %d", id), "DELETE FROM messages WHERE id = ?", id)
}
