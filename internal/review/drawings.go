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
	"sync"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
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

// drawingCache keeps drawings as data URLs. Drawing files are named by
// their content's hash and never change, so an entry never goes stale; the
// cache is cleared when it outgrows its budget.
type drawingCache struct {
	mu    sync.Mutex
	m     map[string]string // "<media id>/<file name>" -> data URL
	bytes int
	max   int
}

func (c *drawingCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[key]
	return u, ok
}

func (c *drawingCache) put(key, url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(url) > c.max {
		clear(c.m)
		c.bytes = 0
	}
	c.m[key] = url
	c.bytes += len(url)
}

// drawingURL is a stored drawing as the data URL the client shows: base64
// without padding, as Clapshot's fetch_drawing_data_into_comment. Names
// that are not drawing file names are never read (they could point
// anywhere).
func (h *Hub) drawingURL(mediaFileID, name string) (string, error) {
	if !drawingName.MatchString(name) {
		return "", fmt.Errorf("%q is not a drawing file name", name)
	}
	key := mediaFileID + "/" + name
	if u, ok := h.drawings.get(key); ok {
		return u, nil
	}
	img, err := os.ReadFile(filepath.Join(h.videosDir, mediaFileID, "drawings", name))
	if err != nil {
		return "", err
	}
	u := "data:image/webp;base64," + base64.RawStdEncoding.EncodeToString(img)
	h.drawings.put(key, u)
	return u, nil
}

// inlineDrawings replaces the stored drawing file names of comments by
// their images, reading missing ones in parallel. A missing file keeps the
// name and marks the comment text, as in Clapshot; empty drawings and
// legacy data: URLs pass through.
func (h *Hub) inlineDrawings(cs []*pb.Comment) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, c := range cs {
		d := c.GetDrawing()
		if d == "" || strings.HasPrefix(d, "data:") {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			u, err := h.drawingURL(c.MediaFileId, d)
			if err != nil {
				h.log.Warn("Drawing file missing", "media_file", c.MediaFileId, "comment", c.Id, "err", err)
				c.Comment += " [DRAWING NOT FOUND]"
				return
			}
			c.Drawing = &u
		}()
	}
	wg.Wait()
}
