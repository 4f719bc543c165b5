// Package filesrc plays an MP4 file as a live source (video-server's
// local_files): the file's H.264 or H.265 video, and its AAC or Opus
// audio, go to the engine paced in real time, as a camera's would. With
// Loop the file starts again when it ends, at its first keyframe, and the
// timestamps go on from where the last pass ended, so players see one
// unbroken stream.
package filesrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"github.com/clapshot-go/clapshot/internal/live/media"
	"github.com/clapshot-go/clapshot/internal/live/source"
)

// Config is one file.
type Config struct {
	Path string
	// Loop plays the file again and again; else Run returns ErrEnded
	// after one pass.
	Loop bool
}

// The causes Run ends with; errors.Is works on its result.
var (
	ErrMissing = errors.New("no such file")
	ErrOpen    = errors.New("cannot open it")
	ErrNotMP4  = errors.New("not an MP4 file")
	ErrNoVideo = errors.New("no video track")
	ErrCodec   = errors.New("its video codec is not one browsers play here")
	ErrRead    = errors.New("cannot read it")
	ErrEnded   = errors.New("the file has ended")
)

// track is one of the file's tracks as it is played.
type track struct {
	t       *pmp4.Track
	m       *media.Track
	video   bool
	dts     []int64 // each sample's decode time, in the track's time scale
	first   int     // the first sample played (video: the first keyframe)
	end     int     // one past the last sample played
	timeOff int64   // of the current pass, in the track's time scale
}

// open reads a file's structure and picks its tracks: the errors of a
// file that cannot play, without playing it.
func open(path string, log *slog.Logger) (*os.File, []*track, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, 0, fmt.Errorf("file %q: %w", path, ErrMissing)
		}
		return nil, nil, 0, fmt.Errorf("file %q: %w: %v", path, ErrOpen, errors.Unwrap(err))
	}
	var p pmp4.Presentation
	if err := p.Unmarshal(f); err != nil {
		f.Close()
		if strings.Contains(err.Error(), "fragmented") {
			return nil, nil, 0, fmt.Errorf("file %q: %w: fragmented MP4 is not supported (remux it: ffmpeg -i IN -c copy OUT.mp4)", path, ErrNotMP4)
		}
		return nil, nil, 0, fmt.Errorf("file %q: %w (%v)", path, ErrNotMP4, err)
	}
	var video, audio *track
	var others []string
	for _, t := range p.Tracks {
		switch c := t.Codec.(type) {
		case *codecs.H264:
			if video == nil && len(c.SPS) > 0 && len(c.PPS) > 0 {
				video = &track{t: t, video: true, m: &media.Track{Codec: media.H264, ClockRate: 90000, SPS: c.SPS, PPS: c.PPS}}
				continue
			}
		case *codecs.H265:
			if video == nil && len(c.SPS) > 0 && len(c.PPS) > 0 {
				video = &track{t: t, video: true, m: &media.Track{Codec: media.H265, ClockRate: 90000, VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}}
				continue
			}
		case *codecs.MPEG4Audio:
			if audio == nil {
				cfg := c.Config
				audio = &track{t: t, m: &media.Track{Codec: media.AAC, ClockRate: cfg.SampleRate, AACConfig: &cfg}}
				continue
			}
		case *codecs.Opus:
			if audio == nil {
				audio = &track{t: t, m: &media.Track{Codec: media.Opus, ClockRate: 48000, OpusChannels: c.ChannelCount}}
				continue
			}
		}
		others = append(others, codecName(t.Codec))
	}
	if video == nil {
		f.Close()
		var all []string
		for _, t := range p.Tracks {
			if t.Codec.IsVideo() {
				return nil, nil, 0, fmt.Errorf("file %q: %w: %s, not H.264 or H.265 (re-encode it: ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4)",
					path, ErrCodec, codecName(t.Codec))
			}
			all = append(all, codecName(t.Codec))
		}
		return nil, nil, 0, fmt.Errorf("file %q: %w (it has %s)", path, ErrNoVideo, orNothing(strings.Join(all, ", ")))
	}
	if len(others) > 0 {
		log.Warn("Live file: tracks left out (only H.264/H.265 video and AAC/Opus audio are played)", "tracks", strings.Join(others, ", "))
	}
	tracks := []*track{video}
	if audio != nil {
		tracks = append(tracks, audio)
	}
	for _, tr := range tracks {
		tr.dts = make([]int64, len(tr.t.Samples)+1)
		for i, s := range tr.t.Samples {
			tr.dts[i+1] = tr.dts[i] + int64(s.Duration)
		}
		tr.end = len(tr.t.Samples)
	}
	// A pass starts at the first keyframe and lasts as long as the video
	// from there; audio outside it is left out, so every pass is the same.
	for video.first < video.end && video.t.Samples[video.first].IsNonSyncSample {
		video.first++
	}
	if video.first == video.end {
		f.Close()
		return nil, nil, 0, fmt.Errorf("file %q: %w: its video has no keyframe", path, ErrNotMP4)
	}
	vts := int64(video.t.TimeScale)
	start, length := video.dts[video.first], video.dts[video.end]-video.dts[video.first]
	if length <= 0 {
		f.Close()
		return nil, nil, 0, fmt.Errorf("file %q: %w: its video lasts no time", path, ErrNotMP4)
	}
	if audio != nil {
		ats := int64(audio.t.TimeScale)
		for audio.first < audio.end && audio.dts[audio.first]*vts < start*ats {
			audio.first++
		}
		for audio.end > audio.first && audio.dts[audio.end-1]*vts >= (start+length)*ats {
			audio.end--
		}
	}
	return f, tracks, length, nil
}

