package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/clapshot-go/clapshot/internal/live/media"
)

// FS is where segment files are created: the seam through which tests
// give the recorder a slow or failing disk.
type FS interface {
	// Create makes a new file; it fails if the file exists.
	Create(path string) (File, error)
	// Remove deletes a file that could not be started.
	Remove(path string) error
}

// File is a segment file being written.
type File interface {
	io.Writer
	Sync() error
	// Truncate cuts the file back after a failed write, so that it ends
	// with a complete part.
	Truncate(size int64) error
	Close() error
}

// OSFS is the real file system.
type OSFS struct{}

// Create implements FS; the new directory entry is synced.
func (OSFS) Create(path string) (File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	syncDir(filepath.Dir(path))
	return f, nil
}

// Remove implements FS.
func (OSFS) Remove(path string) error { return os.Remove(path) }

// Video timescale of the segments (the engine's clock for video).
const videoTimescale = 90000

// segWriter writes one segment: the init segment when it is created, then
// parts. The last video frame is held until the next one arrives, so
// every sample's duration is its real distance to the next.
type segWriter struct {
	f      File
	path   string
	name   string
	tracks *media.Tracks
	size   int64 // bytes written and complete
	start  time.Time
	// Timeline: the source's DTS of the first frame, in 90 kHz.
	startDTS int64

	seq      uint32
	part     []*fmp4.Sample // video samples of the part being gathered
	partBase int64          // its first sample's decode time (segment timeline)
	audio    []*fmp4.Sample
	audioPTS int64 // the part's first audio sample (segment timeline, audio clock)
	pending  *media.Unit
	lastDur  int64
	end      int64 // end of the last video sample placed in a part
	onDisk   int64 // end of the last video sample written
	lastSync time.Time
	syncGap  time.Duration
	initHash string
}

// createSegment makes a new file starting with the keyframe k.
func createSegment(fs FS, dir, id string, k *media.Unit, syncEvery time.Duration) (*segWriter, error) {
	start := k.NTP
	if start.IsZero() {
		start = time.Now()
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: videoTimescale, Codec: k.Tracks.Video.MP4Codec()}}}
	if a := k.Tracks.Audio; a != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: 2, TimeScale: uint32(a.ClockRate), Codec: a.MP4Codec()})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("init segment: %w", err)
	}
	var f File
	var err error
	var name string
	for try := 0; try < 10; try++ {
		// Two segments cannot start in the same millisecond, except
		// across a reconnect: then the next millisecond is the name.
		name = segmentName(id, start)
		f, err = fs.Create(filepath.Join(dir, name))
		if !errors.Is(err, os.ErrExist) {
			break
		}
		start = start.Add(time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	w := &segWriter{f: f, path: filepath.Join(dir, name), name: name, tracks: k.Tracks, start: start,
		startDTS: k.DTS, lastDur: 3600, syncGap: syncEvery, initHash: initHash(buf.Bytes())}
	err = w.write(buf.Bytes())
	if err == nil {
		err = w.sync()
	}
	if err != nil {
		// Without its init segment the file is nothing.
		_ = f.Close()
		_ = fs.Remove(w.path)
		return nil, err
	}
	w.pending = k
	return w, nil
}

// write appends bytes; after a failed write the file is cut back to its
// last complete part, so it stays playable.
func (w *segWriter) write(b []byte) error {
	n, err := w.f.Write(b)
	if err != nil {
		if n > 0 {
			_ = w.f.Truncate(w.size)
		}
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	w.size += int64(n)
	return nil
}

func (w *segWriter) sync() error {
	w.lastSync = time.Now()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.name, err)
	}
	return nil
}

// duration is the media written to the file so far.
func (w *segWriter) duration() time.Duration {
	return time.Duration(w.onDisk) * time.Second / videoTimescale
}

