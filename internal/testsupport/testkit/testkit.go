// Package testkit holds the small helpers that tests and the benchmark
// tools share when they run servers and processes on loopback.
package testkit

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a free TCP port on 127.0.0.1 below the kernel's
// ephemeral range, for a server process that is told its port before it
// starts and may be restarted on it. A port the kernel picks (":0") is
// ephemeral: any outgoing connection on the machine (another test's
// client) can be given it in the moment before the server binds, or while
// the server is down between a stop and a start; ports below the range
// are never handed out that way. The port is random, so that parallel
// test processes rarely pick the same one, and checked by a listen.
func FreePort() (int, error) {
	floor := ephemeralFloor()
	const lowest = 10000
	if floor <= lowest+1000 {
		return kernelPort()
	}
	for range 200 {
		port := lowest + rand.IntN(floor-lowest)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port in [%d, %d) after 200 tries", lowest, floor)
}

// MustFreePort is FreePort for tests: it fails t instead of returning an error.
func MustFreePort(t testing.TB) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// kernelPort is a port the kernel chose, for a machine whose ephemeral
// range leaves no room below it.
func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralFloor is the first port of the kernel's ephemeral range (32768
// when it cannot be read).
func ephemeralFloor() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil {
		return 32768
	}
	return n
}

// SyncBuffer collects output (a process's, a logger's) that is written
// while the test reads it. The zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
