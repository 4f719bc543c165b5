package mse

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// The websocket library (coder/websocket) does the handshake, reads what
// the viewer sends and answers its control frames, but the messages to
// the viewer are framed here and written to the socket directly. Its
// Write makes one frame per call, copies it into a buffer and flushes:
// one write(2) per fragment, which with one fragment per frame is most of
// what a viewer costs. Framed here, everything queued for a viewer goes
// out in one write, without the copy, with one deadline instead of a
// context timer per message. Server frames are not masked (RFC 6455
// §5.1), so a frame is its header and the payload as is; a test checks
// that the bytes are those the library writes for the same message.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opText   = 0x1
	opBinary = 0x2
)

// appendFrameHeader appends the header of a final, unmasked frame of n
// payload bytes: the shortest length encoding, as coder/websocket writes.
func appendFrameHeader(b []byte, opcode byte, n int) []byte {
	b = append(b, 0x80|opcode)
	switch {
	case n > 0xffff:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	case n > 125:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, byte(n))
	}
	return b
}

func opcode(text bool) byte {
	if text {
		return opText
	}
	return opBinary
}

// appendFrame appends a whole message frame.
func appendFrame(b []byte, text bool, payload []byte) []byte {
	return append(appendFrameHeader(b, opcode(text), len(payload)), payload...)
}

// sock is a viewer's connection. The websocket library's writes (close
// and control frames, through the bufio.Writer it gets at hijack time)
// and ours go through Write, one whole frame or batch of frames per call,
// so they never interleave. Every write has WriteTimeout to finish.
type sock struct {
	mu   sync.Mutex
	conn net.Conn
}

func (s *sock) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.conn.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil {
		return 0, err
	}
	return s.conn.Write(p)
}

// libraryBuffer is the write buffer the websocket library gets. It flushes
// after every frame it writes, and its frames (close, pong for a control
// ping) carry at most 125 bytes, so each is one Write on the sock: it
// cannot split one of its frames around ours.
const libraryBuffer = 4 << 10

// hijacker hands the websocket library a connection whose writes go
// through s, and keeps the connection for Serve.
type hijacker struct {
	http.ResponseWriter
	s *sock
}

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("flush before the upgrade: %w", err)
		}
	}
	h.s.conn = conn
	return conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.s, libraryBuffer)), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// batch is what one write sends a viewer: its frames as slices of the
// shared messages, with each frame's header and the fragment's decode
// times on the viewer's timeline in scratch. The kernel's writev copies
// the pieces straight into the socket: the fragment bytes are not copied
// per viewer (that copy was a quarter of a viewer's cost).
type batch struct {
	bufs    net.Buffers
	scratch []byte
	size    int
}

// perFrameScratch is the most scratch one frame takes: its header and two
// decode times.
const perFrameScratch = 10 + 2*8

// reset empties b for up to n frames. scratch never grows while b is
// filled, so that the slices of it in bufs stay valid.
func (b *batch) reset(n int) {
	clear(b.bufs)
	b.bufs = b.bufs[:0]
	if cap(b.scratch) < n*perFrameScratch {
		b.scratch = make([]byte, 0, n*perFrameScratch)
	}
	b.scratch = b.scratch[:0]
	b.size = 0
}

// piece appends the scratch bytes from start on as the next piece.
func (b *batch) piece(start int) {
	b.bufs = append(b.bufs, b.scratch[start:len(b.scratch):len(b.scratch)])
}

func (b *batch) data(p []byte) {
	if len(p) > 0 {
		b.bufs = append(b.bufs, p)
	}
}

// addFrame adds msg as one websocket frame, a fragment on v's timeline.
func (b *batch) addFrame(v *Viewer, msg Message) {
	start := len(b.scratch)
	b.scratch = appendFrameHeader(b.scratch, opcode(msg.Text), len(msg.Data))
	b.piece(start)
	b.size += len(b.scratch) - start + len(msg.Data)
	if !msg.fragment {
		b.data(msg.Data)
		return
	}
	video, audio := v.timeline(msg)
	at := 0
	for i, d := range [2]int64{video, audio} {
		off := msg.tfdt[i]
		if off == 0 {
			continue
		}
		b.data(msg.Data[at:off])
		start := len(b.scratch)
		b.scratch = binary.BigEndian.AppendUint64(b.scratch, rebased(msg.Data, off, d))
		b.piece(start)
		at = off + 8
	}
	b.data(msg.Data[at:])
}

// writeBatch writes b in one writev (one write(2) of a copy where the
// connection is not a socket), and empties it.
func (s *sock) writeBatch(b *batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.conn.SetWriteDeadline(time.Now().Add(WriteTimeout)); err != nil {
		return err
	}
	defer b.reset(0)
	bufs := b.bufs // WriteTo consumes its receiver (and clears b.bufs' elements)
	var err error
	switch s.conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		_, err = bufs.WriteTo(s.conn)
	default:
		flat := make([]byte, 0, b.size)
		for _, p := range b.bufs {
			flat = append(flat, p...)
		}
		_, err = s.conn.Write(flat)
	}
	return err
}
