package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Subtitle is a row of subtitles. Filename is the WebVTT file under
// videos/<id>/subs/, or nil when the original is already WebVTT.
type Subtitle struct {
	ID           int64
	MediaFileID  string
	Title        string
	LanguageCode string
	Filename     *string
	OrigFilename string
	AddedTime    time.Time
	TimeOffset   float64
}

const subtitleCols = "id, media_file_id, title, language_code, filename, orig_filename, added_time, time_offset"

const subtitleOrder = " ORDER BY added_time DESC, id ASC"

func scanSubtitle(sc interface{ Scan(...any) error }) (Subtitle, error) {
	var s Subtitle
	var lang sql.NullString
	err := sc.Scan(&s.ID, &s.MediaFileID, &s.Title, &lang, &s.Filename, &s.OrigFilename,
		reqTimeScanner{&s.AddedTime}, &s.TimeOffset)
	s.LanguageCode = lang.String
	return s, err
}

// InsertSubtitle stores a subtitle and returns it with id and time. A zero
// AddedTime means now.
func (q *Queries) InsertSubtitle(ctx context.Context, s Subtitle) (Subtitle, error) {
	added := any(nil)
	if !s.AddedTime.IsZero() {
		added = dbTime(s.AddedTime)
	}
	id, err := insertID(ctx, q.q, `INSERT INTO subtitles (media_file_id, title, language_code, filename,
		orig_filename, added_time, time_offset) VALUES (?, ?, ?, ?, ?, COALESCE(?, CURRENT_TIMESTAMP), ?)`,
		s.MediaFileID, s.Title, s.LanguageCode, s.Filename, s.OrigFilename, added, s.TimeOffset)
	if err != nil {
		return Subtitle{}, fmt.Errorf("insert subtitle for %s: %w", s.MediaFileID, err)
	}
	return q.GetSubtitle(ctx, id)
}

// UpdateSubtitle replaces every column but the id.
func (q *Queries) UpdateSubtitle(ctx context.Context, s Subtitle) error {
	return execOne(ctx, q.q, fmt.Sprintf("update subtitle %d", s.ID), `UPDATE subtitles SET media_file_id = ?,
		title = ?, language_code = ?, filename = ?, orig_filename = ?, added_time = ?, time_offset = ? WHERE id = ?`,
		s.MediaFileID, s.Title, s.LanguageCode, s.Filename, s.OrigFilename, dbTime(s.AddedTime), s.TimeOffset, s.ID)
}

// GetSubtitle returns one subtitle or ErrNotFound.
func (q *Queries) GetSubtitle(ctx context.Context, id int64) (Subtitle, error) {
	s, err := scanSubtitle(q.q.QueryRowContext(ctx, "SELECT "+subtitleCols+" FROM subtitles WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subtitle{}, fmt.Errorf("subtitle %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Subtitle{}, fmt.Errorf("get subtitle %d: %w", id, err)
	}
	return s, nil
}

// GetSubtitles returns the subtitles with the given ids that exist.
func (q *Queries) GetSubtitles(ctx context.Context, ids []int64) ([]Subtitle, error) {
	in, args := inClause(ids)
	out, err := queryList(ctx, q.q, scanSubtitle, "SELECT "+subtitleCols+" FROM subtitles WHERE id IN ("+in+")"+subtitleOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("get subtitles: %w", err)
	}
	return out, nil
}

// ListSubtitlesByMediaFile lists a media file's subtitles, newest first.
func (q *Queries) ListSubtitlesByMediaFile(ctx context.Context, mediaFileID string) ([]Subtitle, error) {
	out, err := queryList(ctx, q.q, scanSubtitle, "SELECT "+subtitleCols+" FROM subtitles WHERE media_file_id = ?"+subtitleOrder, mediaFileID)
	if err != nil {
		return nil, fmt.Errorf("list subtitles of %s: %w", mediaFileID, err)
	}
	return out, nil
}

// ListSubtitlesByMediaFiles returns the subtitles of many media files at
// once, keyed by media file id (one query for a whole folder listing).
func (q *Queries) ListSubtitlesByMediaFiles(ctx context.Context, mediaFileIDs []string) (map[string][]Subtitle, error) {
	in, args := inClause(mediaFileIDs)
	list, err := queryList(ctx, q.q, scanSubtitle, "SELECT "+subtitleCols+" FROM subtitles WHERE media_file_id IN ("+in+")"+subtitleOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("list subtitles: %w", err)
	}
	out := make(map[string][]Subtitle, len(mediaFileIDs))
	for _, s := range list {
		out[s.MediaFileID] = append(out[s.MediaFileID], s)
	}
	return out, nil
}

// ListSubtitlesOfUsersMedia returns the subtitles of all of a user's media
// files, keyed by media file id (one query for the home page, however many
// files the user has).
func (q *Queries) ListSubtitlesOfUsersMedia(ctx context.Context, userID string) (map[string][]Subtitle, error) {
	list, err := queryList(ctx, q.q, scanSubtitle, "SELECT "+subtitleCols+
		" FROM subtitles WHERE media_file_id IN (SELECT id FROM media_files WHERE user_id = ?)"+subtitleOrder, userID)
	if err != nil {
		return nil, fmt.Errorf("list subtitles of %q's media: %w", userID, err)
	}
	return byMediaFile(list), nil
}

func byMediaFile(list []Subtitle) map[string][]Subtitle {
	out := map[string][]Subtitle{}
	for _, s := range list {
		out[s.MediaFileID] = append(out[s.MediaFileID], s)
	}
	return out
}

// DeleteSubtitle deletes a subtitle. Comments keep its file name (trigger),
// and a media file's default_subtitle_id is cleared (ON DELETE SET NULL).
func (q *Queries) DeleteSubtitle(ctx context.Context, id int64) error {
	return execOne(ctx, q.q, fmt.Sprintf("delete subtitle %d", id), "DELETE FROM subtitles WHERE id = ?", id)
}

// ListSubtitlesOfMedia lists the subtitles of the given media files, by
// media file id.
func (q *Queries) ListSubtitlesOfMedia(ctx context.Context, ids []string) (map[string][]Subtitle, error) {
	in, args := inClause(ids)
	list, err := queryList(ctx, q.q, scanSubtitle, "SELECT "+subtitleCols+" FROM subtitles WHERE media_file_id IN ("+in+")"+subtitleOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("list subtitles: %w", err)
	}
	return byMediaFile(list), nil
}
