package mediadir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/objstore"
	"github.com/clapshot-go/clapshot/internal/store"
)

// TrashResult describes a trashed media file.
type TrashResult struct {
	// Media is the deleted row.
	Media store.MediaFile
	// Dir is videos/trash/<id>_<time>, "" if the move failed.
	Dir string
	// Warnings are the cleanup steps that failed after the row was
	// deleted (Clapshot: "WARNING: ..."); the deletion itself stands.
	Warnings []string
}

// Details is Clapshot's text for the "... deleted." message: who added the
// file and when, its name, and any cleanup warnings.
func (r TrashResult) Details() string {
	name := ""
	if r.Media.OrigFilename != nil {
		name = *r.Media.OrigFilename
	}
	s := fmt.Sprintf("Added by '%s' on %s. Filename was %s.", r.Media.UserID, chronoDisplay(r.Media.AddedTime), name)
	for _, w := range r.Warnings {
		s += " WARNING: " + w + "."
	}
	return s
}

// MediaRows are the media file rows trashing reads and deletes; the
// SQLite store implements them.
type MediaRows interface {
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	// DeleteMediaFile deletes a row; its comments, subtitles and jobs
	// cascade. A missing row is store.ErrNotFound.
	DeleteMediaFile(ctx context.Context, id string) error
}

// BackupFile is the name of the row backup written before trashing.
const BackupFile = "db_backup.json"

// Trash deletes media file id: its row (comments, subtitles and jobs
// cascade), after writing the row to videos/<id>/db_backup.json, and moves
// videos/<id> to videos/trash/<id>_<UTC time>. Authorization is the
// caller's business. A missing row is store.ErrNotFound and changes
// nothing; failures after the row is gone are returned as warnings.
func Trash(ctx context.Context, db MediaRows, l Layout, id string, now time.Time) (TrashResult, error) {
	if !safeName(id) {
		return TrashResult{}, fmt.Errorf("trash media file %q: invalid id", id)
	}
	m, err := db.GetMediaFile(ctx, id)
	if err != nil {
		return TrashResult{}, err
	}
	res := TrashResult{Media: m}
	dir := l.MediaDir(id)
	backupErr := WriteBackup(filepath.Join(dir, BackupFile), m)
	if err := db.DeleteMediaFile(ctx, id); err != nil {
		if backupErr == nil {
			os.Remove(filepath.Join(dir, BackupFile))
		}
		return TrashResult{}, fmt.Errorf("trash media file %s: %w", id, err)
	}
	if backupErr != nil {
		res.Warnings = append(res.Warnings, "DB row backup failed: "+backupErr.Error())
	}
	moved, err := MoveToTrash(l, dir, id, now)
	if err != nil {
		res.Warnings = append(res.Warnings, "Move to trash failed: "+err.Error())
	}
	res.Dir = moved
	return res, nil
}

