package mediadir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Files stores the files of the media directory that the review side
// writes and reads (drawings, subtitles), by key: a slash-separated name
// relative to the data directory, such as "videos/<id>/drawings/<n>.webp".
// Local keeps them in the data directory; an object store can implement
// the same four calls. Keys are checked by the implementation: one that is
// absolute or has "." or ".." parts is refused with ErrBadKey.
type Files interface {
	// Exists reports whether key is a file, or (as a prefix) holds files.
	Exists(ctx context.Context, key string) (bool, error)
	// Read returns a file's contents; a missing one is fs.ErrNotExist.
	Read(ctx context.Context, key string) ([]byte, error)
	// Write creates or replaces a file atomically: readers see the old
	// contents or the new, never a part.
	Write(ctx context.Context, key string, data []byte) error
	// Remove deletes a file; a missing one is not an error.
	Remove(ctx context.Context, key string) error
}

// ErrBadKey is a key that could lead out of the media directory.
var ErrBadKey = errors.New("invalid media directory key")

// checkKey refuses keys that are not a clean relative path.
func checkKey(key string) error {
	if key == "" || path.IsAbs(key) || strings.ContainsRune(key, 0) || path.Clean(key) != key ||
		key == ".." || strings.HasPrefix(key, "../") {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return nil
}

// Local is Files on the local file system, below Root (the data
// directory).
type Local struct {
	Root string
}

func (l Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Root, filepath.FromSlash(key)), nil
}

// Exists implements Files.
func (l Local) Exists(_ context.Context, key string) (bool, error) {
	p, err := l.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// Read implements Files.
func (l Local) Read(_ context.Context, key string) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Write implements Files: a temporary file in the same directory, renamed
// over the target.
func (l Local) Write(_ context.Context, key string, data []byte) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".write-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp makes the file 0600; media files are served (or
		// read by a reverse proxy) like the rest of the directory.
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Remove implements Files.
func (l Local) Remove(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

var _ Files = Local{}
