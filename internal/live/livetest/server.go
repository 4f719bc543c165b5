// Package livetest has the real things the live tests run against: an
// RTSP server on loopback (gortsplib's, in the test process) that accepts
// publishers and readers, and a real ffmpeg publishing a lavfi test
// picture with a burnt-in wall clock.
package livetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

// Server is an RTSP server with any number of paths, each fed by one
// publisher (ANNOUNCE + RECORD) and read by any number of clients.
type Server struct {
	// User and Pass, if set, are required from readers (Basic or Digest).
	User, Pass string

	srv  *gortsplib.Server
	addr string

	mu      sync.Mutex
	streams map[string]*pathStream

	// Requests from readers, counted for tests (see Requests).
	describes, setups, plays atomic.Int64
}

type pathStream struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

// StartServer starts a server on addr ("127.0.0.1:0" for any port). It is
// closed when the test ends.
func StartServer(t testing.TB, addr string) *Server {
	t.Helper()
	s, err := NewServer(addr, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server outside a test (the demo, benchmarks).
func NewServer(addr, user, pass string) (*Server, error) {
	s := &Server{User: user, Pass: pass, streams: map[string]*pathStream{}}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	// UDP needs a fixed even/odd port pair; try a few at random.
	for try := 0; ; try++ {
		port := 20000 + 2*rand.N(15000)
		s.srv = &gortsplib.Server{Handler: s, RTSPAddress: addr,
			UDPRTPAddress:  net.JoinHostPort(host, strconv.Itoa(port)),
			UDPRTCPAddress: net.JoinHostPort(host, strconv.Itoa(port+1)),
		}
		err := s.srv.Start()
		if err == nil {
			break
		}
		if try == 20 || !strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "tcp") {
			return nil, fmt.Errorf("RTSP server on %s: %w", addr, err)
		}
	}
	s.addr = s.srv.NetListener().Addr().String()
	return s, nil
}

// BasicAuthOnly makes the server ask readers for Basic credentials only
// (by default it offers Basic and Digest, and clients pick Digest). Call
// it before any reader connects.
func (s *Server) BasicAuthOnly() {
	s.srv.AuthMethods = []auth.VerifyMethod{auth.VerifyMethodBasic}
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the rtsp:// URL of a path ("cam").
func (s *Server) URL(path string) string { return "rtsp://" + s.addr + "/" + path }

// Close stops the server and drops every session.
func (s *Server) Close() { s.srv.Close() }

// Publishing reports whether a publisher feeds path.
func (s *Server) Publishing(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[path] != nil
}

// Stream is the path's stream, nil while nobody publishes it.
func (s *Server) Stream(path string) *gortsplib.ServerStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.streams[path]; p != nil {
		return p.stream
	}
	return nil
}

// AddStream creates a path fed by the caller (benchmarks write packets
// directly with WritePacketRTP).
func (s *Server) AddStream(path string, desc *description.Session) (*gortsplib.ServerStream, error) {
	st := &gortsplib.ServerStream{Server: s.srv, Desc: desc}
	if err := st.Initialize(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.streams[path] = &pathStream{stream: st}
	s.mu.Unlock()
	return st, nil
}

func pathOf(p string) string { return strings.Trim(p, "/") }

// OnSessionClose drops a publisher's path.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.streams {
		if p.publisher == ctx.Session {
			p.stream.Close()
			delete(s.streams, k)
		}
	}
}

func (s *Server) checkAuth(ctx *gortsplib.ServerConn, req *base.Request) bool {
	return s.User == "" || ctx.VerifyCredentials(req, s.User, s.Pass)
}

// Requests counts the DESCRIBE, SETUP (from readers) and PLAY requests
// the server has had.
func (s *Server) Requests() (describes, setups, plays int64) {
	return s.describes.Load(), s.setups.Load(), s.plays.Load()
}

// OnDescribe serves a published path.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.describes.Add(1)
	if !s.checkAuth(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	if st := s.Stream(pathOf(ctx.Path)); st != nil {
		return &base.Response{StatusCode: base.StatusOK}, st, nil
	}
	return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
}

// OnAnnounce accepts a publisher (replacing an earlier one).
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	st := &gortsplib.ServerStream{Server: s.srv, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := pathOf(ctx.Path)
	if old := s.streams[p]; old != nil {
		old.stream.Close()
		if old.publisher != nil {
			old.publisher.Close()
		}
	}
	s.streams[p] = &pathStream{stream: st, publisher: ctx.Session}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup answers publishers and readers.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	s.setups.Add(1)
	if !s.checkAuth(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	if st := s.Stream(pathOf(ctx.Path)); st != nil {
		return &base.Response{StatusCode: base.StatusOK}, st, nil
	}
	return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
}

// OnPlay accepts readers.
func (s *Server) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s.plays.Add(1)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord relays a publisher's packets to the path's readers.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	st := s.Stream(pathOf(ctx.Path))
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	ctx.Session.OnPacketRTPAny(func(m *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = st.WritePacketRTP(m, pkt)
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SilentCamera listens on loopback and accepts connections but never
// answers (a camera that hangs); it returns the address. Closed when the
// test ends.
func SilentCamera(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
