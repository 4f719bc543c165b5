// Package mediastore owns the on-disk layout of the data directory's media
// (Clapshot's, unchanged) and the operations on it that several
// subsystems need: trashing a media file with its db_backup.json,
// rejecting a file that could not be ingested, and purging old trash.
//
// Layout under <data-dir>:
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
//	videos/<id>/thumbs/thumb.webp   160×90 poster, letterboxed
//	videos/<id>/thumbs/sheet-10x10.webp          sprite sheet of 100 frames (video only)
//	videos/<id>/thumbs/stdout.txt, stderr.txt   the thumbnailer's output
//	videos/<id>/subs/..., drawings/...          written by the review side
//	videos/trash/<id>_<YYYYmmdd-HHMMSS UTC>/    deleted media, with db_backup.json
package mediastore

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
)

// Layout names the places in a data directory.
type Layout struct {
	DataDir string
}

func (l Layout) join(parts ...string) string {
	return filepath.Join(append([]string{l.DataDir}, parts...)...)
}

// Videos is <data-dir>/videos, served at /videos/.
func (l Layout) Videos() string { return l.join("videos") }

// Incoming is the drop folder.
func (l Layout) Incoming() string { return l.join("incoming") }

// Upload holds uploads waiting to be ingested.
func (l Layout) Upload() string { return l.join("upload") }

// Tus holds resumable uploads in progress.
func (l Layout) Tus() string { return l.join("upload", "tus") }

// Rejected holds files that could not be ingested.
func (l Layout) Rejected() string { return l.join("rejected") }

// Trash holds deleted media.
func (l Layout) Trash() string { return l.join("videos", "trash") }

// MediaDir is videos/<id>.
func (l Layout) MediaDir(id string) string { return l.join("videos", id) }

// OrigDir is videos/<id>/orig.
func (l Layout) OrigDir(id string) string { return l.join("videos", id, "orig") }

// ThumbsDir is videos/<id>/thumbs.
func (l Layout) ThumbsDir(id string) string { return l.join("videos", id, "thumbs") }

// Poster is the 160×90 thumbnail.
func (l Layout) Poster(id string) string { return l.join("videos", id, "thumbs", "thumb.webp") }

// Sheet is the sprite sheet of cols×rows frames.
func (l Layout) Sheet(id string, cols, rows int) string {
	return l.join("videos", id, "thumbs", "sheet-"+strconv.Itoa(cols)+"x"+strconv.Itoa(rows)+".webp")
}

// VideoLink is the video.mp4 symlink to the playable file.
func (l Layout) VideoLink(id string) string { return l.join("videos", id, "video.mp4") }

// Transcoded names a transcode output (a new name per attempt).
func (l Layout) Transcoded(id string, bitrate int64, uuid string) string {
	return l.join("videos", id, fmt.Sprintf("transcoded_br%d_%s.mp4", bitrate, uuid))
}

// Remuxed names a remux output.
func (l Layout) Remuxed(id, uuid string) string {
	return l.join("videos", id, "remuxed_"+uuid+".mp4")
}

var idRE = regexp.MustCompile(`^[0-9a-f]{8}$`)

// ValidID reports whether id has the shape of a media id made by the
// pipeline (8 lower-case hex digits). Media ids from other sources (the
// organizer API) may differ; this guards file system paths built from
// untrusted input.
func ValidID(id string) bool { return idRE.MatchString(id) }
