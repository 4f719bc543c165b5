package store

import (
	"testing"
	"time"
)

// Every form a DATETIME column may hold reads back as the same instant,
// whether the driver hands over text (textTimes) or a parsed time.
func TestParseDBTime(t *testing.T) {
	want := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	whole := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct {
		in   any
		want time.Time
		ok   bool
	}{
		{"2024-05-06 07:08:09.123456789", want, true},
		{"2024-05-06 07:08:09.123", time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC), true},
		{"2024-05-06 07:08:09", whole, true},
		{" 2024-05-06 07:08:09 ", whole, true},
		{"2024-05-06T07:08:09.123456789Z", want, true},
		{"2024-05-06 09:08:09+02:00", whole, true},
		{"2024-05-06", time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), true},
		{"1714979289", whole, true},
		{int64(1714979289), whole, true},
		{[]byte("2024-05-06 07:08:09"), whole, true},
		{want, want, true},
		{"2024-02-31 07:08:09", time.Time{}, false},
		{"2024-05-06 25:08:09", time.Time{}, false},
		{"2024-05-06 07:08:09.", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{3.5i, time.Time{}, false},
	} {
		got, err := parseDBTime(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%v: got %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestTextTimes(t *testing.T) {
	got := textTimes("id, created, edited,\n\tcomment, created_by", "created", "edited")
	want := "id, CAST(created AS TEXT), CAST(edited AS TEXT),\n\tcomment, created_by"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
