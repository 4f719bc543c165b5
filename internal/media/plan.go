package media

import "fmt"

// Action is what must happen to a file before browsers can play it.
type Action string

const (
	// AsIs: the original plays everywhere; it is served from orig/.
	AsIs Action = "as_is"
	// Remux: the video is browser-safe but the container is not (or the
	// MP4 index is at the end); the video stream is copied into a
	// fast-start MP4, the audio copied if AAC and encoded to AAC otherwise.
	Remux Action = "remux"
	// Transcode: encode to H.264 + AAC. Audio becomes a waveform video and
	// an image a one-second still video.
	Transcode Action = "transcode"
)

// Plan is the decision for one file.
type Plan struct {
	Action Action `json:"action"`
	// Reason is shown to the user: "Transcoding because <reason>".
	Reason string `json:"reason,omitempty"`
	// VideoBitrate is the target video bitrate (bit/s) of a transcode.
	VideoBitrate int64 `json:"video_bitrate,omitempty"`
	// CopyAudio: a remux keeps the audio stream as is.
	CopyAudio bool `json:"copy_audio,omitempty"`
}

// Limits of what is served without re-encoding.
const (
	// MaxSafeDimension: larger H.264 exceeds the levels browsers decode.
	MaxSafeDimension = 4096
	// MaxOutputDimension bounds transcoded video: it is scaled down (never
	// up) to fit in a box of this size.
	MaxOutputDimension = 1920
)

// browserSafePixFmts are the 8-bit 4:2:0 formats every browser's H.264
// decoder handles; High 10, 4:2:2 and 4:4:4 profiles do not play in
// Chrome or Firefox.
var browserSafePixFmts = map[string]bool{"yuv420p": true, "yuvj420p": true}

// Decide chooses what to do with a file. targetBitrate is --bitrate in
// bit/s. The bitrate rule is Clapshot's: a video above 1.2 × target is
// transcoded to max(bitrate/2, min(bitrate, target)).
func Decide(in Info, targetBitrate int64) Plan {
	switch in.Type {
	case Audio:
		return Plan{Action: Transcode, Reason: "client cannot playback audio only", VideoBitrate: targetBitrate}
	case Image:
		return Plan{Action: Transcode, Reason: "client cannot 'playback' still images", VideoBitrate: targetBitrate}
	}
	newBitrate := targetBitrate
	if in.Bitrate > 0 {
		newBitrate = max(in.Bitrate/2, min(in.Bitrate, targetBitrate))
	}
	transcode := func(reason string) Plan {
		return Plan{Action: Transcode, Reason: reason, VideoBitrate: newBitrate}
	}
	switch {
	case in.Codec != "h264":
		return transcode(fmt.Sprintf("codec '%s' not supported", in.Codec))
	case !browserSafePixFmts[in.PixFmt]:
		return transcode(fmt.Sprintf("pixel format '%s' not supported", in.PixFmt))
	case in.Width > MaxSafeDimension || in.Height > MaxSafeDimension:
		return transcode(fmt.Sprintf("size %dx%d is too large", in.Width, in.Height))
	case float64(in.Bitrate) > 1.2*float64(targetBitrate):
		return transcode(fmt.Sprintf("bitrate is too high: old %d > new %d", in.Bitrate, newBitrate))
	}
	audioSafe := in.AudioStream < 0 || in.AudioCodec == "aac"
	remux := func(reason string) Plan {
		return Plan{Action: Remux, Reason: reason, CopyAudio: audioSafe}
	}
	switch {
	case in.Ext != "mp4" || !isMP4Family(in.Container):
		return remux(fmt.Sprintf("container '%s' not supported", in.Ext))
	case !in.FastStart:
		return remux("the MP4 index is at the end of the file")
	case !audioSafe:
		return remux(fmt.Sprintf("audio codec '%s' not supported", in.AudioCodec))
	}
	return Plan{Action: AsIs}
}

func isMP4Family(format string) bool { return format == "mov,mp4,m4a,3gp,3g2,mj2" }
