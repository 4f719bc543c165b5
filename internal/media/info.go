package media

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// Type is Clapshot's media_type: what the file is reviewed as.
type Type string

const (
	Video Type = "video"
	Audio Type = "audio"
	Image Type = "image"
)

// Article is the type with its article, for messages: "a video", "an
// audio file", "an image".
func (t Type) Article() string {
	switch t {
	case Video:
		return "a video"
	case Audio:
		return "an audio file"
	case Image:
		return "an image"
	}
	return "'" + string(t) + "'"
}

// Info is what the pipeline needs to know about a file, derived from its
// probe. The stream indexes are ffprobe's absolute indexes; -1 is none.
type Info struct {
	Type        Type    `json:"type"`
	VideoStream int     `json:"video_stream"`
	AudioStream int     `json:"audio_stream"`
	Duration    float64 `json:"duration"`
	// TotalFrames is the video frame count (1 for images, 0 for audio).
	TotalFrames int64 `json:"total_frames"`
	// FPS is the average frame rate as Clapshot stored it: a decimal
	// string with three digits ("25.000"), "0" for audio and images.
	FPS string `json:"fps"`
	// Bitrate of the primary stream in bit/s (0 if unknown).
	Bitrate int64 `json:"bitrate"`
	// Codec is ffprobe's codec name of the primary stream.
	Codec      string `json:"codec"`
	AudioCodec string `json:"audio_codec,omitempty"`
	PixFmt     string `json:"pix_fmt,omitempty"`
	// Width and Height as displayed, i.e. after rotation.
	Width    int `json:"width"`
	Height   int `json:"height"`
	Rotation int `json:"rotation,omitempty"`
	// Container is ffprobe's format name; Ext the lower-case extension.
	Container string `json:"container"`
	Ext       string `json:"ext"`
	// FastStart is true for an MP4/MOV whose index (moov) precedes the
	// media data, so that a browser can start playing before the download
	// ends.
	FastStart bool `json:"faststart"`
	// FrameCountEstimated is true when the container did not record the
	// number of frames (Matroska, WebM, MPEG-TS, ...) and TotalFrames is
	// duration × frame rate until counted.
	FrameCountEstimated bool `json:"-"`
}

// stillImageFormats are ffprobe demuxers that read one picture.
func isImageFormat(format string) bool {
	return format == "image2" || strings.HasSuffix(format, "_pipe")
}

// Analyze picks the primary stream with Clapshot's priority (video, else
// audio, else image) and derives the figures stored for the media file.
// Cover art in audio files (attached pictures) is not video. size is the
// file size, used for the bitrate when the container reports none.
func Analyze(p *Probe, path string, size int64) (Info, error) {
	info := Info{VideoStream: -1, AudioStream: -1, Container: p.Format.FormatName,
		Ext: strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")}
	var video, audio *Stream
	for i := range p.Streams {
		s := &p.Streams[i]
		switch s.CodecType {
		case "video":
			if video == nil && s.Disposition["attached_pic"] == 0 && s.Width > 0 && s.Height > 0 {
				video = s
			}
		case "audio":
			if audio == nil && s.Channels > 0 {
				audio = s
			}
		}
	}
	formatDuration := parseFloat(p.Format.Duration)
	switch {
	case video != nil && (isImageFormat(p.Format.FormatName) || (p.Format.FormatName == "gif" && formatDuration == 0)):
		info.Type = Image
	case video != nil:
		info.Type = Video
	case audio != nil:
		info.Type = Audio
	default:
		return info, ErrNoMedia
	}
	if audio != nil && info.Type != Image {
		info.AudioStream = audio.Index
		info.AudioCodec = audio.CodecName
	}

	switch info.Type {
	case Image:
		info.VideoStream = video.Index
		info.Codec = video.CodecName
		info.PixFmt = video.PixFmt
		info.TotalFrames = 1
		info.FPS = "0"
		info.Width, info.Height = video.Width, video.Height
	case Audio:
		info.Codec = audio.CodecName
		info.Duration = firstPositive(parseFloat(audio.Duration), formatDuration)
		if info.Duration <= 0 {
			return info, fmt.Errorf("audio stream has no duration")
		}
		info.Bitrate = firstPositiveInt(parseInt(audio.BitRate), parseInt(p.Format.BitRate))
		info.FPS = "0"
	case Video:
		info.VideoStream = video.Index
		info.Codec = video.CodecName
		info.PixFmt = video.PixFmt
		info.Duration = firstPositive(parseFloat(video.Duration), formatDuration)
		if info.Duration <= 0 {
			return info, fmt.Errorf("video stream has no duration")
		}
		fps := firstPositive(parseRate(video.AvgFrameRate), parseRate(video.RFrameRate))
		if fps <= 0 || fps > 1000 {
			return info, fmt.Errorf("video stream has no usable frame rate (%q)", video.AvgFrameRate)
		}
		info.FPS = fmt.Sprintf("%.3f", fps)
		info.TotalFrames = parseInt(video.NbFrames)
		if info.TotalFrames <= 0 {
			info.TotalFrames = max(1, int64(math.Round(info.Duration*fps)))
			info.FrameCountEstimated = true
		}
		info.Bitrate = parseInt(video.BitRate)
		if info.Bitrate <= 0 {
			// Containers such as Matroska record only the overall rate;
			// the file size covers the audio too, like Clapshot's estimate.
			info.Bitrate = firstPositiveInt(parseInt(p.Format.BitRate), int64(float64(size)*8/info.Duration))
		}
		info.Rotation = rotation(video)
		info.Width, info.Height = video.Width, video.Height
		if info.Rotation == 90 || info.Rotation == 270 {
			info.Width, info.Height = info.Height, info.Width
		}
	}
	return info, nil
}

// rotation returns the display rotation in degrees, normalised to 0, 90,
// 180 or 270.
func rotation(s *Stream) int {
	r := 0.0
	for _, sd := range s.SideDataList {
		if sd.Type == "Display Matrix" {
			r = sd.Rotation
		}
	}
	if r == 0 {
		r = parseFloat(s.Tags["rotate"])
	}
	deg := (int(math.Round(r/90))*90%360 + 360) % 360
	return deg
}

func firstPositive(v ...float64) float64 {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}

func firstPositiveInt(v ...int64) int64 {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}
