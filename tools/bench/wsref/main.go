// Command wsref is the realtime benchmarks' reference: about the least a Go
// websocket server built on coder/websocket does to relay messages. Every
// text message a client sends goes to every connected client (the sender
// too), each client through its own buffered queue and writer goroutine,
// as in the real server but without parsing, permissions or storage.
//
//	wsref <port>
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/coder/websocket"
)

type hub struct {
	mu    sync.RWMutex
	conns map[chan []byte]struct{}
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(64 << 20)
	out := make(chan []byte, 1024)
	h.mu.Lock()
	h.conns[out] = struct{}{}
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		h.mu.Lock()
		delete(h.conns, out)
		h.mu.Unlock()
		cancel()
		_ = c.CloseNow()
	}()
	go func() {
		for {
			select {
			case b := <-out:
				if c.Write(ctx, websocket.MessageText, b) != nil {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		h.mu.RLock()
		for o := range h.conns {
			select {
			case o <- b:
			default: // a full queue drops, as a bounded relay must
			}
		}
		h.mu.RUnlock()
	}
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: wsref <port>")
	}
	h := &hub{conns: map[chan []byte]struct{}{}}
	http.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("I'm alive!")) })
	http.HandleFunc("/api/ws", h.serve)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Args[1], nil))
}
