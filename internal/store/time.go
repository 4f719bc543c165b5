package store

import (
	"fmt"
	"strings"
	"time"
)

// timeLayout is how diesel stores a NaiveDateTime in SQLite, and what
// CURRENT_TIMESTAMP produces (without the fraction). Values are UTC: unlike
// Clapshot, which wrote local wall time into recompression_done and
// thumbs_done, we always write UTC (see docs/compatibility.md).
const timeLayout = "2006-01-02 15:04:05.999999999"

// dbTime formats t for a DATETIME column.
func dbTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// dbTimePtr formats an optional time; nil stays NULL.
func dbTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// timeScanner reads a DATETIME column into an optional time. SQLite has no
// date type, so a column may hold diesel text, CURRENT_TIMESTAMP text, an
// RFC 3339 string written by another tool, or a number of Unix seconds.
type timeScanner struct{ t **time.Time }

func (s timeScanner) Scan(src any) error {
	if src == nil {
		*s.t = nil
		return nil
	}
	t, err := parseDBTime(src)
	if err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// reqTimeScanner reads a NOT NULL DATETIME column.
type reqTimeScanner struct{ t *time.Time }

func (s reqTimeScanner) Scan(src any) error {
	if src == nil {
		*s.t = time.Time{}
		return nil
	}
	t, err := parseDBTime(src)
	if err != nil {
		return err
	}
	*s.t = t
	return nil
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02",
}

func parseDBTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case time.Time:
		return v.UTC(), nil
	case int64:
		return time.Unix(v, 0).UTC(), nil
	case float64:
		return time.Unix(0, int64(v*1e9)).UTC(), nil
	case []byte:
		return parseTimeString(string(v))
	case string:
		return parseTimeString(v)
	}
	return time.Time{}, fmt.Errorf("cannot read %T as a date and time", src)
}

func parseTimeString(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date and time", s)
}
