// Package mse serves a live stream to Media Source Extensions players over
// a websocket, in LdDl/video-server's wire protocol: a binary message of
// byte 0x09 followed by the codec string, the fMP4 init segment, then one
// moof+mdat fragment per message; text "ping" is answered with "pong".
//
// One Muxer per stream makes the fragments, one per video frame, and every
// viewer gets the same bytes through its own bounded queue; a viewer that
// cannot keep up skips to the next keyframe without slowing anyone else.
package mse

import (
	"context"
	"fmt"
	"sync"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/clapshot-go/clapshot/internal/live/media"
	"github.com/clapshot-go/clapshot/internal/live/queue"
)

// CodecMessageType starts the codec message, as in video-server.
const CodecMessageType = 0x09

// Message is one websocket message for a viewer.
type Message struct {
	Text bool
	Data []byte
}

// DefaultQueue is how many fragments a viewer may fall behind (about 8 s
// at 30 fps) before it skips to the next keyframe.
const DefaultQueue = 256

// Time offset so that B-frame DTS before the first PTS stays positive.
const startOffset = 10 // seconds

// Muxer makes fragments for all viewers of one stream. SetTracks and
// WriteUnit are called from one goroutine; Subscribe from any.
type Muxer struct {
	maxQueue int

	mu       sync.Mutex
	tracks   *media.Tracks
	codecMsg []byte
	init     []byte
	viewers  map[*Viewer]struct{}

	// Fragment state, owned by the writing goroutine.
	seq       uint32
	lastDTS   int64 // output timeline, 90 kHz, of the last video sample
	lastDur   uint32
	haveLast  bool
	offset    int64 // added to the source's DTS to keep the timeline going across reconnects
	needAlign bool
	audio     []*fmp4.Sample
	audioBase int64
}

// NewMuxer makes a muxer whose viewers may queue maxQueue fragments.
func NewMuxer(maxQueue int) *Muxer {
	if maxQueue <= 0 {
		maxQueue = DefaultQueue
	}
	return &Muxer{maxQueue: maxQueue, viewers: map[*Viewer]struct{}{}, lastDur: 3000}
}

// Viewer is one subscriber.
type Viewer struct {
	q *queue.Queue[Message]
	m *Muxer
}

// Subscribe adds a viewer. Its first messages are the codec and init
// segment (when known), then fragments from the next keyframe on.
func (m *Muxer) Subscribe() *Viewer {
	v := &Viewer{q: queue.New[Message](m.maxQueue, true), m: m}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.init != nil {
		v.q.Push(Message{Data: m.codecMsg}, false, true)
		v.q.Push(Message{Data: m.init}, false, true)
	}
	m.viewers[v] = struct{}{}
	return v
}

// Viewers is the number of subscribed viewers.
func (m *Muxer) Viewers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.viewers)
}

// Dropped is how many fragments the viewer skipped so far.
func (v *Viewer) Dropped() uint64 { return v.q.Dropped() }

// Close unsubscribes the viewer.
func (v *Viewer) Close() {
	v.m.mu.Lock()
	delete(v.m.viewers, v)
	v.m.mu.Unlock()
	v.q.Close()
}

// Codec returns the current codec message and init segment (nil before
// the first keyframe).
func (m *Muxer) Codec() (codecMsg, init []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codecMsg, m.init
}

// CloseAll disconnects every viewer (the stream stopped).
func (m *Muxer) CloseAll() {
	m.mu.Lock()
	vs := m.viewers
	m.viewers = map[*Viewer]struct{}{}
	m.mu.Unlock()
	for v := range vs {
		v.q.Close()
	}
}

// Restart is called when the camera reconnects: viewers wait for the next
// keyframe, and the new session's timestamps continue the old timeline
// (a player's buffer never goes back in time).
func (m *Muxer) Restart() {
	m.needAlign = true
	m.audio = nil
	m.each(func(v *Viewer) { v.q.Resync() })
}

