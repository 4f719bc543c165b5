package archive

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Upload backoff: the first retry after about a second, then doubling up
// to a minute, each wait randomised (50–100 %) so that many streams do
// not retry in step when the object store comes back.
const (
	uploadRetryMin = time.Second
	uploadRetryMax = time.Minute
)

// maintain runs a recording store's retention and uploads until ctx ends.
func (s *Store) maintain(ctx context.Context, every time.Duration) {
	if s.retryMax <= 0 {
		s.retryMax = uploadRetryMax
	}
	backoff := time.Duration(0)
	var retryAt time.Time
	for {
		s.sweep(ctx, time.Now())
		if s.remote != nil && !time.Now().Before(retryAt) {
			if err := s.uploadPending(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				backoff = min(max(backoff*2, uploadRetryMin), s.retryMax)
				wait := backoff/2 + rand.N(backoff/2+1)
				retryAt = time.Now().Add(wait)
				s.fail("upload", err)
			} else {
				backoff, retryAt = 0, time.Time{}
			}
		}
		wait := every
		if !retryAt.IsZero() {
			wait = min(wait, max(time.Until(retryAt), 10*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(wait):
		}
	}
}

// uploadPending uploads the closed local segments, oldest first, and
// removes each local copy only once the object store has confirmed it.
func (s *Store) uploadPending(ctx context.Context) error {
	for {
		s.mu.Lock()
		var seg *Segment
		for i := range s.segs {
			if !s.segs[i].Remote {
				seg = new(s.segs[i])
				break
			}
		}
		s.mu.Unlock()
		if seg == nil {
			return nil
		}
		key := s.objectKey(seg.Name)
		path := filepath.Join(s.set.Directory, seg.Name)
		meta := map[string]string{
			"Stream":      s.id,
			"Start":       seg.Start.UTC().Format(time.RFC3339Nano),
			"Duration-Ms": strconv.FormatInt(seg.Duration.Milliseconds(), 10),
			"Codec":       seg.Codec,
		}
		uctx, cancel := context.WithTimeout(ctx, uploadTimeout(seg.Size))
		err := s.remote.Upload(uctx, s.set.Bucket, key, path, meta)
		cancel()
		if err != nil {
			if _, serr := os.Stat(path); os.IsNotExist(serr) {
				// Deleted by retention meanwhile: nothing to upload.
				s.mu.Lock()
				gone := true
				for _, x := range s.segs {
					gone = gone && x.Name != seg.Name
				}
				s.mu.Unlock()
				if gone {
					continue
				}
			}
			return err
		}
		s.mu.Lock()
		found := false
		for i := range s.segs {
			if s.segs[i].Name == seg.Name {
				s.segs[i].Remote, s.segs[i].Key = true, key
				*seg, found = s.segs[i], true
			}
		}
		var ierr error
		if found {
			ierr = s.appendIndex(*seg)
		}
		s.mu.Unlock()
		if ierr != nil {
			// Keep the local copy: without the index line, the next
			// start would not know the object is there.
			s.fail("index", ierr)
			continue
		}
		if !found {
			// Removed by retention during the upload.
			_ = s.remote.Delete(ctx, s.set.Bucket, key)
			continue
		}
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			s.log.Warn("Archive: uploaded, but the local copy could not be removed", "segment", seg.Name, "error", err)
		}
		s.log.Debug("Archive: segment uploaded", "segment", seg.Name, "key", key, "bytes", seg.Size)
	}
}

// uploadTimeout allows a minute plus a second per 4 MB.
func uploadTimeout(size int64) time.Duration {
	return time.Minute + time.Duration(size/(4<<20))*time.Second
}
