package review

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"sync"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// MaxDrawingBytes is the largest drawing image accepted (decoded). A
// full-HD WebP drawing is a few hundred kilobytes.
const MaxDrawingBytes = 8 << 20

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
// without padding, as Clapshot's fetch_drawing_data_into_comment.
func (h *Hub) drawingURL(ctx context.Context, mediaFileID, name string) (string, error) {
	key := mediaFileID + "/" + name
	if u, ok := h.drawings.get(key); ok {
		return u, nil
	}
	img, err := h.media.ReadDrawing(ctx, mediaFileID, name)
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
func (h *Hub) inlineDrawings(ctx context.Context, cs []*pb.Comment) {
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
			u, err := h.drawingURL(ctx, c.MediaFileId, d)
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
