package archive

import (
	"strings"
	"testing"
	"time"
)

// The remux command line, exactly: every stream copied, moov first, cut
// at the range's end.
func TestRemuxArgs(t *testing.T) {
	got := strings.Join(remuxArgs("/a/in.fmp4", "/b/out.mp4", 5499700*time.Microsecond), " ")
	want := "-hide_banner -loglevel error -nostdin -y -i /a/in.fmp4 -map 0 -c copy -t 5.500 -movflags +faststart -f mp4 /b/out.mp4"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
