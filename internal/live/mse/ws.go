package mse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	conn, err := websocket.Accept(bigWriter{w}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
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
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageText && string(data) == "ping" {
				wctx, wcancel := context.WithTimeout(ctx, WriteTimeout)
				err := conn.Write(wctx, websocket.MessageText, []byte("pong"))
				wcancel()
				if err != nil {
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-readDone }()

	for {
		msg, err := v.Next(ctx)
		if err != nil {
			if errors.Is(err, queue.ErrClosed) {
				_ = conn.Close(websocket.StatusGoingAway, "stream stopped")
			}
			return
		}
		typ := websocket.MessageBinary
		if msg.Text {
			typ = websocket.MessageText
		}
		wctx, wcancel := context.WithTimeout(ctx, WriteTimeout)
		err = conn.Write(wctx, typ, msg.Data)
		wcancel()
		if err != nil {
			log.Debug("Live MSE: viewer gone", "remote", r.RemoteAddr, "error", err)
			return
		}
	}
}

// writeBuffer is the size of a viewer's socket write buffer. coder/websocket
// writes through the connection's hijacked bufio.Writer, which net/http
// makes 4 KiB: a frame of 8 KB (2 Mbit/s at 30 fps) then took two write
// calls and a partial copy. With 64 KiB most fragments, keyframes too,
// go out in one.
const writeBuffer = 64 << 10

// bigWriter hands the websocket a larger write buffer at hijack time.
type bigWriter struct{ http.ResponseWriter }

func (b bigWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(b.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("flush before the upgrade: %w", err)
		}
	}
	return conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(conn, writeBuffer)), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b bigWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

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
