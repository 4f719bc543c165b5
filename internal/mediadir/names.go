package mediadir

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Names of uploaded files. A client names its file with any bytes it
// likes: not UTF-8, a leading dot (which the media handler and nginx treat
// as hidden), trailing dots and spaces (which Windows and Samba drop), a
// device name (CON, NUL), bidirectional overrides that make a name read
// backwards, 255 bytes that leave no room for a suffix. Such a name was
// written as it came, then changed on its way to the database (JSON
// replaces invalid UTF-8), or stored and never served. So each upload is
// named once, at the door: Title is what the user sees, StoredName the
// file's name on disk, in media_files.orig_filename and in the media URL,
// used everywhere from then on. For an ordinary name both are the name
// itself, so media ids and URLs stay as Clapshot's.

// MaxStoredName is the longest stored name in bytes: file systems allow
// 255, and the server adds suffixes (".partial") while writing.
const MaxStoredName = 200

// Title is the name as the user gave it, made valid UTF-8 (each run of
// bytes that is not UTF-8 becomes U+FFFD) so that it can be stored and
// sent to browsers.
func Title(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }

// StoredName is the name the server stores a file under: Title, in NFC,
// with control, format (bidirectional overrides, zero-width) and
// replacement characters and slashes turned into "_", without leading or
// trailing dots and spaces, with "_" before a Windows device name (CON,
// PRN, AUX, NUL, COM0-9, LPT0-9), and at most MaxStoredName bytes (the
// extension kept). An empty result is "media". Other characters Windows
// forbids (<>:"|?*) are kept: names like "10:30 take 2.mov" are common,
// and changing them would change their media ids and URLs from
// Clapshot's.
func StoredName(name string) string {
	s := norm.NFC.String(Title(name))
	s = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '/', r == '\\':
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(s, " .")
	stem, ext := s, ""
	if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 16 {
		stem, ext = s[:i], s[i:]
	}
	stem = strings.TrimRight(stem, " .")
	if stem == "" {
		stem = "media"
	}
	if device(stem) {
		stem = "_" + stem
	}
	for len(stem)+len(ext) > MaxStoredName {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return strings.TrimRight(stem, " .") + ext
}

// device reports whether Windows takes a file name (up to its first dot)
// for a device.
func device(stem string) bool {
	base, _, _ := strings.Cut(stem, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) &&
		base[3] >= '0' && base[3] <= '9'
}
