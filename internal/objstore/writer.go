package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
)

// Writer streams an object to the store as it is written: the data is cut
// into parts of Config.PartSize; one part is sent (and, while the store
// does not answer, retried with backoff for up to Config.RetryFor) while
// the next one fills, and no more is accepted until it is through, so one
// upload holds two parts in memory however large the file, and a writer
// that cannot go on makes its caller wait (an HTTP upload's sender is
// slowed by TCP) instead of buffering. The object appears only when Close
// succeeds; Abort (or a failed Close) leaves nothing behind.
type Writer struct {
	s           *Store
	ctx         context.Context
	key         string
	contentType string

	buf   []byte
	spare []byte // the other part buffer, once allocated
	n     int64  // bytes accepted
	nbufs int64  // part buffers allocated (for the accounting)
	// pending is the part being sent (nil: none), sent holds its buffer.
	pending  chan partResult
	sent     []byte
	uploadID string
	parts    []minio.CompletePart
	err      error
	done     bool
}

type partResult struct {
	part minio.CompletePart
	err  error
}

// peakBuffered is the most part-buffer memory all writers of this process
// held at once (for tests and benchmarks).
var buffered, peakBuffered atomic.Int64

// PeakBuffered is the most memory the writers' part buffers held at once
// since the last ResetPeak.
func PeakBuffered() int64 { return peakBuffered.Load() }

// ResetPeak starts a new PeakBuffered measurement.
func ResetPeak() { peakBuffered.Store(buffered.Load()) }

// Create starts writing key.
func (s *Store) Create(ctx context.Context, key, contentType string) *Writer {
	return &Writer{s: s, ctx: ctx, key: key, contentType: contentType}
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("write after close")
	}
	if w.buf == nil {
		w.buf = w.alloc()
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(w.buf) == cap(w.buf) {
			if err := w.flushPart(); err != nil {
				w.fail(err)
				return written, w.err
			}
		}
	}
	w.n += int64(written)
	return written, nil
}

// Size is how many bytes were written.
func (w *Writer) Size() int64 { return w.n }

// alloc is a new part buffer, counted.
func (w *Writer) alloc() []byte {
	w.nbufs++
	if now := buffered.Add(w.s.cfg.PartSize); now > peakBuffered.Load() {
		peakBuffered.Store(now)
	}
	return make([]byte, 0, w.s.cfg.PartSize)
}

// flushPart starts sending the full buffer as the next part, once the
// part before it is through, and gives Write the other buffer.
func (w *Writer) flushPart() error {
	if w.uploadID == "" {
		if err := w.s.EnsureBucket(w.ctx); err != nil {
			return err
		}
		if err := w.s.retry(w.ctx, "start upload "+w.key, func() (err error) {
			w.uploadID, err = w.s.core.NewMultipartUpload(w.ctx, w.s.cfg.Bucket, w.s.Object(w.key), minio.PutObjectOptions{ContentType: w.contentType})
			return err
		}); err != nil {
			return err
		}
	}
	if err := w.wait(); err != nil {
		return err
	}
	data, num, uploadID := w.buf, len(w.parts)+1, w.uploadID
	ch := make(chan partResult, 1)
	w.pending, w.sent = ch, data
	// Ends when the part is sent or given up (RetryFor, or the context).
	go func() {
		sum := md5.Sum(data)
		md5b64 := base64.StdEncoding.EncodeToString(sum[:])
		var part minio.ObjectPart
		err := w.s.retry(w.ctx, fmt.Sprintf("upload %s part %d", w.key, num), func() (err error) {
			part, err = w.s.core.PutObjectPart(w.ctx, w.s.cfg.Bucket, w.s.Object(w.key), uploadID, num,
				bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{Md5Base64: md5b64})
			return err
		})
		ch <- partResult{part: minio.CompletePart{PartNumber: num, ETag: part.ETag}, err: err}
	}()
	if w.spare == nil {
		w.spare = w.alloc()
	}
	w.buf, w.spare = w.spare[:0], nil
	return nil
}

// wait waits for the part being sent, if any.
func (w *Writer) wait() error {
	if w.pending == nil {
		return nil
	}
	r := <-w.pending
	w.pending, w.spare, w.sent = nil, w.sent[:0], nil
	if r.err != nil {
		return r.err
	}
	w.parts = append(w.parts, r.part)
	return nil
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	_ = w.wait() // the part being sent, if any, is given up with the rest
	w.release()
	if w.uploadID != "" {
		// Best effort, the store may still be unreachable; an unfinished
		// upload is also removed by the bucket's lifecycle rules, if any.
		ctx := context.WithoutCancel(w.ctx)
		_ = w.s.core.AbortMultipartUpload(ctx, w.s.cfg.Bucket, w.s.Object(w.key), w.uploadID)
		w.uploadID = ""
	}
}

func (w *Writer) release() {
	buffered.Add(-w.nbufs * w.s.cfg.PartSize)
	w.nbufs, w.buf, w.spare = 0, nil, nil
}

// Abort gives the object up.
func (w *Writer) Abort() {
	if !w.done {
		w.done = true
		w.fail(errors.New("aborted"))
	}
}

// Close sends what is left and makes the object.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return nil
	}
	w.done = true
	if w.uploadID == "" {
		// Smaller than one part: one PUT.
		data := w.buf
		err := w.s.EnsureBucket(w.ctx)
		if err == nil {
			err = w.s.retry(w.ctx, "write "+w.key, func() error {
				_, err := w.s.c.PutObject(w.ctx, w.s.cfg.Bucket, w.s.Object(w.key), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: w.contentType, DisableMultipart: true})
				return err
			})
		}
		w.release()
		if err != nil {
			w.err = err
		}
		return err
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			w.fail(err)
			return w.err
		}
	}
	if err := w.wait(); err != nil {
		w.fail(err)
		return w.err
	}
	tries := 0
	err := w.s.retry(w.ctx, "finish upload "+w.key, func() error {
		tries++
		_, err := w.s.core.CompleteMultipartUpload(w.ctx, w.s.cfg.Bucket, w.s.Object(w.key), w.uploadID, w.parts,
			minio.PutObjectOptions{ContentType: w.contentType})
		var er minio.ErrorResponse
		if tries > 1 && errors.As(err, &er) && er.Code == "NoSuchUpload" {
			// An earlier attempt completed it and its answer was lost:
			// the object says so.
			if info, serr := w.s.c.StatObject(w.ctx, w.s.cfg.Bucket, w.s.Object(w.key), minio.StatObjectOptions{}); serr == nil && info.Size == w.n {
				return nil
			}
		}
		return err
	})
	if err != nil {
		w.fail(err)
		return w.err
	}
	w.release()
	return nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