func (m *Muxer) each(f func(*Viewer)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := range m.viewers {
		f(v)
	}
}

// SetTracks starts a new init segment: every viewer gets the codec message
// and the init segment before the next fragment.
func (m *Muxer) SetTracks(t *media.Tracks) error {
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: 90000, Codec: t.Video.MP4Codec()}}}
	if t.Audio != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: 2, TimeScale: uint32(t.Audio.ClockRate), Codec: t.Audio.MP4Codec()})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return fmt.Errorf("init segment: %w", err)
	}
	codecMsg := append([]byte{CodecMessageType}, t.CodecString()...)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tracks, m.codecMsg, m.init = t, codecMsg, buf.Bytes()
	for v := range m.viewers {
		v.q.Push(Message{Data: codecMsg}, false, true)
		v.q.Push(Message{Data: m.init}, false, true)
	}
	return nil
}

// WriteUnit adds a unit. A video frame is sent at once as one fragment,
// with the audio that arrived since the previous frame.
func (m *Muxer) WriteUnit(u *media.Unit) error {
	m.mu.Lock()
	tracks := m.tracks
	m.mu.Unlock()
	if tracks == nil || u.Tracks.Version != tracks.Version {
		return nil // tracks changed, SetTracks is on its way
	}
	if m.needAlign || !m.haveLast {
		if !u.Video || !u.Key {
			return nil
		}
		if m.haveLast {
			m.offset = m.lastDTS + int64(m.lastDur) - u.DTS
		} else {
			m.offset = startOffset*90000 - u.DTS
		}
		m.needAlign = false
	}
	if !u.Video {
		return m.addAudio(u, tracks.Audio)
	}
	dts := u.DTS + m.offset
	dur := m.lastDur
	if m.haveLast && dts > m.lastDTS && dts-m.lastDTS < 90000 {
		// The previous frame's length is the best guess for this one; the
		// next fragment's decode time corrects any error.
		dur = uint32(dts - m.lastDTS)
	}
	m.lastDTS, m.lastDur, m.haveLast = dts, dur, true
	payload, err := h264.AVCC(u.Data).Marshal()
	if err != nil {
		return fmt.Errorf("video frame: %w", err)
	}
	part := fmp4.Part{SequenceNumber: m.nextSeq(), Tracks: []*fmp4.PartTrack{{
		ID: 1, BaseTime: uint64(dts),
		Samples: []*fmp4.Sample{{Duration: dur, PTSOffset: int32(u.PTS - u.DTS), IsNonSyncSample: !u.Key, Payload: payload}},
	}}}
	if len(m.audio) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: 2, BaseTime: uint64(m.audioBase), Samples: m.audio})
		m.audio = nil
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		return fmt.Errorf("fragment: %w", err)
	}
	msg := Message{Data: buf.Bytes()}
	m.each(func(v *Viewer) { v.q.Push(msg, u.Key, false) })
	return nil
}

func (m *Muxer) nextSeq() uint32 {
	m.seq++
	return m.seq
}

func (m *Muxer) addAudio(u *media.Unit, t *media.Track) error {
	if t == nil {
		return nil
	}
	pts := u.PTS + m.offset*int64(t.ClockRate)/90000
	if pts < 0 {
		return nil
	}
	if len(m.audio) == 0 {
		m.audioBase = pts
	}
	for _, frame := range u.Data {
		var dur uint32
		if t.Codec == media.Opus {
			dur = uint32(opus.PacketDuration2(frame))
		} else {
			dur = 1024
			if t.AACConfig != nil && t.AACConfig.FrameLengthFlag {
				dur = 960
			}
		}
		m.audio = append(m.audio, &fmp4.Sample{Duration: dur, Payload: frame})
	}
	// Bound audio waiting for a video frame (a frozen video track).
	if len(m.audio) > 256 {
		m.audio = nil
	}
	return nil
}

// Next waits for the viewer's next message.
func (v *Viewer) Next(ctx context.Context) (Message, error) { return v.q.Pop(ctx) }
