package httpapi

import (
	"context"
	"net"
	"syscall"
)

type connKey struct{}

// withConn keeps each request's TCP connection in its context (for cork).
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*net.TCPConn); ok {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// cork holds back partial segments on the request's connection until the
// returned func runs: the response headers then leave in the same segment
// as the start of the file that sendfile sends after them, as nginx does
// with tcp_nopush. Without a TCP connection it does nothing.
func cork(ctx context.Context) func() {
	tc, _ := ctx.Value(connKey{}).(*net.TCPConn)
	if tc == nil {
		return func() {}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return func() {}
	}
	set := func(on int) {
		_ = raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, on)
		})
	}
	set(1)
	return func() { set(0) }
}
