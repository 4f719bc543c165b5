package archive

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The archive websocket speaks video-server's protocol: a binary message
// 0x09 + codec string, the init segment, then one fragment per binary
// message; after each 5 minutes of media the text "pause", and the next
// part once the client sends "more"; "ping" is answered with "pong"; the
// end is the text "eos". Failures close the socket with 1011 and the
// reason, as video-server does.

// ChunkDuration is how much media is sent before each "pause" (the
// default of Config.ChunkDuration).
const ChunkDuration = 5 * time.Minute

// codecMessageType starts the codec message (as the live MSE socket).
const codecMessageType = 0x09

// writeTimeout is how long one message may take (video-server: 10 s).
const writeTimeout = 10 * time.Second

// pacedLead is how far ahead of real time a paced playback sends.
const pacedLead = time.Second

// Request is a range of the archive asked for.
type Request struct {
	Start time.Time
	End   time.Time // zero: to the end of the archive
	// Paced sends the media in real time (video-server sends it as fast
	// as the socket takes it, which stays the default).
	Paced bool
}

// ParseRequest reads video-server's archive query: start (Unix seconds,
// or RFC 3339), duration (seconds, optional; absent or 0: to the end),
// and ours: end (instead of duration) and paced=1.
func ParseRequest(q url.Values) (Request, error) {
	var r Request
	if q.Get("start") == "" {
		return r, errors.New("Invalid start time (use Unix timestamp): start is missing")
	}
	start, err := ParseTime(q.Get("start"))
	if err != nil {
		return r, errors.New("Invalid start time (use Unix timestamp): " + err.Error())
	}
	r.Start = start
	if d := q.Get("duration"); d != "" {
		sec, err := strconv.ParseFloat(d, 64)
		switch {
		case err != nil:
			return r, errors.New("Invalid duration (use seconds): " + strconv.Quote(d))
		case sec < 0:
			return r, errors.New("Invalid duration: the end would be before the start")
		case sec > 0:
			r.End = start.Add(time.Duration(sec * float64(time.Second)))
		}
	}
	if e := q.Get("end"); e != "" {
		end, err := ParseTime(e)
		if err != nil {
			return r, errors.New("Invalid end time: " + err.Error())
		}
		if !end.After(start) {
			return r, errors.New("Invalid end time: the end is not after the start")
		}
		r.End = end
	}
	switch strings.ToLower(q.Get("paced")) {
	case "", "0", "false", "no":
	default:
		r.Paced = true
	}
	return r, nil
}

// describeRanges summarises what the archive has, for an error message.
func describeRanges(rs []Range) string {
	if len(rs) == 0 {
		return "the archive is empty"
	}
	f := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	return "the archive has " + f(rs[0].Start) + " to " + f(rs[len(rs)-1].End)
}

// ServeWS plays [start, start+duration) of a stream's archive over a
// websocket. The caller has checked the Origin and the viewer's rights.
// a may be nil.
func (a *Archive) ServeWS(w http.ResponseWriter, r *http.Request, id string, log *slog.Logger) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		log.Debug("Archive playback: websocket upgrade failed", "remote", r.RemoteAddr, "error", err)
		return
	}
	defer conn.CloseNow()
	fail := func(reason string) {
		log.Info("Archive playback refused", "stream", id, "remote", r.RemoteAddr, "reason", reason)
		if len(reason) > 123 {
			reason = reason[:120] + "..."
		}
		_ = conn.Close(websocket.StatusInternalError, reason)
	}
	st, code, msg := a.lookup(id)
	switch {
	case code == http.StatusBadRequest:
		fail("Invalid stream_id")
		return
	case st == nil:
		fail("Archive not enabled for this stream: " + msg)
		return
	}
	req, err := ParseRequest(r.URL.Query())
	if err != nil {
		fail(err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	p := newPlayer(st, req.Start, req.End, log.With("stream", id))
	defer p.close()
	if len(p.segs) == 0 {
		fail("No segments found for this time range: " + describeRanges(st.Ranges()))
		return
	}

	more := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			switch string(data) {
			case "ping":
				if write(ctx, conn, websocket.MessageText, []byte("pong")) != nil {
					return
				}
			case "more":
				select {
				case more <- struct{}{}:
				default:
				}
			}
		}
	}()
	defer func() { cancel(); <-readDone }()

	began := time.Now()
	var chunkStart uint64
	sent := 0
	for {
		it, err := p.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return
		}
		if it.init != nil {
			msg := append([]byte{codecMessageType}, it.codec...)
			if write(ctx, conn, websocket.MessageBinary, msg) != nil ||
				write(ctx, conn, websocket.MessageBinary, it.init) != nil {
				return
			}
			continue
		}
		if req.Paced {
			due := began.Add(time.Duration(it.at)*time.Second/videoTimescale - pacedLead)
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
		}
		if write(ctx, conn, websocket.MessageBinary, it.part) != nil {
			return
		}
		sent++
		if end := it.at + it.dur; time.Duration(end-chunkStart)*time.Second/videoTimescale >= a.cfg.ChunkDuration {
			if write(ctx, conn, websocket.MessageText, []byte("pause")) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-more:
			}
			chunkStart = end
			if req.Paced {
				began = time.Now().Add(-time.Duration(end) * time.Second / videoTimescale)
			}
		}
	}
	if sent == 0 {
		fail("No valid archive segments found in this time range")
		return
	}
	if write(ctx, conn, websocket.MessageText, []byte("eos")) == nil {
		_ = conn.Close(websocket.StatusNormalClosure, "")
	}
}

func write(ctx context.Context, c *websocket.Conn, typ websocket.MessageType, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(wctx, typ, b)
}
