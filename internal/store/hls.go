package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HLSLadder is a row of media_hls: a media file's finished adaptive
// ladder. Renditions is the pipeline's JSON description of it.
type HLSLadder struct {
	MediaFileID string
	Renditions  string
	Done        time.Time
}

// SetHLSLadder records a finished ladder, replacing an earlier one.
func (q *Queries) SetHLSLadder(ctx context.Context, l HLSLadder) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO media_hls (media_file_id, renditions, done) VALUES (?, ?, ?)
		ON CONFLICT (media_file_id) DO UPDATE SET renditions = excluded.renditions, done = excluded.done`,
		l.MediaFileID, l.Renditions, dbTime(l.Done))
	if err != nil {
		return fmt.Errorf("record the HLS ladder of %s: %w", l.MediaFileID, err)
	}
	return nil
}

// GetHLSLadder returns a media file's ladder, ErrNotFound when it has none.
func (q *Queries) GetHLSLadder(ctx context.Context, mediaFileID string) (HLSLadder, error) {
	l := HLSLadder{MediaFileID: mediaFileID}
	err := q.q.QueryRowContext(ctx, "SELECT renditions, done FROM media_hls WHERE media_file_id = ?", mediaFileID).
		Scan(&l.Renditions, reqTimeScanner{&l.Done})
	if errors.Is(err, sql.ErrNoRows) {
		return HLSLadder{}, fmt.Errorf("HLS ladder of %s: %w", mediaFileID, ErrNotFound)
	}
	if err != nil {
		return HLSLadder{}, fmt.Errorf("get the HLS ladder of %s: %w", mediaFileID, err)
	}
	return l, nil
}
