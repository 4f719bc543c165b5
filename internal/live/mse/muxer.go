// Package mse serves a live stream to Media Source Extensions players over
// a websocket, in LdDl/video-server's wire protocol: a binary message of
// byte 0x09 followed by the codec string, the fMP4 init segment, then one
// moof+mdat fragment per message; text "ping" is answered with "pong".
//
// One Muxer per stream makes the fragments, one per video frame, and every
// viewer gets the same bytes through its own bounded queue; a viewer that
// cannot keep up skips to the next keyframe without slowing anyone else.
// The messages to a viewer are framed here (wire.go) and what it has
// queued goes out in one write; with many viewers, in batches.
package mse

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

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

	// Set on fragments: the muxer's sequence number, and the video
	// sample's decode time and duration (90 kHz) on the stream's timeline.
	seq      uint32
	dts      int64
	dur      int64
	tfdt     [2]int // offsets of the tracks' baseMediaDecodeTime (0: none)
	audioHz  int64
	fragment bool
}

// A stream with more than BatchViewers viewers sends them its fragments in
// batches: a fragment waits at most BatchWindow, and each viewer gets
// what its queue holds in one socket write. Every fragment is still one
// websocket message; what changes is that a viewer's goroutine wakes and
// calls write(2) about 5 times a second instead of once per frame, which
// is most of what a viewer costs (docs/live.md, "Why it is fast"). A few
// viewers get every fragment at once, with the lowest latency.
const (
	BatchViewers = 8
	BatchWindow  = 200 * time.Millisecond
)

// DefaultQueue is how many fragments a viewer may fall behind (about 8 s
// at 30 fps) before it skips to the next keyframe.
const DefaultQueue = 256

// Time offset so that B-frame DTS before the first PTS stays positive.
const startOffset = 10 // seconds

// Muxer makes fragments for all viewers of one stream. SetTracks and
// WriteUnit are called from one goroutine; Subscribe from any.
type Muxer struct {
	maxQueue     int
	batchViewers int
	batchWindow  time.Duration

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
	audio     []fragSample // audio since the last video frame
	audioBase int64

	// Batching (many viewers): fragments held in the viewers' queues
	// since the batch started; flush wakes the viewers when it ends.
	held  bool // under mu
	flush *time.Timer
}

// NewMuxer makes a muxer whose viewers may queue maxQueue fragments.
func NewMuxer(maxQueue int) *Muxer {
	if maxQueue <= 0 {
		maxQueue = DefaultQueue
	}
	return &Muxer{maxQueue: maxQueue, batchViewers: BatchViewers, batchWindow: BatchWindow,
		viewers: map[*Viewer]struct{}{}, lastDur: 3000}
}

// Viewer is one subscriber.
//
// Every viewer gets the same fragments, but on its own timeline: its first
// fragment starts at time 0 (video-server's clients append to a
// MediaSource and never seek, so a stream time of hours would leave them
// waiting), and after it skipped fragments to catch up, the next one
// follows on from the last it got, so that the player's buffer has no gap
// to stall on.
type Viewer struct {
	q *queue.Queue[Message]
	m *Muxer

	// Owned by the goroutine calling Next.
	started bool
	lastSeq uint32
	base    int64 // subtracted from the stream's timeline
	end     int64 // end of the last fragment on the viewer's timeline
	buf     []byte
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
	if m.flush != nil {
		m.flush.Stop()
		m.held = false
	}
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
// and the init segment before the next fragment. Parameters that did not
// change (a camera that reconnected) send nothing.
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
	same := bytes.Equal(buf.Bytes(), m.init)
	m.tracks = t
	if same {
		return nil
	}
	m.codecMsg, m.init = codecMsg, buf.Bytes()
	for v := range m.viewers {
		v.q.Push(Message{Data: codecMsg}, false, true)
		v.q.Push(Message{Data: m.init}, false, true)
	}
	return nil
}

