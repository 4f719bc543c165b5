package mse

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wireMessages are messages of every length encoding (7-bit, 16-bit and
// 64-bit, at their edges), text and binary.
func wireMessages() []Message {
	var out []Message
	for i, n := range []int{0, 1, 4, 125, 126, 127, 1000, 65535, 65536, 300000} {
		p := bytes.Repeat([]byte{'a' + byte(i)}, n)
		out = append(out, Message{Text: i%2 == 1, Data: p})
	}
	return append(out, Message{Text: true, Data: []byte("pong")})
}

// rawDial opens a websocket by hand and returns the connection and a
// reader positioned after the 101 response: the bytes the server sends.
func rawDial(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return c, br
}

// The frames written here are byte for byte those coder/websocket writes
// for the same messages, over a real socket: through the library's Write,
// then through ours (a batch, one writev).
func TestFramesAreTheLibrarys(t *testing.T) {
	msgs := wireMessages()
	var want []byte
	for _, m := range msgs {
		want = appendFrame(want, m.Text, m.Data)
	}
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request) error
	}{
		{"coder/websocket", func(w http.ResponseWriter, r *http.Request) error {
			conn, err := websocket.Accept(w, r, nil)
			if err != nil {
				return err
			}
			defer conn.CloseNow()
			for _, m := range msgs {
				typ := websocket.MessageBinary
				if m.Text {
					typ = websocket.MessageText
				}
				if err := conn.Write(r.Context(), typ, m.Data); err != nil {
					return err
				}
			}
			return nil
		}},
		{"ours", func(w http.ResponseWriter, r *http.Request) error {
			s := &sock{}
			conn, err := websocket.Accept(hijacker{w, s}, r, nil)
			if err != nil {
				return err
			}
			defer conn.CloseNow()
			var b batch
			b.reset(len(msgs))
			for _, m := range msgs {
				b.addFrame(&Viewer{}, m)
			}
			return s.writeBatch(&b)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errc := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				errc <- tc.serve(w, r)
			}))
			defer srv.Close()
			_, br := rawDial(t, srv.URL)
			got, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%d bytes on the wire, want %d; first difference at %d", len(got), len(want), i)
			}
		})
	}
}

// A batch sends each fragment with its decode times on the viewer's
// timeline, as Next rewrites a copy, including after skipped fragments,
// and with or without an audio track; whether it goes out in one writev
// (a socket) or one write of a copy (anything else), the bytes are the
// same.
func TestBatchRetimesLikeACopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var msgs []Message
	seq, dts := uint32(0), int64(900000)
	for i := range 40 {
		seq++
		if i%13 == 12 {
			seq += 3 // the viewer skipped some
			dts += 9000
		}
		nalus := [][]byte{make([]byte, 1+rng.IntN(5000))}
		tracks := []fragTrack{{id: 1, base: uint64(dts), samples: []fragSample{{dur: 3000, nalus: nalus, nonSync: i%10 != 0}}}}
		if i%3 != 0 {
			tracks = append(tracks, fragTrack{id: 2, base: uint64(dts * 48000 / 90000), samples: []fragSample{{dur: 1024, payload: make([]byte, 200)}}})
		}
		data, tfdt := marshalFragment(seq, tracks)
		msgs = append(msgs, Message{Data: data, fragment: true, seq: seq, dts: dts, dur: 3000, tfdt: tfdt, audioHz: 48000})
		dts += 3000
	}
	msgs = append([]Message{{Data: []byte{CodecMessageType, 'a'}}}, msgs...)

	var want []byte
	copied := &Viewer{}
	for i, m := range msgs {
		data := append([]byte(nil), m.Data...)
		if m.fragment {
			copied.retime(data, m)
		}
		if i == 1 && binary.BigEndian.Uint64(data[m.tfdt[0]:]) != 0 {
			t.Fatal("the viewer's first fragment does not start at 0")
		}
		want = appendFrame(want, m.Text, data)
	}

	fill := func(b *batch) {
		b.reset(len(msgs))
		v := &Viewer{}
		for _, m := range msgs {
			b.addFrame(v, m)
		}
	}
	var b batch
	fill(&b)
	var flat []byte
	for _, p := range b.bufs {
		flat = append(flat, p...)
	}
	if !bytes.Equal(flat, want) || b.size != len(want) {
		t.Fatalf("batch: %d bytes (size %d), a retimed copy: %d; equal: %v", len(flat), b.size, len(want), bytes.Equal(flat, want))
	}

	// The same batch through a socket (writev) and through a pipe (a copy).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := net.Pipe()
	for name, ends := range map[string][2]net.Conn{"tcp": {server, client}, "pipe": {p1, p2}} {
		t.Run(name, func(t *testing.T) {
			fill(&b)
			errc := make(chan error, 1)
			go func() {
				err := (&sock{conn: ends[0]}).writeBatch(&b)
				ends[0].Close()
				errc <- err
			}()
			got, err := io.ReadAll(ends[1])
			if err != nil {
				t.Fatal(err)
			}
			ends[1].Close()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes read, want %d", len(got), len(want))
			}
		})
	}
}

func TestFrameHeader(t *testing.T) {
	tests := []struct {
		n    int
		text bool
		want []byte
	}{
		{0, false, []byte{0x82, 0}},
		{125, true, []byte{0x81, 125}},
		{126, false, []byte{0x82, 126, 0, 126}},
		{65535, false, []byte{0x82, 126, 0xff, 0xff}},
		{65536, false, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tc := range tests {
		if got := appendFrameHeader(nil, opcode(tc.text), tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("header of %d bytes (text %v) = % x, want % x", tc.n, tc.text, got, tc.want)
		}
	}
}
