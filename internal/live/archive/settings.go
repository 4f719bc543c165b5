// Package archive records live streams into fragmented MP4 segment files
// and serves them back: the ranges recorded, playback over websocket in
// LdDl/video-server's protocol, and HLS VOD of any range.
//
// Recording is crash-safe: a segment is a complete fMP4 from its first
// write (init segment, then one moof+mdat part about every second, each
// written with one call and fsynced), so a kill -9 loses at most the part
// being gathered, and every file on disk plays. Segments are cut at the
// first keyframe after Settings.SegmentDuration, and on every break of the
// timeline (a reconnect, new codec parameters, units lost by a slow disk),
// so each file is one continuous piece of media whose real start and
// duration are measured, not assumed.
//
// Each stream has a Store: the index of its segments (a small append-only
// sidecar, <id>.index.jsonl, beside the files; files it does not list are
// scanned at start, and a truncated tail is cut back to the last complete
// part), retention by age and total bytes, and, for storage "minio",
// upload of closed segments to an S3-compatible server.
package archive

import (
	"errors"
	"fmt"
	"time"
)

// Storage types (video-server's rtsp_streams[].archive.type).
const (
	StorageFilesystem = "filesystem"
	StorageMinio      = "minio"
)

// Settings are one stream's archive settings, resolved from the global
// archive section and the stream's own.
type Settings struct {
	// Recording writes the stream's segments; Serving answers ranges and
	// playback. They are separate (video-server's archive.recording and
	// archive.serving): a node can serve what another recorded.
	Recording, Serving bool
	// Directory holds the segment files (for minio: until uploaded) and
	// the index.
	Directory string
	// SegmentDuration is the shortest segment: it is cut at the first
	// keyframe after it (video-server's ms_per_file).
	SegmentDuration time.Duration
	// PartDuration is the longest part (moof+mdat) of a segment: what a
	// crash can lose at most (default 1 s). A keyframe always starts a
	// new part, so that playback can begin at any keyframe.
	PartDuration time.Duration
	// Storage is StorageFilesystem or StorageMinio.
	Storage string
	// Bucket and Path place the objects (minio_bucket, minio_path).
	Bucket, Path string
	// MaxAge and MaxBytes are the retention: older segments, and the
	// oldest beyond MaxBytes in total, are deleted (0: no limit).
	MaxAge   time.Duration
	MaxBytes int64
}

// DefaultSegmentDuration is ms_per_file when unset (video-server's README
// says 30000; its code's default of 30 ms was a bug).
const DefaultSegmentDuration = 30 * time.Second

// DefaultPartDuration is the longest a crash can lose.
const DefaultPartDuration = time.Second

// Check refuses settings that cannot work.
func (s *Settings) Check() error {
	if s.SegmentDuration <= 0 {
		s.SegmentDuration = DefaultSegmentDuration
	}
	if s.PartDuration <= 0 {
		s.PartDuration = DefaultPartDuration
	}
	switch s.Storage {
	case "":
		s.Storage = StorageFilesystem
	case StorageFilesystem, StorageMinio:
	default:
		return fmt.Errorf("archive type %q: must be %q or %q", s.Storage, StorageFilesystem, StorageMinio)
	}
	if s.Directory == "" {
		s.Directory = "./mp4"
	}
	if s.MaxAge < 0 || s.MaxBytes < 0 {
		return errors.New("archive retention must not be negative")
	}
	if s.Storage == StorageMinio && s.Bucket == "" && (s.Recording || s.Serving) {
		return errors.New("archive type minio needs a bucket (minio_settings.default_bucket or the stream's minio_bucket)")
	}
	return nil
}

// S3 is the object store's connection (video-server's minio_settings).
type S3 struct {
	// Endpoint is host:port.
	Endpoint string
	// AccessKey and SecretKey are minio_settings.user and password. They
	// are never logged (String leaves the secret out).
	AccessKey, SecretKey string
	// TLS uses https (video-server: always plain http). CAFile adds a CA
	// for the server's certificate; InsecureSkipVerify accepts any.
	TLS                bool
	CAFile             string
	InsecureSkipVerify bool
	Region             string
}

// String describes the connection without its secret.
func (s S3) String() string {
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s (user %q)", scheme, s.Endpoint, s.AccessKey)
}

// Config is the archive of every stream.
type Config struct {
	// Default applies to streams not in Streams (added through the API,
	// or whose archive is served from the global one).
	Default Settings
	// Streams are the configured streams' settings, by lower-case UUID.
	Streams map[string]Settings
	// S3 is the object store (nil: none configured).
	S3 *S3
	// QueueUnits is how many units a recorder may fall behind the camera
	// before it skips to the next keyframe (default 1024).
	QueueUnits int
	// SweepInterval is how often retention runs (default 10 s).
	SweepInterval time.Duration
	// ChunkDuration is how much media playback sends before each "pause"
	// (default 5 minutes, as video-server).
	ChunkDuration time.Duration
	// UploadRetryMax is the longest wait between upload attempts while
	// the object store fails (default 1 minute).
	UploadRetryMax time.Duration
}

// For returns a stream's settings.
func (c *Config) For(id string) Settings {
	if s, ok := c.Streams[id]; ok {
		return s
	}
	return c.Default
}

// Enabled reports whether any stream records or serves.
func (c *Config) Enabled() bool {
	if c.Default.Recording || c.Default.Serving {
		return true
	}
	for _, s := range c.Streams {
		if s.Recording || s.Serving {
			return true
		}
	}
	return false
}
