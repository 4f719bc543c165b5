package review_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func TestSubtitles(t *testing.T) {
	s := startServer(t)
	s.addMedia("aaaa0001", "alice", "video")
	c := s.dial("alice")
	subsDir := filepath.Join(s.dir, "videos", "aaaa0001", "subs")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	add := func(name, content string) {
		c.send("addSubtitle", map[string]any{"mediaFileId": "aaaa0001", "fileName": name, "contentsBase64": content})
	}
	opened := func() *pb.MediaFile {
		t.Helper()
		mf := c.expect("openMediaFile").GetOpenMediaFile().GetMediaFile()
		c.expect("addComments")
		return mf
	}
	byTitle := func(mf *pb.MediaFile, title string) *pb.Subtitle {
		for _, s := range mf.Subtitles {
			if s.Title == title {
				return s
			}
		}
		t.Fatalf("no subtitle %q in %v", title, mf.Subtitles)
		return nil
	}

	// SubRip: converted to WebVTT, language from the name, the first one
	// becomes the default.
	add("Apollo11.fi.srt", b64("1\r\n00:00:01,000 --> 00:00:02,500\r\nSytytys.\r\n"))
	mf := opened()
	fi := byTitle(mf, "Apollo11.fi.srt")
	if fi.LanguageCode != "fi" || fi.PlaybackUrl != "videos/aaaa0001/subs/Apollo11.fi.vtt" ||
		fi.OrigUrl != "videos/aaaa0001/subs/orig/Apollo11.fi.srt" || mf.GetDefaultSubtitleId() != fi.Id || fi.TimeOffset != 0 {
		t.Errorf("srt subtitle: %v (default %q)", fi, mf.GetDefaultSubtitleId())
	}
	if vtt, _ := os.ReadFile(filepath.Join(subsDir, "Apollo11.fi.vtt")); string(vtt) != "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nSytytys.\n" {
		t.Errorf("vtt: %q", vtt)
	}

	// WebVTT: played as uploaded; not the default (there is one already).
	add("x.tlh.vtt", b64("WEBVTT\n\n00:01.000 --> 00:02.000\nQapla'\n"))
	mf = opened()
	tlh := byTitle(mf, "x.tlh.vtt")
	if tlh.LanguageCode != "tlh" || tlh.PlaybackUrl != tlh.OrigUrl || mf.GetDefaultSubtitleId() != fi.Id {
		t.Errorf("vtt subtitle: %v", tlh)
	}

	// ASS, with a name that is not a language: "en".
	add("Countdown.final.ass", b64("[Script Info]\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"+
		"Dialogue: 0,0:00:00.00,0:00:02.52,Default,,0,0,0,,{\\i1}bIQ{\\i0}\\Nbegh\n"))
	if ass := byTitle(opened(), "Countdown.final.ass"); ass.LanguageCode != "en" {
		t.Errorf("ass language %q", ass.LanguageCode)
	}
	if vtt, _ := os.ReadFile(filepath.Join(subsDir, "Countdown.final.vtt")); !strings.Contains(string(vtt), "<i>bIQ</i>\nbegh") {
		t.Errorf("ass vtt: %q", vtt)
	}

	// The same name again: refused, stored message.
	add("Apollo11.fi.srt", b64("1\n00:00:01,000 --> 00:00:02,000\nx\n"))
	m := c.expectMsg(pb.UserMessage_ERROR, "Failed to add subtitle.")
	if m.GetDetails() != "Subtitle file already exists: 'Apollo11.fi.srt'" {
		t.Errorf("details %q", m.GetDetails())
	}

	// A file that does not parse: a clear error, and nothing left behind.
	add("broken.srt", b64("this is not a subtitle file"))
	c.expectMsg(pb.UserMessage_ERROR, "Cmd 'AddSubtitle' failed: Failed to parse subtitle file: not a SubRip file")
	add("broken.vtt", b64("WEBVTT\n\n00:01.000 --> nonsense\nx\n"))
	c.expectMsg(pb.UserMessage_ERROR, "Failed to parse subtitle file: WebVTT line 3")
	add("bad.srt", "%%% not base64 %%%")
	c.expectMsg(pb.UserMessage_ERROR, "Failed to base64 decode subtitle file")
	add("../../../etc/passwd.srt", b64("1\n00:00:01,000 --> 00:00:02,000\nx\n"))
	if byTitle(opened(), "passwd.srt").OrigUrl != "videos/aaaa0001/subs/orig/passwd.srt" {
		t.Error("path in file name not stripped")
	}
	for _, leftover := range []string{"orig/broken.srt", "broken.vtt", "orig/broken.vtt", "orig/bad.srt"} {
		if _, err := os.Stat(filepath.Join(subsDir, leftover)); !os.IsNotExist(err) {
			t.Errorf("%s left behind", leftover)
		}
	}
	// Too large for a subtitle, small enough for a message.
	big := strings.Repeat("1\n00:00:01,000 --> 00:00:02,000\nline of text line of text\n\n", 9<<20/60)
	c.timeout = 2 * time.Minute
	add("big.srt", b64(big))
	c.expectMsg(pb.UserMessage_ERROR, "subtitle file is too large")
	c.timeout = 0

	// Edit: title, language, offset; make another the default; unset.
	c.send("editSubtitleInfo", map[string]any{"id": tlh.Id, "title": "Klingon", "languageCode": "tlh", "timeOffset": -1.5, "isDefault": true})
	mf = opened()
	k := byTitle(mf, "Klingon")
	if k.TimeOffset != -1.5 || mf.GetDefaultSubtitleId() != tlh.Id {
		t.Errorf("edited: %v, default %q", k, mf.GetDefaultSubtitleId())
	}
	c.send("editSubtitleInfo", map[string]any{"id": fi.Id, "isDefault": false}) // not the default: no change
	if mf = opened(); mf.GetDefaultSubtitleId() != tlh.Id {
		t.Errorf("default changed to %q", mf.GetDefaultSubtitleId())
	}
	c.send("editSubtitleInfo", map[string]any{"id": tlh.Id, "isDefault": false})
	if mf = opened(); mf.DefaultSubtitleId != nil {
		t.Errorf("default not cleared: %q", mf.GetDefaultSubtitleId())
	}
	c.send("editSubtitleInfo", map[string]any{"id": tlh.Id, "title": "  "})
	c.expectMsg(pb.UserMessage_ERROR, "subtitle title must not be empty")
	c.send("editSubtitleInfo", map[string]any{"id": tlh.Id, "timeOffset": "Infinity"})
	c.expectMsg(pb.UserMessage_ERROR, "time offset")
	c.send("editSubtitleInfo", map[string]any{"id": "999", "title": "x"})
	c.expectMsg(pb.UserMessage_ERROR, "Cmd 'EditSubtitleInfo' failed: no such subtitle: 999")

	// Delete: the files go, then the row; the default is cleared by the
	// database when it was this one.
	c.send("editSubtitleInfo", map[string]any{"id": fi.Id, "isDefault": true})
	opened()
	c.send("delSubtitle", map[string]any{"id": fi.Id})
	mf = opened()
	if mf.DefaultSubtitleId != nil || len(mf.Subtitles) != 3 {
		t.Errorf("after delete: %v", mf)
	}
	for _, gone := range []string{"orig/Apollo11.fi.srt", "Apollo11.fi.vtt"} {
		if _, err := os.Stat(filepath.Join(subsDir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s not deleted", gone)
		}
	}
	c.send("delSubtitle", map[string]any{"id": "abc"})
	c.expectMsg(pb.UserMessage_ERROR, `subtitle id "abc" is not a number`)
	// The name is free again.
	add("Apollo11.fi.srt", b64("1\n00:00:01,000 --> 00:00:02,000\nx\n"))
	opened()
}
