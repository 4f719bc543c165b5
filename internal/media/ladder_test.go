package media

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

func TestParseLadder(t *testing.T) {
	cases := []struct {
		in      string
		want    []Rung
		wantErr string
	}{
		{"1080:5,720:2.8,360:0.8", DefaultLadder, ""},
		{" 720p:2.5 , 480:1 ", []Rung{{720, 2_500_000}, {480, 1_000_000}}, ""},
		{"", nil, "no rungs"},
		{"720", nil, "expected HEIGHT:MBITS"},
		{"720:x", nil, "expected HEIGHT:MBITS"},
		{"100:1", nil, "between 144 and 4320"},
		{"720:0", nil, "between 0.1 and 100"},
		{"360:1,720:2", nil, "from the highest to the lowest"},
	}
	for _, c := range cases {
		got, err := ParseLadder(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseLadder(%q): error %v, want one with %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseLadder(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestPlanLadder(t *testing.T) {
	video := func(w, h int, br int64) Info { return Info{Type: Video, Width: w, Height: h, Bitrate: br} }
	r := func(name string, w, h int, br int64) Rendition { return Rendition{name, w, h, br} }
	cases := []struct {
		name string
		in   Info
		want []Rendition
	}{
		{"1080p source", video(1920, 1080, 20_000_000),
			[]Rendition{r("1080p", 1920, 1080, 5_000_000), r("720p", 1280, 720, 2_800_000), r("360p", 640, 360, 800_000)}},
		{"4K source", video(3840, 2160, 50_000_000),
			[]Rendition{r("1080p", 1920, 1080, 5_000_000), r("720p", 1280, 720, 2_800_000), r("360p", 640, 360, 800_000)}},
		{"capped at a 540p source, bitrate at the source's", video(960, 540, 2_000_000),
			[]Rendition{r("540p", 960, 540, 2_000_000), r("360p", 640, 360, 800_000)}},
		{"portrait phone video", video(1080, 1920, 0),
			[]Rendition{r("1080p", 1080, 1920, 5_000_000), r("720p", 720, 1280, 2_800_000), r("360p", 360, 640, 800_000)}},
		{"4:3 fits by height", video(1440, 1080, 0),
			[]Rendition{r("1080p", 1440, 1080, 5_000_000), r("720p", 960, 720, 2_800_000), r("360p", 480, 360, 800_000)}},
		{"tiny source: one rendition", video(160, 120, 0), []Rendition{r("120p", 160, 120, 5_000_000)}},
		{"odd size made even", video(853, 479, 0),
			[]Rendition{r("480p", 854, 480, 5_000_000), r("360p", 640, 360, 800_000)}},
		{"ultra-wide: width bound", video(4000, 1000, 0),
			[]Rendition{r("480p", 1920, 480, 5_000_000), r("320p", 1280, 320, 2_800_000), r("160p", 640, 160, 800_000)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PlanLadder(c.in, DefaultLadder); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

// The ladder's command line is golden like the others.
func TestGoldenLadderArgv(t *testing.T) {
	const dir = "/data/videos/abcd1234/hls_u"
	in := videoInfo()
	silentPortrait := videoInfo()
	silentPortrait.AudioStream, silentPortrait.Width, silentPortrait.Height, silentPortrait.FPS = -1, 1080, 1920, "29.970"
	threads := map[string][]int{"ladder_1080p": LadderThreads(PlanLadder(in, DefaultLadder), 8)}
	for name, in := range map[string]Info{"ladder_1080p": in, "ladder_portrait_silent": silentPortrait} {
		t.Run(name, func(t *testing.T) {
			args, err := LadderArgs(in, PlanLadder(in, DefaultLadder), "/data/videos/abcd1234/orig/clip.mov", dir, "master.m3u8", threads[name])
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, strings.Join(args, "\n")+"\n")
		})
	}
	if _, err := LadderArgs(Info{Type: Audio, VideoStream: -1, AudioStream: 0}, DefaultLadderRenditions(), "/x", dir, "master.m3u8", nil); err == nil {
		t.Error("audio got a ladder")
	}
	if _, err := LadderArgs(in, PlanLadder(in, DefaultLadder), "/x", "relative/dir", "master.m3u8", nil); err == nil {
		t.Error("a relative output directory was accepted")
	}
	if _, err := LadderArgs(in, PlanLadder(in, DefaultLadder), "/x", dir, "../master.m3u8", nil); err == nil {
		t.Error("a master playlist outside the directory was accepted")
	}
}

func TestLadderThreads(t *testing.T) {
	rends := PlanLadder(videoInfo(), DefaultLadder) // 1920×1080, 1280×720, 640×360
	for _, c := range []struct {
		cpus int
		want []int
	}{{1, []int{1, 1, 1}}, {2, []int{1, 1, 1}}, {8, []int{5, 2, 1}}, {32, []int{21, 9, 2}}} {
		if got := LadderThreads(rends, c.cpus); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d CPUs: %v, want %v", c.cpus, got, c.want)
		}
	}
}

// DefaultLadderRenditions is the default ladder for a 1080p source.
func DefaultLadderRenditions() []Rendition { return PlanLadder(videoInfo(), DefaultLadder) }

// A real run: every rendition plays, the keyframes (segment boundaries) are
// the same in all of them, the master lists the video renditions with
// their audio group and no sound-only variant.
func TestLadderRun(t *testing.T) {
	mediatest.Require(t)
	tmp := t.TempDir()
	src := mediatest.MakeArgs(t, tmp, "src.mov", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5",
		"-f", "lavfi", "-i", "sine=duration=5", "-c:v", "mpeg4", "-q:v", "3", "-c:a", "pcm_s16le")
	tools := &Tools{NoNice: true}
	_, in, err := tools.Inspect(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	rends := PlanLadder(in, []Rung{{360, 600_000}, {240, 300_000}, {144, 150_000}})
	dir := filepath.Join(tmp, "hls")
	args, err := LadderArgs(in, rends, src, dir, "master.m3u8", LadderThreads(rends, 2))
	if err != nil {
		t.Fatal(err)
	}
	var frames int64
	if err := Run(context.Background(), tools.FFmpegCommand(args), RunOptions{Stderr: io.Discard,
		Progress: func(p Progress) { frames = max(frames, p.Frame) }}); err != nil {
		t.Fatal(err)
	}
	if frames < 100 {
		t.Errorf("progress reported %d frames of 125", frames)
	}
	if err := FinishLadder(dir, "master.m3u8"); err != nil {
		t.Fatal(err)
	}
	master, _ := os.ReadFile(filepath.Join(dir, "master.m3u8"))
	if n := strings.Count(string(master), "#EXT-X-STREAM-INF:"); n != 3 {
		t.Errorf("master lists %d variants, want 3:\n%s", n, master)
	}
	if strings.Contains(string(master), "\naudio/index.m3u8") || !strings.Contains(string(master), `TYPE=AUDIO,GROUP-ID="group_audio"`) {
		t.Errorf("the audio must be a group, not a variant:\n%s", master)
	}
	var durations string
	for _, r := range rends {
		pl, err := os.ReadFile(filepath.Join(dir, r.Name, "index.m3u8"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(master), r.Name+"/index.m3u8") {
			t.Errorf("master does not list %s", r.Name)
		}
		var d []string
		for _, l := range strings.Split(string(pl), "\n") {
			if strings.HasPrefix(l, "#EXTINF:") {
				d = append(d, l)
			}
		}
		got := strings.Join(d, " ")
		if durations == "" {
			durations = got
			if len(d) != 3 {
				t.Errorf("%s: %d segments of 2 s for 5 s, want 3: %s", r.Name, len(d), got)
			}
		} else if got != durations {
			t.Errorf("segments not aligned:\n%s: %s\nfirst: %s", r.Name, got, durations)
		}
		p, err := tools.Probe(context.Background(), filepath.Join(dir, r.Name, "index.m3u8"))
		if err != nil {
			t.Fatalf("%s does not play: %v", r.Name, err)
		}
		for _, s := range p.Streams {
			if s.CodecType == "video" && (s.CodecName != "h264" || s.Width != r.Width || s.Height != r.Height) {
				t.Errorf("%s: %s %dx%d", r.Name, s.CodecName, s.Width, s.Height)
			}
		}
	}
	if inits, _ := filepath.Glob(filepath.Join(dir, "audio", "init*.mp4")); len(inits) != 1 {
		t.Errorf("no audio rendition: %v", inits)
	}
}

// FinishLadder keeps the video variants and the audio group, and refuses
// a ladder that a failed write (a full disk: ffmpeg still exits 0) left
// incomplete.
func TestFinishLadder(t *testing.T) {
	const master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_audio\",NAME=\"audio_0\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS=\"mp4a.40.2\",AUDIO=\"group_audio\"\naudio/index.m3u8\n\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=5640800,RESOLUTION=1920x1080,CODECS=\"avc1.640028,mp4a.40.2\",AUDIO=\"group_audio\"\n1080p/index.m3u8\n"
	const cleaned = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_audio\",NAME=\"audio_0\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=5640800,RESOLUTION=1920x1080,CODECS=\"avc1.640028,mp4a.40.2\",AUDIO=\"group_audio\"\n1080p/index.m3u8\n"
	const playlist = "#EXTM3U\n#EXT-X-MAP:URI=\"init_1.mp4\"\n#EXTINF:2.000000,\nseg_00000.m4s\n#EXT-X-ENDLIST\n"
	files := map[string]string{"master.m3u8": master,
		"audio/index.m3u8": strings.ReplaceAll(playlist, "init_1", "init_0"), "audio/init_0.mp4": "i", "audio/seg_00000.m4s": "s",
		"1080p/index.m3u8": playlist, "1080p/init_1.mp4": "i", "1080p/seg_00000.m4s": "s"}
	cases := []struct {
		name    string
		change  map[string]string // "" removes the file
		wantErr string
	}{
		{"complete", nil, ""},
		{"empty master", map[string]string{"master.m3u8": ""}, "lists no video rendition"},
		{"master without video", map[string]string{"master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\naudio/index.m3u8\n"}, "lists no video rendition"},
		{"playlist cut off", map[string]string{"1080p/index.m3u8": ""}, "1080p/index.m3u8 is cut off"},
		{"audio playlist missing", map[string]string{"audio/index.m3u8": ""}, "audio/index.m3u8 is cut off"},
		{"empty segment", map[string]string{"1080p/seg_00000.m4s": ""}, "1080p/seg_00000.m4s is empty"},
		{"no init section", map[string]string{"1080p/init_1.mp4": "-"}, "init_1.mp4"},
		{"playlist escapes", map[string]string{"1080p/index.m3u8": strings.ReplaceAll(playlist, "seg_00000", "../../x")}, "outside the ladder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range files {
				if v, ok := c.change[name]; ok {
					if v == "-" {
						continue
					}
					body = v
				}
				os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := FinishLadder(dir, "master.m3u8")
			if c.wantErr == "" {
				got, _ := os.ReadFile(filepath.Join(dir, "master.m3u8"))
				if err != nil || string(got) != cleaned {
					t.Errorf("%v; master:\n%s", err, got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one with %q", err, c.wantErr)
			}
		})
	}
}
