// Package subtitles converts uploaded subtitle files (SubRip, WebVTT, SSA,
// ASS) to WebVTT, the only format browsers play, and guesses their language
// from the file name as Clapshot does.
//
// We wrote our own converter rather than use go-astisub: that library drops
// the whitespace around tags it does not keep (`<i>a</i> <font>b</font>`
// became `<i>a</i>b`) and leaves ASS override tags such as {\an8} in SRT
// text. The formats are small and well described, and every rule below has
// a test.
package subtitles

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Format is a subtitle file format.
type Format string

const (
	SubRip Format = "srt"
	WebVTT Format = "vtt"
	SSA    Format = "ssa"
	ASS    Format = "ass"
)

// Cue is one timed piece of text. Text uses WebVTT markup (<b>, <i>, <u>)
// with '&', '<' and '>' escaped.
type Cue struct {
	Start, End time.Duration
	Text       string
}

// ErrUnsupported is returned for files that are not one of the formats.
var ErrUnsupported = errors.New("unsupported subtitle format")

// Language guesses the language code from a file name, like Clapshot: the
// second-to-last dot-separated part if it is 2 or 3 lowercase ASCII
// letters ("film.en.srt" -> "en", "film.tlh.ass" -> "tlh"), else "en".
func Language(fileName string) string {
	parts := strings.Split(fileName, ".")
	if len(parts) >= 2 {
		l := parts[len(parts)-2]
		if len(l) == 2 || len(l) == 3 {
			ok := true
			for i := 0; i < len(l); i++ {
				if l[i] < 'a' || l[i] > 'z' {
					ok = false
				}
			}
			if ok {
				return l
			}
		}
	}
	return "en"
}

// Detect finds the format from the file name's extension, then from the
// content.
func Detect(fileName string, data []byte) (Format, error) {
	switch strings.ToLower(path.Ext(fileName)) {
	case ".srt":
		return SubRip, nil
	case ".vtt", ".webvtt":
		return WebVTT, nil
	case ".ssa":
		return SSA, nil
	case ".ass":
		return ASS, nil
	}
	text := decodeText(data)
	head := strings.TrimLeft(text, " \t\n")
	switch {
	case strings.HasPrefix(head, "WEBVTT"):
		return WebVTT, nil
	case strings.HasPrefix(strings.ToLower(head), "[script info]"):
		if strings.Contains(strings.ToLower(text), "[v4+ styles]") {
			return ASS, nil
		}
		return SSA, nil
	case strings.Contains(text, "-->"):
		return SubRip, nil
	}
	return "", fmt.Errorf("%w: %q is not SubRip (.srt), WebVTT (.vtt), SSA (.ssa) or ASS (.ass)", ErrUnsupported, path.Base(fileName))
}

// Parse reads a file of the given format.
func Parse(f Format, data []byte) ([]Cue, error) {
	text := decodeText(data)
	var cues []Cue
	var err error
	switch f {
	case SubRip:
		cues, err = parseSRT(text)
	case WebVTT:
		cues, err = parseVTT(text)
	case SSA, ASS:
		cues, err = parseASS(text)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, f)
	}
	if err != nil {
		return nil, err
	}
	if len(cues) == 0 {
		return nil, fmt.Errorf("no subtitles found in the %s file", f.Name())
	}
	return cues, nil
}

// Name is the format's human name.
func (f Format) Name() string {
	switch f {
	case SubRip:
		return "SubRip"
	case WebVTT:
		return "WebVTT"
	case SSA:
		return "SSA"
	case ASS:
		return "ASS"
	}
	return string(f)
}

// ToWebVTT converts a subtitle file. For a file that is WebVTT already it
// only checks that it parses and returns isVTT true (the original is played
// as it is, as in Clapshot).
func ToWebVTT(fileName string, data []byte) (vtt []byte, isVTT bool, err error) {
	f, err := Detect(fileName, data)
	if err != nil {
		return nil, false, err
	}
	cues, err := Parse(f, data)
	if err != nil {
		return nil, false, err
	}
	if f == WebVTT {
		return nil, true, nil
	}
	return Render(cues), false, nil
}

