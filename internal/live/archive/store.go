package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Remote is an object store for closed segments (s3store.Client).
type Remote interface {
	// Upload stores the file at path as key and returns once the store
	// confirms the object (its size read back).
	Upload(ctx context.Context, bucket, key, path string, meta map[string]string) error
	// Open reads an object.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// Delete removes an object; a missing object is not an error.
	Delete(ctx context.Context, bucket, key string) error
}

// Store is one stream's archive: its segments (closed, and the one being
// recorded), their index file, retention and uploads.
type Store struct {
	id     string
	set    Settings
	log    *slog.Logger
	remote Remote // nil unless Storage is minio

	mu      sync.Mutex
	segs    []Segment // closed, by start
	open    *Segment  // being recorded
	idx     *indexFile
	status  RecorderStatus
	lastLog time.Time
	wake    chan struct{} // a segment to upload
	// retryMax bounds the wait between upload attempts.
	retryMax time.Duration
}

// RecorderStatus is what a stream's recording is doing.
type RecorderStatus struct {
	// Recording is true while the stream's recorder runs; Writing while
	// it has a segment open.
	Recording bool `json:"recording"`
	Writing   bool `json:"writing"`
	// Segments and Bytes are what the archive holds (local and remote).
	Segments int   `json:"segments"`
	Bytes    int64 `json:"bytes"`
	// DroppedUnits were lost because the disk did not keep up (the
	// recorder skipped to the next keyframe and began a new segment).
	DroppedUnits uint64 `json:"dropped_units"`
	// WriteErrors counts failed creates, writes and syncs.
	WriteErrors uint64 `json:"write_errors"`
	// PendingUploads are closed segments not yet in the object store.
	PendingUploads int `json:"pending_uploads"`
	// UploadErrors counts failed upload attempts.
	UploadErrors uint64     `json:"upload_errors"`
	LastError    string     `json:"last_error"`
	LastErrorAt  *time.Time `json:"last_error_at"`
}

func (s *Store) indexPath() string { return filepath.Join(s.set.Directory, s.id+".index.jsonl") }

// openStore loads a stream's segments: the index file, then the files it
// does not list (scanned and, when recording, repaired). A store that
// only serves never writes to the directory.
func openStore(id string, set Settings, remote Remote, log *slog.Logger) (*Store, error) {
	s := &Store{id: id, set: set, remote: remote, log: log.With("stream", id), wake: make(chan struct{}, 1)}
	if set.Storage != StorageMinio {
		s.remote = nil
	}
	writable := set.Recording
	if writable {
		if err := os.MkdirAll(set.Directory, 0o755); err != nil {
			return nil, fmt.Errorf("archive directory: %w", err)
		}
	}
	known, bad, err := readIndex(s.indexPath())
	if err != nil {
		return nil, fmt.Errorf("archive index: %w", err)
	}
	if bad > 0 {
		s.log.Warn("Archive: index lines that do not parse were skipped (a crash while writing one?); the files are scanned instead",
			"index", s.indexPath(), "lines", bad)
	}
	entries, err := os.ReadDir(set.Directory)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("archive directory: %w", err)
	}
	onDisk := map[string]int64{}
	for _, e := range entries {
		if sid, _, ok := parseName(e.Name()); ok && sid == id && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				onDisk[e.Name()] = fi.Size()
			}
		}
	}
	var segs []Segment
	for name, seg := range known {
		size, here := onDisk[name]
		switch {
		case seg.Remote:
			if here && writable {
				// Uploaded, but the local copy was not removed yet.
				_ = os.Remove(filepath.Join(set.Directory, name))
			}
		case !here:
			s.log.Warn("Archive: a segment in the index is missing from the directory; left out", "segment", name)
			continue
		case size != seg.Size:
			continue // rescanned below
		}
		delete(onDisk, name)
		segs = append(segs, seg)
	}
	for name := range onDisk {
		seg, ok := s.scan(name, writable)
		if ok {
			segs = append(segs, seg)
		}
	}
	slices.SortFunc(segs, func(a, b Segment) int { return a.Start.Compare(b.Start) })
	s.segs = segs
	if writable {
		if s.idx, err = writeIndex(s.indexPath(), segs); err != nil {
			return nil, fmt.Errorf("archive index: %w", err)
		}
	}
	return s, nil
}

