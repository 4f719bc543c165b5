package export

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in         string
		want       Rate
		label      string
		nominal    int64
		drop, fail bool
	}{
		{in: "25", want: Rate{25, 1}, label: "25", nominal: 25},
		{in: "25/1", want: Rate{25, 1}, label: "25", nominal: 25},
		{in: "30000/1001", want: Rate{30000, 1001}, label: "29.97", nominal: 30, drop: true},
		{in: "29.97", want: Rate{30000, 1001}, label: "29.97", nominal: 30, drop: true},
		{in: "24000/1001", want: Rate{24000, 1001}, label: "23.976", nominal: 24},
		{in: "59.94", want: Rate{60000, 1001}, label: "59.94", nominal: 60, drop: true},
		{in: "60000/1001", want: Rate{60000, 1001}, label: "59.94", nominal: 60, drop: true},
		{in: "50/1", want: Rate{50, 1}, label: "50", nominal: 50},
		{in: "12.5", want: Rate{25, 2}, label: "12.5", nominal: 13},
		{in: "15/2", want: Rate{15, 2}, label: "7.5", nominal: 8},
		{in: "0", fail: true},
		{in: "0/0", fail: true},
		{in: "abc", fail: true},
		{in: "", fail: true},
		{in: "-25", fail: true},
		{in: "100000", fail: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if tc.fail {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if got.Label() != tc.label || got.Nominal() != tc.nominal || got.DropFrame() != tc.drop {
				t.Errorf("%v: label %q nominal %d drop %v; want %q %d %v", got,
					got.Label(), got.Nominal(), got.DropFrame(), tc.label, tc.nominal, tc.drop)
			}
		})
	}
}

func TestSMPTE(t *testing.T) {
	df30, df60, pal := Rate{30000, 1001}, Rate{60000, 1001}, Rate{25, 1}
	for _, tc := range []struct {
		rate  Rate
		frame int64
		drop  bool
		want  string
	}{
		{pal, 0, false, "00:00:00:00"},
		{pal, 24, false, "00:00:00:24"},
		{pal, 25, false, "00:00:01:00"},
		{pal, 90000, false, "01:00:00:00"},
		// Drop-frame skips frame numbers 00 and 01 at the start of every
		// minute except each tenth.
		{df30, 1799, true, "00:00:59;29"},
		{df30, 1800, true, "00:01:00;02"},
		{df30, 17981, true, "00:09:59;29"},
		{df30, 17982, true, "00:10:00;00"},
		{df30, 107892, true, "01:00:00;00"},
		{df30, 1800, false, "00:01:00:00"},
		{df60, 3599, true, "00:00:59;59"},
		{df60, 3600, true, "00:01:00;04"},
		{df60, 215784, true, "01:00:00;00"},
	} {
		if got := tc.rate.SMPTE(tc.frame, tc.drop); got != tc.want {
			t.Errorf("%v.SMPTE(%d, %v) = %s, want %s", tc.rate, tc.frame, tc.drop, got, tc.want)
		}
	}
	// Every frame of two hours reads back as itself.
	for _, r := range []Rate{df30, df60, pal, {24000, 1001}} {
		for f := int64(0); f < 2*3600*r.Nominal(); f += 7 {
			tc := r.SMPTE(f, r.DropFrame())
			back, err := r.ParseSMPTE(tc)
			if err != nil || back != f {
				t.Fatalf("%v: frame %d -> %s -> %d, %v", r, f, tc, back, err)
			}
		}
	}
	for _, bad := range []string{"", "1:2:3", "00:60:00:00", "00:00:60:00", "00:00:00:30", "aa:bb:cc:dd"} {
		if f, err := df30.ParseSMPTE(bad); err == nil {
			t.Errorf("ParseSMPTE(%q) = %d, want an error", bad, f)
		}
	}
}

func TestWireFrame(t *testing.T) {
	r := Rate{30000, 1001}
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, false},
		{"garbage", 0, false},
		{"00:00:00:00", 0, true},
		{"00:00:01:00", 30, true}, // 1 s real time = 29.97 frames, rounded
		{"00:01:00:00", 1798, true},
		{"00:01:00:05", 1803, true},
		{"00:00:02.500", 74, true},
		{"00:01:00;02", 1800, true},
	} {
		got, ok := r.WireFrame(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("WireFrame(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSourceTimecode reads the start timecode of files made by ffmpeg with
// a timecode track, as the ingest stores their ffprobe output.
func TestSourceTimecode(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, rate, timecode string
		want                 int64
	}{
		{"df.mov", "30000/1001", "01:02:03;04", Rate{30000, 1001}.mustParse("01:02:03;04")},
		{"pal.mp4", "25", "10:00:00:00", 900000},
		{"none.mp4", "25", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=" + tc.rate, "-t", "0.2", "-c:v", "libx264"}
			if tc.timecode != "" {
				args = append(args, "-timecode", tc.timecode)
			}
			if out, err := exec.Command("ffmpeg", append(args, "-y", path)...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			probe, err := exec.Command("ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			rate, _ := ParseRate(tc.rate)
			got, tag, found := SourceTimecode(string(probe), rate)
			if found != (tc.timecode != "") || got != tc.want || tag != tc.timecode {
				t.Errorf("SourceTimecode = %d, %q, %v; want %d, %q", got, tag, found, tc.want, tc.timecode)
			}
		})
	}
	if _, _, found := SourceTimecode("not json", Rate{25, 1}); found {
		t.Error("a timecode found in garbage")
	}
}

func (r Rate) mustParse(s string) int64 {
	f, err := r.ParseSMPTE(s)
	if err != nil {
		panic(err)
	}
	return f
}
