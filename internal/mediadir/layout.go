// Package mediadir is the one owner of the media directory: where every
// file of a media file lives under the data directory (Layout, for the
// pipeline and ffmpeg, which work on local paths), the file operations the
// review side makes (drawings and subtitles, through Files, which a later
// object store can implement), the public URLs the same files are served
// at (URLs), and trashing or rejecting media. Nothing else builds a path
// or URL below videos/.
//
// The layout under <data-dir> is Clapshot's, unchanged:
//
//	incoming/                       drop folder; the file's OS owner is the uploader
//	upload/<uuid>/<name>            an upload (HTTP or incoming) waiting to be ingested
//	upload/tus/                     resumable (tus) uploads in progress
//	rejected/<name>                 files that could not be ingested (or rejected/<id|uuid>/<name>)
//	videos/<id>/orig/<name>         the original, never modified
//	videos/<id>/transcoded_br<bps>_<uuid>.mp4   a transcode
//	videos/<id>/remuxed_<uuid>.mp4  a remux (video stream copied)
//	videos/<id>/video.mp4           relative symlink to the playable MP4, when not orig/
//	videos/<id>/stdout.txt, stderr.txt          the transcode's output
//	videos/<id>/hls_<uuid>/         the adaptive HLS ladder (--hls-ladder): master.m3u8, <rendition>/...
//	videos/<id>/hls                 relative symlink to the finished ladder
//	videos/<id>/hls_<uuid>/stdout.txt, stderr.txt   the ladder run's output
//	videos/<id>/thumbs/thumb.webp   160×90 poster, letterboxed
//	videos/<id>/thumbs/sheet-10x10.webp          sprite sheet of 100 frames (video only)
//	videos/<id>/thumbs/stdout.txt, stderr.txt   the thumbnailer's output
//	videos/<id>/thumbs/stills/<frame>.jpg       frames under comments, for export reports (ours; made on demand)
//	videos/<id>/subs/orig/<name>    an uploaded subtitle file, as uploaded
//	videos/<id>/subs/<name>.vtt     its WebVTT conversion (none when it was WebVTT)
//	videos/<id>/drawings/<hash>.webp            comment drawings, named by content
//	videos/trash/<id>_<YYYYmmdd-HHMMSS UTC>/    deleted media, with db_backup.json
package mediadir

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
)

// The names inside videos/<id>/. Layout (file system paths), the keys of
// Files and URLs are all built from these, so the three cannot disagree.
const (
	videosDir   = "videos"
	origDir     = "orig"
	thumbsDir   = "thumbs"
	posterName  = "thumb.webp"
	videoLink   = "video.mp4"
	subsDir     = "subs"
	drawingsDir = "drawings"
	hlsLink     = "hls"
	stillsDir   = "stills"
)

// HLSMaster is the file name of a ladder's master playlist.
const HLSMaster = "master.m3u8"

func sheetName(cols, rows int64) string {
	return "sheet-" + strconv.FormatInt(cols, 10) + "x" + strconv.FormatInt(rows, 10) + ".webp"
}

// key is the slash-separated name of a file of a media file, relative to
// the data directory: what Files stores it under.
func key(mediaID string, parts ...string) string {
	return path.Join(append([]string{videosDir, mediaID}, parts...)...)
}

// Layout names the places in a data directory on the local file system.
type Layout struct {
	DataDir string
}

func (l Layout) join(parts ...string) string {
	return filepath.Join(append([]string{l.DataDir}, parts...)...)
}

// Videos is <data-dir>/videos, served at /videos/.
func (l Layout) Videos() string { return l.join(videosDir) }

// Incoming is the drop folder.
func (l Layout) Incoming() string { return l.join("incoming") }

// Upload holds uploads waiting to be ingested.
func (l Layout) Upload() string { return l.join("upload") }

// Tus holds resumable uploads in progress.
func (l Layout) Tus() string { return l.join("upload", "tus") }

// Rejected holds files that could not be ingested.
func (l Layout) Rejected() string { return l.join("rejected") }

// Trash holds deleted media.
func (l Layout) Trash() string { return l.join(videosDir, "trash") }

// MediaDir is videos/<id>.
func (l Layout) MediaDir(id string) string { return l.join(videosDir, id) }

// OrigDir is videos/<id>/orig.
func (l Layout) OrigDir(id string) string { return l.join(videosDir, id, origDir) }

// ThumbsDir is videos/<id>/thumbs.
func (l Layout) ThumbsDir(id string) string { return l.join(videosDir, id, thumbsDir) }

// Poster is the 160×90 thumbnail.
func (l Layout) Poster(id string) string { return l.join(videosDir, id, thumbsDir, posterName) }

// Sheet is the sprite sheet of cols×rows frames.
func (l Layout) Sheet(id string, cols, rows int) string {
	return l.join(videosDir, id, thumbsDir, sheetName(int64(cols), int64(rows)))
}

// Stills holds JPEGs of single frames (<frame>.jpg), made for comment
// export reports and kept, like thumbnails, until the media is trashed.
func (l Layout) Stills(id string) string { return l.join(videosDir, id, thumbsDir, stillsDir) }

// Playable is the local file a browser plays for the media: the
// transcode or remux behind video.mp4 once there is one, else the
// original (already browser-safe, or not processed yet).
func (l Layout) Playable(id, origFilename string) (string, error) {
	if !safeName(id) {
		return "", fmt.Errorf("media file id %q cannot name a directory", id)
	}
	if _, err := os.Stat(l.VideoLink(id)); err == nil {
		return l.VideoLink(id), nil
	}
	if !fileName(origFilename) {
		return "", fmt.Errorf("media file %s: no playable file (original name %q)", id, origFilename)
	}
	orig := filepath.Join(l.OrigDir(id), origFilename)
	if _, err := os.Stat(orig); err != nil {
		return "", fmt.Errorf("media file %s: no playable file: %w", id, err)
	}
	return orig, nil
}

// VideoLink is the video.mp4 symlink to the playable file.
func (l Layout) VideoLink(id string) string { return l.join(videosDir, id, videoLink) }

// Transcoded names a transcode output (a new name per attempt).
func (l Layout) Transcoded(id string, bitrate int64, uuid string) string {
	return l.join(videosDir, id, fmt.Sprintf("transcoded_br%d_%s.mp4", bitrate, uuid))
}

// Remuxed names a remux output.
func (l Layout) Remuxed(id, uuid string) string {
	return l.join(videosDir, id, "remuxed_"+uuid+".mp4")
}

// HLSLink is the hls symlink to the finished ladder directory.
func (l Layout) HLSLink(id string) string { return l.join(videosDir, id, hlsLink) }

// HLSDir names the directory an attempt at a ladder writes (a new name per
// attempt; HLSLink is pointed at it when it is complete).
func (l Layout) HLSDir(id, uuid string) string { return l.join(videosDir, id, hlsLink+"_"+uuid) }

// Path is where the file stored under key (see Files) is on disk.
func (l Layout) Path(key string) string { return l.join(filepath.FromSlash(key)) }

var idRE = regexp.MustCompile(`^[0-9a-f]{8}$`)

// ValidID reports whether id has the shape of a media id made by the
// pipeline (8 lower-case hex digits). Media ids from other sources (the
// organizer API) may differ; this guards file system paths built from
// untrusted input.
func ValidID(id string) bool { return idRE.MatchString(id) }
