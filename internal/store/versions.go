package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version states (media_versions.state).
const (
	// VersionProcessing: being transcoded; the stack shows the version
	// before it meanwhile.
	VersionProcessing = "processing"
	VersionReady      = "ready"
	// VersionFailed: its transcode failed; it stays in the stack (nothing
	// is lost) but the stack shows the last good version.
	VersionFailed = "failed"
)

// ErrInStack is returned when a media file that is already a version is
// added to a stack.
var ErrInStack = errors.New("already a version in a stack")

// Version is a row of media_versions: a media file's place in its stack.
type Version struct {
	MediaFileID string
	StackID     string
	Version     int
	State       string
	Added       time.Time
}

// StackInfo is how a media file stands in its stack, for listings: the
// stack, its own number, how many versions there are and which one stands
// for the stack (the newest ready one, else the newest).
type StackInfo struct {
	StackID string
	Version int
	Count   int
	Head    string
}

const versionCols = "media_file_id, stack_id, version, state, added"

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var v Version
	err := sc.Scan(&v.MediaFileID, &v.StackID, &v.Version, &v.State, reqTimeScanner{&v.Added})
	return v, err
}

// AddVersion makes newID the newest version of targetID's stack, which is
// started (targetID as version 1) if targetID is in none. Run it in a
// transaction with the writes that depend on it.
func (q *Queries) AddVersion(ctx context.Context, targetID, newID, state string) (Version, error) {
	if _, err := q.GetVersion(ctx, newID); err == nil {
		return Version{}, fmt.Errorf("add %s as a version: %w", newID, ErrInStack)
	} else if !errors.Is(err, ErrNotFound) {
		return Version{}, err
	}
	target, err := q.GetVersion(ctx, targetID)
	if errors.Is(err, ErrNotFound) {
		target = Version{MediaFileID: targetID, StackID: targetID, Version: 1, State: VersionReady}
		if _, err := q.q.ExecContext(ctx, "INSERT INTO media_versions (media_file_id, stack_id, version, state) VALUES (?, ?, 1, ?)",
			targetID, targetID, VersionReady); err != nil {
			return Version{}, fmt.Errorf("start the version stack of %s: %w", targetID, err)
		}
	} else if err != nil {
		return Version{}, err
	}
	v := Version{MediaFileID: newID, StackID: target.StackID, State: state}
	err = q.q.QueryRowContext(ctx, `INSERT INTO media_versions (media_file_id, stack_id, version, state)
		SELECT ?, ?, COALESCE(MAX(version), 0) + 1, ? FROM media_versions WHERE stack_id = ?
		RETURNING version, added`, newID, target.StackID, state, target.StackID).Scan(&v.Version, reqTimeScanner{&v.Added})
	if err != nil {
		return Version{}, fmt.Errorf("add %s as a version of %s: %w", newID, targetID, err)
	}
	return v, nil
}

// GetVersion returns a media file's version row, ErrNotFound when it is in
// no stack.
func (q *Queries) GetVersion(ctx context.Context, mediaFileID string) (Version, error) {
	v, err := scanVersion(q.q.QueryRowContext(ctx, "SELECT "+versionCols+" FROM media_versions WHERE media_file_id = ?", mediaFileID))
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, fmt.Errorf("version of %s: %w", mediaFileID, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("get the version of %s: %w", mediaFileID, err)
	}
	return v, nil
}

// VersionStack lists the versions of the stack mediaFileID is in, oldest
// first; none when it is in no stack.
func (q *Queries) VersionStack(ctx context.Context, mediaFileID string) ([]Version, error) {
	out, err := queryList(ctx, q.q, scanVersion, "SELECT "+versionCols+` FROM media_versions
		WHERE stack_id = (SELECT stack_id FROM media_versions WHERE media_file_id = ?) ORDER BY version`, mediaFileID)
	if err != nil {
		return nil, fmt.Errorf("list the versions of %s: %w", mediaFileID, err)
	}
	return out, nil
}

