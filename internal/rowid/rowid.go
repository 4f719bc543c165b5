// Package rowid converts integer row ids (comments, subtitles, messages)
// to and from the decimal strings Clapshot's protocols carry them as.
// Parsing is input validation, shared by the websocket API and the
// organizer API; the error names the field.
package rowid

import (
	"fmt"
	"strconv"
	"strings"
)

// Format renders a row id as the protocols carry it.
func Format(id int64) string { return strconv.FormatInt(id, 10) }

// FormatPtr renders an optional row id.
func FormatPtr(id *int64) *string {
	if id == nil {
		return nil
	}
	s := Format(*id)
	return &s
}

// Parse parses a row id sent as a string. what names the field in the
// error ("comment id", "parent id", ...).
func Parse(what, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number", what, s)
	}
	return id, nil
}

// ParsePtr parses an optional row id.
func ParsePtr(what string, s *string) (*int64, error) {
	if s == nil {
		return nil, nil
	}
	id, err := Parse(what, *s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}
