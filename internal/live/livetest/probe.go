package livetest

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"testing"
)

// Probe is what ffprobe says about a file's first video stream.
type Probe struct {
	Codec  string // h264, hevc
	Width  int
	Height int
	Frames int // decoded frames
	Audio  string
}

// FFprobe decodes every frame of path with ffprobe.
func FFprobe(t testing.TB, path string) Probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			t.Fatalf("ffprobe %s: %v: %s", path, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Frames    string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	var p Probe
	for _, s := range res.Streams {
		switch s.CodecType {
		case "video":
			p.Codec, p.Width, p.Height = s.CodecName, s.Width, s.Height
			p.Frames, _ = strconv.Atoi(s.Frames)
		case "audio":
			p.Audio = s.CodecName
		}
	}
	return p
}