// SetVersionState records a version's processing state; ErrNotFound when
// the media file is in no stack.
func (q *Queries) SetVersionState(ctx context.Context, mediaFileID, state string) error {
	return execOne(ctx, q.q, "set the version state of "+mediaFileID,
		"UPDATE media_versions SET state = ? WHERE media_file_id = ?", state, mediaFileID)
}

// stackInfoSelect computes StackInfo for the version rows v.
const stackInfoSelect = `SELECT v.media_file_id, v.stack_id, v.version,
	(SELECT count(*) FROM media_versions w WHERE w.stack_id = v.stack_id),
	(SELECT w.media_file_id FROM media_versions w WHERE w.stack_id = v.stack_id
		ORDER BY w.state = 'ready' DESC, w.version DESC LIMIT 1)
	FROM media_versions v`

func (q *Queries) stackInfos(ctx context.Context, where string, args ...any) (map[string]StackInfo, error) {
	rows, err := q.q.QueryContext(ctx, stackInfoSelect+" WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read version stacks: %w", err)
	}
	defer rows.Close()
	out := map[string]StackInfo{}
	for rows.Next() {
		var id string
		var s StackInfo
		if err := rows.Scan(&id, &s.StackID, &s.Version, &s.Count, &s.Head); err != nil {
			return nil, fmt.Errorf("read version stacks: %w", err)
		}
		out[id] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read version stacks: %w", err)
	}
	return out, nil
}

// StackInfos returns how each of the media files ids stands in its stack;
// files in no stack are not in the map.
func (q *Queries) StackInfos(ctx context.Context, ids []string) (map[string]StackInfo, error) {
	if len(ids) == 0 {
		return map[string]StackInfo{}, nil
	}
	in, args := inClause(ids)
	return q.stackInfos(ctx, "v.media_file_id IN ("+in+")", args...)
}

// StackInfosOfUser is StackInfos for all of a user's media files.
func (q *Queries) StackInfosOfUser(ctx context.Context, userID string) (map[string]StackInfo, error) {
	return q.stackInfos(ctx, "v.media_file_id IN (SELECT id FROM media_files WHERE user_id = ?)", userID)
}

// HiddenVersions are the media files among infos that listings leave out:
// the versions that do not stand for their stack.
func HiddenVersions(infos map[string]StackInfo) map[string]bool {
	out := map[string]bool{}
	for id, s := range infos {
		if s.Head != id {
			out[id] = true
		}
	}
	return out
}

// versionsOnly restricts a media file query to the files listings show:
// not in a stack, or standing for it. m is the alias of media_files.
func versionsOnly(m string) string {
	return strings.ReplaceAll(`NOT EXISTS (SELECT 1 FROM media_versions v WHERE v.media_file_id = M.id
		AND v.media_file_id <> (SELECT w.media_file_id FROM media_versions w WHERE w.stack_id = v.stack_id
			ORDER BY w.state = 'ready' DESC, w.version DESC LIMIT 1))`, "M.", m+".")
}

// ListStackHeads is ListMediaFiles with each version stack as one file,
// the version standing for it.
func (q *Queries) ListStackHeads(ctx context.Context, p Page) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+" FROM media_files m WHERE "+versionsOnly("m")+mediaOrder+p.clause())
	if err != nil {
		return nil, fmt.Errorf("list media files: %w", err)
	}
	return out, nil
}

// ListStackHeadsByUser is ListMediaFilesByUser with each version stack as
// one file.
func (q *Queries) ListStackHeadsByUser(ctx context.Context, userID string, p Page) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+" FROM media_files m WHERE user_id = ? AND "+versionsOnly("m")+mediaOrder+p.clause(), userID)
	if err != nil {
		return nil, fmt.Errorf("list media files of %q: %w", userID, err)
	}
	return out, nil
}
