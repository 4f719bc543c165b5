package export

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ptr[T any](v T) *T { return &v }

// sample is a media file at 29.97 fps starting at 01:00:00;00, with the
// comments that are hard to export: minute boundaries in drop-frame,
// ranges, untimed ones, replies in depth, text with markup, field
// separators, line breaks, formulas and right-to-left overrides.
func sample() (Media, []Comment) {
	r := Rate{30000, 1001}
	m := Media{
		ID: "ab12cd34", Title: "Cut 3 <final> & \"approved\"", FileName: "cut 3 #final.mov",
		Rate: r, Start: 107892, StartTag: "01:00:00;00", Frames: 2 * 17982,
		Width: 1920, Height: 1080, HasVideo: true, HasAudio: true, Kind: "video",
	}
	t0 := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	cs := []Comment{
		{ID: 7, Author: "carol", Text: "untimed note on the whole cut", Created: t0.Add(7 * time.Minute)},
		{ID: 2, Author: "bob", Text: "at the minute: frame 1800 is 00:01:00;02", Frame: ptr[int64](1800), Created: t0.Add(2 * time.Minute)},
		{ID: 1, Author: "alice", Text: "first frame", Frame: ptr[int64](0), Created: t0,
			Drawing: []byte("RIFF\x10\x00\x00\x00WEBPVP8 fake"),
			Replies: []Reply{
				{ID: 3, Author: "bob", Text: "agreed", Created: t0.Add(3 * time.Minute), Depth: 1},
				{ID: 4, Author: "alice", Text: "thanks | will fix", Created: t0.Add(4 * time.Minute), Depth: 2},
			}},
		{ID: 5, Author: "dave (guest)", Text: "range:\nthe whole shot\nis too dark", Frame: ptr[int64](17980), EndFrame: ptr[int64](18099), Created: t0.Add(5 * time.Minute)},
		{ID: 6, Author: "eve", Text: "=HYPERLINK(\"http://x\") <script>alert(1)</script> \u202eevil", Frame: ptr[int64](30000), Created: t0.Add(6 * time.Minute)},
		{ID: 8, Author: "", Text: "", Frame: ptr[int64](30001), Created: t0.Add(8 * time.Minute)},
	}
	return m, cs
}

func export(t *testing.T, f Format, m Media, cs []Comment, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f, m, cs, opt); err != nil {
		t.Fatalf("Write(%s): %v", f, err)
	}
	return b.Bytes()
}

// golden compares out with testdata/<name>, or rewrites it with -update.
// The EDL golden file is also read by the web UI's importer test
// (web/src/lib/edl.export.test.ts), which is what makes the round trip.
func golden(t *testing.T, name string, out []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, out)
	}
}

func TestEDL(t *testing.T) {
	m, cs := sample()
	out := export(t, EDL, m, cs, Options{})
	golden(t, "sample.edl", out)
	text := string(out)
	for _, want := range []string{
		"TITLE: Cut 3 <final> & \"approved\"\r\n",
		"FCM: DROP FRAME\r\n",
		// frame 0 at 01:00:00;00, one frame long
		"001  AX       V     C        01:00:00;00 01:00:00;01 01:00:00;00 01:00:00;01\r\n",
		" |C:ResolveColorBlue |M:first frame |D:1\r\n",
		"* REPLY BY bob: agreed\r\n",
		"*   REPLY BY alice: thanks ¦ will fix\r\n",
		"002  AX       V     C        01:01:00;02 01:01:00;03",
		// the range: 120 frames (17980-18099) across the ten-minute mark
		"003  AX       V     C        01:09:59;28 01:10:03;28 01:09:59;28 01:10:03;28\r\n",
		" |C:ResolveColorGreen |M:range: / the whole shot / is too dark |D:120\r\n",
		"* COMMENT BY: dave (guest)\r\n",
		" |M:(no text) |D:1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("EDL lacks %q", want)
		}
	}
	if strings.Contains(text, "untimed") {
		t.Error("an untimed comment has no place in an EDL, but is in it")
	}
	if n := strings.Count(text, " |M:"); n != 5 {
		t.Errorf("%d marker lines, want 5", n)
	}

	// An exact-rate file without a start timecode says NON-DROP and
	// starts at zero.
	m.Rate, m.Start = Rate{25, 1}, 0
	out = export(t, EDL, m, cs[1:2], Options{})
	if !strings.Contains(string(out), "FCM: NON-DROP FRAME") || !strings.Contains(string(out), "00:01:12:00 00:01:12:01") {
		t.Errorf("25 fps EDL:\n%s", out)
	}
	golden(t, "sample-25.edl", out)
}

