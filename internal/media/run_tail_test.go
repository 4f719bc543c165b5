package media

import (
	"strings"
	"testing"
)

// The line that says why a write failed stays known after a flood of
// warnings has pushed it out of the kept tail.
func TestTailKeepsTheCause(t *testing.T) {
	tail := &Tail{Max: 200}
	tail.Write([]byte("frame= 10\nav_interleaved_write_frame(): No space left on d"))
	tail.Write([]byte("evice\nError writing trailer\n"))
	for range 50 {
		tail.Write([]byte("[nut @ 0x1] Non-monotonous DTS in output stream 2:0; changing to 7.\n"))
	}
	if strings.Contains(tail.String(), "No space") {
		t.Fatal("the test's flood should push the cause out of the tail")
	}
	got := tail.WithCause()
	if !strings.HasPrefix(got, "av_interleaved_write_frame(): No space left on device\n") {
		t.Errorf("WithCause = %q", got[:min(len(got), 120)])
	}
	quiet := &Tail{Max: 200}
	quiet.Write([]byte("all fine\n"))
	if quiet.WithCause() != "all fine\n" {
		t.Errorf("no cause: %q", quiet.WithCause())
	}
}