// scan measures a file the index does not know: the open segment of a
// crash, or files copied in. A file cut short is truncated (when the
// store may write) to its last complete part; one that cannot be read is
// reported and left alone.
func (s *Store) scan(name string, writable bool) (Segment, bool) {
	path := filepath.Join(s.set.Directory, name)
	_, start, _ := parseName(name)
	f, err := os.Open(path)
	if err != nil {
		s.log.Warn("Archive: cannot read a segment; left out", "segment", name, "error", err)
		return Segment{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err == nil && fi.Size() == 0 {
		if writable {
			_ = os.Remove(path) // created, never written: a crash at once
		}
		return Segment{}, false
	}
	info, err := scanSegment(f)
	var te *truncatedError
	switch {
	case errors.As(err, &te) && info != nil:
		s.log.Warn("Archive: segment cut short (a crash while writing?); keeping its complete parts",
			"segment", name, "kept_bytes", te.Good, "lost_bytes", fi.Size()-te.Good, "problem", te.Err.Error())
		if writable {
			if err := os.Truncate(path, te.Good); err != nil {
				s.log.Warn("Archive: cannot truncate the segment; playback stops at its last complete part", "segment", name, "error", err)
			}
		}
	case err != nil:
		s.log.Warn("Archive: not a playable segment; left out (the file is kept)", "segment", name, "problem", err.Error())
		return Segment{}, false
	}
	if info.parts == 0 {
		if writable {
			_ = os.Remove(path) // only an init segment: nothing was recorded
		}
		return Segment{}, false
	}
	return Segment{Name: name, Start: start, Duration: info.duration, Size: info.size, Codec: info.codec, Init: info.init}, true
}

// scanInfo is what a scan measures.
type scanInfo struct {
	size     int64 // bytes of complete boxes
	duration time.Duration
	parts    int
	codec    string
	init     string // initHash
}

// scanSegment reads a whole segment. On a truncated tail it returns what
// was complete together with the *truncatedError.
func scanSegment(r io.Reader) (*scanInfo, error) {
	sr, err := openSegment(r)
	if err != nil {
		return nil, err
	}
	info := &scanInfo{size: sr.off, codec: sr.tracks.CodecString(), init: initHash(sr.init)}
	var end uint64
	for {
		p, err := sr.next()
		if errors.Is(err, io.EOF) {
			return info, nil
		}
		if err != nil {
			return info, err
		}
		info.parts++
		info.size = sr.off
		end = max(end, p.videoBase+p.videoDur)
		info.duration = time.Duration(end) * time.Second / time.Duration(sr.videoTS)
	}
}

// begin registers the segment being recorded.
func (s *Store) begin(seg Segment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg.open = true
	s.open = &seg
}

// recording tells whether the stream's recorder runs.
func (s *Store) recording(on bool) {
	s.mu.Lock()
	s.status.Recording = on
	s.mu.Unlock()
}

// progress updates the open segment's size and duration.
func (s *Store) progress(size int64, dur time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil {
		s.open.Size, s.open.Duration = size, dur
	}
}

// closed records a finished segment in the index. A segment without any
// media (a write failed at once) is removed.
func (s *Store) closed(seg Segment) {
	s.mu.Lock()
	s.open = nil
	if seg.Duration <= 0 {
		s.mu.Unlock()
		_ = os.Remove(filepath.Join(s.set.Directory, seg.Name))
		return
	}
	i, _ := slices.BinarySearchFunc(s.segs, seg, func(a, b Segment) int { return a.Start.Compare(b.Start) })
	s.segs = slices.Insert(s.segs, i, seg)
	err := s.appendIndex(seg)
	s.mu.Unlock()
	if err != nil {
		s.fail("index", err)
	}
	// Uploads and retention run on the store's own goroutine (maintain):
	// an object store that hangs must never hold up the recorder.
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// appendIndex adds a line to the index; s.mu is held.
func (s *Store) appendIndex(seg Segment) error {
	if s.idx == nil {
		return nil
	}
	if err := s.idx.append(seg); err != nil {
		return err
	}
	// Tombstones and uploads pile up: compact when the file has twice
	// the lines it needs.
	if s.idx.lines > 64 && s.idx.lines > 2*len(s.segs) {
		_ = s.idx.Close()
		idx, err := writeIndex(s.indexPath(), s.segs)
		if err != nil {
			s.idx = nil
			return err
		}
		s.idx = idx
	}
	return nil
}

// fail records an error in the status and logs it (once per 10 s).
func (s *Store) fail(what string, err error) {
	now := time.Now()
	s.mu.Lock()
	s.status.LastError, s.status.LastErrorAt = what+": "+err.Error(), &now
	switch what {
	case "upload":
		s.status.UploadErrors++
	case "write":
		s.status.WriteErrors++
	}
	quiet := now.Sub(s.lastLog) < 10*time.Second
	if !quiet {
		s.lastLog = now
	}
	s.mu.Unlock()
	if !quiet {
		s.log.Error("Archive: "+what+" failed (repeats are not logged for 10 s)", "error", err.Error())
	}
}

// dropped counts units the recorder lost.
func (s *Store) dropped(n uint64) {
	s.mu.Lock()
	s.status.DroppedUnits += n
	s.mu.Unlock()
}

// Status reports the recording's state.
func (s *Store) Status() RecorderStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Segments = len(s.segs)
	for _, seg := range s.segs {
		st.Bytes += seg.Size
		if !seg.Remote && s.remote != nil {
			st.PendingUploads++
		}
	}
	if s.open != nil {
		st.Writing = true
		st.Segments++
		st.Bytes += s.open.Size
	}
	return st
}

// Settings are the stream's archive settings.
func (s *Store) Settings() Settings { return s.set }

// Segments lists the segments that overlap [from, to), the open one too,
// by start time. A zero to means no end.
func (s *Store) Segments(from, to time.Time) []Segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.segs
	if s.open != nil && s.open.Duration > 0 {
		all = append(slices.Clip(all), *s.open)
	}
	// The first segment that ends after from.
	i, _ := slices.BinarySearchFunc(all, from, func(seg Segment, t time.Time) int {
		if !seg.End().After(t) {
			return -1
		}
		return 1
	})
	var out []Segment
	for _, seg := range all[i:] {
		if !to.IsZero() && !seg.Start.Before(to) {
			break
		}
		if seg.End().After(from) {
			out = append(out, seg)
		}
	}
	return out
}

// find returns the segment called name (the open one too).
func (s *Store) find(name string) (Segment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && s.open.Name == name {
		return *s.open, true
	}
	for i := range s.segs {
		if s.segs[i].Name == name {
			return s.segs[i], true
		}
	}
	return Segment{}, false
}

// objectKey is where a segment goes in the bucket: minio_path/name, the
// path's leading slash dropped (video-server's default_path was a file
// system path such as /var/archive_data).
func (s *Store) objectKey(name string) string {
	p := strings.Trim(s.set.Path, "/")
	if p == "" {
		return name
	}
	return p + "/" + name
}

// Open reads a segment from wherever it is. A segment uploaded between
// the listing and the open is found in the object store.
func (s *Store) Open(ctx context.Context, seg Segment) (io.ReadCloser, error) {
	if !seg.Remote {
		f, err := os.Open(filepath.Join(s.set.Directory, seg.Name))
		if err == nil || !errors.Is(err, os.ErrNotExist) || s.remote == nil {
			return f, err
		}
		if x, ok := s.find(seg.Name); ok {
			seg = x
		}
		if !seg.Remote {
			return nil, err
		}
	}
	if s.remote == nil {
		return nil, fmt.Errorf("segment %s is in the object store, and none is configured", seg.Name)
	}
	return s.remote.Open(ctx, s.set.Bucket, seg.Key)
}

// sweep applies retention: segments that ended before now-MaxAge, then
// the oldest while the total is over MaxBytes. The open segment stays.
func (s *Store) sweep(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var total int64
	for _, seg := range s.segs {
		total += seg.Size
	}
	if s.open != nil {
		total += s.open.Size
	}
	s.mu.Unlock()
	for ctx.Err() == nil {
		s.mu.Lock()
		if len(s.segs) == 0 {
			s.mu.Unlock()
			return
		}
		oldest := s.segs[0]
		s.mu.Unlock()
		tooOld := s.set.MaxAge > 0 && oldest.End().Before(now.Add(-s.set.MaxAge))
		tooBig := s.set.MaxBytes > 0 && total > s.set.MaxBytes
		if !tooOld && !tooBig {
			return
		}
		if err := s.remove(ctx, oldest); err != nil {
			s.fail("retention", err)
			return
		}
		total -= oldest.Size
	}
}

// remove deletes a segment from the store and the index.
func (s *Store) remove(ctx context.Context, seg Segment) error {
	if seg.Remote {
		if err := s.remote.Delete(ctx, s.set.Bucket, seg.Key); err != nil {
			return fmt.Errorf("delete %s from the object store: %w", seg.Key, err)
		}
	} else if err := os.Remove(filepath.Join(s.set.Directory, seg.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.segs = slices.DeleteFunc(s.segs, func(x Segment) bool { return x.Name == seg.Name })
	return s.appendIndex(Segment{Name: seg.Name, Deleted: true})
}

// close closes the index file.
func (s *Store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx != nil {
		_ = s.idx.Close()
		s.idx = nil
	}
}
