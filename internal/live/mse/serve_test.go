package mse

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/live/livetest"
	"github.com/clapshot-go/clapshot/internal/live/media"
)

// received is what one websocket viewer got.
type received struct {
	codec, init []byte
	frags       []*fmp4.Part
	pongs       int
	closeStatus websocket.StatusCode
	err         error
}

// watch reads a viewer's websocket until it closes; with ping, it sends
// "ping" after every 5th fragment (as video-server's client does on a
// timer), while fragments keep coming.
func watch(ctx context.Context, url string, ping bool) *received {
	r := &received{}
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		r.err = err
		return r
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			r.closeStatus = websocket.CloseStatus(err)
			return r
		}
		switch {
		case typ == websocket.MessageText && string(b) == "pong":
			r.pongs++
		case typ == websocket.MessageText:
			r.err = errors.New("unexpected text message " + string(b))
			return r
		case r.codec == nil:
			r.codec = b
		case r.init == nil:
			r.init = b
		default:
			var parts fmp4.Parts
			if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
				r.err = errors.New("a message that is not one fragment")
				return r
			}
			r.frags = append(r.frags, parts[0])
			if ping && len(r.frags)%5 == 0 {
				if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
					r.err = err
					return r
				}
			}
		}
	}
}

// Many viewers through Serve, with batching on: every viewer that keeps
// up gets the codec message, the init segment and every fragment in
// order on a timeline from 0 without gaps, pongs between fragments; a
// viewer that never reads loses fragments (its queue overflows) without
// holding anyone up; the stream's end closes every viewer with 1001.
func TestServeManyViewers(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clip, err := livetest.Encode(ctx, livetest.CameraOptions{FPS: 25, GOP: 10}, 2)
	if err != nil {
		t.Fatal(err)
	}
	tr := &media.Track{Codec: media.H264, ClockRate: 90000}
	for _, n := range clip.AUs[0] {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			tr.SPS = n
		case h264.NALUTypePPS:
			tr.PPS = n
		}
	}
	tracks := &media.Tracks{Video: tr}

	m := NewMuxer(64)
	m.batchViewers, m.batchWindow = 2, 20*time.Millisecond
	if err := m.SetTracks(tracks); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(r.Context(), w, r, m, slog.New(slog.DiscardHandler))
	}))
	defer srv.Close()
	wsURL := strings.Replace(srv.URL, "http", "ws", 1)

	// The slow viewer: a websocket that is never read.
	rawDial(t, srv.URL)
	var slow *Viewer
	for slow == nil {
		for v := range m.viewersSnapshot() {
			slow = v
		}
		select {
		case <-ctx.Done():
			t.Fatal("the slow viewer did not subscribe")
		case <-time.After(5 * time.Millisecond):
		}
	}
	const fast = 4
	results := make([]*received, fast)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = watch(ctx, wsURL, i == 0) })
	}
	for m.Viewers() < fast+1 {
		select {
		case <-ctx.Done():
			t.Fatal("viewers did not subscribe")
		case <-time.After(5 * time.Millisecond):
		}
	}

	// 200 frames with 64 KB of filler (more than the slow viewer's socket
	// buffers and queue take), every 10 ms.
	filler := append([]byte{byte(h264.NALUTypeFillerData)}, bytes.Repeat([]byte{0xff}, 64<<10)...)
	frames := 200
	for i := range frames {
		au := clip.AUs[i%len(clip.AUs)]
		key := h264.IsRandomAccess(au)
		if err := m.WriteUnit(&media.Unit{Tracks: tracks, Video: true, PTS: int64(i) * 3000, DTS: int64(i) * 3000, Key: key,
			Data: append(append([][]byte(nil), au...), filler)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The fast viewers get everything before the stream stops.
	for {
		done := true
		for v := range m.viewersSnapshot() {
			if v != slow && v.q.Len() > 0 {
				done = false
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("fast viewers did not drain their queues")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if slow.Dropped() == 0 {
		t.Error("the viewer that never reads lost nothing (its queue should overflow)")
	}
	m.CloseAll()
	wg.Wait()

	codec := append([]byte{CodecMessageType}, tracks.CodecString()...)
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("viewer %d: %v", i, r.err)
		}
		if !bytes.Equal(r.codec, codec) || len(r.init) < 8 || string(r.init[4:8]) != "ftyp" {
			t.Errorf("viewer %d: first messages %q and %d bytes (want %q and an init segment)", i, r.codec, len(r.init), codec)
		}
		if len(r.frags) != frames {
			t.Errorf("viewer %d: %d fragments, want %d", i, len(r.frags), frames)
		}
		var next uint64
		for j, f := range r.frags {
			v := f.Tracks[0]
			if f.SequenceNumber != r.frags[0].SequenceNumber+uint32(j) || v.BaseTime != next {
				t.Fatalf("viewer %d, fragment %d: sequence %d, decode time %d; want %d, %d",
					i, j, f.SequenceNumber, v.BaseTime, r.frags[0].SequenceNumber+uint32(j), next)
			}
			next += uint64(v.Samples[0].Duration)
		}
		if r.closeStatus != websocket.StatusGoingAway {
			t.Errorf("viewer %d: closed with %v, want 1001 (going away)", i, r.closeStatus)
		}
	}
	// (The last pings may cross the stream's end.)
	if want := frames / 5; results[0].pongs < want/2 {
		t.Errorf("%d pongs for %d pings", results[0].pongs, want)
	}
}

// viewersSnapshot lists the viewers (tests).
func (m *Muxer) viewersSnapshot() map[*Viewer]struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[*Viewer]struct{}, len(m.viewers))
	for v := range m.viewers {
		out[v] = struct{}{}
	}
	return out
}
