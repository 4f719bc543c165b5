package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// Segment is one recorded file.
type Segment struct {
	// Name is the file's (and object's) base name, <uuid>_<unix ms>.mp4.
	Name string `json:"name"`
	// Start is the wall-clock time of its first frame (the camera's, from
	// RTCP, else the arrival time).
	Start time.Time `json:"start"`
	// Duration is the measured length of its video.
	Duration time.Duration `json:"duration_ns"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Codec is the MSE codec string ("avc1.64001f,mp4a.40.2"), Init a
	// short hash of its init segment (a change needs a new one).
	Codec string `json:"codec,omitempty"`
	Init  string `json:"init,omitempty"`
	// Remote is set once the segment is in the object store (its local
	// copy is then removed); Key is the object's name there.
	Remote bool   `json:"remote,omitempty"`
	Key    string `json:"key,omitempty"`
	// Deleted marks a removal in the index file (a tombstone).
	Deleted bool `json:"deleted,omitempty"`

	// open is set while the segment is being recorded.
	open bool
}

// End is when the segment's media ends.
func (s Segment) End() time.Time { return s.Start.Add(s.Duration) }

// segmentName is the file name of a segment of stream id starting at t.
func segmentName(id string, t time.Time) string {
	return fmt.Sprintf("%s_%d.mp4", id, t.UnixMilli())
}

var nameRE = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([0-9]{1,16})\.mp4$`)

// parseName returns the stream id and start time in a segment's name.
// Our names carry Unix milliseconds; video-server's (10 digits or fewer)
// carry seconds.
func parseName(name string) (id string, start time.Time, ok bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	if len(m[2]) <= 10 {
		return m[1], time.Unix(n, 0), true
	}
	return m[1], time.UnixMilli(n), true
}

// indexFile is a stream's sidecar index: one JSON line per event (a
// segment closed, uploaded or deleted), the last line about a name wins.
// Appending never rewrites what is there, so a crash loses at most the
// line being written; the file is compacted when the store opens.
type indexFile struct {
	path string
	f    *os.File
	// lines counts the lines appended since the last compaction, to
	// compact again when tombstones pile up.
	lines int
}

// readIndex reads an index file. A line that does not parse (the torn
// last line of a crash) is skipped and reported in bad.
func readIndex(path string) (segs map[string]Segment, bad int, err error) {
	segs = map[string]Segment{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return segs, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var s Segment
		if json.Unmarshal(line, &s) != nil || s.Name == "" {
			bad++
			continue
		}
		if s.Deleted {
			delete(segs, s.Name)
			continue
		}
		segs[s.Name] = s
	}
	if err := sc.Err(); err != nil {
		return nil, bad, fmt.Errorf("read %s: %w", path, err)
	}
	return segs, bad, nil
}

// writeIndex replaces the index with segs, atomically (a temporary file
// renamed over it), and opens it for appending.
func writeIndex(path string, segs []Segment) (*indexFile, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	for _, s := range segs {
		b, _ := json.Marshal(s)
		_, _ = w.Write(append(b, '\n'))
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	af, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &indexFile{path: path, f: af}, nil
}

// append adds one line and syncs it.
func (x *indexFile) append(s Segment) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if _, err := x.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("index %s: %w", x.path, err)
	}
	x.lines++
	return x.f.Sync()
}

func (x *indexFile) Close() error { return x.f.Close() }

// syncDir makes a directory's entries (a new or renamed file) durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// initHash identifies an init segment.
func initHash(init []byte) string {
	h := sha256.Sum256(init)
	return hex.EncodeToString(h[:8])
}
