package media

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// ScriptEnv is the environment an operator's transcode script (the
// --transcode-script option) runs with; docs/transcoding.md documents each
// variable. The names Clapshot 0.9 introduced (#94) are kept; the rest are
// ours. ffmpeg is the program the default command uses.
func ScriptEnv(in Info, plan Plan, src string, out Outputs, targetBitrate int64, ffmpeg string) ([]string, error) {
	args, err := TranscodeArgs(in, plan, src, Outputs{Video: out.Video})
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(out.Video, filepath.Ext(out.Video))
	vars := [][2]string{
		{"CLAPSHOT_INPUT_FILE", src},
		{"CLAPSHOT_OUTPUT_FILE", out.Video},
		{"CLAPSHOT_OUTPUT_DIR", filepath.Dir(out.Video)},
		{"CLAPSHOT_OUTPUT_PREFIX", prefix},
		{"CLAPSHOT_MEDIA_TYPE", string(in.Type)},
		{"CLAPSHOT_TARGET_BITRATE", strconv.FormatInt(targetBitrate, 10)},
		{"CLAPSHOT_VIDEO_BITRATE", strconv.FormatInt(plan.VideoBitrate, 10)},
		{"CLAPSHOT_DURATION", strconv.FormatFloat(in.Duration, 'f', -1, 64)},
		{"CLAPSHOT_TOTAL_FRAMES", strconv.FormatInt(in.TotalFrames, 10)},
		{"CLAPSHOT_WIDTH", strconv.Itoa(in.Width)},
		{"CLAPSHOT_HEIGHT", strconv.Itoa(in.Height)},
		{"CLAPSHOT_VIDEO_STREAM", strconv.Itoa(in.VideoStream)},
		{"CLAPSHOT_AUDIO_STREAM", strconv.Itoa(in.AudioStream)},
		{"CLAPSHOT_REASON", plan.Reason},
		{"CLAPSHOT_PROGRESS_PIPE", fmt.Sprintf("/dev/fd/%d", ProgressFD)},
		{"CLAPSHOT_DEFAULT_COMMAND", ShellQuote(append([]string{ffmpeg}, args...))},
	}
	env := make([]string, len(vars))
	for i, v := range vars {
		env[i] = v[0] + "=" + v[1]
	}
	return env, nil
}

// ShellQuote joins argv into one POSIX shell command line.
func ShellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
