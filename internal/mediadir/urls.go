package mediadir

import "strings"

// URLs builds the public URLs of the files under <data dir>/videos, which
// the server (or a reverse proxy) serves at /videos/: the same names as
// Layout, with file names percent-encoded.
type URLs struct {
	// Base is --url-base without a trailing slash. Empty gives URLs
	// relative to the page ("videos/<id>/..."): both clients live at the
	// app's root path (state is in the query string), so these resolve
	// below whatever prefix a proxy serves the app under.
	Base string
}

// file is the URL of a file below videos/<mediaFileID>/; each part is one
// path segment, already escaped as needed. Media ids are not escaped, as
// in Clapshot.
func (u URLs) file(mediaFileID string, parts ...string) string {
	p := videosDir + "/" + mediaFileID + "/" + strings.Join(parts, "/")
	if u.Base == "" {
		return p
	}
	return u.Base + "/" + p
}

// Thumb is the poster image.
func (u URLs) Thumb(mediaFileID string) string { return u.file(mediaFileID, thumbsDir, posterName) }

// ThumbSheet is the sprite sheet of cols x rows thumbnails.
func (u URLs) ThumbSheet(mediaFileID string, cols, rows int64) string {
	return u.file(mediaFileID, thumbsDir, sheetName(cols, rows))
}

// Orig is the uploaded original.
func (u URLs) Orig(mediaFileID, origFilename string) string {
	return u.file(mediaFileID, origDir, EscapeComponent(origFilename))
}

// Transcoded is the transcoded video (a symlink to the current transcode).
func (u URLs) Transcoded(mediaFileID string) string { return u.file(mediaFileID, videoLink) }

// HLSMaster is the master playlist of the adaptive ladder.
func (u URLs) HLSMaster(mediaFileID string) string { return u.file(mediaFileID, hlsLink, HLSMaster) }

// SubtitleOrig is an uploaded subtitle file.
func (u URLs) SubtitleOrig(mediaFileID, origFilename string) string {
	return u.file(mediaFileID, subsDir, origDir, EscapeComponent(origFilename))
}

// SubtitleVTT is a converted WebVTT subtitle file.
func (u URLs) SubtitleVTT(mediaFileID, filename string) string {
	return u.file(mediaFileID, subsDir, EscapeComponent(filename))
}

// EscapeComponent percent-encodes everything but RFC 3986 unreserved
// characters, as Clapshot's urlencoding::encode does, so a file name with
// spaces, '#', '?' or '/' stays one path segment.
func EscapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
