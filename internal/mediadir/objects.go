package mediadir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/clapshot-go/clapshot/internal/objstore"
)

// Objects is Files in an S3-compatible object store (--media-url): the
// same keys, as object names below the store's prefix. A PUT replaces an
// object atomically, as Files.Write requires.
type Objects struct {
	Store *objstore.Store
}

// Exists implements Files.
func (o Objects) Exists(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return o.Store.Exists(ctx, key)
}

// Read implements Files.
func (o Objects) Read(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	b, err := o.Store.Read(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return b, err
}

// Write implements Files.
func (o Objects) Write(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return o.Store.Write(ctx, key, data, ContentType(path.Ext(key)))
}

// Remove implements Files.
func (o Objects) Remove(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return o.Store.Remove(ctx, key)
}

var _ Files = Objects{}

// contentTypes are the content types of the files under videos/ by
// extension (lower case).
var contentTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
	".mkv": "video/x-matroska", ".ts": "video/mp2t", ".avi": "video/x-msvideo", ".mxf": "application/mxf",
	".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg", ".m4a": "audio/mp4",
	".opus": "audio/ogg", ".aac": "audio/aac",
	".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".vtt": "text/vtt; charset=utf-8", ".srt": "text/plain; charset=utf-8", ".ass": "text/plain; charset=utf-8",
	".ssa": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".json": "application/json",
	".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment", // adaptive ladders
}

// ContentType is the type a media file with extension ext (".mp4") is
// served as: application/octet-stream for anything unknown (never
// sniffed, so an uploaded file cannot be made to run as a page).
func ContentType(ext string) string {
	if ct, ok := contentTypes[lower(ext)]; ok {
		return ct
	}
	return "application/octet-stream"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
