package export

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
)

// esc escapes text for XML content and attribute values (quotes, and line
// breaks as character references, so attributes keep them).
func esc(s string) string {
	var b strings.Builder
	// EscapeText only fails on a failing writer; a Builder does not.
	_ = xml.EscapeText(&b, []byte(strings.Map(xmlChar, s)))
	return b.String()
}

// xmlChar drops the characters XML 1.0 cannot carry at all.
func xmlChar(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return r
	case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
		return -1
	}
	return r
}

// fileURL is the media-rep / pathurl of the original: only its name is
// known here, so editors relink it to where the file is on their disk.
func fileURL(name string) string {
	if name == "" {
		name = "media"
	}
	return "file:///" + (&url.URL{Path: name}).EscapedPath()
}

// markerNote is what a marker's note carries: the author and the thread.
func markerNote(c Comment) string {
	var b strings.Builder
	b.WriteString(c.Author)
	for _, r := range c.Replies {
		fmt.Fprintf(&b, "\n%s%s: %s", strings.Repeat("  ", r.Depth-1), r.Author, r.Text)
	}
	return b.String()
}

// duration is the media's length in frames for a timeline, long enough to
// hold every marker even when the file's own length is unknown.
func duration(m Media, cs []Comment) int64 {
	d := m.Frames
	for _, c := range timed(cs) {
		in, length := c.span(m)
		d = max(d, in+length)
	}
	return max(d, 1)
}

// fcpTime is a frame count as an FCPXML time: a rational number of
// seconds that is a whole number of frame durations.
func fcpTime(r Rate, frames int64) string {
	if frames == 0 {
		return "0s"
	}
	num, den := r.FrameDuration()
	return fmt.Sprintf("%d/%ds", frames*num, den)
}

// writeFCPXML writes an FCPXML 1.10 project: one sequence holding the
// whole media file as an asset clip, with a marker per timed comment.
// Final Cut Pro 10.6+ and DaVinci Resolve 17+ import it.
func writeFCPXML(w *bufio.Writer, m Media, cs []Comment) error {
	r := m.Rate
	dur := duration(m, cs)
	start := fcpTime(r, m.Start)
	tcFormat := "NDF"
	if r.DropFrame() {
		tcFormat = "DF"
	}
	name := esc(displayTitle(m))
	w.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.10\">\n  <resources>\n")
	num, den := r.FrameDuration()
	fmt.Fprintf(w, "    <format id=\"r1\" frameDuration=\"%d/%ds\"", num, den)
	if m.Width > 0 && m.Height > 0 {
		fmt.Fprintf(w, " width=\"%d\" height=\"%d\"", m.Width, m.Height)
	}
	w.WriteString("/>\n")
	fmt.Fprintf(w, "    <asset id=\"r2\" name=\"%s\" start=\"%s\" duration=\"%s\" hasVideo=\"%s\" hasAudio=\"%s\" format=\"r1\">\n",
		esc(clipName(m)), start, fcpTime(r, dur), bit(m.HasVideo), bit(m.HasAudio))
	fmt.Fprintf(w, "      <media-rep kind=\"original-media\" src=\"%s\"/>\n    </asset>\n  </resources>\n", esc(fileURL(m.FileName)))
	fmt.Fprintf(w, "  <library>\n    <event name=\"%s\">\n      <project name=\"%s\">\n", name, esc(displayTitle(m)+" (review comments)"))
	fmt.Fprintf(w, "        <sequence format=\"r1\" duration=\"%s\" tcStart=\"%s\" tcFormat=\"%s\">\n          <spine>\n",
		fcpTime(r, dur), start, tcFormat)
	fmt.Fprintf(w, "            <asset-clip ref=\"r2\" offset=\"%s\" name=\"%s\" start=\"%s\" duration=\"%s\" tcFormat=\"%s\">\n",
		start, esc(clipName(m)), start, fcpTime(r, dur), tcFormat)
	for _, c := range timed(cs) {
		in, length := c.span(m)
		fmt.Fprintf(w, "              <marker start=\"%s\" duration=\"%s\" value=\"%s\" note=\"%s\"/>\n",
			fcpTime(r, m.Start+in), fcpTime(r, length), esc(markerText(c.Text)), esc(markerNote(c)))
	}
	w.WriteString("            </asset-clip>\n          </spine>\n        </sequence>\n      </project>\n    </event>\n  </library>\n</fcpxml>\n")
	return nil
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func displayTitle(m Media) string {
	if t := strings.TrimSpace(m.Title); t != "" {
		return t
	}
	if m.FileName != "" {
		return m.FileName
	}
	return m.ID
}

