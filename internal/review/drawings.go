package review

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
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
