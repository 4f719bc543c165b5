package export

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Rate is a frame rate as an exact fraction (30000/1001 for 29.97), with
// the timecode conventions that go with it.
type Rate struct {
	Num, Den int64
}

// ntscRates are the rates that editors count with a nominal whole-number
// timebase (30 for 29.97); 29.97 and 59.94 also use drop-frame timecode.
var ntscRates = []struct {
	approx  float64
	nominal int64
}{{23.976, 24}, {29.97, 30}, {47.952, 48}, {59.94, 60}, {119.88, 120}}

// ParseRate reads a frame rate as ffprobe and the database write it:
// "25", "29.97", "30000/1001", "25/1". Rates near an NTSC rate are
// snapped to the exact fraction, so "29.97" means 30000/1001.
func ParseRate(s string) (Rate, error) {
	str := strings.TrimSpace(s)
	var fps float64
	var r Rate
	if num, den, ok := strings.Cut(str, "/"); ok {
		n, err1 := strconv.ParseFloat(strings.TrimSpace(num), 64)
		d, err2 := strconv.ParseFloat(strings.TrimSpace(den), 64)
		if err1 != nil || err2 != nil || d == 0 {
			return Rate{}, fmt.Errorf("frame rate %q is not a number or fraction", s)
		}
		fps = n / d
		if n == math.Trunc(n) && d == math.Trunc(d) {
			r = Rate{int64(n), int64(d)}
		}
	} else {
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return Rate{}, fmt.Errorf("frame rate %q is not a number or fraction", s)
		}
		fps = f
	}
	if !(fps > 0 && fps <= 1000) || math.IsNaN(fps) {
		return Rate{}, fmt.Errorf("frame rate %q is out of range", s)
	}
	for _, n := range ntscRates {
		if math.Abs(fps-n.approx) < 0.005 {
			return Rate{n.nominal * 1000, 1001}, nil
		}
	}
	if rounded := math.Round(fps); math.Abs(fps-rounded) < 0.001 {
		return Rate{int64(rounded), 1}, nil
	}
	if r.Den != 0 {
		return r.reduced(), nil
	}
	// A decimal rate that is neither whole nor NTSC: keep three decimals.
	return Rate{int64(math.Round(fps * 1000)), 1000}.reduced(), nil
}

func (r Rate) reduced() Rate {
	a, b := r.Num, r.Den
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return r
	}
	return Rate{r.Num / a, r.Den / a}
}

// FPS is the rate in frames per second.
func (r Rate) FPS() float64 { return float64(r.Num) / float64(r.Den) }

// Nominal is the number of frames counted per timecode second: 30 for
// 29.97, 25 for 25.
func (r Rate) Nominal() int64 { return max(1, int64(math.Round(r.FPS()))) }

// DropFrame reports whether timecode at this rate is written drop-frame
// (29.97 and 59.94, as editors show it).
func (r Rate) DropFrame() bool {
	return r.Den == 1001 && (r.Num == 30000 || r.Num == 60000)
}

