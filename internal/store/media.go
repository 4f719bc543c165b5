package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MediaFile is a row of media_files. The id is Clapshot's 8-hex-digit media
// id; pointer fields are NULL-able columns.
type MediaFile struct {
	ID                string
	UserID            string
	AddedTime         time.Time
	RecompressionDone *time.Time
	OrigFilename      *string
	TotalFrames       *int64
	Duration          *float64
	FPS               *string
	RawMetadataAll    *string
	Title             *string
	ThumbSheetCols    *int64
	ThumbSheetRows    *int64
	MediaType         *string
	ThumbsDone        *time.Time
	HasThumbnail      *bool
	DefaultSubtitleID *int64
}

const mediaCols = `id, user_id, added_time, recompression_done, orig_filename, total_frames, duration, fps,
	raw_metadata_all, title, thumb_sheet_cols, thumb_sheet_rows, media_type, thumbs_done, has_thumbnail, default_subtitle_id`

// mediaSelect is mediaCols for SELECT (times as text, see textTimes).
var mediaSelect = textTimes(mediaCols, "added_time", "recompression_done", "thumbs_done")

// mediaOrder is Clapshot's listing order: newest first.
const mediaOrder = " ORDER BY added_time DESC, id ASC"

func scanMediaFile(sc interface{ Scan(...any) error }) (MediaFile, error) {
	var m MediaFile
	err := sc.Scan(&m.ID, &m.UserID, reqTimeScanner{&m.AddedTime}, timeScanner{&m.RecompressionDone},
		&m.OrigFilename, &m.TotalFrames, &m.Duration, &m.FPS, &m.RawMetadataAll, &m.Title,
		&m.ThumbSheetCols, &m.ThumbSheetRows, &m.MediaType, timeScanner{&m.ThumbsDone},
		&m.HasThumbnail, &m.DefaultSubtitleID)
	return m, err
}

// InsertMediaFile inserts a media file. A zero AddedTime means now.
func (q *Queries) InsertMediaFile(ctx context.Context, m MediaFile) error {
	added := any(nil)
	if !m.AddedTime.IsZero() {
		added = dbTime(m.AddedTime)
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO media_files (`+mediaCols+`)
		VALUES (?, ?, COALESCE(?, CURRENT_TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.UserID, added, dbTimePtr(m.RecompressionDone), m.OrigFilename, m.TotalFrames, m.Duration,
		m.FPS, m.RawMetadataAll, m.Title, m.ThumbSheetCols, m.ThumbSheetRows, m.MediaType,
		dbTimePtr(m.ThumbsDone), m.HasThumbnail, m.DefaultSubtitleID)
	if err != nil {
		return fmt.Errorf("insert media file %s: %w", m.ID, err)
	}
	return nil
}

// UpdateMediaFile replaces every column but the id.
func (q *Queries) UpdateMediaFile(ctx context.Context, m MediaFile) error {
	return execOne(ctx, q.q, "update media file "+m.ID, `UPDATE media_files SET user_id = ?, added_time = ?,
		recompression_done = ?, orig_filename = ?, total_frames = ?, duration = ?, fps = ?, raw_metadata_all = ?,
		title = ?, thumb_sheet_cols = ?, thumb_sheet_rows = ?, media_type = ?, thumbs_done = ?, has_thumbnail = ?,
		default_subtitle_id = ? WHERE id = ?`,
		m.UserID, dbTime(m.AddedTime), dbTimePtr(m.RecompressionDone), m.OrigFilename, m.TotalFrames, m.Duration,
		m.FPS, m.RawMetadataAll, m.Title, m.ThumbSheetCols, m.ThumbSheetRows, m.MediaType,
		dbTimePtr(m.ThumbsDone), m.HasThumbnail, m.DefaultSubtitleID, m.ID)
}

// GetMediaFile returns one media file or ErrNotFound.
func (q *Queries) GetMediaFile(ctx context.Context, id string) (MediaFile, error) {
	m, err := scanMediaFile(q.q.QueryRowContext(ctx, "SELECT "+mediaSelect+" FROM media_files WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return MediaFile{}, fmt.Errorf("media file %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return MediaFile{}, fmt.Errorf("get media file %s: %w", id, err)
	}
	return m, nil
}

// GetMediaFiles returns the media files with the given ids that exist,
// newest first.
func (q *Queries) GetMediaFiles(ctx context.Context, ids []string) ([]MediaFile, error) {
	in, args := inClause(ids)
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+" FROM media_files WHERE id IN ("+in+")"+mediaOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("get media files: %w", err)
	}
	return out, nil
}

// ListMediaFiles lists all media files, newest first.
func (q *Queries) ListMediaFiles(ctx context.Context, p Page) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+" FROM media_files"+mediaOrder+p.clause())
	if err != nil {
		return nil, fmt.Errorf("list media files: %w", err)
	}
	return out, nil
}

