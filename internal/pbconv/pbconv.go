// Package pbconv turns database rows (internal/store) into the protobuf
// messages of Clapshot's protocols (proto/clapshotpb), with the media URLs
// of internal/mediadir. The websocket API and the organizer's Db* calls
// both use it, so a media file looks the same whichever way it is fetched.
package pbconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

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

// MediaFileOptions trims what MediaFile includes.
type MediaFileOptions struct {
	// NoRawMetadata leaves out processingMetadata.ffprobeMetadataAll, the
	// raw metadata JSON (often kilobytes), which listings do not need.
	NoRawMetadata bool
	// HLS: the media file has an adaptive ladder; hlsUrl is its master
	// playlist.
	HLS bool
	// Stack, if set, is the media file's place in its version stack.
	Stack *store.StackInfo
	// Versions, with Stack, lists the stack's versions (their rows and
	// media files), oldest first, for the player's version switcher.
	Versions []StackVersion
}

// StackVersion is one version of a stack, for VersionStack.versions.
type StackVersion struct {
	Version store.Version
	Title   *string
	// PlaybackURL is what a compare view plays it from ("" if nothing yet).
	PlaybackURL string
}

// MediaFile converts a media file row with its subtitles, following
// Clapshot's to_proto3: duration only when all of duration, frame count and
// fps are known; processing metadata only with an original file name;
// playback from video.mp4 once transcoded, else from the original.
func MediaFile(m store.MediaFile, subs []store.Subtitle, u mediadir.URLs, opt MediaFileOptions) *pb.MediaFile {
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
	if opt.HLS {
		hls := u.HLSMaster(m.ID)
		out.HlsUrl = &hls
	}
	if st := opt.Stack; st != nil {
		vs := &pb.VersionStack{StackId: st.StackID, Version: uint32(st.Version), Count: uint32(st.Count), HeadId: st.Head}
		for _, v := range opt.Versions {
			vs.Versions = append(vs.Versions, &pb.VersionStack_Version{MediaFileId: v.Version.MediaFileID,
				Version: uint32(v.Version.Version), State: v.Version.State, Title: v.Title, AddedTime: Timestamp(v.Version.Added)})
			if v.PlaybackURL != "" {
				vs.Versions[len(vs.Versions)-1].PlaybackUrl = &v.PlaybackURL
			}
		}
		out.VersionStack = vs
	}
	out.DefaultSubtitleId = rowid.FormatPtr(m.DefaultSubtitleID)
	for _, s := range subs {
		out.Subtitles = append(out.Subtitles, Subtitle(s, u))
	}
	return out
}

// Subtitle converts a subtitle row. The playback URL is the converted
// WebVTT file, or the original when it was WebVTT already.
func Subtitle(s store.Subtitle, u mediadir.URLs) *pb.Subtitle {
	orig := u.SubtitleOrig(s.MediaFileID, s.OrigFilename)
	play := orig
	if s.Filename != nil {
		play = u.SubtitleVTT(s.MediaFileID, *s.Filename)
	}
	return &pb.Subtitle{
		Id:           rowid.Format(s.ID),
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
		Id:                     rowid.Format(c.ID),
		MediaFileId:            c.MediaFileID,
		UserId:                 c.UserID,
		UsernameIfnull:         c.UsernameIfNull,
		Comment:                c.Comment,
		Timecode:               c.Timecode,
		TimecodeEnd:            c.TimecodeEnd,
		ParentId:               rowid.FormatPtr(c.ParentID),
		Drawing:                c.Drawing,
		SubtitleId:             rowid.FormatPtr(c.SubtitleID),
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
		Id:      new(rowid.Format(m.ID)),
		UserId:  new(m.UserID),
		Created: Timestamp(m.Created),
		Seen:    m.Seen,
		Type:    MessageType(m.EventName),
		Refs: &pb.UserMessage_Refs{
			MediaFileId: m.MediaFileID,
			CommentId:   rowid.FormatPtr(m.CommentID),
			SubtitleId:  rowid.FormatPtr(m.SubtitleID),
		},
		Message: m.Message,
	}
	if m.Details != "" {
		out.Details = new(m.Details)
	}
	return out
}
