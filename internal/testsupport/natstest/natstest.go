// Package natstest runs a real NATS server on loopback for tests: the
// --fanout-url nats:// fan-out between server instances uses it.
package natstest

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// Version is the nats-server `make nats-server` builds (keep it equal to
// NATS_SERVER_VERSION in the Makefile).
const Version = "v2.15.3"

// Server is a nats-server on a loopback port.
type Server struct {
	// URL is nats://127.0.0.1:port.
	URL string

	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	out  *testkit.SyncBuffer
}

// Start starts a server (the test is skipped when the binary is not
// built) and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := testkit.ToolPath("CLAPSHOT_NATS_SERVER", "nats-server-"+Version, "nats-server", "nats-server")
	if err != nil {
		t.Skip("no nats-server for the NATS tests: ", err)
	}
	s := &Server{t: t, bin: bin, port: testkit.MustFreePort(t)}
	s.URL = fmt.Sprintf("nats://127.0.0.1:%d", s.port)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the server on its port and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	s.out = &testkit.SyncBuffer{}
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-m", "0")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.URL[len("nats://"):], time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("nats-server exited: %s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("nats-server not accepting within 30 s: %s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (for a test of an outage, Start starts it again).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
