package export

import (
	"bufio"
	"fmt"
	"strings"
)

// writeEDL writes a CMX3600 EDL with one event per timed comment, in the
// form DaVinci Resolve writes and reads marker lists: the event's source
// and record times are the comment's span in the media's own timecode,
// and a " |C:<color> |M:<text> |D:<frames>" line carries the text. The
// web UI's EDL import (web/src/lib/edl.ts) reads these back as comments.
func writeEDL(w *bufio.Writer, m Media, cs []Comment) error {
	title := edlField(m.Title)
	if title == "" {
		title = m.ID
	}
	fmt.Fprintf(w, "TITLE: %s\r\n", truncateRunes(title, 70))
	if m.Rate.DropFrame() {
		w.WriteString("FCM: DROP FRAME\r\n")
	} else {
		w.WriteString("FCM: NON-DROP FRAME\r\n")
	}
	clip := edlField(m.FileName)
	n := 0
	for _, c := range timed(cs) {
		n++
		in, length := c.span(m)
		tcIn, tcOut := m.timecode(in), m.timecode(in+length)
		// Reel names are at most 8 characters; "AX" is the usual name for
		// a source that is not on tape.
		// Past 999 events the number just grows a digit, as Resolve writes it.
		fmt.Fprintf(w, "\r\n%03d  AX       V     C        %s %s %s %s\r\n", n, tcIn, tcOut, tcIn, tcOut)
		if clip != "" {
			fmt.Fprintf(w, "* FROM CLIP NAME: %s\r\n", clip)
		}
		fmt.Fprintf(w, " |C:%s |M:%s |D:%d\r\n", edlColor(c), edlMarker(c.Text), length)
		if c.Author != "" {
			fmt.Fprintf(w, "* COMMENT BY: %s\r\n", edlField(c.Author))
		}
		for _, r := range c.Replies {
			fmt.Fprintf(w, "* %sREPLY BY %s: %s\r\n", strings.Repeat("  ", r.Depth-1), edlField(r.Author), edlField(r.Text))
		}
	}
	return nil
}

// edlColor marks range comments apart from point comments in Resolve.
func edlColor(c Comment) string {
	if c.EndFrame != nil {
		return "ResolveColorGreen"
	}
	return "ResolveColorBlue"
}

// edlField is text for a line of its own: one line, and no '|', which
// starts a field on marker lines and would end the text early when read.
func edlField(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", "¦")
}

// edlMarker is a comment's text for |M:.
func edlMarker(s string) string { return strings.ReplaceAll(markerText(s), "|", "¦") }

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