// Run plays the file until ctx ends (nil), the file ended without Loop
// (ErrEnded) or it fails. onPlaying is called once the first keyframe
// is out.
func Run(ctx context.Context, cfg Config, sink source.Sink, stats *source.Stats, log *slog.Logger, onPlaying func()) error {
	if stats == nil {
		stats = &source.Stats{}
	}
	f, tracks, length, err := open(cfg.Path, log)
	if err != nil {
		return err
	}
	defer f.Close()
	video := tracks[0]
	ts := &media.Tracks{Video: video.m, Version: 1}
	if len(tracks) > 1 {
		ts.Audio = tracks[1].m
	}
	sink.SetTracks(ts)
	log.Info("Live file: playing", "file", cfg.Path, "tracks", ts.Describe(), "loop", cfg.Loop,
		"duration", duration(length, int64(video.t.TimeScale)).Round(time.Millisecond))

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	wallStart := time.Now()
	vts := int64(video.t.TimeScale)
	origin := video.dts[video.first] // file time of the first pass's start, in vts
	playing := false
	for pass := int64(0); ; pass++ {
		next := make([]int, len(tracks))
		for i, tr := range tracks {
			next[i] = tr.first
			// The pass's offset from the file's time, in the track's scale:
			// every pass starts where the last ended.
			tr.timeOff = (pass*length - origin) * int64(tr.t.TimeScale) / vts
		}
		for {
			// The next sample by decode time, over the tracks.
			pick := -1
			for i, tr := range tracks {
				if next[i] == tr.end {
					continue
				}
				if pick < 0 || tr.dts[next[i]]*int64(tracks[pick].t.TimeScale) < tracks[pick].dts[next[pick]]*int64(tr.t.TimeScale) {
					pick = i
				}
			}
			if pick < 0 {
				break
			}
			tr := tracks[pick]
			i := next[pick]
			next[pick]++
			smp := tr.t.Samples[i]
			payload, err := smp.GetPayload()
			if err != nil {
				return fmt.Errorf("file %q: %w: sample %d of track %d: %v", cfg.Path, ErrRead, i, tr.t.ID, err)
			}
			scale := int64(tr.t.TimeScale)
			dts := tr.dts[i] + tr.timeOff
			pts := dts + int64(smp.PTSOffset)
			// Pace: a sample goes out when its decode time has come.
			due := wallStart.Add(duration(dts, scale))
			if d := time.Until(due); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			} else if ctx.Err() != nil {
				return nil
			}
			u := &media.Unit{
				Tracks: ts, Video: tr.video, Key: tr.video && !smp.IsNonSyncSample,
				PTS: pts * int64(tr.m.ClockRate) / scale, DTS: dts * int64(tr.m.ClockRate) / scale,
				NTP: wallStart.Add(duration(pts, scale)), Received: time.Now(),
			}
			if tr.video {
				var au h264.AVCC // H.265 samples have the same length-prefixed layout
				if err := au.Unmarshal(payload); err != nil {
					return fmt.Errorf("file %q: %w: video sample %d: %v", cfg.Path, ErrRead, i, err)
				}
				u.Data = au
				if u.Key {
					u.Data = tr.m.WithParams(au)
				}
			} else {
				u.Data = [][]byte{payload}
			}
			stats.Packets.Add(1)
			stats.Units.Add(1)
			stats.Bytes.Add(uint64(len(payload)))
			sink.WriteUnit(u)
			if !playing && u.Video {
				playing = true
				if onPlaying != nil {
					onPlaying()
				}
			}
		}
		if !cfg.Loop {
			return fmt.Errorf("file %q: %w: played once (loop is off)", cfg.Path, ErrEnded)
		}
	}
}

// duration converts a time in units of scale per second without
// overflowing: a file looping for days at 90 kHz would, as v*1e9.
func duration(v, scale int64) time.Duration {
	return time.Duration(v/scale)*time.Second + time.Duration(v%scale)*time.Second/time.Duration(scale)
}

// codecName names an MP4 codec for people.
func codecName(c codecs.Codec) string {
	switch c.(type) {
	case *codecs.H264:
		return "H.264"
	case *codecs.H265:
		return "H.265"
	case *codecs.MPEG4Video:
		return "MPEG-4 Visual"
	case *codecs.MPEG1Video:
		return "MPEG-1/2 Video"
	case *codecs.MJPEG:
		return "Motion JPEG"
	case *codecs.AV1:
		return "AV1"
	case *codecs.VP9:
		return "VP9"
	case *codecs.MPEG4Audio:
		return "AAC"
	case *codecs.Opus:
		return "Opus"
	case *codecs.MPEG1Audio:
		return "MPEG-1/2 Audio (MP3)"
	case *codecs.AC3:
		return "AC-3"
	case *codecs.EAC3:
		return "E-AC-3"
	case *codecs.FLAC:
		return "FLAC"
	case *codecs.LPCM:
		return "LPCM"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", c), "*codecs.")
}

func orNothing(s string) string {
	if s == "" {
		return "no track a player could use"
	}
	return s
}