// Render writes cues as a WebVTT file, ordered by start time.
func Render(cues []Cue) []byte {
	sorted := make([]Cue, len(cues))
	copy(sorted, cues)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for i, c := range sorted {
		fmt.Fprintf(&b, "\n%d\n%s --> %s\n%s\n", i+1, vttTime(c.Start), vttTime(c.End), c.Text)
	}
	return b.Bytes()
}

func vttTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// decodeText turns the file into UTF-8 with "\n" line ends. Subtitle files
// come from many tools: UTF-8 with or without BOM, UTF-16 with BOM, or
// Windows-1252 (anything that is not valid UTF-8).
func decodeText(data []byte) string {
	var s string
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		s = string(data[3:])
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		s = decodeUTF16(data[2:], data[0] == 0xFE)
	case utf8.Valid(data):
		s = string(data)
	default:
		out, err := charmap.Windows1252.NewDecoder().Bytes(data)
		if err != nil {
			s = strings.ToValidUTF8(string(data), "\uFFFD")
		} else {
			s = string(out)
		}
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(u))
}

// parseClock reads "[H:]MM:SS[,.]fff" (SRT and VTT). Fractions of any
// length are accepted ("1,5" is half a second).
func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	main, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	parts := strings.Split(main, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	var total int64
	for _, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad time %q", s)
		}
		total = total*60 + n
	}
	d := time.Duration(total) * time.Second
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad time %q", s)
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		d += time.Duration(n)
	}
	return d, nil
}

// parseTiming reads "start --> end [settings]".
func parseTiming(line string) (start, end time.Duration, err error) {
	a, b, ok := strings.Cut(line, "-->")
	if !ok {
		return 0, 0, fmt.Errorf("no '-->' in %q", line)
	}
	fields := strings.Fields(b)
	if len(fields) == 0 {
		return 0, 0, fmt.Errorf("no end time in %q", line)
	}
	if start, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(fields[0]); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// parseSRT reads SubRip: blocks of an optional number line, a timing line
// and text lines, separated by blank lines.
func parseSRT(text string) ([]Cue, error) {
	cues, err := readCues(strings.Split(text, "\n"), 0, "SubRip", true, srtMarkup)
	if err == nil && len(cues) == 0 {
		err = errors.New("not a SubRip file: no cue timing lines (00:00:01,000 --> 00:00:02,000) found")
	}
	return cues, err
}

// readCues collects the cues from line from on: each a timing line and
// the text lines up to a blank line. With numbered, a cue number followed
// by a timing line also ends the text (SubRip files that lack the blank
// line).
func readCues(lines []string, from int, format string, numbered bool, markup func(string) string) ([]Cue, error) {
	var cues []Cue
	for i := from; i < len(lines); i++ {
		if !strings.Contains(lines[i], "-->") {
			continue
		}
		start, end, err := parseTiming(lines[i])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %v", format, i+1, err)
		}
		var body []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			if numbered && i+2 < len(lines) && strings.Contains(lines[i+2], "-->") && isNumber(lines[i+1]) {
				break
			}
			i++
			body = append(body, lines[i])
		}
		cues = append(cues, Cue{Start: start, End: end, Text: markup(strings.Join(body, "\n"))})
	}
	return cues, nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(strings.TrimSpace(s))
	return err == nil
}

// parseVTT checks a WebVTT file: the header, and every timing line.
func parseVTT(text string) ([]Cue, error) {
	lines := strings.Split(text, "\n")
	if !strings.HasPrefix(lines[0], "WEBVTT") {
		return nil, errors.New("not a WebVTT file: the first line must start with WEBVTT")
	}
	return readCues(lines, 1, "WebVTT", false, func(s string) string { return s })
}

// srtMarkup converts SubRip text: <b>, <i>, <u> (any case) are kept,
// <font> and other tags are dropped with their content kept, ASS-style
// {\...} override blocks are dropped, and everything else is escaped.
func srtMarkup(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '<':
			end := strings.IndexByte(s, '>')
			if end < 0 {
				b.WriteString("&lt;")
				s = s[1:]
				continue
			}
			tag := strings.ToLower(strings.TrimSpace(s[1:end]))
			switch tag {
			case "b", "i", "u", "/b", "/i", "/u":
				b.WriteString("<" + tag + ">")
			}
			s = s[end+1:]
		case s[0] == '{' && strings.HasPrefix(s, "{\\"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				writeEscaped(&b, s[0])
				s = s[1:]
				continue
			}
			s = s[end+1:]
		default:
			writeEscaped(&b, s[0])
			s = s[1:]
		}
	}
	return strings.TrimSpace(b.String())
}

