package media

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Rung is one step of an adaptive ladder as configured: a size class
// (the short side, 1080 for 1080p) and its video bitrate.
type Rung struct {
	Height  int   `json:"height"`
	Bitrate int64 `json:"bitrate"`
}

// DefaultLadder is 1080p, 720p and 360p, with bitrates that keep noisy
// camera footage watchable at each size.
var DefaultLadder = []Rung{{1080, 5_000_000}, {720, 2_800_000}, {360, 800_000}}

// ParseLadder reads a ladder written as "HEIGHT:MBITS,..." (e.g.
// "1080:5,720:2.8,360:0.8"), highest first.
func ParseLadder(s string) ([]Rung, error) {
	var out []Rung
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		h, mb, ok := strings.Cut(part, ":")
		height, herr := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(h), "p"))
		mbits, berr := strconv.ParseFloat(strings.TrimSpace(mb), 64)
		switch {
		case !ok || herr != nil || berr != nil:
			return nil, fmt.Errorf("%q: expected HEIGHT:MBITS, e.g. 720:2.8", part)
		case height < 144 || height > 4320:
			return nil, fmt.Errorf("%q: the height must be between 144 and 4320", part)
		case mbits < 0.1 || mbits > 100 || math.IsNaN(mbits):
			return nil, fmt.Errorf("%q: the bitrate must be between 0.1 and 100 Mbit/s", part)
		}
		if n := len(out); n > 0 && height >= out[n-1].Height {
			return nil, fmt.Errorf("%q: list the rungs from the highest to the lowest", part)
		}
		out = append(out, Rung{Height: height, Bitrate: int64(mbits * 1e6)})
	}
	if len(out) == 0 {
		return nil, errors.New("no rungs (expected e.g. 1080:5,720:2.8,360:0.8)")
	}
	return out, nil
}

