package subtitles

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestLanguage(t *testing.T) {
	for name, want := range map[string]string{
		"x.en.srt": "en", "x.tlh.ass": "tlh", "x.emo.srt": "emo", "Apollo11.fi.srt": "fi",
		"x.srt": "en", "x.EN.srt": "en", "x.engl.srt": "en", "x.e1.srt": "en", "srt": "en", ".de.vtt": "de",
	} {
		if got := Language(name); got != want {
			t.Errorf("Language(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       Format
	}{
		{"a.SRT", "", SubRip},
		{"a.vtt", "", WebVTT},
		{"a.ssa", "", SSA},
		{"a.ass", "", ASS},
		{"a.txt", "\ufeffWEBVTT\n\n00:01.000 --> 00:02.000\nx\n", WebVTT},
		{"a.txt", "[Script Info]\n[V4+ Styles]\n[Events]\n", ASS},
		{"a.txt", "[Script Info]\n[V4 Styles]\n[Events]\n", SSA},
		{"a", "1\n00:00:01,000 --> 00:00:02,000\nx\n", SubRip},
	} {
		got, err := Detect(tc.name, []byte(tc.data))
		if err != nil || got != tc.want {
			t.Errorf("Detect(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := Detect("movie.sub", []byte("{1}{25}Hello")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("MicroDVD: %v", err)
	}
}

func convert(t *testing.T, name, data string) string {
	t.Helper()
	out, isVTT, err := ToWebVTT(name, []byte(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if isVTT {
		t.Fatalf("%s: reported as WebVTT", name)
	}
	return string(out)
}

func TestSubRip(t *testing.T) {
	in := "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> <font color=\"red\">world</font> & <B>bold</B>\r\nsecond -> line\r\n\r\n" +
		"2\r\n00:00:03,5 --> 00:00:04,000 X1:10 X2:20\r\n{\\an8}Top <3\r\n" +
		"3\r\n1:02:03.004 --> 1:02:04.000\r\nno blank line before me\r\n"
	want := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\n<i>Hello</i> world &amp; <b>bold</b>\nsecond -&gt; line\n\n" +
		"2\n00:00:03.500 --> 00:00:04.000\nTop &lt;3\n\n" +
		"3\n01:02:03.004 --> 01:02:04.000\nno blank line before me\n"
	if got := convert(t, "x.srt", in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestASS(t *testing.T) {
	in := "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n[Events]\n" +
		"Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" +
		"Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,Later, with, commas\n" +
		"Comment: 0,0:00:00.00,0:00:09.00,Default,,0,0,0,,not shown\n" +
		"Dialogue: 0,0:00:00.00,0:00:02.52,Default,,0,0,0,,{\\an8\\i1}wIghoS!{\\i0}\\Ntup\\hret {\\b1}bold\n" +
		"Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100{\\p0}\n"
	want := "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.520\n<i>wIghoS!</i>\ntup\u00a0ret <b>bold</b>\n\n" +
		"2\n00:00:05.000 --> 00:00:06.000\nLater, with, commas\n"
	if got := convert(t, "x.tlh.ass", in); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestSSAv4(t *testing.T) {
	in := "[Script Info]\nScriptType: v4.00\n\n[V4 Styles]\n\n[Events]\n" +
		"Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" +
		"Dialogue: Marked=0,0:00:01.10,0:00:02.20,Default,,0000,0000,0000,,Hello\n"
	want := "WEBVTT\n\n1\n00:00:01.100 --> 00:00:02.200\nHello\n"
	if got := convert(t, "x.ssa", in); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestEncodings(t *testing.T) {
	srt := "1\n00:00:01,000 --> 00:00:02,000\nCafé – ok\n"
	want := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nCafé – ok\n"
	u16 := utf16.Encode([]rune(srt))
	le := []byte{0xFF, 0xFE}
	for _, u := range u16 {
		le = append(le, byte(u), byte(u>>8))
	}
	// Windows-1252: é is 0xE9, the en dash 0x96.
	cp1252 := []byte(strings.NewReplacer("é", "\xe9", "–", "\x96").Replace(srt))
	for name, data := range map[string][]byte{"utf16le": le, "cp1252": cp1252} {
		out, _, err := ToWebVTT("x.srt", data)
		if err != nil || string(out) != want {
			t.Errorf("%s: %q, %v", name, out, err)
		}
	}
}

func TestWebVTTKeptAsIs(t *testing.T) {
	out, isVTT, err := ToWebVTT("x.en.vtt", []byte("WEBVTT\n\n00:01.000 --> 00:02.000 line:0\nHi\n"))
	if err != nil || !isVTT || out != nil {
		t.Errorf("vtt: %q %v %v", out, isVTT, err)
	}
}

func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, data, wantErr string }{
		{"x.srt", "hello world\nno timings here", "no cue timing lines"},
		{"x.srt", "1\n00:00:xx,000 --> 00:00:02,000\nx\n", "bad time"},
		{"x.vtt", "1\n00:00:01.000 --> 00:00:02.000\nx\n", "must start with WEBVTT"},
		{"x.vtt", "WEBVTT\n\nNOTE nothing\n", "no subtitles found"},
		{"x.ass", "[Script Info]\nTitle: x\n", "no [Events] section"},
		{"x.ass", "[Events]\nFormat: Start, End, Text\nDialogue: 0:00:01.00\n", "fields"},
		{"x.ass", "[Events]\nFormat: Layer, Start, End, Text\n", "no subtitles found"},
		{"x.bin", "\x00\x01\x02garbage", "unsupported subtitle format"},
	} {
		_, _, err := ToWebVTT(tc.name, []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s %q: error %v, want one containing %q", tc.name, tc.data, err, tc.wantErr)
		}
	}
}

func TestClock(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00:00:01,000": time.Second, "01:00.5": 60*time.Second + 500*time.Millisecond,
		"0:00:02.52": 2520 * time.Millisecond, "100:00:00.000": 100 * time.Hour,
	} {
		if got, err := parseClock(in); err != nil || got != want {
			t.Errorf("parseClock(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got := vttTime(100*time.Hour + 1500*time.Millisecond); got != "100:00:01.500" {
		t.Errorf("vttTime: %s", got)
	}
}
