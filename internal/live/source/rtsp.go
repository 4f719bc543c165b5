// Package source pulls one camera over RTSP (gortsplib): it connects,
// picks the video track (H.264 or H.265) and an audio track a browser can
// play (AAC or Opus), and turns RTP into access units with timestamps.
//
// One call to Run is one session. Reconnecting is the caller's job; Run
// says why the session ended with an error that names the cause.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// Sink receives a session's output. Both methods are called from the
// RTSP client's goroutines and must not block.
type Sink interface {
	// SetTracks is called before the first unit and again whenever the
	// camera changes its codec parameters.
	SetTracks(*media.Tracks)
	// WriteUnit is called for every access unit, starting at a keyframe.
	WriteUnit(*media.Unit)
}

// Config is one camera.
type Config struct {
	URL string
	// Transport is "tcp", "udp" or "auto" ("": auto, UDP first, then TCP).
	Transport string
	// ReadTimeout ends a session that receives nothing (default 10 s).
	ReadTimeout time.Duration
	// KeyframeTimeout ends a session that has sent no keyframe for this
	// long, decodable or not (default 10 s): the no-keyframe watchdog.
	KeyframeTimeout time.Duration
}

// The causes a session ends with; errors.Is works on Run's result.
var (
	ErrBadURL      = errors.New("invalid RTSP URL")
	ErrUnreachable = errors.New("camera unreachable")
	ErrAuth        = errors.New("wrong credentials")
	ErrNotFound    = errors.New("no such stream on the camera")
	ErrNoVideo     = errors.New("no H.264 or H.265 video")
	ErrNoKeyframe  = errors.New("no keyframe")
	ErrUndecodable = errors.New("undecodable video")
	ErrLost        = errors.New("connection lost")
	ErrTimeout     = errors.New("camera timed out")
)

// RedactURL hides the password in a camera URL for logs and status.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// Stats are counters of a session, safe to read while it runs.
type Stats struct {
	Bytes        atomic.Uint64
	Packets      atomic.Uint64
	Units        atomic.Uint64
	DecodeErrors atomic.Uint64
}

// Run runs one session until ctx ends (nil error) or the session fails.
// onPlaying is called once media flows (the first keyframe arrived).
func Run(ctx context.Context, cfg Config, sink Sink, stats *Stats, log *slog.Logger, onPlaying func()) error {
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.KeyframeTimeout <= 0 {
		cfg.KeyframeTimeout = 10 * time.Second
	}
	if stats == nil {
		stats = &Stats{}
	}
	c, u, err := newClient(cfg.URL, cfg.ReadTimeout)
	if err != nil {
		return err
	}
	switch strings.ToLower(cfg.Transport) {
	case "tcp":
		p := gortsplib.ProtocolTCP
		c.Protocol = &p
	case "udp":
		p := gortsplib.ProtocolUDP
		c.Protocol = &p
	case "", "auto":
	default:
		return fmt.Errorf("transport %q: must be tcp, udp or auto", cfg.Transport)
	}
	if err := c.Start(); err != nil {
		return classify(err)
	}
	// Close unblocks every call on the client, so it is how ctx stops it.
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return classify(err)
	}
	s := &session{c: c, sink: sink, stats: stats, log: log, onPlaying: onPlaying}
	if err := s.setup(desc); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.lastKey.Store(time.Now().UnixNano())
	if _, err := c.Play(nil); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return classify(err)
	}
	log.Info("Live stream: playing", "offer", s.offer)

	waitErr := make(chan error, 1)
	go func() { waitErr <- c.Wait() }()
	tick := time.NewTicker(cfg.KeyframeTimeout / 10)
	defer tick.Stop()
	// The stats may count earlier sessions too.
	packets0, errs0 := stats.Packets.Load(), stats.DecodeErrors.Load()
	// Counters of the last KeyframeTimeout, one sample a tick.
	var hist [11]struct{ errs, units uint64 }
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			c.Close()
			<-waitErr //nolint:errcheck // we closed it: its error says only that
			return nil
		case err := <-waitErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%w: %v", ErrLost, err)
		case <-tick.C:
			// The garbage watchdog: more undecodable video than video.
			cur := &hist[ticks%len(hist)]
			cur.errs, cur.units = stats.DecodeErrors.Load(), stats.Units.Load()
			ticks++
			if ticks >= len(hist) {
				old := hist[ticks%len(hist)]
				errs, units := cur.errs-old.errs, cur.units-old.units
				if errs >= 10 && errs > units {
					c.Close()
					<-waitErr //nolint:errcheck // we closed it: its error says only that
					return fmt.Errorf("%w: %d undecodable video packets and %d frames in %s (garbage RTP, or not the codec the SDP announces)",
						ErrUndecodable, errs, units, cfg.KeyframeTimeout)
				}
			}
			since := time.Since(time.Unix(0, s.lastKey.Load()))
			if since < cfg.KeyframeTimeout {
				continue
			}
			c.Close()
			<-waitErr //nolint:errcheck // we closed it: its error says only that
			packets, errs := stats.Packets.Load()-packets0, stats.DecodeErrors.Load()-errs0
			switch {
			case packets == 0:
				return fmt.Errorf("%w for %s: the camera sends no video packets", ErrNoKeyframe, cfg.KeyframeTimeout)
			case s.everKey.Load():
				return fmt.Errorf("%w for %s: video stopped or became undecodable", ErrNoKeyframe, cfg.KeyframeTimeout)
			case 2*errs >= packets:
				return fmt.Errorf("%w and no keyframe in %s: %d video packets, %d undecodable (garbage RTP, or not the codec the SDP announces)",
					ErrUndecodable, cfg.KeyframeTimeout, packets, errs)
			default:
				return fmt.Errorf("%w in %s: %d video packets, %d undecodable (a codec parameter set missing?)",
					ErrNoKeyframe, cfg.KeyframeTimeout, packets, errs)
			}
		}
	}
}