// video adds a frame; it flushes the gathered part first when the frame
// is a keyframe (every keyframe starts a part) or the part is long enough.
func (w *segWriter) video(u *media.Unit, partMax time.Duration) error {
	p := w.pending
	dur := u.DTS - p.DTS
	if dur <= 0 || dur > 10*videoTimescale {
		dur = w.lastDur
	}
	w.place(p, dur)
	w.pending = u
	gathered := w.end - w.partBase
	if u.Key || time.Duration(gathered)*time.Second/videoTimescale >= partMax {
		return w.flush()
	}
	return nil
}

// place puts the held frame into the part with its now known duration.
func (w *segWriter) place(p *media.Unit, dur int64) {
	payload, err := h264.AVCC(p.Data).Marshal()
	if err != nil {
		return // an empty frame: nothing to store
	}
	if len(w.part) == 0 {
		w.partBase = w.end
	}
	w.part = append(w.part, &fmp4.Sample{
		Duration: uint32(dur), PTSOffset: int32(p.PTS - p.DTS), IsNonSyncSample: !p.Key, Payload: payload,
	})
	w.lastDur = dur
	w.end += dur
}

// addAudio adds audio frames to the part being gathered.
func (w *segWriter) addAudio(u *media.Unit) {
	t := w.tracks.Audio
	if t == nil || u.Tracks != w.tracks {
		return
	}
	pts := u.PTS - w.startDTS*int64(t.ClockRate)/videoTimescale
	if pts < 0 {
		return // before the segment's first picture
	}
	if len(w.audio) == 0 {
		w.audioPTS = pts
	}
	for _, frame := range u.Data {
		var dur uint32 = 1024
		switch {
		case t.Codec == media.Opus:
			dur = uint32(opus.PacketDuration2(frame))
		case t.AACConfig != nil && t.AACConfig.FrameLengthFlag:
			dur = 960
		}
		w.audio = append(w.audio, &fmp4.Sample{Duration: dur, Payload: frame})
	}
}

// flush writes the gathered part in one write, and syncs the file when
// the last sync is PartDuration old.
func (w *segWriter) flush() error {
	if len(w.part) == 0 && len(w.audio) == 0 {
		return nil
	}
	w.seq++
	p := fmp4.Part{SequenceNumber: w.seq}
	if len(w.part) > 0 {
		p.Tracks = append(p.Tracks, &fmp4.PartTrack{ID: 1, BaseTime: uint64(w.partBase), Samples: w.part})
	}
	if len(w.audio) > 0 {
		p.Tracks = append(p.Tracks, &fmp4.PartTrack{ID: 2, BaseTime: uint64(w.audioPTS), Samples: w.audio})
	}
	w.part, w.audio = nil, nil
	var buf seekablebuffer.Buffer
	if err := p.Marshal(&buf); err != nil {
		return fmt.Errorf("part: %w", err)
	}
	if err := w.write(buf.Bytes()); err != nil {
		return err
	}
	w.onDisk = w.end
	if time.Since(w.lastSync) >= w.syncGap {
		return w.sync()
	}
	return nil
}

// finish places the held frame (ending at nextDTS, or with the previous
// frame's length when nextDTS is 0), writes the last part, syncs and
// closes the file. The file is closed whatever fails.
func (w *segWriter) finish(nextDTS int64) error {
	if p := w.pending; p != nil {
		dur := nextDTS - p.DTS
		if nextDTS == 0 || dur <= 0 || dur > 10*videoTimescale {
			dur = w.lastDur
		}
		w.place(p, dur)
		w.pending = nil
	}
	err := w.flush()
	if err == nil {
		err = w.sync()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", w.name, cerr)
	}
	return err
}

// abort closes the file after a failed write, keeping what is complete.
func (w *segWriter) abort() {
	_ = w.f.Truncate(w.size)
	_ = w.f.Sync()
	_ = w.f.Close()
}

// segment describes the file as it is.
func (w *segWriter) segment() Segment {
	return Segment{Name: w.name, Start: w.start, Duration: w.duration(), Size: w.size, Codec: w.tracks.CodecString(),
		Init: w.initHash}
}
