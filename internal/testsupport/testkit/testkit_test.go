package testkit

import (
	"net"
	"strconv"
	"testing"
)

// A port from FreePort is outside the ephemeral range (so no outgoing
// connection is given it) and can be bound.
func TestFreePortBelowEphemeralRange(t *testing.T) {
	floor := ephemeralFloor()
	seen := map[int]bool{}
	for range 20 {
		port := MustFreePort(t)
		if floor > 11000 && port >= floor {
			t.Fatalf("port %d is in the ephemeral range (from %d)", port, floor)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d cannot be bound: %v", port, err)
		}
		l.Close()
		seen[port] = true
	}
	if len(seen) < 10 {
		t.Fatalf("20 calls gave only %d distinct ports: %v", len(seen), seen)
	}
}
