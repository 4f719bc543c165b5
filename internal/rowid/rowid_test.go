package rowid

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12", 12, true},
		{" 7 ", 7, true},
		{"-3", -3, true},
		{"12x", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, err := Parse("comment id", tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v", tc.in, got, err)
		}
		if err != nil && err.Error() != `comment id "`+tc.in+`" is not a number` {
			t.Errorf("error %q does not name the field and value", err)
		}
		if tc.ok && Format(got) != Format(tc.want) {
			t.Errorf("Format(%d)", got)
		}
	}
	if p, err := ParsePtr("x", nil); p != nil || err != nil {
		t.Errorf("ParsePtr(nil) = %v, %v", p, err)
	}
	if p, err := ParsePtr("x", new("5")); err != nil || *p != 5 || *FormatPtr(p) != "5" || FormatPtr(nil) != nil {
		t.Errorf("ParsePtr(5) = %v, %v", p, err)
	}
}
