package download

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/export"
	"github.com/clapshot-go/clapshot/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestThreads(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	rows := []store.Comment{ // newest first, as the store lists them
		{ID: 6, ParentID: ptr[int64](99), Comment: "orphan", UsernameIfNull: "eve", Created: at(6)},
		{ID: 5, ParentID: ptr[int64](3), Comment: "re re", UsernameIfNull: "bob", Created: at(5)},
		{ID: 4, ParentID: ptr[int64](1), Comment: "second reply", UserID: ptr("carol"), Created: at(4)},
		{ID: 3, ParentID: ptr[int64](1), Comment: "first reply", UsernameIfNull: "alice", Created: at(3)},
		{ID: 2, Comment: "untimed", UsernameIfNull: "bob", Created: at(2)},
		{ID: 1, Comment: "timed", UsernameIfNull: "bob", Timecode: ptr("00:00:01:05"), TimecodeEnd: ptr("00:00:02:00"), Created: at(1)},
		// A cycle in damaged data must not loop.
		{ID: 7, ParentID: ptr[int64](8), Comment: "loop a", Created: at(7)},
		{ID: 8, ParentID: ptr[int64](7), Comment: "loop b", Created: at(8)},
	}
	got := Threads(export.Rate{Num: 25, Den: 1}, rows)
	var desc []string
	for _, c := range got {
		line := c.Author + ":" + c.Text
		if c.Frame != nil {
			line += "@" + itoa(*c.Frame)
		}
		if c.EndFrame != nil {
			line += "-" + itoa(*c.EndFrame)
		}
		for _, r := range c.Replies {
			line += " [" + strings.Repeat(">", r.Depth) + r.Author + ":" + r.Text + "]"
		}
		desc = append(desc, line)
	}
	want := []string{
		"eve:orphan",
		"bob:untimed",
		"bob:timed@30-50 [>alice:first reply] [>>bob:re re] [>carol:second reply]",
	}
	if strings.Join(desc, "\n") != strings.Join(want, "\n") {
		t.Errorf("threads:\n%s\nwant:\n%s", strings.Join(desc, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMediaFromRow(t *testing.T) {
	probe := `{"streams":[{"codec_type":"video","width":1920,"height":1080,"tags":{"timecode":"01:00:00;00"}},{"codec_type":"audio"}],"format":{}}`
	cases := []struct {
		name    string
		row     store.MediaFile
		want    string // rate label, start, size, kinds
		wantErr string
	}{
		{"ntsc with timecode", store.MediaFile{ID: "a1", FPS: ptr("29.97"), RawMetadataAll: ptr(probe), MediaType: ptr("video"), Duration: ptr(10.0)},
			"29.97 start=107892 1920x1080 v=true a=true frames=300", ""},
		{"audio counts at 25", store.MediaFile{ID: "a2", MediaType: ptr("audio"), Duration: ptr(2.0),
			RawMetadataAll: ptr(`{"streams":[{"codec_type":"audio"}]}`)}, "25 guessed start=0 0x0 v=false a=true frames=50", ""},
		{"cover art is not video", store.MediaFile{ID: "a3", MediaType: ptr("audio"),
			RawMetadataAll: ptr(`{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}]}`)},
			"25 guessed start=0 0x0 v=false a=true frames=0", ""},
		{"broken rate", store.MediaFile{ID: "a4", MediaType: ptr("video"), FPS: ptr("fast")}, "", `frame rate "fast"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Media(c.row)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := m.Rate.Label()
			if m.RateGuessed {
				got += " guessed"
			}
			got += " start=" + itoa(m.Start) + " " + itoa(int64(m.Width)) + "x" + itoa(int64(m.Height))
			got += " v=" + map[bool]string{true: "true", false: "false"}[m.HasVideo] + " a=" + map[bool]string{true: "true", false: "false"}[m.HasAudio]
			got += " frames=" + itoa(m.Frames)
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestExportName(t *testing.T) {
	for _, c := range []struct{ title, file, want string }{
		{"Cut 3.mov", "", "Cut 3 comments.edl"},
		{"", "a/b:c*?.mp4", "a_b_c__ comments.edl"},
		{"  ", "", "m1 comments.edl"},
		{"line\nbreak", "", "line_break comments.edl"},
	} {
		if got := exportName(export.Media{ID: "m1", Title: c.title, FileName: c.file}, ".edl"); got != c.want {
			t.Errorf("%q/%q: %q, want %q", c.title, c.file, got, c.want)
		}
	}
}
