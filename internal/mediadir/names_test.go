package mediadir

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStoredName(t *testing.T) {
	long := strings.Repeat("ä", 125) + "x.mp4"
	cases := []struct{ in, title, stored string }{
		{"clip.mp4", "clip.mp4", "clip.mp4"},
		{"Kesäpäivä 2024 (final).mov", "Kesäpäivä 2024 (final).mov", "Kesäpäivä 2024 (final).mov"},
		{"\xff\xfe.mp4", "\ufffd.mp4", "_.mp4"},
		{"caf\xe9.mp4", "caf\ufffd.mp4", "caf_.mp4"},
		{".hidden.mp4", ".hidden.mp4", "hidden.mp4"},
		{"..double.mp4", "..double.mp4", "double.mp4"},
		{"trailing dot.mp4.", "trailing dot.mp4.", "trailing dot.mp4"},
		{"trailing space.mp4 ", "trailing space.mp4 ", "trailing space.mp4"},
		{"stem .mp4", "stem .mp4", "stem.mp4"},
		{"CON.mp4", "CON.mp4", "_CON.mp4"},
		{"nul", "nul", "_nul"},
		{"com1.tar.gz", "com1.tar.gz", "_com1.tar.gz"},
		{"console.mp4", "console.mp4", "console.mp4"},
		{"evil\u202egnp.mp4", "evil\u202egnp.mp4", "evil_gnp.mp4"},
		{"zero\u200bwidth\ufeff.mp4", "zero\u200bwidth\ufeff.mp4", "zero_width_.mp4"},
		{"tab\there.mp4", "tab\there.mp4", "tab_here.mp4"},
		{`a<b>c:d"e|f?g*.mp4`, `a<b>c:d"e|f?g*.mp4`, `a<b>c:d"e|f?g*.mp4`},
		{"a/b\\c.mp4", "a/b\\c.mp4", "a_b_c.mp4"},
		{"e\u0301.mp4", "e\u0301.mp4", "\u00e9.mp4"},
		{"...", "...", "media"},
		{".mp4", ".mp4", "mp4"},
	}
	for _, c := range cases {
		if got := Title(c.in); got != c.title {
			t.Errorf("Title(%q) = %q, want %q", c.in, got, c.title)
		}
		if got := StoredName(c.in); got != c.stored {
			t.Errorf("StoredName(%q) = %q, want %q", c.in, got, c.stored)
		}
	}
	got := StoredName(long)
	if len(got) > MaxStoredName || !strings.HasSuffix(got, "x.mp4") && !strings.HasSuffix(got, ".mp4") || !utf8.ValidString(got) {
		t.Errorf("StoredName(255 bytes) = %q (%d bytes)", got, len(got))
	}
	// Stored names are stable: normalising again changes nothing.
	for _, c := range cases {
		if s := StoredName(c.stored); s != c.stored {
			t.Errorf("StoredName(StoredName(%q)) = %q, want %q", c.in, s, c.stored)
		}
	}
}
