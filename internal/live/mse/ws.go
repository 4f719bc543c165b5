package mse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
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
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
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