func clipName(m Media) string {
	if m.FileName != "" {
		return m.FileName
	}
	return displayTitle(m)
}

// xmemlRate is FCP 7 XML's <rate>: a whole timebase, flagged NTSC for the
// 1000/1001 rates.
func xmemlRate(r Rate) string {
	ntsc := "FALSE"
	if r.Den == 1001 {
		ntsc = "TRUE"
	}
	return fmt.Sprintf("<rate><timebase>%d</timebase><ntsc>%s</ntsc></rate>", r.Nominal(), ntsc)
}

// writePremiere writes FCP 7 XML (xmeml version 4), the XML that Premiere
// Pro imports: a sequence holding the media file as one clip, with a
// sequence marker per timed comment (name = the text, comment = the
// author and the thread).
func writePremiere(w *bufio.Writer, m Media, cs []Comment) error {
	r := m.Rate
	dur := duration(m, cs)
	rate := xmemlRate(r)
	display := "NDF"
	if r.DropFrame() {
		display = "DF"
	}
	timecode := fmt.Sprintf("<timecode>%s<string>%s</string><frame>%d</frame><displayformat>%s</displayformat></timecode>",
		rate, m.timecode(0), m.Start, display)
	var sample string
	if m.Width > 0 && m.Height > 0 {
		sample = fmt.Sprintf("<samplecharacteristics>%s<width>%d</width><height>%d</height></samplecharacteristics>", rate, m.Width, m.Height)
	} else {
		sample = "<samplecharacteristics>" + rate + "</samplecharacteristics>"
	}
	clip := esc(clipName(m))
	w.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE xmeml>\n<xmeml version=\"4\">\n")
	fmt.Fprintf(w, "  <sequence id=\"sequence-1\">\n    <name>%s</name>\n    <duration>%d</duration>\n    %s\n    %s\n",
		esc(displayTitle(m)), dur, rate, timecode)
	fmt.Fprintf(w, "    <media>\n      <video>\n        <format>%s</format>\n        <track>\n", sample)
	fmt.Fprintf(w, "          <clipitem id=\"clipitem-1\">\n            <name>%s</name>\n            <duration>%d</duration>\n            %s\n", clip, dur, rate)
	fmt.Fprintf(w, "            <start>0</start>\n            <end>%d</end>\n            <in>0</in>\n            <out>%d</out>\n", dur, dur)
	fmt.Fprintf(w, "            <file id=\"file-1\">\n              <name>%s</name>\n              <pathurl>%s</pathurl>\n              %s\n              <duration>%d</duration>\n              %s\n",
		clip, esc(fileURL(m.FileName)), rate, dur, timecode)
	fmt.Fprintf(w, "              <media><video>%s</video>", sample)
	if m.HasAudio {
		w.WriteString("<audio><channelcount>2</channelcount></audio>")
	}
	w.WriteString("</media>\n            </file>\n          </clipitem>\n        </track>\n      </video>\n    </media>\n")
	for _, c := range timed(cs) {
		in, length := c.span(m)
		out := int64(-1) // a point marker; a range's out is exclusive
		if c.EndFrame != nil {
			out = in + length
		}
		comment := markerText(c.Text)
		if note := markerNote(c); note != "" {
			comment += " (" + oneLine(note) + ")"
		}
		fmt.Fprintf(w, "    <marker>\n      <name>%s</name>\n      <comment>%s</comment>\n      <in>%d</in>\n      <out>%d</out>\n    </marker>\n",
			esc(truncateRunes(markerText(c.Text), 120)), esc(comment), in, out)
	}
	w.WriteString("  </sequence>\n</xmeml>\n")
	return nil
}
