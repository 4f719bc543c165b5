// Package pbconv turns database rows (internal/store) into the protobuf
// messages of Clapshot's protocols (proto/clapshotpb), and builds the media
// URLs those messages carry. The websocket API and the organizer's Db* calls
// both use it, so a media file looks the same whichever way it is fetched.
package pbconv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// URLs builds the URLs of the files under <data dir>/videos, which the
// server (or a reverse proxy) serves at /videos/.
type URLs struct {
	// Base is --url-base without a trailing slash. Empty gives URLs
	// relative to the page ("videos/<id>/..."): both clients live at the
	// app's root path (state is in the query string), so these resolve
	// below whatever prefix a proxy serves the app under.
	Base string
}

// File is the URL of a file below videos/<mediaFileID>/; rel is already
// escaped as needed.
func (u URLs) File(mediaFileID, rel string) string {
	p := "videos/" + mediaFileID + "/" + rel
	if u.Base == "" {
		return p
	}
	return u.Base + "/" + p
}

// Thumb is the poster image.
func (u URLs) Thumb(mediaFileID string) string { return u.File(mediaFileID, "thumbs/thumb.webp") }

// ThumbSheet is the sprite sheet of cols x rows thumbnails.
func (u URLs) ThumbSheet(mediaFileID string, cols, rows int64) string {
	return u.File(mediaFileID, fmt.Sprintf("thumbs/sheet-%dx%d.webp", cols, rows))
}

// Orig is the uploaded original.
func (u URLs) Orig(mediaFileID, origFilename string) string {
	return u.File(mediaFileID, "orig/"+EscapeComponent(origFilename))
}

// Transcoded is the transcoded video (a symlink to the current transcode).
func (u URLs) Transcoded(mediaFileID string) string { return u.File(mediaFileID, "video.mp4") }

// SubtitleOrig is an uploaded subtitle file.
func (u URLs) SubtitleOrig(mediaFileID, origFilename string) string {
	return u.File(mediaFileID, "subs/orig/"+EscapeComponent(origFilename))
}

// SubtitleVTT is a converted WebVTT subtitle file.
func (u URLs) SubtitleVTT(mediaFileID, filename string) string {
	return u.File(mediaFileID, "subs/"+EscapeComponent(filename))
}

// EscapeComponent percent-encodes everything but RFC 3986 unreserved
// characters, as Clapshot's urlencoding::encode does, so a file name with
// spaces, '#', '?' or '/' stays one path segment.
func EscapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Timestamp converts a time; the zero time gives nil.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// TimestampPtr converts an optional time.
func TimestampPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// ID renders an integer row id the way the protocol carries it.
func ID(id int64) string { return strconv.FormatInt(id, 10) }

// IDPtr renders an optional integer id.
func IDPtr(id *int64) *string {
	if id == nil {
		return nil
	}
	s := ID(*id)
	return &s
}

// ParseID parses an integer id sent as a string. what names the field in
// the error ("comment id", "parent id", ...).
func ParseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number", what, s)
	}
	return id, nil
}