// TestCSV reads the export back with Python's csv module, as a
// spreadsheet user's script would.
func TestCSV(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	m, cs := sample()
	out := export(t, CSV, m, cs, Options{})
	if !bytes.HasPrefix(out, []byte("\xef\xbb\xbf")) {
		t.Error("the CSV has no UTF-8 byte order mark")
	}
	path := filepath.Join(t.TempDir(), "comments.csv")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import csv, json, sys
with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:
    print(json.dumps(list(csv.DictReader(f))))`
	res, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("python csv: %v", err)
	}
	var rows []map[string]string
	if err := json.Unmarshal(res, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6: %v", len(rows), rows)
	}
	first := rows[0]
	check := map[string]string{
		"Timecode": "01:00:00;00", "Frame": "0", "Seconds": "0.000", "User": "alice", "Comment": "first frame",
		"Replies": "bob: agreed\n> alice: thanks | will fix", "Has Drawing": "yes", "Comment ID": "1",
		"Created": "2026-12-01T09:30:00Z",
	}
	for k, v := range check {
		if first[k] != v {
			t.Errorf("row 1 %s = %q, want %q", k, first[k], v)
		}
	}
	rng := rows[2]
	if rng["Timecode"] != "01:09:59;28" || rng["Timecode Out"] != "01:10:03;27" || rng["Frame Out"] != "18099" ||
		rng["Comment"] != "range:\nthe whole shot\nis too dark" || rng["Seconds"] != "599.933" {
		t.Errorf("range row: %v", rng)
	}
	if got := rows[3]["Comment"]; !strings.HasPrefix(got, "'=HYPERLINK") {
		t.Errorf("a formula is not neutralised: %q", got)
	}
	if last := rows[5]; last["Timecode"] != "" || last["Frame"] != "" || last["Comment"] != "untimed note on the whole cut" {
		t.Errorf("the untimed comment is not last with empty positions: %v", last)
	}
}

// xmllint validates a file against one of the DTDs in testdata.
func xmllint(t *testing.T, dtd string, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian: libxml2-utils)")
	}
	path := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--noout", "--dtdvalid", filepath.Join("testdata", dtd), path).CombinedOutput(); err != nil {
		t.Fatalf("not valid against %s: %v\n%s\n%s", dtd, err, out, doc)
	}
}

func TestFCPXML(t *testing.T) {
	m, cs := sample()
	out := export(t, FCPXML, m, cs, Options{})
	xmllint(t, "fcpxml-1.10-markers.dtd", out)
	golden(t, "sample.fcpxml", out)

	var doc struct {
		Resources struct {
			Format struct {
				FrameDuration string `xml:"frameDuration,attr"`
			} `xml:"format"`
		} `xml:"resources"`
		Sequence struct {
			TCStart  string `xml:"tcStart,attr"`
			TCFormat string `xml:"tcFormat,attr"`
			Clip     struct {
				Start   string `xml:"start,attr"`
				Markers []struct {
					Start    string `xml:"start,attr"`
					Duration string `xml:"duration,attr"`
					Value    string `xml:"value,attr"`
					Note     string `xml:"note,attr"`
				} `xml:"marker"`
			} `xml:"spine>asset-clip"`
		} `xml:"library>event>project>sequence"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Resources.Format.FrameDuration != "1001/30000s" || doc.Sequence.TCFormat != "DF" {
		t.Errorf("format %+v / %s", doc.Resources.Format, doc.Sequence.TCFormat)
	}
	// Times are whole frames: 107892 frames of 1001/30000 s is 01:00:00;00.
	if doc.Sequence.TCStart != "107999892/30000s" || doc.Sequence.Clip.Start != doc.Sequence.TCStart {
		t.Errorf("tcStart %s, clip start %s", doc.Sequence.TCStart, doc.Sequence.Clip.Start)
	}
	mk := doc.Sequence.Clip.Markers
	if len(mk) != 5 {
		t.Fatalf("%d markers, want 5", len(mk))
	}
	frameOf := func(s string) int64 {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.Split(s, "/")[0], "s"), 10, 64)
		if err != nil || !strings.HasSuffix(s, "/30000s") || n%1001 != 0 {
			t.Fatalf("time %q is not a whole number of frames", s)
		}
		return n / 1001
	}
	if frameOf(mk[0].Start) != 107892 || mk[0].Value != "first frame" || mk[0].Note != "alice\nbob: agreed\n  alice: thanks | will fix" {
		t.Errorf("marker 1: %+v", mk[0])
	}
	if frameOf(mk[2].Start) != 107892+17980 || frameOf(mk[2].Duration) != 120 {
		t.Errorf("range marker: %+v", mk[2])
	}
	if !strings.Contains(mk[3].Value, "<script>") || bytes.Contains(out, []byte("<script>")) {
		t.Errorf("markup is not escaped: %q", mk[3].Value)
	}
}

