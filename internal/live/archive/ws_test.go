package archive_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/live/archive"
	"github.com/clapshot-go/clapshot/internal/live/livetest"
)

// wsMsg is a message with the time it arrived.
type wsMsg struct {
	text string
	bin  int
	at   time.Time
}

// playback serves the archive of set over a websocket with chunks of
// chunk, and reads query's playback until eos; send runs once, when the
// first "pause" (or, without pauses, the first fragment) arrives.
func playback(t *testing.T, set archive.Settings, chunk time.Duration, query string, onPause func(c *websocket.Conn)) []wsMsg {
	t.Helper()
	arch, err := archive.New(archive.Config{Streams: map[string]archive.Settings{streamID: set}, ChunkDuration: chunk},
		archive.Options{Log: livetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arch.ServeWS(w, r, streamID, livetest.Logger(t))
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var mu sync.Mutex
	var out []wsMsg
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		m := wsMsg{at: time.Now()}
		if typ == websocket.MessageText {
			m.text = string(b)
		} else {
			m.bin = len(b)
		}
		mu.Lock()
		out = append(out, m)
		mu.Unlock()
		if m.text == "pause" && onPause != nil {
			go onPause(c)
		}
		if m.text == "eos" {
			return out
		}
	}
}

func unixArg(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

// The archive socket pauses after each chunk of media until the client
// says "more", answers "ping" with "pong", and paces when asked.
func TestPlaybackFlowControl(t *testing.T) {
	r := recordSome(t, 4)
	rs := r.reopen().Ranges()
	from := unixArg(rs[0].Start)

	var mu sync.Mutex
	var mores []time.Time
	msgs := playback(t, r.set, time.Second, "start="+from+"&duration=3.5", func(c *websocket.Conn) {
		ctx := context.Background()
		_ = c.Write(ctx, websocket.MessageText, []byte("ping"))
		time.Sleep(700 * time.Millisecond)
		mu.Lock()
		mores = append(mores, time.Now())
		mu.Unlock()
		_ = c.Write(ctx, websocket.MessageText, []byte("more"))
	})
	pauses, pong := 0, false
	mu.Lock()
	defer mu.Unlock()
	for i, m := range msgs {
		switch m.text {
		case "pause":
			// Nothing but the pong until the client asked for more.
			more := mores[pauses]
			pauses++
			for _, n := range msgs[i+1:] {
				if n.text == "pause" || n.text == "eos" {
					break
				}
				if n.bin > 0 && n.at.Before(more) {
					t.Errorf("a fragment arrived %s before the client said more", more.Sub(n.at))
				}
			}
		case "pong":
			pong = true
		}
	}
	if pauses < 2 || !pong {
		t.Errorf("%d pauses in 3.5 s of media with 1 s chunks (want at least 2), pong %v", pauses, pong)
	}

	// Paced: 3 s of media take about 3 s (less the lead of 1 s).
	began := time.Now()
	msgs = playback(t, r.set, time.Hour, "start="+from+"&duration=3&paced=1", nil)
	if took := time.Since(began); took < 1800*time.Millisecond {
		t.Errorf("paced playback of 3 s took %s", took)
	}
	began = time.Now()
	_ = playback(t, r.set, time.Hour, "start="+from+"&duration=3", nil)
	if took := time.Since(began); took > 1500*time.Millisecond {
		t.Errorf("unpaced playback of 3 s took %s", took)
	}
	if len(msgs) < 5 {
		t.Errorf("%d messages", len(msgs))
	}
}