// ParseIDPtr parses an optional integer id.
func ParseIDPtr(what string, s *string) (*int64, error) {
	if s == nil {
		return nil, nil
	}
	id, err := ParseID(what, *s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// MediaFileOptions trims what MediaFile includes.
type MediaFileOptions struct {
	// NoRawMetadata leaves out processingMetadata.ffprobeMetadataAll, the
	// raw metadata JSON (often kilobytes), which listings do not need.
	NoRawMetadata bool
}

// MediaFile converts a media file row with its subtitles, following
// Clapshot's to_proto3: duration only when all of duration, frame count and
// fps are known; processing metadata only with an original file name;
// playback from video.mp4 once transcoded, else from the original.
func MediaFile(m store.MediaFile, subs []store.Subtitle, u URLs, opt MediaFileOptions) *pb.MediaFile {
	out := &pb.MediaFile{
		Id:        m.ID,
		Title:     m.Title,
		UserId:    m.UserID,
		AddedTime: Timestamp(m.AddedTime),
	}
	if m.MediaType != nil {
		out.MediaType = *m.MediaType
	}
	if m.Duration != nil && m.TotalFrames != nil && m.FPS != nil {
		out.Duration = &pb.MediaFileDuration{Duration: *m.Duration, TotalFrames: *m.TotalFrames, Fps: *m.FPS}
	}
	if m.OrigFilename != nil {
		pm := &pb.MediaFileProcessingMetadata{
			OrigFilename:      *m.OrigFilename,
			RecompressionDone: TimestampPtr(m.RecompressionDone),
			ThumbsDone:        TimestampPtr(m.ThumbsDone),
		}
		if !opt.NoRawMetadata {
			pm.FfprobeMetadataAll = m.RawMetadataAll
		}
		out.ProcessingMetadata = pm
	}
	var preview pb.MediaFilePreviewData
	if m.HasThumbnail != nil && *m.HasThumbnail {
		s := u.Thumb(m.ID)
		preview.ThumbUrl = &s
	}
	if m.ThumbSheetCols != nil && m.ThumbSheetRows != nil {
		preview.ThumbSheet = &pb.MediaFilePreviewData_ThumbSheet{
			Url:  u.ThumbSheet(m.ID, *m.ThumbSheetCols, *m.ThumbSheetRows),
			Rows: uint32(*m.ThumbSheetRows),
			Cols: uint32(*m.ThumbSheetCols),
		}
	}
	if preview.ThumbUrl != nil || preview.ThumbSheet != nil {
		out.PreviewData = &preview
	}
	if m.OrigFilename != nil {
		orig := u.Orig(m.ID, *m.OrigFilename)
		out.OrigUrl = &orig
		play := orig
		if m.RecompressionDone != nil {
			play = u.Transcoded(m.ID)
		}
		out.PlaybackUrl = &play
	} else if m.RecompressionDone != nil {
		play := u.Transcoded(m.ID)
		out.PlaybackUrl = &play
	}
	out.DefaultSubtitleId = IDPtr(m.DefaultSubtitleID)
	for _, s := range subs {
		out.Subtitles = append(out.Subtitles, Subtitle(s, u))
	}
	return out
}

// Subtitle converts a subtitle row. The playback URL is the converted
// WebVTT file, or the original when it was WebVTT already.
func Subtitle(s store.Subtitle, u URLs) *pb.Subtitle {
	orig := u.SubtitleOrig(s.MediaFileID, s.OrigFilename)
	play := orig
	if s.Filename != nil {
		play = u.SubtitleVTT(s.MediaFileID, *s.Filename)
	}
	return &pb.Subtitle{
		Id:           ID(s.ID),
		MediaFileId:  s.MediaFileID,
		Title:        s.Title,
		LanguageCode: s.LanguageCode,
		OrigFilename: s.OrigFilename,
		TimeOffset:   float32(s.TimeOffset),
		OrigUrl:      orig,
		PlaybackUrl:  play,
		AddedTime:    Timestamp(s.AddedTime),
	}
}

// Comment converts a comment row. Drawing is the stored value (a file name
// under drawings/); the websocket API inlines the image itself.
func Comment(c store.Comment) *pb.Comment {
	return &pb.Comment{
		Id:                     ID(c.ID),
		MediaFileId:            c.MediaFileID,
		UserId:                 c.UserID,
		UsernameIfnull:         c.UsernameIfNull,
		Comment:                c.Comment,
		Timecode:               c.Timecode,
		TimecodeEnd:            c.TimecodeEnd,
		ParentId:               IDPtr(c.ParentID),
		Drawing:                c.Drawing,
		SubtitleId:             IDPtr(c.SubtitleID),
		SubtitleFilenameIfnull: c.SubtitleFilenameIfNull,
		Created:                Timestamp(c.Created),
		Edited:                 TimestampPtr(c.Edited),
	}
}

// MessageType maps a stored event name to the protocol's type; unknown and
// legacy names (e.g. "video_updated") read as OK, as in Clapshot.
func MessageType(eventName string) pb.UserMessage_Type {
	return pb.UserMessage_Type(events.KindFromEventName(eventName))
}

// EventName maps the protocol's message type to the stored event name.
func EventName(t pb.UserMessage_Type) string { return events.Kind(t).EventName() }

// Message converts a stored message (with its id and creation time, unlike
// live notifications).
func Message(m store.Message) *pb.UserMessage {
	out := &pb.UserMessage{
		Id:      new(ID(m.ID)),
		UserId:  new(m.UserID),
		Created: Timestamp(m.Created),
		Seen:    m.Seen,
		Type:    MessageType(m.EventName),
		Refs: &pb.UserMessage_Refs{
			MediaFileId: m.MediaFileID,
			CommentId:   IDPtr(m.CommentID),
			SubtitleId:  IDPtr(m.SubtitleID),
		},
		Message: m.Message,
	}
	if m.Details != "" {
		out.Details = new(m.Details)
	}
	return out
}