// newClient parses a camera URL and makes a client for it (not started).
// The URL's user info is the credentials: the client answers the
// camera's 401 with Basic or Digest, whichever it asks for.
func newClient(rawURL string, timeout time.Duration) (*gortsplib.Client, *base.URL, error) {
	u, err := base.ParseURL(rawURL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return nil, nil, fmt.Errorf("%w %q: must be rtsp://[user:password@]host[:port]/path", ErrBadURL, RedactURL(rawURL))
	}
	return &gortsplib.Client{
		Scheme:       u.Scheme,
		Host:         u.Host,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		UserAgent:    "clapshot-live",
	}, u, nil
}

// classify turns client errors into the package's causes.
func classify(err error) error {
	var status liberrors.ErrClientBadStatusCode
	if errors.As(err, &status) {
		switch status.Code {
		case base.StatusUnauthorized, base.StatusForbidden:
			return fmt.Errorf("%w (%d %s)", ErrAuth, status.Code, status.Message)
		case base.StatusNotFound:
			return fmt.Errorf("%w (%d %s)", ErrNotFound, status.Code, status.Message)
		}
		return fmt.Errorf("camera answered %d %s", status.Code, status.Message)
	}
	var nerr net.Error
	var oerr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: connection refused", ErrUnreachable)
	case errors.As(err, &oerr) && oerr.Op == "dial":
		return fmt.Errorf("%w: %v", ErrUnreachable, oerr.Err)
	case errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Errorf("%w: no answer (%v)", ErrUnreachable, err)
	case strings.Contains(err.Error(), "authentication"):
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return fmt.Errorf("%w: %v", ErrLost, err)
}

// session is the state of one playing client; video and audio callbacks
// may run on different goroutines (UDP), so tracks are under mu.
type session struct {
	c         *gortsplib.Client
	sink      Sink
	stats     *Stats
	log       *slog.Logger
	onPlaying func()
	offer     string

	mu      sync.Mutex
	tracks  *media.Tracks
	started bool // first keyframe passed
	// ntpAnchor maps PTS to wall-clock time when the camera sends no RTCP
	// sender reports.
	anchorSet  bool
	anchorTime time.Time
	anchorPTS  int64

	lastKey atomic.Int64
	everKey atomic.Bool
}

