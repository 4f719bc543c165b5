// Package media knows about media files and the ffmpeg tools: it reads a
// file with ffprobe, picks its primary stream, decides whether and how it
// must be converted to play in every browser, builds the ffmpeg argument
// lists for that (and for thumbnails), and runs ffmpeg with progress
// reports. It has no database and no HTTP; internal/ingest drives it.
package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
)

// Probe is ffprobe's JSON description of a file (-show_format
// -show_streams). Raw keeps the exact output, stored in the database as
// raw_metadata_all.
type Probe struct {
	Streams []Stream `json:"streams"`
	Format  Format   `json:"format"`
	Raw     []byte   `json:"-"`
}

// Format is ffprobe's "format" object.
type Format struct {
	Filename   string            `json:"filename"`
	FormatName string            `json:"format_name"`
	Duration   string            `json:"duration"`
	Size       string            `json:"size"`
	BitRate    string            `json:"bit_rate"`
	Tags       map[string]string `json:"tags"`
}

// Stream is one of ffprobe's "streams".
type Stream struct {
	Index         int               `json:"index"`
	CodecType     string            `json:"codec_type"`
	CodecName     string            `json:"codec_name"`
	CodecTag      string            `json:"codec_tag_string"`
	Profile       string            `json:"profile"`
	PixFmt        string            `json:"pix_fmt"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
	RFrameRate    string            `json:"r_frame_rate"`
	AvgFrameRate  string            `json:"avg_frame_rate"`
	Duration      string            `json:"duration"`
	BitRate       string            `json:"bit_rate"`
	NbFrames      string            `json:"nb_frames"`
	NbReadPackets string            `json:"nb_read_packets"`
	Channels      int               `json:"channels"`
	SampleRate    string            `json:"sample_rate"`
	Disposition   map[string]int    `json:"disposition"`
	Tags          map[string]string `json:"tags"`
	SideDataList  []SideData        `json:"side_data_list"`
}

// SideData is an entry of a stream's side_data_list; only the display
// matrix rotation matters here.
type SideData struct {
	Type     string  `json:"side_data_type"`
	Rotation float64 `json:"rotation"`
}

// ErrNoMedia means the file has no video, audio or image stream.
var ErrNoMedia = errors.New("no video, audio or image track found")

// ParseProbe decodes ffprobe's JSON output.
func ParseProbe(data []byte) (*Probe, error) {
	var p Probe
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parse ffprobe output: %w", err)
	}
	p.Raw = bytes.TrimSpace(data)
	return &p, nil
}

// Probe runs ffprobe on path.
func (t *Tools) Probe(ctx context.Context, path string) (*Probe, error) {
	args := []string{"-v", "error", "-hide_banner", "-show_format", "-show_streams", "-of", "json", inputURL(path)}
	out, err := t.output(ctx, t.ffprobe(), args)
	if err != nil {
		return nil, err
	}
	return ParseProbe(out)
}

// CountPackets counts the packets of one stream by demuxing the whole file
// (no decoding). For video this is the frame count when the container
// does not record it.
func (t *Tools) CountPackets(ctx context.Context, path string, stream int) (int64, error) {
	args := []string{"-v", "error", "-hide_banner", "-select_streams", strconv.Itoa(stream), "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", inputURL(path)}
	out, err := t.output(ctx, t.ffprobe(), args)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	s = strings.TrimSuffix(s, ",")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ffprobe packet count %q: %w", s, err)
	}
	return n, nil
}

// output runs a short tool (ffprobe) and returns stdout, or an error that
// carries the tail of stderr.
func (t *Tools) output(ctx context.Context, bin string, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := lastLines(stderr.String(), 3)
		if msg == "" {
			msg = err.Error()
		}
		return nil, &ToolError{Tool: bin, Err: err, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

// ToolError is a failed ffmpeg/ffprobe run, with the end of its stderr.
type ToolError struct {
	Tool   string
	Err    error
	Stderr string
}

func (e *ToolError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s failed: %v", e.Tool, e.Err)
	}
	return fmt.Sprintf("%s failed: %s", e.Tool, e.Stderr)
}

func (e *ToolError) Unwrap() error { return e.Err }

// lastLines returns the last n non-empty lines of s, joined by "; ".
func lastLines(s string, n int) string {
	var keep []string
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			keep = append([]string{l}, keep...)
		}
	}
	return strings.Join(keep, "; ")
}

// inputURL names a local file for ffmpeg so that no file name is taken for
// an option (a leading dash) or a protocol ("rtmp:..."): an absolute path
// behind the file: protocol.
func inputURL(path string) string { return "file:" + path }

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// parseRate reads ffprobe's "30000/1001"; 0 when unknown ("0/0").
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseFloat(s)
	}
	n, d := parseFloat(num), parseFloat(den)
	if d == 0 {
		return 0
	}
	return n / d
}
