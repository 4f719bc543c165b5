package review

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// MaxDrawingBytes is the largest drawing image accepted (decoded). A
// full-HD WebP drawing is a few hundred kilobytes.
const MaxDrawingBytes = 8 << 20

// drawingName is how drawings are stored: the first 16 hex digits of the
// image's SHA-256, so identical images share one file.
var drawingName = regexp.MustCompile(`^[0-9a-f]{16}\.webp$`)

// parseDrawing decodes a "data:image/webp;base64,..." URL into image bytes.
func parseDrawing(dataURL string) ([]byte, error) {
	rest, ok := strings.CutPrefix(dataURL, "data:")
	if !ok {
		return nil, errors.New("drawing is not a data: URL")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, errors.New("invalid drawing data URL: no ',' before the data")
	}
	params := strings.Split(meta, ";")
	isBase64 := false
	if len(params) > 1 && strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
		isBase64 = true
		params = params[:len(params)-1]
	}
	mt, _, err := mime.ParseMediaType(strings.Join(params, ";"))
	if params[0] == "" {
		mt, err = "text/plain", nil // RFC 2397 default
	}
	if err != nil {
		return nil, fmt.Errorf("invalid drawing data URL: bad media type %q", params[0])
	}
	if mt != "image/webp" {
		return nil, fmt.Errorf("drawing must be image/webp, got %s", mt)
	}
	var img []byte
	if isBase64 {
		// Browsers pad; accept both padded and unpadded, and stray spaces
		// from URL-safe encoders that turned '+' into ' '.
		s := strings.TrimRight(strings.ReplaceAll(payload, " ", "+"), "=")
		if base64.RawStdEncoding.DecodedLen(len(s)) > MaxDrawingBytes {
			return nil, fmt.Errorf("drawing is too large (over %d MiB)", MaxDrawingBytes>>20)
		}
		img, err = base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("invalid drawing data URL: bad base64: %v", err)
		}
	} else {
		un, err := url.PathUnescape(payload)
		if err != nil {
			return nil, fmt.Errorf("invalid drawing data URL: %v", err)
		}
		img = []byte(un)
	}
	if len(img) > MaxDrawingBytes {
		return nil, fmt.Errorf("drawing is too large (over %d MiB)", MaxDrawingBytes>>20)
	}
	// RIFF....WEBP: the client's canvas.toDataURL("image/webp") always
	// writes this; anything else is not the image it claims to be.
	if len(img) < 12 || !bytes.Equal(img[0:4], []byte("RIFF")) || !bytes.Equal(img[8:12], []byte("WEBP")) {
		return nil, errors.New("drawing data is not a WebP image")
	}
	return img, nil
}

// saveDrawing stores a drawing of a media file and returns its file name.
func (h *Hub) saveDrawing(mediaFileID string, img []byte) (string, error) {
	sum := sha256.Sum256(img)
	name := hex.EncodeToString(sum[:])[:16] + ".webp"
	dir := filepath.Join(h.videosDir, mediaFileID, "drawings")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create drawings directory: %w", err)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return name, nil // the same image is already there
	}
	tmp, err := os.CreateTemp(dir, ".drawing-*")
	if err != nil {
		return "", fmt.Errorf("write drawing: %w", err)
	}
	_, err = tmp.Write(img)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write drawing: %w", err)
	}
	return name, nil
}

// inlineDrawing turns a stored drawing file name into the data URL the
// client shows, as Clapshot's fetch_drawing_data_into_comment: base64
// without padding; a missing file keeps the name and marks the comment
// text. Empty drawings and legacy data: URLs pass through. Names that are
// not drawing file names are never read (they could point anywhere).
func (h *Hub) inlineDrawing(mediaFileID string, drawing *string, text *string) {
	if drawing == nil || *drawing == "" || strings.HasPrefix(*drawing, "data:") {
		return
	}
	if !drawingName.MatchString(*drawing) {
		*text += " [DRAWING NOT FOUND]"
		return
	}
	img, err := os.ReadFile(filepath.Join(h.videosDir, mediaFileID, "drawings", *drawing))
	if err != nil {
		h.log.Warn("Drawing file missing", "media_file", mediaFileID, "drawing", *drawing, "err", err)
		*text += " [DRAWING NOT FOUND]"
		return
	}
	*drawing = "data:image/webp;base64," + base64.RawStdEncoding.EncodeToString(img)
}
