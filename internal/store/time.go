package store

import (
	"fmt"
	"strconv"
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
	if t, ok := parseDieselTime(s); ok {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil { // Unix seconds, as text
		return time.Unix(n, 0).UTC(), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date and time", s)
}

// parseDieselTime reads "YYYY-MM-DD HH:MM:SS[.fraction]" (UTC), what diesel
// and CURRENT_TIMESTAMP write, without time.Parse: listing 10 000 media
// files reads 20 000 of these.
func parseDieselTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	ns := 0
	if len(s) > 19 {
		frac := s[20:]
		if s[19] != '.' || len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, false
		}
		f, ok := num(20, len(s))
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
	if t.Day() != d { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

// textTimes rewrites a column list for SELECT so that the named DATETIME
// columns come back as text: the driver would otherwise parse each one by
// trying layouts in turn, which dominated the cost of long listings. The
// scanners read text (parseDieselTime) as well as times. The columns keep
// no alias, so ORDER BY still names the real column.
func textTimes(cols string, names ...string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		name := strings.TrimSpace(p)
		for _, n := range names {
			if name == n {
				parts[i] = strings.Replace(p, n, "CAST("+n+" AS TEXT)", 1)
			}
		}
	}
	return strings.Join(parts, ",")
}