// writeEscaped writes one byte of text, escaping WebVTT's markup
// characters. Multi-byte UTF-8 sequences pass through byte by byte.
func writeEscaped(b *strings.Builder, c byte) {
	switch c {
	case '&':
		b.WriteString("&amp;")
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	default:
		b.WriteByte(c)
	}
}

// assDefaultFormat is the [Events] field order when a file has no Format
// line (ASS; SSA has Marked instead of Layer, which we do not read).
var assDefaultFormat = []string{"layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"}

// parseASS reads the [Events] section of SSA and ASS files.
func parseASS(text string) ([]Cue, error) {
	lines := strings.Split(text, "\n")
	section := ""
	format := assDefaultFormat
	sawEvents := false
	var cues []Cue
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.ToLower(line)
			if section == "[events]" {
				sawEvents = true
			}
			continue
		}
		if section != "[events]" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "format":
			format = nil
			for _, f := range strings.Split(val, ",") {
				format = append(format, strings.ToLower(strings.TrimSpace(f)))
			}
		case "dialogue":
			fields := strings.SplitN(strings.TrimLeft(val, " "), ",", len(format))
			if len(fields) < len(format) {
				return nil, fmt.Errorf("%s line %d: Dialogue has %d fields, the Format line names %d", "SSA/ASS", i+1, len(fields), len(format))
			}
			var c Cue
			var err error
			for fi, name := range format {
				switch name {
				case "start":
					c.Start, err = parseClock(fields[fi])
				case "end":
					c.End, err = parseClock(fields[fi])
				case "text":
					c.Text = assMarkup(fields[fi])
				}
				if err != nil {
					return nil, fmt.Errorf("SSA/ASS line %d: %v", i+1, err)
				}
			}
			if c.Text != "" {
				cues = append(cues, c)
			}
		}
	}
	if !sawEvents {
		return nil, errors.New("not an SSA/ASS file: no [Events] section")
	}
	return cues, nil
}

// assMarkup converts ASS dialogue text: \N and \n are line breaks, \h a
// non-breaking space; override blocks {...} are dropped except that \i, \b
// and \u toggles become <i>, <b>, <u>; vector drawings (\p1 .. \p0) are
// dropped with their drawing commands.
func assMarkup(s string) string {
	var b strings.Builder
	open := map[string]bool{}
	var order []string // tags in the order they were opened
	drawing := false
	for len(s) > 0 {
		switch {
		case s[0] == '{':
			end := strings.IndexByte(s, '}')
			if end < 0 {
				s = s[1:]
				continue
			}
			for _, tag := range strings.Split(s[1:end], "\\")[1:] {
				tag = strings.TrimSpace(tag)
				switch {
				case tag == "i1" || tag == "i0" || tag == "b1" || tag == "b0" || tag == "u1" || tag == "u0":
					name, on := tag[:1], tag[1] == '1'
					if on && !open[name] {
						b.WriteString("<" + name + ">")
						order = append(order, name)
					} else if !on && open[name] {
						b.WriteString("</" + name + ">")
						order = slices.DeleteFunc(order, func(o string) bool { return o == name })
					}
					open[name] = on
				case strings.HasPrefix(tag, "p") && len(tag) > 1 && tag[1] >= '0' && tag[1] <= '9':
					drawing = tag[1:] != "0"
				}
			}
			s = s[end+1:]
		case s[0] == '\\' && len(s) > 1 && (s[1] == 'N' || s[1] == 'n'):
			if !drawing {
				b.WriteByte('\n')
			}
			s = s[2:]
		case s[0] == '\\' && len(s) > 1 && s[1] == 'h':
			if !drawing {
				b.WriteString("\u00a0")
			}
			s = s[2:]
		default:
			if !drawing {
				writeEscaped(&b, s[0])
			}
			s = s[1:]
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		b.WriteString("</" + order[i] + ">")
	}
	return strings.TrimSpace(b.String())
}
