package export

import (
	"bufio"
	"encoding/csv"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the CSV columns. Timecodes are the media's (with its
// start timecode), frames count from the first frame, seconds are the
// frame's start time.
var csvHeader = []string{
	"Timecode", "Timecode Out", "Frame", "Frame Out", "Seconds", "User", "Comment", "Replies",
	"Created", "Edited", "Has Drawing", "Comment ID",
}

// writeCSV writes one row per top-level comment (a range's out columns
// name its last frame), untimed ones with empty
// position columns. Replies go into one cell, a "user: text" line each.
// The file starts with a UTF-8 byte order mark, without which Excel reads
// it in the system's legacy code page. Lines end in LF, inside quoted
// cells too, which Excel, LibreOffice and Python read alike.
func writeCSV(w *bufio.Writer, m Media, cs []Comment) error {
	w.WriteString("\uFEFF")
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for _, c := range cs {
		clear(row)
		if c.Frame != nil {
			in, length := c.span(m)
			row[0] = m.timecode(in)
			row[2] = strconv.FormatInt(in, 10)
			row[4] = strconv.FormatFloat(m.Rate.Seconds(in), 'f', 3, 64)
			if c.EndFrame != nil {
				row[1] = m.timecode(in + length - 1)
				row[3] = strconv.FormatInt(in+length-1, 10)
			}
		}
		row[5] = spreadsheetSafe(c.Author)
		row[6] = spreadsheetSafe(c.Text)
		var replies strings.Builder
		for i, r := range c.Replies {
			if i > 0 {
				replies.WriteString("\n")
			}
			replies.WriteString(strings.Repeat("> ", r.Depth-1) + r.Author + ": " + r.Text)
		}
		row[7] = spreadsheetSafe(replies.String())
		row[8] = c.Created.UTC().Format(time.RFC3339)
		if c.Edited != nil {
			row[9] = c.Edited.UTC().Format(time.RFC3339)
		}
		row[10] = "no"
		if len(c.Drawing) > 0 {
			row[10] = "yes"
		}
		row[11] = strconv.FormatInt(c.ID, 10)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// spreadsheetSafe keeps a cell that people typed from being run as a
// formula by a spreadsheet (CSV injection): a leading '=', '+', '-', '@'
// or control character gets an apostrophe in front, which spreadsheets
// show as text and do not display.
func spreadsheetSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