// Label is the rate as people say it: "25", "29.97", "23.976".
func (r Rate) Label() string {
	if r.Den == 1 {
		return strconv.FormatInt(r.Num, 10)
	}
	s := strconv.FormatFloat(r.FPS(), 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// FrameDuration is one frame's length as a fraction of a second
// (1001/30000 at 29.97).
func (r Rate) FrameDuration() (num, den int64) { return r.Den, r.Num }

func (r Rate) dropPerMinute() int64 {
	if r.Nominal() == 60 {
		return 4
	}
	return 2
}

// SMPTE writes frame as HH:MM:SS:FF, or HH:MM:SS;FF in drop-frame when
// drop is set (valid only at rates where DropFrame is true). Frame 0 is
// 00:00:00:00; callers add a start timecode's frame count first.
func (r Rate) SMPTE(frame int64, drop bool) string {
	f := max(0, frame)
	nom := r.Nominal()
	if drop && r.DropFrame() {
		d := r.dropPerMinute()
		per10 := nom*600 - d*9
		perMin := nom*60 - d
		tens, rest := f/per10, f%per10
		f += d * 9 * tens
		if rest > d {
			f += d * ((rest - d) / perMin)
		}
	}
	sep := ":"
	if drop && r.DropFrame() {
		sep = ";"
	}
	return fmt.Sprintf("%02d:%02d:%02d%s%02d", f/(nom*3600), f/(nom*60)%60, f/nom%60, sep, f%nom)
}

var smpteRE = regexp.MustCompile(`^(\d+)[:;.](\d{1,2})[:;.](\d{1,2})([:;.])(\d{1,3})$`)

// ParseSMPTE reads HH:MM:SS:FF (or ;FF) into a frame count at this rate.
// At a drop-frame rate a timecode is read as drop-frame whichever
// separator it has, since that is what an editor at that rate displays.
func (r Rate) ParseSMPTE(s string) (int64, error) {
	m := smpteRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("timecode %q is not HH:MM:SS:FF", s)
	}
	hh, _ := strconv.ParseInt(m[1], 10, 64)
	mm, _ := strconv.ParseInt(m[2], 10, 64)
	ss, _ := strconv.ParseInt(m[3], 10, 64)
	ff, _ := strconv.ParseInt(m[5], 10, 64)
	nom := r.Nominal()
	if mm > 59 || ss > 59 || ff >= nom {
		return 0, fmt.Errorf("timecode %q is out of range at %s fps", s, r.Label())
	}
	frame := (hh*3600+mm*60+ss)*nom + ff
	if r.DropFrame() {
		totalMin := hh*60 + mm
		frame -= r.dropPerMinute() * (totalMin - totalMin/10)
	}
	return frame, nil
}

var (
	wireFrameRE   = regexp.MustCompile(`^(\d+):(\d{1,2}):(\d{1,2}):(\d{1,3})$`)
	wireSecondsRE = regexp.MustCompile(`^(\d+):(\d{1,2}):(\d{1,2})[.,](\d+)$`)
)

// WireFrame reads a comment's timecode as both clients store it (see
// web/src/lib/timecode.ts): "HH:MM:SS:FF" where HH:MM:SS are whole
// real-time seconds and FF the frame within that second; also
// "HH:MM:SS.mmm" and drop-frame "HH:MM:SS;FF". ok is false for an empty
// or unreadable timecode (an untimed comment).
func (r Rate) WireFrame(s string) (frame int64, ok bool) {
	str := strings.TrimSpace(s)
	if str == "" {
		return 0, false
	}
	if m := wireSecondsRE.FindStringSubmatch(str); m != nil {
		t, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return 0, false
		}
		t /= math.Pow(10, float64(len(m[4])))
		secs := atoi(m[1])*3600 + atoi(m[2])*60 + atoi(m[3])
		return int64(math.Floor((float64(secs)+t)*r.FPS() + 1e-6)), true
	}
	if strings.Contains(str, ";") {
		f, err := r.ParseSMPTE(str)
		return f, err == nil
	}
	m := wireFrameRE.FindStringSubmatch(str)
	if m == nil {
		return 0, false
	}
	secs := atoi(m[1])*3600 + atoi(m[2])*60 + atoi(m[3])
	return max(0, int64(math.Round(float64(secs)*r.FPS()))+atoi(m[4])), true
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Seconds is the start time of a frame.
func (r Rate) Seconds(frame int64) float64 { return float64(frame) * float64(r.Den) / float64(r.Num) }

// SourceTimecode finds the start timecode of a file in ffprobe's JSON
// (-show_format -show_streams, as stored in raw_metadata_all): the
// "timecode" tag of a video stream, a timecode (tmcd) data stream, or the
// container. It returns the frame count at rate and the tag as written;
// found is false when the file has no timecode.
func SourceTimecode(ffprobeJSON string, rate Rate) (frame int64, tag string, found bool) {
	var probe struct {
		Streams []struct {
			CodecType string            `json:"codec_type"`
			CodecTag  string            `json:"codec_tag_string"`
			Tags      map[string]string `json:"tags"`
		} `json:"streams"`
		Format struct {
			Tags map[string]string `json:"tags"`
		} `json:"format"`
	}
	if json.Unmarshal([]byte(ffprobeJSON), &probe) != nil {
		return 0, "", false
	}
	var candidates []string
	for _, s := range probe.Streams {
		if s.CodecType == "video" {
			candidates = append(candidates, tagValue(s.Tags, "timecode"))
		}
	}
	for _, s := range probe.Streams {
		if s.CodecType == "data" && s.CodecTag == "tmcd" {
			candidates = append(candidates, tagValue(s.Tags, "timecode"))
		}
	}
	candidates = append(candidates, tagValue(probe.Format.Tags, "timecode"))
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if f, err := rate.ParseSMPTE(c); err == nil {
			return f, c, true
		}
	}
	return 0, "", false
}

// tagValue looks a tag up case-insensitively (containers differ).
func tagValue(tags map[string]string, key string) string {
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
