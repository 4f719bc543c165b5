package filesrc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/filesrc"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/media"
)

// sink records what a file sends, with when.
type sink struct {
	mu     sync.Mutex
	tracks []*media.Tracks
	units  []*media.Unit
	at     []time.Time
}

func (s *sink) SetTracks(t *media.Tracks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks = append(s.tracks, t)
}

func (s *sink) WriteUnit(u *media.Unit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units = append(s.units, u)
	s.at = append(s.at, time.Now())
}

func (s *sink) video() (units []*media.Unit, at []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, u := range s.units {
		if u.Video {
			units, at = append(units, u), append(at, s.at[i])
		}
	}
	return units, at
}

// Files that cannot play end Run at once with an error that names the
// file and the cause.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte("these are not the pictures you are looking for\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	frag := livetest.MP4(t, dir, "frag.mp4", livetest.CameraOptions{}, 1, "-movflags", "frag_keyframe+empty_moov")
	audio := livetest.MP4(t, dir, "audio.mp4", livetest.CameraOptions{Audio: true}, 1, "-vn")
	mpeg4 := livetest.MP4(t, dir, "mpeg4.mp4", livetest.CameraOptions{}, 1, "-c:v", "mpeg4")
	for _, tc := range []struct {
		name, path string
		want       error
		text       string
	}{
		{"missing", filepath.Join(dir, "gone.mp4"), filesrc.ErrMissing, "no such file"},
		{"a directory", dir, filesrc.ErrNotMP4, ""},
		{"not an MP4", text, filesrc.ErrNotMP4, "not an MP4 file"},
		{"fragmented", frag, filesrc.ErrNotMP4, "fragmented MP4 is not supported"},
		{"audio only", audio, filesrc.ErrNoVideo, "no video track (it has AAC)"},
		{"MPEG-4 Visual", mpeg4, filesrc.ErrCodec, "its video codec is not one browsers play here: MPEG-4 Visual, not H.264 or H.265"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			start := time.Now()
			err := filesrc.Run(context.Background(), filesrc.Config{Path: tc.path, Loop: true}, s, nil, livetest.Logger(t), nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("err = %v, want %v mentioning %q and the file", err, tc.want, tc.text)
			}
			if len(s.units) != 0 || len(s.tracks) != 0 || time.Since(start) > time.Second {
				t.Errorf("a bad file sent %d units, %d tracks, took %s", len(s.units), len(s.tracks), time.Since(start))
			}
		})
	}
}

// A file with B-frames and AAC plays once at the pace of its timestamps:
// keyframe first, decode times rising, presentation never before decode,
// audio on the same clock, then ErrEnded.
func TestPlayOnce(t *testing.T) {
	for _, codec := range []string{"h264", "h265"} {
		t.Run(codec, func(t *testing.T) {
			o := livetest.CameraOptions{Codec: codec, Audio: true}
			if codec == "h264" {
				o.BFrames = 2
			}
			path := livetest.MP4(t, t.TempDir(), "clip.mp4", o, 1.5)
			s := &sink{}
			start := time.Now()
			played := false
			err := filesrc.Run(context.Background(), filesrc.Config{Path: path}, s, nil, livetest.Logger(t), func() { played = true })
			took := time.Since(start)
			if !errors.Is(err, filesrc.ErrEnded) || !strings.Contains(err.Error(), "loop is off") {
				t.Fatalf("err = %v, want ErrEnded", err)
			}
			if len(s.tracks) != 1 || s.tracks[0].Audio == nil || s.tracks[0].Audio.Codec != media.AAC || s.tracks[0].Video.Codec.String() != map[string]string{"h264": "H.264", "h265": "H.265"}[codec] {
				t.Fatalf("tracks %+v", s.tracks)
			}
			if w, h := s.tracks[0].Video.Size(); w != 320 || h != 240 {
				t.Errorf("size %dx%d", w, h)
			}
			v, at := s.video()
			if len(v) != 38 || !v[0].Key || !played {
				t.Fatalf("%d video units (want 38 = 1.5 s at 25 fps), first key %v, onPlaying %v", len(v), len(v) > 0 && v[0].Key, played)
			}
			for i, u := range v {
				if i > 0 && u.DTS <= v[i-1].DTS || u.PTS < u.DTS {
					t.Fatalf("unit %d: DTS %d after %d, PTS %d", i, u.DTS, v[i-1].DTS, u.PTS)
				}
			}
			if codec == "h264" && v[1].PTS == v[1].DTS+3600 {
				t.Error("no B-frames in the test file: presentation follows decode order")
			}
			// Real time: the last frame goes out at its decode time
			// (1.44 s), not before; a loaded machine may be later.
			last := at[len(at)-1].Sub(at[0])
			want := time.Duration(v[len(v)-1].DTS-v[0].DTS) * time.Second / 90000
			if last < want-50*time.Millisecond || took > want+2*time.Second {
				t.Fatalf("the frames took %s to go out (run %s), want about %s", last, took, want)
			}
			audio := 0
			for _, u := range s.units {
				if !u.Video {
					audio++
				}
			}
			if audio < 60 { // 48 kHz AAC: 47 frames a second
				t.Errorf("%d audio units", audio)
			}
		})
	}
}

// Looping: every pass starts at a keyframe and the timestamps go on
// across the loop, one frame apart.
func TestLoop(t *testing.T) {
	path := livetest.MP4(t, t.TempDir(), "clip.mp4", livetest.CameraOptions{GOP: 10}, 0.8)
	s := &sink{}
	ctx, cancel := context.WithTimeout(context.Background(), 2100*time.Millisecond)
	defer cancel()
	if err := filesrc.Run(ctx, filesrc.Config{Path: path, Loop: true}, s, nil, livetest.Logger(t), nil); err != nil {
		t.Fatal(err)
	}
	v, _ := s.video()
	if len(v) < 45 {
		t.Fatalf("%d video units in 2.1 s of a looping 0.8 s file", len(v))
	}
	for i, u := range v {
		if i%20 == 0 && !u.Key {
			t.Errorf("frame %d starts a pass and is not a keyframe", i)
		}
		if i > 0 && u.DTS-v[i-1].DTS != 3600 {
			t.Fatalf("frame %d: DTS %d after %d: the timeline is not continuous across the loop", i, u.DTS, v[i-1].DTS)
		}
	}
	if len(s.tracks) != 1 {
		t.Errorf("%d Tracks events; a loop is not a codec change", len(s.tracks))
	}
}
