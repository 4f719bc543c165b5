package source_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/media"
	"github.com/clapshot-go/clapshot/internal/live/source"
)

type countSink struct{ units, keys int }

func (c *countSink) SetTracks(*media.Tracks) {}
func (c *countSink) WriteUnit(u *media.Unit) {
	c.units++
	if u.Key {
		c.keys++
	}
}

var (
	videoDesc = &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1,
			SPS: []byte{0x67, 0x42, 0xc0, 0x0d, 0x8c, 0x8d, 0x40, 0xa0, 0xf9, 0x00, 0xf0, 0x88, 0x46, 0xa0},
			PPS: []byte{0x68, 0xce, 0x3c, 0x80}}},
	}}}
	audioDesc = &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeAudio, Formats: []format.Format{&format.MPEG4Audio{PayloadTyp: 97,
			Config: &mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 48000, ChannelConfig: 1}, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}},
	}}}
)

// Every way a camera can be wrong ends the session with an error that
// names the cause, quickly, without a panic.
func TestBadCameras(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	srv.User, srv.Pass = "cam", "secret"
	if _, err := srv.AddStream("audio-only", audioDesc); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddStream("silent", videoDesc); err != nil {
		t.Fatal(err)
	}
	garbage, err := srv.AddStream("garbage", videoDesc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Random payloads with valid RTP headers, as a broken camera sends.
		seq := uint16(0)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			payload := make([]byte, 200)
			for i := range payload {
				payload[i] = byte(rand.N(256))
			}
			seq++
			_ = garbage.WritePacketRTP(videoDesc.Medias[0], &rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3600, SSRC: 1},
				Payload: payload,
			})
		}
	}()
	creds := "cam:secret@"
	free := livetest.FreeAddr(t)
	for _, tc := range []struct {
		name, url string
		want      error
		text      string
	}{
		{"not an RTSP URL", "http://" + srv.Addr() + "/x", source.ErrBadURL, "rtsp://"},
		{"unreachable", "rtsp://" + free + "/cam", source.ErrUnreachable, "refused"},
		{"wrong credentials", "rtsp://cam:wrong@" + srv.Addr() + "/silent", source.ErrAuth, "401"},
		{"no credentials", "rtsp://" + srv.Addr() + "/silent", source.ErrAuth, "401"},
		{"unknown path", "rtsp://" + creds + srv.Addr() + "/nope", source.ErrNotFound, "404"},
		{"audio only", "rtsp://" + creds + srv.Addr() + "/audio-only", source.ErrNoVideo, "MPEG-4 Audio"},
		{"sends no video", "rtsp://" + creds + srv.Addr() + "/silent", source.ErrNoKeyframe, "no video packets"},
		{"garbage RTP", "rtsp://" + creds + srv.Addr() + "/garbage", source.ErrUndecodable, "garbage RTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			sink := &countSink{}
			err := source.Run(context.Background(), source.Config{URL: tc.url, Transport: "tcp",
				KeyframeTimeout: time.Second, ReadTimeout: 3 * time.Second}, sink, nil, livetest.Logger(t), nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.text)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "wrong@") {
				t.Errorf("error shows the password: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			// Random bytes can look like a frame now and then; what matters
			// is the error, and that nothing crashed.
			if sink.units != 0 && tc.name != "garbage RTP" {
				t.Errorf("%d units from a bad camera", sink.units)
			}
		})
	}
}

// Right credentials (Digest, as gortsplib's server prefers, or Basic when
// that is all the camera asks for), over TCP and UDP, and a real camera:
// units flow, starting at a keyframe; cancelling ends Run cleanly.
func TestGoodCameraWithCredentials(t *testing.T) {
	for _, method := range []string{"digest", "basic"} {
		t.Run(method, func(t *testing.T) {
			srv := livetest.StartServer(t, "127.0.0.1:0")
			srv.User, srv.Pass = "cam", "secret"
			if method == "basic" {
				srv.BasicAuthOnly()
			}
			cam := livetest.StartCamera(t, srv.URL("cam"), livetest.CameraOptions{})
			livetest.WaitPublishing(t, srv, "cam", cam)
			for _, transport := range []string{"tcp", "udp"} {
				t.Run(transport, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					sink := &lockedSink{}
					err := source.Run(ctx, source.Config{URL: "rtsp://cam:secret@" + srv.Addr() + "/cam", Transport: transport},
						sink, nil, livetest.Logger(t), nil)
					if err != nil {
						t.Fatal(err)
					}
					units, first := sink.get()
					if units < 30 || !first {
						t.Fatalf("%d units, first a keyframe: %v", units, first)
					}
				})
			}
		})
	}
}

// The health probe: a bare DESCRIBE, with Digest or Basic credentials,
// that tells a camera that answers with video from every way it cannot,
// within its timeout, and never asks for media (no SETUP, no PLAY).
func TestProbe(t *testing.T) {
	srv := livetest.StartServer(t, "127.0.0.1:0")
	srv.User, srv.Pass = "cam", "secret"
	basic := livetest.StartServer(t, "127.0.0.1:0")
	basic.User, basic.Pass = "cam", "secret"
	basic.BasicAuthOnly()
	for _, s := range []*livetest.Server{srv, basic} {
		if _, err := s.AddStream("cam", videoDesc); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddStream("audio-only", audioDesc); err != nil {
			t.Fatal(err)
		}
	}
	creds := "cam:secret@"
	free := livetest.FreeAddr(t)
	silent := livetest.SilentCamera(t)
	const timeout = 500 * time.Millisecond
	for _, tc := range []struct {
		name, url string
		want      error // nil: the camera answers
		text      string
	}{
		{"digest", "rtsp://" + creds + srv.Addr() + "/cam", nil, ""},
		{"basic", "rtsp://" + creds + basic.Addr() + "/cam", nil, ""},
		{"wrong credentials", "rtsp://cam:wrong@" + srv.Addr() + "/cam", source.ErrAuth, "wrong credentials (401"},
		{"wrong credentials, basic", "rtsp://cam:wrong@" + basic.Addr() + "/cam", source.ErrAuth, "401"},
		{"no credentials", "rtsp://" + srv.Addr() + "/cam", source.ErrAuth, "401"},
		{"closed port", "rtsp://" + free + "/cam", source.ErrUnreachable, "camera unreachable: connection refused"},
		{"no answer", "rtsp://" + silent + "/cam", source.ErrTimeout, "no answer to DESCRIBE within 500ms"},
		{"unknown path", "rtsp://" + creds + srv.Addr() + "/nope", source.ErrNotFound, "404"},
		{"no video track", "rtsp://" + creds + srv.Addr() + "/audio-only", source.ErrNoVideo, "no H.264 or H.265 video: the camera offers MPEG-4 Audio"},
		{"not RTSP", "http://" + srv.Addr() + "/cam", source.ErrBadURL, "rtsp://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := source.Probe(context.Background(), tc.url, timeout)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("probe of a good camera: %v", err)
				}
			} else if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.text)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
			if d := time.Since(start); d > timeout+time.Second {
				t.Errorf("took %s with a %s timeout", d, timeout)
			}
		})
	}
	for _, s := range []*livetest.Server{srv, basic} {
		if d, setups, plays := s.Requests(); d == 0 || setups != 0 || plays != 0 {
			t.Errorf("the server had %d DESCRIBE, %d SETUP and %d PLAY requests; a probe only describes", d, setups, plays)
		}
	}

	// Cancelling ends a probe at once, with ctx's error.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if err := source.Probe(ctx, "rtsp://"+silent+"/cam", 10*time.Second); !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled probe: %v after %s", err, time.Since(start))
	}
}
