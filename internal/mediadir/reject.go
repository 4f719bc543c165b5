package mediadir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Reject moves a file that could not be ingested to rejected/<name>, or to
// rejected/<id or a random id>/<name> when that name is taken (Clapshot's
// rule). A byte-identical copy already there makes the new one redundant,
// and only then is it removed. It returns where the file is now.
func Reject(l Layout, src, mediaID string) (string, error) {
	name := filepath.Base(src)
	if err := os.MkdirAll(l.Rejected(), 0o755); err != nil {
		return "", fmt.Errorf("reject %s: %w", name, err)
	}
	dst := filepath.Join(l.Rejected(), name)
	for attempt := 0; ; attempt++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			if err := moveFile(src, dst); err != nil {
				return "", fmt.Errorf("reject %s: %w", name, err)
			}
			return dst, nil
		}
		if same, _ := sameContent(src, dst); same {
			if err := os.Remove(src); err != nil {
				return "", fmt.Errorf("reject %s: %w", name, err)
			}
			return dst, nil
		}
		sub := mediaID
		if attempt > 0 || !safeName(sub) {
			sub = NewUUID()
		}
		if err := os.MkdirAll(filepath.Join(l.Rejected(), sub), 0o755); err != nil {
			return "", fmt.Errorf("reject %s: %w", name, err)
		}
		dst = filepath.Join(l.Rejected(), sub, name)
		if attempt > 10 {
			return "", fmt.Errorf("reject %s: no free name in %s", name, l.Rejected())
		}
	}
}

// moveFile renames, or copies and removes across file systems (an
// incoming/ folder mounted from elsewhere).
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil {
		return nil
	}
	var le *os.LinkError
	if !errors.As(err, &le) {
		return err
	}
	in, oerr := os.Open(src)
	if oerr != nil {
		return err
	}
	defer in.Close()
	out, cerr := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if cerr != nil {
		return err
	}
	if _, cerr = io.Copy(out, in); cerr == nil {
		cerr = out.Sync()
	}
	if cloErr := out.Close(); cerr == nil {
		cerr = cloErr
	}
	if cerr != nil {
		os.Remove(dst)
		return fmt.Errorf("%w (copy: %v)", err, cerr)
	}
	return os.Remove(src)
}

// MoveFile moves src to dst, across file systems if needed; dst must not
// exist.
func MoveFile(src, dst string) error { return moveFile(src, dst) }

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, _ := fa.Stat()
	sb, _ := fb.Stat()
	if sa == nil || sb == nil || sa.Size() != sb.Size() || !sb.Mode().IsRegular() {
		return false, nil
	}
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, _ := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea != nil {
			return true, nil
		}
	}
}

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
