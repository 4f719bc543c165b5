package mse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/clapshot-go/clapshot/internal/live/queue"
)

// WriteTimeout is how long one message may take to reach a viewer before
// the viewer is dropped (video-server: 10 s).
const WriteTimeout = 10 * time.Second

// Serve upgrades the request and streams m to the viewer until the
// viewer leaves, ctx ends or the stream stops. The caller has checked the
// Origin and the viewer's rights already.
func Serve(ctx context.Context, w http.ResponseWriter, r *http.Request, m *Muxer, log *slog.Logger) {
	s := &sock{}
	conn, err := websocket.Accept(hijacker{w, s}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		log.Debug("Live MSE: websocket upgrade failed", "remote", r.RemoteAddr, "error", err)
		return
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v := m.Subscribe()
	defer v.Close()

	// Reader: answers "ping"; a closed socket ends the session.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		pong := appendFrame(nil, true, []byte("pong"))
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageText && string(data) == "ping" {
				if _, err := s.Write(pong); err != nil {
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-readDone }()

	var msgs []Message
	var b batch
	for {
		msgs, err = v.q.PopAll(ctx, msgs[:0])
		// What was queued before the stream stopped is still sent.
		b.reset(len(msgs))
		for i, msg := range msgs {
			b.addFrame(v, msg)
			if b.size < maxWrite && i < len(msgs)-1 {
				continue
			}
			if werr := s.writeBatch(&b); werr != nil {
				log.Debug("Live MSE: viewer gone", "remote", r.RemoteAddr, "error", werr)
				return
			}
		}
		clear(msgs) // the fragments can be collected
		if err != nil {
			if errors.Is(err, queue.ErrClosed) {
				_ = conn.Close(websocket.StatusGoingAway, "stream stopped")
			}
			return
		}
	}
}

// maxWrite bounds one write: a viewer that fell behind sends its backlog
// in pieces about this size.
const maxWrite = 256 << 10

// Refuse answers a viewer that cannot be served (an invalid or unknown
// stream, a stream without MSE). A browser's WebSocket sees nothing of an
// HTTP error on the upgrade but code 1006, so a websocket request is
// accepted and closed with 1008 and the reason (video-server too closes
// with a reason); any other request gets the HTTP error from httpErr.
// Origins must have been checked before: a refused origin gets no
// websocket at all.
func Refuse(w http.ResponseWriter, r *http.Request, reason string, httpErr func()) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		httpErr()
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	if len(reason) > 123 { // the most a close frame carries
		reason = reason[:120] + "..."
	}
	_ = conn.Close(websocket.StatusPolicyViolation, reason)
}