func (s *session) setup(desc *description.Session) error {
	s.offer = offers(desc)
	var (
		aacf  *format.MPEG4Audio
		opusf *format.Opus
	)
	video := &media.Track{ClockRate: 90000}
	vm, vf, err := findVideo(desc)
	if err != nil {
		return err
	}
	// Read once, before any packet: no writer races with this reader.
	switch f := vf.(type) {
	case *format.H264:
		video.Codec = media.H264
		video.SPS, video.PPS = f.SPS, f.PPS
	case *format.H265:
		video.Codec = media.H265
		video.VPS, video.SPS, video.PPS = f.VPS, f.SPS, f.PPS
	}
	var audio *media.Track
	var am *description.Media
	var af format.Format
	if m := desc.FindFormat(&aacf); m != nil && aacf.Config != nil {
		am, af = m, aacf
		audio = &media.Track{Codec: media.AAC, ClockRate: aacf.ClockRate(), AACConfig: aacf.Config}
	} else if m := desc.FindFormat(&opusf); m != nil {
		am, af = m, opusf
		audio = &media.Track{Codec: media.Opus, ClockRate: 48000, OpusChannels: opusf.ChannelCount}
	}
	s.tracks = &media.Tracks{Video: video, Audio: audio}

	if _, err := s.c.Setup(desc.BaseURL, vm, 0, 0); err != nil {
		return classify(err)
	}
	vp, err := newVideoPath(s, vm, vf)
	if err != nil {
		return err
	}
	s.c.OnPacketRTP(vm, vf, vp.onPacket)
	if am != nil {
		if _, err := s.c.Setup(desc.BaseURL, am, 0, 0); err != nil {
			// Audio is optional: keep the video.
			s.log.Warn("Live stream: audio track refused by the camera; video only", "error", err)
		} else if ap, err := newAudioPath(s, am, af); err == nil {
			s.c.OnPacketRTP(am, af, ap.onPacket)
		}
	}
	return nil
}

// offers lists the formats of a description for people ("H264, MPEG-4 Audio").
func offers(desc *description.Session) string {
	var out []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			out = append(out, codecName(f))
		}
	}
	return strings.Join(out, ", ")
}

// findVideo picks the video track the engine plays: H.264, else H.265.
func findVideo(desc *description.Session) (*description.Media, format.Format, error) {
	var h264f *format.H264
	if m := desc.FindFormat(&h264f); m != nil {
		return m, h264f, nil
	}
	var h265f *format.H265
	if m := desc.FindFormat(&h265f); m != nil {
		return m, h265f, nil
	}
	return nil, nil, fmt.Errorf("%w: the camera offers %s", ErrNoVideo, orNothing(offers(desc)))
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// wallClock gives a unit's NTP time: the camera's sender reports if any,
// else the arrival time of the first unit plus the PTS difference.
func (s *session) wallClock(medi *description.Media, pkt *rtp.Packet, pts int64, rate int) time.Time {
	if ntp, ok := s.c.PacketNTP(medi, pkt); ok {
		return ntp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.anchorSet {
		s.anchorSet, s.anchorTime, s.anchorPTS = true, time.Now(), pts*90000/int64(rate)
	}
	return s.anchorTime.Add(time.Duration((pts*90000/int64(rate) - s.anchorPTS) * int64(time.Second) / 90000))
}

// codecName names a format for people: the codecs cameras commonly offer
// by name, others as their SDP rtpmap ("VP8/90000") or type.
func codecName(f format.Format) string {
	switch f.(type) {
	case *format.H264:
		return "H264"
	case *format.H265:
		return "H265"
	case *format.MPEG4Audio:
		return "MPEG-4 Audio"
	case *format.Opus:
		return "Opus"
	case *format.G711:
		return "G711"
	case *format.MJPEG:
		return "M-JPEG"
	}
	if m := f.RTPMap(); m != "" {
		return m
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", f), "*format.")
}
