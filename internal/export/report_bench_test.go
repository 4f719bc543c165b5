package export

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// The report of the bench suite's shape: 3 334 timed comments over 1 500
// frames (a 60 s clip), a frame image of ~35 KB each, a drawing on every
// third. tools/bench's "export" suite measures the whole request.
func BenchmarkReport5000(b *testing.B) {
	m := Media{ID: "x", Title: "t", Rate: Rate{25, 1}, Frames: 1500, HasVideo: true, Width: 640, Height: 360}
	frames := map[int64][]byte{}
	drawing := bytes.Repeat([]byte{1}, 9000)
	var cs []Comment
	for i := 0; i < 3334; i++ {
		f := int64(i*7919) % 1500
		if frames[f] == nil {
			frames[f] = bytes.Repeat([]byte{0xff, 0xd8, byte(f), 2, 3}, 7000)
		}
		c := Comment{ID: int64(i), Author: "bob", Text: "Note <x> & y", Created: time.Now(), Frame: &f}
		if i%3 == 0 {
			c.Drawing = drawing
		}
		cs = append(cs, c)
	}
	for b.Loop() {
		if err := Write(io.Discard, Report, m, cs, Options{Frames: frames}); err != nil {
			b.Fatal(err)
		}
	}
}