// Rendition is one rung as made for a file: its name (the directory of its
// playlist), the exact picture size and the video bitrate.
type Rendition struct {
	Name    string `json:"name"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bitrate int64  `json:"bitrate"`
}

// PlanLadder fits the rungs to a video: each rung is a box of its height
// and the 16:9 width, turned with the picture (1080p portrait is
// 1080×1920); the picture is scaled down into it, never up, so rungs above
// the source collapse into one at the source's size. Sizes are even (H.264
// 4:2:0), bitrates at most the source's (more bits than the original has
// buy nothing). Rungs of the same size are made once.
func PlanLadder(in Info, rungs []Rung) []Rendition {
	var out []Rendition
	w, h := in.Width, in.Height
	if w <= 0 || h <= 0 {
		return nil
	}
	portrait := h > w
	for _, r := range rungs {
		boxShort := r.Height
		boxLong := int(math.Round(float64(r.Height)*16/9/2)) * 2
		bw, bh := boxLong, boxShort
		if portrait {
			bw, bh = boxShort, boxLong
		}
		scale := math.Min(1, math.Min(float64(bw)/float64(w), float64(bh)/float64(h)))
		ow, oh := even(float64(w)*scale), even(float64(h)*scale)
		if n := len(out); n > 0 && out[n-1].Width == ow && out[n-1].Height == oh {
			continue
		}
		br := r.Bitrate
		if in.Bitrate > 0 {
			br = min(br, max(in.Bitrate, 100_000))
		}
		out = append(out, Rendition{Name: strconv.Itoa(min(ow, oh)) + "p", Width: ow, Height: oh, Bitrate: br})
	}
	return out
}

// even rounds to the nearest even size of at least 2.
func even(x float64) int { return max(2, int(math.Round(x/2))*2) }

// LadderSegmentSeconds is the segment length, and the distance between
// keyframes, of every rendition: the same frames are keyframes in all of
// them, so a player can switch at any segment boundary.
const LadderSegmentSeconds = 2

// Ladder file names inside a ladder directory (the master playlist's
// name is the caller's, mediadir's).
const (
	ladderPlaylist   = "index.m3u8"
	ladderAudioGroup = "audio"
)

// LadderArgs builds the ffmpeg arguments that make every rendition in one
// run: one decode, the picture scaled in a chain (each rung from the one
// above, which costs less than scaling the source three times and looks
// the same, the steps being at most 2:1), H.264 with a fixed GOP of
// LadderSegmentSeconds and no scene-cut keyframes, one AAC stream shared
// by all renditions, written as CMAF (fragmented MP4) HLS with a master
// playlist named master into dir: dir/<name>/index.m3u8, init_N.mp4,
// seg_NNNNN.m4s, and dir/audio/... for the sound. Run CleanMasterPlaylist
// afterwards.
//
// threads, if set, are the x264 threads of each rendition (LadderThreads);
// nil leaves ffmpeg's default.
func LadderArgs(in Info, rends []Rendition, src, dir, master string, threads []int) ([]string, error) {
	if in.Type != Video || in.VideoStream < 0 {
		return nil, errors.New("ladder: only video gets an adaptive ladder")
	}
	if len(rends) == 0 {
		return nil, errors.New("ladder: no renditions")
	}
	if master == "" || filepath.Base(master) != master {
		return nil, fmt.Errorf("ladder: bad master playlist name %q", master)
	}
	if !filepath.IsAbs(dir) {
		// The HLS muxer takes no "file:" prefix (it makes the
		// directories itself); an absolute path is never read as a URL.
		return nil, fmt.Errorf("ladder: the output directory %q is not absolute", dir)
	}
	// 8-bit 4:2:0 before the split: every rung needs it, converting once
	// is cheaper. Each rung is scaled from the one above it.
	chains := make([]string, len(rends))
	for i, r := range rends {
		c := fmt.Sprintf("[c%d]", i)
		if i == 0 {
			c = fmt.Sprintf("[0:%d]format=yuv420p,", in.VideoStream)
		}
		c += fmt.Sprintf("scale=%d:%d", r.Width, r.Height)
		if i < len(rends)-1 {
			c += fmt.Sprintf(",split=2[v%d][c%d]", i, i+1)
		} else {
			c += fmt.Sprintf("[v%d]", i)
		}
		chains[i] = c
	}
	fps, _ := strconv.ParseFloat(in.FPS, 64)
	gop := max(1, int(math.Round(fps*LadderSegmentSeconds)))
	if fps <= 0 {
		gop = 25 * LadderSegmentSeconds
	}
	args := commonArgs(in, src)
	args = append(args, "-filter_complex", strings.Join(chains, ";"))
	for i := range rends {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
	}
	hasAudio := in.AudioStream >= 0
	if hasAudio {
		args = append(args, "-map", fmt.Sprintf("0:%d", in.AudioStream))
	}
	// The same encoder settings as the progressive transcode (veryfast,
	// see TranscodeArgs), capped VBR so a rung stays within its bandwidth.
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
		"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0")
	streamMap := make([]string, 0, len(rends)+1)
	if hasAudio {
		streamMap = append(streamMap, "a:0,agroup:"+ladderAudioGroup+",name:"+ladderAudioGroup)
	}
	for i, r := range rends {
		n := strconv.Itoa(i)
		if i < len(threads) && threads[i] > 0 {
			args = append(args, "-threads:v:"+n, strconv.Itoa(threads[i]))
		}
		args = append(args, "-b:v:"+n, strconv.FormatInt(r.Bitrate, 10),
			"-maxrate:v:"+n, strconv.FormatInt(r.Bitrate*11/10, 10),
			"-bufsize:v:"+n, strconv.FormatInt(r.Bitrate*2, 10))
		m := fmt.Sprintf("v:%d,name:%s", i, r.Name)
		if hasAudio {
			m = fmt.Sprintf("v:%d,agroup:%s,name:%s", i, ladderAudioGroup, r.Name)
		}
		streamMap = append(streamMap, m)
	}
	if hasAudio {
		args = append(args, aacArgs("128000")...)
	}
	base := filepath.Clean(dir)
	args = append(args, "-f", "hls", "-hls_time", strconv.Itoa(LadderSegmentSeconds), "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
		"-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(base, "%v", "seg_%05d.m4s"),
		"-master_pl_name", master,
		"-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(base, "%v", ladderPlaylist))
	return args, nil
}

// LadderThreads shares cpus between the renditions' encoders by their
// pixel counts, at least one thread each. They run side by side, and
// x264's default (about 1.5 threads per CPU, each) would oversubscribe
// the machine several times over: on 2 CPUs, one thread per rendition
// took 5-6 % less CPU time for the same ladder, and every encoder still
// keeps a CPU busy.
func LadderThreads(rends []Rendition, cpus int) []int {
	var total float64
	for _, r := range rends {
		total += float64(r.Width * r.Height)
	}
	out := make([]int, len(rends))
	for i, r := range rends {
		out[i] = 1
		if total > 0 {
			out[i] = max(1, int(math.Round(float64(cpus)*float64(r.Width*r.Height)/total)))
		}
	}
	return out
}

// FinishLadder checks the ladder a LadderArgs run wrote into dir and
// rewrites its master playlist for players. ffmpeg's HLS muxer reports
// success even when its writes failed (a full disk leaves empty playlists
// and segments behind, exit status 0), so every playlist must be complete
// (#EXT-X-ENDLIST) and every file it names present and not empty. The
// master then loses the variant ffmpeg lists for the shared audio alone:
// a player would pick that sound-only "quality" on a slow link and show no
// picture. The audio stays as the renditions' audio group.
func FinishLadder(dir, master string) error {
	p := filepath.Join(dir, master)
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("the ladder is incomplete: %w", err)
	}
	var out bytes.Buffer
	var playlists []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	skipURI, variants := false, 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:") && !strings.Contains(line, "avc1"):
			skipURI = true
			continue
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			variants++
		case strings.HasPrefix(line, "#EXT-X-MEDIA:"):
			if uri := attribute(line, "URI"); uri != "" {
				playlists = append(playlists, uri)
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			if skipURI {
				skipURI = false
				continue
			}
			playlists = append(playlists, line)
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", master, err)
	}
	if variants == 0 {
		return fmt.Errorf("the ladder is incomplete: %s lists no video rendition (%d bytes)", master, len(b))
	}
	for _, pl := range playlists {
		if err := checkPlaylist(dir, pl); err != nil {
			return fmt.Errorf("the ladder is incomplete: %w", err)
		}
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", master, err)
	}
	return os.Rename(tmp, p)
}

// checkPlaylist checks that a media playlist (rel, below dir) is complete
// and that its init section and segments are there.
func checkPlaylist(dir, rel string) error {
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("playlist %q is outside the ladder", rel)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte("#EXT-X-ENDLIST")) {
		return fmt.Errorf("%s is cut off (%d bytes, no #EXT-X-ENDLIST)", rel, len(b))
	}
	base := filepath.Dir(rel)
	var files []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			files = append(files, attribute(line, "URI"))
		case line != "" && !strings.HasPrefix(line, "#"):
			files = append(files, line)
		}
	}
	if len(files) < 2 {
		return fmt.Errorf("%s has no segments", rel)
	}
	for _, f := range files {
		name := filepath.Join(base, f)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s names %q, outside the ladder", rel, f)
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			return fmt.Errorf("%s is empty", name)
		}
	}
	return nil
}

// attribute is the quoted value of an HLS tag's attribute ("" if absent).
func attribute(line, name string) string {
	_, rest, ok := strings.Cut(line, name+"=\"")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, "\"")
	return v
}