// WriteUnit adds a unit. A video frame becomes one fragment, with the
// audio that arrived since the previous frame, sent at once (within
// BatchWindow when the stream has more than BatchViewers viewers).
func (m *Muxer) WriteUnit(u *media.Unit) error {
	m.mu.Lock()
	tracks := m.tracks
	m.mu.Unlock()
	if tracks == nil || u.Tracks != tracks {
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
	frag := []fragTrack{{id: 1, base: uint64(dts), samples: []fragSample{{
		dur: dur, cto: int32(u.PTS - u.DTS), nonSync: !u.Key, nalus: u.Data,
	}}}}
	if len(m.audio) > 0 {
		frag = append(frag, fragTrack{id: 2, base: uint64(m.audioBase), samples: m.audio})
	}
	seq := m.nextSeq()
	data, tfdt := marshalFragment(seq, frag)
	m.audio = m.audio[:0]
	msg := Message{Data: data, fragment: true, seq: seq, dts: dts, dur: int64(dur), tfdt: tfdt}
	if tracks.Audio != nil {
		msg.audioHz = int64(tracks.Audio.ClockRate)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.viewers) <= m.batchViewers {
		for v := range m.viewers {
			v.q.Push(msg, u.Key, false)
		}
		return nil
	}
	for v := range m.viewers {
		v.q.Hold(msg, u.Key)
	}
	if !m.held {
		m.held = true
		if m.flush == nil {
			m.flush = time.AfterFunc(m.batchWindow, m.wakeAll)
		} else {
			m.flush.Reset(m.batchWindow)
		}
	}
	return nil
}

// wakeAll ends a batch: every viewer sends what it holds.
func (m *Muxer) wakeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = false
	for v := range m.viewers {
		v.q.Wake()
	}
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
		m.audio = append(m.audio, fragSample{dur: dur, payload: frame})
	}
	// Bound audio waiting for a video frame (a frozen video track).
	if len(m.audio) > 256 {
		m.audio = m.audio[:0]
	}
	return nil
}

// Next waits for the viewer's next message. A fragment's Data is only
// valid until the next call (it is rewritten for the viewer's timeline in
// a buffer the viewer reuses).
func (v *Viewer) Next(ctx context.Context) (Message, error) {
	msg, err := v.q.Pop(ctx)
	if err != nil || !msg.fragment {
		return msg, err
	}
	v.buf = append(v.buf[:0], msg.Data...)
	v.retime(v.buf, msg)
	msg.Data = v.buf
	return msg, nil
}

// retime moves the decode times in frag, a copy of msg's fragment, onto
// the viewer's timeline.
func (v *Viewer) retime(frag []byte, msg Message) {
	video, audio := v.timeline(msg)
	rebase(frag, msg.tfdt[0], video)
	if msg.tfdt[1] != 0 {
		rebase(frag, msg.tfdt[1], audio)
	}
}

// timeline moves the viewer's timeline on by the fragment msg and returns
// how far its video and audio decode times go back on the viewer's.
func (v *Viewer) timeline(msg Message) (video, audio int64) {
	if !v.started || msg.seq != v.lastSeq+1 {
		// First fragment, or fragments were skipped: continue from the
		// end of what the viewer has.
		v.base = msg.dts - v.end
		v.started = true
	}
	v.lastSeq = msg.seq
	v.end = msg.dts - v.base + msg.dur
	return v.base, v.base * msg.audioHz / 90000
}

// rebase moves the 64-bit decode time at off back by d.
func rebase(b []byte, off int, d int64) {
	binary.BigEndian.PutUint64(b[off:], rebased(b, off, d))
}

// rebased is the 64-bit decode time at off moved back by d (not below 0:
// audio that starts a few milliseconds before the first picture starts
// with it).
func rebased(b []byte, off int, d int64) uint64 {
	return uint64(max(int64(binary.BigEndian.Uint64(b[off:]))-d, 0))
}
