package mediadir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Dir is the media directory as the review side uses it: the drawings and
// subtitle files of media files, kept in Files. Callers never build a key
// or path themselves.
type Dir struct {
	Files Files
}

// New is the media directory of a data directory on the local disk.
func New(dataDir string) *Dir { return &Dir{Files: Local{Root: dataDir}} }

// ErrNoMedia is a media file whose directory does not exist.
var ErrNoMedia = errors.New("media file directory not found")

// HasMedia reports whether media file id has a directory (files).
func (d *Dir) HasMedia(ctx context.Context, mediaID string) (bool, error) {
	if !safeName(mediaID) {
		return false, nil
	}
	return d.Files.Exists(ctx, key(mediaID))
}

// fileName accepts a file name of one path component (a media id must
// also pass safeName, which keeps "trash" for the trash directory).
func fileName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// ---- drawings ----

// drawingName is how drawings are stored: the first 16 hex digits of the
// image's SHA-256, so identical images share one file.
var drawingName = regexp.MustCompile(`^[0-9a-f]{16}\.webp$`)

// IsDrawingName reports whether name is a stored drawing's file name.
// Other names (a comment's drawing field is also written by organizers)
// are never read: they could point anywhere.
func IsDrawingName(name string) bool { return drawingName.MatchString(name) }

// SaveDrawing stores a drawing (WebP image) of a media file and returns
// its file name, which the comment keeps.
func (d *Dir) SaveDrawing(ctx context.Context, mediaID string, img []byte) (string, error) {
	if !safeName(mediaID) {
		return "", fmt.Errorf("save drawing: invalid media file id %q", mediaID)
	}
	sum := sha256.Sum256(img)
	name := hex.EncodeToString(sum[:])[:16] + ".webp"
	k := key(mediaID, drawingsDir, name)
	if ok, err := d.Files.Exists(ctx, k); err == nil && ok {
		return name, nil // the same image is already there
	}
	if err := d.Files.Write(ctx, k, img); err != nil {
		return "", fmt.Errorf("write drawing: %w", err)
	}
	return name, nil
}

// ReadDrawing returns a stored drawing.
func (d *Dir) ReadDrawing(ctx context.Context, mediaID, name string) ([]byte, error) {
	if !IsDrawingName(name) {
		return nil, fmt.Errorf("%q is not a drawing file name", name)
	}
	if !safeName(mediaID) {
		return nil, fmt.Errorf("read drawing: invalid media file id %q", mediaID)
	}
	return d.Files.Read(ctx, key(mediaID, drawingsDir, name))
}

// ---- subtitles ----

// VTTName is the file name of the WebVTT conversion of subtitle file
// origName.
func VTTName(origName string) string {
	return strings.TrimSuffix(origName, path.Ext(origName)) + ".vtt"
}

// SubtitleExistsError is a new subtitle whose original (or, with WebVTT
// set, its conversion) already exists.
type SubtitleExistsError struct {
	Name   string
	WebVTT bool
}

func (e *SubtitleExistsError) Error() string {
	if e.WebVTT {
		return fmt.Sprintf("WebVTT file already exists: '%s'", e.Name)
	}
	return fmt.Sprintf("Subtitle file already exists: '%s'", e.Name)
}

// CheckNewSubtitle tells whether subtitle file origName can be added to a
// media file: ErrNoMedia without its directory, a *SubtitleExistsError if
// the name (or its conversion's) is taken.
func (d *Dir) CheckNewSubtitle(ctx context.Context, mediaID, origName string) error {
	if ok, err := d.HasMedia(ctx, mediaID); err != nil || !ok {
		return fmt.Errorf("%w: %s", ErrNoMedia, mediaID)
	}
	if !fileName(origName) {
		return fmt.Errorf("invalid subtitle file name %q", origName)
	}
	if ok, err := d.Files.Exists(ctx, key(mediaID, subsDir, origDir, origName)); err != nil {
		return err
	} else if ok {
		return &SubtitleExistsError{Name: origName}
	}
	vtt := VTTName(origName)
	if ok, err := d.Files.Exists(ctx, key(mediaID, subsDir, vtt)); err != nil {
		return err
	} else if ok {
		return &SubtitleExistsError{Name: vtt, WebVTT: true}
	}
	return nil
}

// SaveSubtitle writes an uploaded subtitle file and, unless vtt is nil
// (the original is WebVTT), its conversion. It returns the conversion's
// file name, nil without one. On failure nothing is left behind.
func (d *Dir) SaveSubtitle(ctx context.Context, mediaID, origName string, orig, vtt []byte) (*string, error) {
	if !safeName(mediaID) || !fileName(origName) {
		return nil, fmt.Errorf("save subtitle: invalid name %q of media file %q", origName, mediaID)
	}
	origKey := key(mediaID, subsDir, origDir, origName)
	if err := d.Files.Write(ctx, origKey, orig); err != nil {
		return nil, err
	}
	if vtt == nil {
		return nil, nil
	}
	name := VTTName(origName)
	if err := d.Files.Write(ctx, key(mediaID, subsDir, name), vtt); err != nil {
		_ = d.Files.Remove(context.WithoutCancel(ctx), origKey)
		return nil, err
	}
	return &name, nil
}

// RemoveSubtitle removes a subtitle's files (missing ones are fine). The
// names come from the database, which organizers also write: a name that
// leads out of the media file's subtitle directory is not followed but
// returned in skipped.
func (d *Dir) RemoveSubtitle(ctx context.Context, mediaID, origName string, vttName *string) (skipped []string, err error) {
	subs := key(mediaID, subsDir)
	keys := []string{path.Join(subs, origDir, origName)}
	if vttName != nil {
		keys = append(keys, path.Join(subs, *vttName))
	}
	for _, k := range keys {
		if !safeName(mediaID) || !strings.HasPrefix(k, subs+"/") {
			skipped = append(skipped, k)
			continue
		}
		if err := d.Files.Remove(ctx, k); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}