// mediaColsBrief is mediaCols without raw_metadata_all (often kilobytes per
// row), for listings that do not show it.
var mediaColsBrief = strings.Replace(mediaSelect, "raw_metadata_all", "NULL", 1)

// GetMediaFilesBrief is GetMediaFiles without the raw metadata.
func (q *Queries) GetMediaFilesBrief(ctx context.Context, ids []string) ([]MediaFile, error) {
	in, args := inClause(ids)
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaColsBrief+" FROM media_files WHERE id IN ("+in+")"+mediaOrder, args...)
	if err != nil {
		return nil, fmt.Errorf("get media files: %w", err)
	}
	return out, nil
}

// ListMediaFilesByUserBrief is ListMediaFilesByUser without the raw
// metadata (RawMetadataAll is nil).
func (q *Queries) ListMediaFilesByUserBrief(ctx context.Context, userID string, p Page) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaColsBrief+" FROM media_files WHERE user_id = ?"+mediaOrder+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list media files of %q: %w", userID, err)
	}
	return out, nil
}

// ListMediaFilesByUser lists one user's media files, newest first.
func (q *Queries) ListMediaFilesByUser(ctx context.Context, userID string, p Page) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+" FROM media_files WHERE user_id = ?"+mediaOrder+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list media files of %q: %w", userID, err)
	}
	return out, nil
}

// DeleteMediaFile deletes the row; comments and subtitles cascade.
func (q *Queries) DeleteMediaFile(ctx context.Context, id string) error {
	return execOne(ctx, q.q, "delete media file "+id, "DELETE FROM media_files WHERE id = ?", id)
}

// RenameMediaFile sets the title.
func (q *Queries) RenameMediaFile(ctx context.Context, id, title string) error {
	return execOne(ctx, q.q, "rename media file "+id, "UPDATE media_files SET title = ? WHERE id = ?", title, id)
}

// SetRecompressionDone marks the transcoded video.mp4 as ready (nil: not ready).
func (q *Queries) SetRecompressionDone(ctx context.Context, id string, at *time.Time) error {
	return execOne(ctx, q.q, "set recompression_done of "+id,
		"UPDATE media_files SET recompression_done = ? WHERE id = ?", dbTimePtr(at), id)
}

// SetThumbnails records the thumbnail state after the thumbnailer ran.
// cols and rows are nil when there is no sprite sheet.
func (q *Queries) SetThumbnails(ctx context.Context, id string, hasThumb bool, cols, rows *int64, done time.Time) error {
	return execOne(ctx, q.q, "set thumbnails of "+id,
		`UPDATE media_files SET has_thumbnail = ?, thumb_sheet_cols = ?, thumb_sheet_rows = ?, thumbs_done = ? WHERE id = ?`,
		hasThumb, cols, rows, dbTime(done), id)
}

// SetDefaultSubtitle sets or (with nil) clears the default subtitle.
func (q *Queries) SetDefaultSubtitle(ctx context.Context, id string, subtitleID *int64) error {
	return execOne(ctx, q.q, "set default subtitle of "+id,
		"UPDATE media_files SET default_subtitle_id = ? WHERE id = ?", subtitleID, id)
}

// SetThumbsDone records that the thumbnail step finished without images
// (audio files), leaving has_thumbnail as it is.
func (q *Queries) SetThumbsDone(ctx context.Context, id string, done time.Time) error {
	return execOne(ctx, q.q, "set thumbs_done of "+id, "UPDATE media_files SET thumbs_done = ? WHERE id = ?", dbTime(done), id)
}
