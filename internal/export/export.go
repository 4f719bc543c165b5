// Package export writes the comments of a media file in the formats that
// editing suites and people read: CMX3600 EDL, CSV, FCPXML markers (Final
// Cut Pro, DaVinci Resolve), Premiere Pro markers (FCP 7 XML, which
// Premiere imports) and a self-contained HTML report with each comment's
// frame and drawing.
//
// Positions are frame numbers at the media's real rate, counted from the
// media's first frame; timecodes add the media's start timecode (from the
// source's timecode track when it has one). The package does no I/O but
// writing to the given io.Writer: the caller gathers comments, frame
// images and drawings.
package export

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format names an export format.
type Format string

// The formats, as they appear in URLs (?format=...).
const (
	EDL      Format = "edl"
	CSV      Format = "csv"
	FCPXML   Format = "fcpxml"
	Premiere Format = "premiere"
	Report   Format = "html"
)

// Formats lists every format, in the order the UI offers them.
var Formats = []Format{EDL, CSV, FCPXML, Premiere, Report}

// Info describes a format for downloads.
type Info struct {
	Label       string // shown in menus
	Extension   string // of the downloaded file, with the dot
	ContentType string
}

var infos = map[Format]Info{
	EDL:      {"EDL (CMX3600, markers)", ".edl", "text/plain; charset=utf-8"},
	CSV:      {"CSV (spreadsheet)", ".csv", "text/csv; charset=utf-8"},
	FCPXML:   {"FCPXML markers (Final Cut Pro, DaVinci Resolve)", ".fcpxml", "application/xml; charset=utf-8"},
	Premiere: {"Premiere Pro markers (FCP 7 XML)", ".xml", "application/xml; charset=utf-8"},
	Report:   {"Report (HTML, with frames and drawings)", ".html", "text/html; charset=utf-8"},
}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := infos[f]; !ok {
		names := make([]string, len(Formats))
		for i, f := range Formats {
			names[i] = string(f)
		}
		return "", fmt.Errorf("unknown export format %q (known: %s)", s, strings.Join(names, ", "))
	}
	return f, nil
}

// Info describes the format.
func (f Format) Info() Info { return infos[f] }

// Media is the media file whose comments are exported.
type Media struct {
	ID    string
	Title string
	// FileName is the original file's name: the clip name editors see,
	// and what the NLE relinks to.
	FileName string
	Rate     Rate
	// RateGuessed is set when the file has no frame rate of its own
	// (audio, images) and Rate is a default.
	RateGuessed bool
	// Start is the start timecode as a frame count at Rate (0 for
	// 00:00:00:00); StartTag is the source's timecode tag, if any.
	Start    int64
	StartTag string
	// Frames is the duration in frames (0 if unknown).
	Frames        int64
	Width, Height int
	HasVideo      bool
	HasAudio      bool
	// Kind is "video", "audio" or "image".
	Kind string
}

// Comment is a top-level comment with its thread.
type Comment struct {
	ID      int64
	Author  string
	Text    string
	Created time.Time
	Edited  *time.Time
	// Frame and EndFrame are positions from the media's first frame;
	// Frame is nil for an untimed comment, EndFrame nil unless the
	// comment is a range, whose last frame it is (inclusive, as the web
	// UI stores timecodeEnd).
	Frame, EndFrame *int64
	// Drawing is the comment's drawing (a WebP image with transparency,
	// the size of the video frame), nil without one.
	Drawing []byte
	Replies []Reply
}

// Reply is an answer in a comment's thread; Depth is 1 for a reply to the
// comment, 2 for a reply to a reply, and so on.
type Reply struct {
	ID      int64
	Author  string
	Text    string
	Created time.Time
	Depth   int
}

// Options adjusts an export.
type Options struct {
	// Frames holds a JPEG of the frame at each timed comment's position
	// (keyed by frame number), for the report. Missing frames are shown
	// as a placeholder.
	Frames map[int64][]byte
	// Now stamps the report (zero: time.Now).
	Now time.Time
	// Location formats the report's dates (nil: UTC).
	Location *time.Location
}

// Write writes comments in format f. Comments are exported in timecode
// order (untimed ones last, in creation order); marker formats skip
// untimed comments, which have no place on a timeline.
func Write(w io.Writer, f Format, m Media, comments []Comment, opt Options) error {
	if m.Rate.Num <= 0 || m.Rate.Den <= 0 {
		return fmt.Errorf("export %s: media %s has no frame rate", f, m.ID)
	}
	sorted := SortComments(comments)
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case EDL:
		err = writeEDL(bw, m, sorted)
	case CSV:
		err = writeCSV(bw, m, sorted)
	case FCPXML:
		err = writeFCPXML(bw, m, sorted)
	case Premiere:
		err = writePremiere(bw, m, sorted)
	case Report:
		err = writeReport(bw, m, sorted, opt)
	default:
		_, err = ParseFormat(string(f))
	}
	if err != nil {
		return fmt.Errorf("export %s of media %s: %w", f, m.ID, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export %s of media %s: %w", f, m.ID, err)
	}
	return nil
}

// SortComments orders comments as every format lists them: by position,
// then by creation; untimed comments last. The input is not changed.
func SortComments(cs []Comment) []Comment {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Comment) int {
		switch {
		case a.Frame == nil && b.Frame == nil:
		case a.Frame == nil:
			return 1
		case b.Frame == nil:
			return -1
		case *a.Frame != *b.Frame:
			return int(*a.Frame - *b.Frame)
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out
}

// timed returns the comments that have a position.
func timed(cs []Comment) []Comment {
	out := make([]Comment, 0, len(cs))
	for _, c := range cs {
		if c.Frame != nil {
			out = append(out, c)
		}
	}
	return out
}

// span is a comment's first frame and its length in frames (at least 1).
func (c Comment) span(m Media) (in, length int64) {
	in = max(0, *c.Frame)
	length = 1
	if c.EndFrame != nil && *c.EndFrame > in {
		length = *c.EndFrame - in + 1
	}
	if m.Frames > 0 && in >= m.Frames {
		in = m.Frames - 1
	}
	return in, length
}

// oneLine folds a multi-line text into one line for formats that have no
// room for line breaks.
func oneLine(s string) string {
	var b strings.Builder
	for i, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteString(" / ")
		}
		b.WriteString(line)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, b.String())
}

// markerText is a comment's text as a marker's one-line name; an empty
// text gets a placeholder, since some editors drop nameless markers.
func markerText(s string) string {
	if t := oneLine(s); t != "" {
		return t
	}
	return "(no text)"
}

// timecode is a position as the media's timecode (drop-frame where the
// rate uses it).
func (m Media) timecode(frame int64) string {
	return m.Rate.SMPTE(m.Start+frame, m.Rate.DropFrame())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