func TestPremiere(t *testing.T) {
	m, cs := sample()
	out := export(t, Premiere, m, cs, Options{})
	xmllint(t, "xmeml-4-markers.dtd", out)
	golden(t, "sample-premiere.xml", out)
	var doc struct {
		Sequence struct {
			Timecode struct {
				String  string `xml:"string"`
				Frame   int64  `xml:"frame"`
				Display string `xml:"displayformat"`
			} `xml:"timecode"`
			Rate struct {
				Timebase int    `xml:"timebase"`
				NTSC     string `xml:"ntsc"`
			} `xml:"rate"`
			Markers []struct {
				Name    string `xml:"name"`
				Comment string `xml:"comment"`
				In      int64  `xml:"in"`
				Out     int64  `xml:"out"`
			} `xml:"marker"`
		} `xml:"sequence"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Sequence
	if s.Timecode.String != "01:00:00;00" || s.Timecode.Frame != 107892 || s.Timecode.Display != "DF" ||
		s.Rate.Timebase != 30 || s.Rate.NTSC != "TRUE" {
		t.Errorf("sequence timing: %+v %+v", s.Timecode, s.Rate)
	}
	if len(s.Markers) != 5 {
		t.Fatalf("%d markers, want 5", len(s.Markers))
	}
	if s.Markers[0].In != 0 || s.Markers[0].Out != -1 || s.Markers[0].Name != "first frame" ||
		s.Markers[0].Comment != "first frame (alice / bob: agreed / alice: thanks | will fix)" {
		t.Errorf("marker 1: %+v", s.Markers[0])
	}
	if s.Markers[2].In != 17980 || s.Markers[2].Out != 18100 {
		t.Errorf("range marker: %+v", s.Markers[2])
	}
}

func TestReport(t *testing.T) {
	m, cs := sample()
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	out := string(export(t, Report, m, cs, Options{
		Frames: map[int64][]byte{0: jpeg, 1800: jpeg},
		Now:    time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
	}))
	for _, want := range []string{
		"<title>Review comments: Cut 3 &lt;final&gt; &amp; &#34;approved&#34;</title>",
		`<img alt="Frame at 01:00:00;00" src="data:image/jpeg;base64,`,
		`<img alt="Drawing" src="data:image/webp;base64,UklGR`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"01:09:59;28 – 01:10:03;27",
		"6 comments · 2 replies · file cut 3 #final.mov",
		"no frame image",
		"No timecode",
		"dave (guest)",
		"Exported 2026-12-03 10:00 UTC. Timecodes at 29.97 fps, starting at 01:00:00;00.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("comment text is not escaped in the report")
	}
	if n := strings.Count(out, "<article"); n != 6 {
		t.Errorf("%d comments in the report, want 6", n)
	}
}

func TestBadInput(t *testing.T) {
	m, cs := sample()
	if _, err := ParseFormat("docx"); err == nil || !strings.Contains(err.Error(), "edl, csv, fcpxml, premiere, html") {
		t.Errorf("ParseFormat(docx) error = %v", err)
	}
	for _, f := range Formats {
		if g, err := ParseFormat(strings.ToUpper(string(f))); err != nil || g != f {
			t.Errorf("ParseFormat(%s) = %s, %v", f, g, err)
		}
		// No rate: an error, not a division by zero.
		noRate := m
		noRate.Rate = Rate{}
		if err := Write(&bytes.Buffer{}, f, noRate, cs, Options{}); err == nil {
			t.Errorf("%s without a frame rate: no error", f)
		}
		// No comments at all still gives a valid file.
		if err := Write(&bytes.Buffer{}, f, m, nil, Options{}); err != nil {
			t.Errorf("%s without comments: %v", f, err)
		}
		// A comment past the end is clamped to the last frame, and an end
		// before the start gives a one-frame marker.
		odd := []Comment{{ID: 1, Text: "late", Frame: ptr(m.Frames + 500)}, {ID: 2, Text: "reversed", Frame: ptr[int64](100), EndFrame: ptr[int64](50)}}
		var b bytes.Buffer
		if err := Write(&b, f, m, odd, Options{}); err != nil {
			t.Errorf("%s with odd positions: %v", f, err)
		}
		switch f {
		case FCPXML:
			xmllint(t, "fcpxml-1.10-markers.dtd", b.Bytes())
		case Premiere:
			xmllint(t, "xmeml-4-markers.dtd", b.Bytes())
		}
	}
	// Text XML cannot carry at all is dropped rather than making an
	// unreadable file.
	ctl := []Comment{{ID: 1, Text: "bell\x07 and \x00nul\ufffe", Frame: ptr[int64](1)}}
	xmllint(t, "fcpxml-1.10-markers.dtd", export(t, FCPXML, m, ctl, Options{}))
	xmllint(t, "xmeml-4-markers.dtd", export(t, Premiere, m, ctl, Options{}))
}

// TestEDLRoundTripFixture writes the fixture that the web UI's importer
// test reads back: the comments the EDL should become.
func TestEDLRoundTripFixture(t *testing.T) {
	m, cs := sample()
	type want struct {
		Text  string `json:"text"`
		Frame int64  `json:"frame"`
	}
	var ws []want
	for _, c := range SortComments(cs) {
		if c.Frame != nil {
			text := edlMarker(c.Text)
			ws = append(ws, want{Text: text, Frame: *c.Frame})
		}
	}
	b, _ := json.MarshalIndent(map[string]any{"rate": fmt.Sprintf("%d/%d", m.Rate.Num, m.Rate.Den),
		"start": m.timecode(0), "comments": ws}, "", "  ")
	golden(t, "sample.edl.json", append(b, '\n'))
}