// MoveToTrash moves dir to videos/trash/<name>_<YYYYmmdd-HHMMSS> (UTC),
// adding a counter if that exists already, and returns the new path.
func MoveToTrash(l Layout, dir, name string, now time.Time) (string, error) {
	if err := os.MkdirAll(l.Trash(), 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(l.Trash(), name+"_"+now.UTC().Format("20060102-150405"))
	dst := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = base + "-" + strconv.Itoa(i)
	}
	if err := os.Rename(dir, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// WriteBackup writes m as Clapshot's db_backup.json: serde's pretty JSON
// of its MediaFile model, keys in the model's order, added_time as Unix
// seconds and the other times in chrono's "YYYY-MM-DDTHH:MM:SS[.f]".
func WriteBackup(path string, m store.MediaFile) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	field := func(key string, v any, last bool) {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false) // serde_json does not escape <, > and &
		enc := []byte("null")
		if err := e.Encode(v); err == nil {
			enc = bytes.TrimSpace(buf.Bytes())
		}
		if raw, ok := v.(json.RawMessage); ok {
			enc = raw
		}
		fmt.Fprintf(&b, "  %q: %s", key, enc)
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	timeOrNull := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return chronoSerde(*t)
	}
	duration := json.RawMessage("null")
	if m.Duration != nil {
		duration = json.RawMessage(serdeF32(*m.Duration))
	}
	field("id", m.ID, false)
	field("user_id", m.UserID, false)
	field("media_type", m.MediaType, false)
	field("added_time", m.AddedTime.Unix(), false)
	field("recompression_done", timeOrNull(m.RecompressionDone), false)
	field("thumbs_done", timeOrNull(m.ThumbsDone), false)
	field("has_thumbnail", m.HasThumbnail, false)
	field("thumb_sheet_cols", m.ThumbSheetCols, false)
	field("thumb_sheet_rows", m.ThumbSheetRows, false)
	field("orig_filename", m.OrigFilename, false)
	field("title", m.Title, false)
	field("total_frames", m.TotalFrames, false)
	field("duration", duration, false)
	field("fps", m.FPS, false)
	field("raw_metadata_all", m.RawMetadataAll, false)
	field("default_subtitle_id", m.DefaultSubtitleID, true)
	b.WriteString("}")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// chronoFraction formats nanoseconds as chrono does: nothing, or 3, 6 or
// 9 digits.
func chronoFraction(ns int) string {
	switch {
	case ns == 0:
		return ""
	case ns%1_000_000 == 0:
		return fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		return fmt.Sprintf(".%06d", ns/1_000)
	}
	return fmt.Sprintf(".%09d", ns)
}

func chronoSerde(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + chronoFraction(t.Nanosecond())
}

func chronoDisplay(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02 15:04:05") + chronoFraction(t.Nanosecond())
}

// serdeF32 formats a duration as serde_json writes an f32: the shortest
// representation, with ".0" on whole numbers.
func serdeF32(f float64) string {
	s := strconv.FormatFloat(float64(float32(f)), 'f', -1, 32)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// safeName accepts one path component that is not special.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && s != "trash" && !strings.ContainsAny(s, "/\\\x00")
}

// PurgeTrash removes trash entries older than retention (by the time in
// their name, else their modification time) and returns what it removed.
func PurgeTrash(l Layout, retention time.Duration, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(l.Trash())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		p := filepath.Join(l.Trash(), e.Name())
		when, ok := trashTime(e.Name())
		if !ok {
			info, err := e.Info()
			if err != nil {
				continue
			}
			when = info.ModTime()
		}
		if now.Sub(when) < retention {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// trashTime reads the UTC time from "<id>_<YYYYmmdd-HHMMSS>[-n]".
func trashTime(name string) (time.Time, bool) {
	i := strings.LastIndex(name, "_")
	if i < 0 {
		return time.Time{}, false
	}
	stamp := name[i+1:]
	if len(stamp) > 15 {
		stamp = stamp[:15]
	}
	t, err := time.Parse("20060102-150405", stamp)
	return t, err == nil
}

// Trasher trashes media files of one data directory; the websocket API's
// delMediaFile and the organizer use it.
type Trasher struct {
	DB     MediaRows
	Layout Layout
	// Objects, if set, is the object store the media files are in: their
	// objects move to videos/trash/<id>_<time>/ too.
	Objects *objstore.Store
}

// TrashMediaFile trashes a media file now (see Trash) and returns the
// cleanup warnings.
func (t *Trasher) TrashMediaFile(ctx context.Context, mediaFileID string) ([]string, error) {
	now := time.Now()
	res, err := Trash(ctx, t.DB, t.Layout, mediaFileID, now)
	if err != nil || t.Objects == nil {
		return res.Warnings, err
	}
	name := mediaFileID + "_" + now.UTC().Format("20060102-150405")
	if res.Dir != "" {
		name = filepath.Base(res.Dir)
	}
	ctx = context.WithoutCancel(ctx)
	to := key("trash", name)
	if _, err := t.Objects.MovePrefix(ctx, key(mediaFileID), to); err != nil {
		res.Warnings = append(res.Warnings, "Move to trash in the media store failed: "+err.Error())
	}
	if res.Dir != "" {
		if err := t.Objects.Upload(ctx, to+"/"+BackupFile, filepath.Join(res.Dir, BackupFile), "application/json"); err != nil {
			res.Warnings = append(res.Warnings, "DB row backup to the media store failed: "+err.Error())
		}
	}
	return res.Warnings, nil
}

// PurgeObjectTrash removes trash entries in the object store older than
// retention (by the time in their name) and returns what it removed.
func PurgeObjectTrash(ctx context.Context, st *objstore.Store, retention time.Duration, now time.Time) ([]string, error) {
	keys, err := st.List(ctx, key("trash"))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	seen := map[string]bool{}
	for _, k := range keys {
		entry, _, ok := strings.Cut(strings.TrimPrefix(k, key("trash")+"/"), "/")
		if !ok || seen[entry] {
			continue
		}
		seen[entry] = true
		if when, ok := trashTime(entry); !ok || now.Sub(when) < retention {
			continue
		}
		if err := st.RemovePrefix(ctx, key("trash", entry)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, st.Object(key("trash", entry)))
	}
	return removed, errors.Join(errs...)
}
