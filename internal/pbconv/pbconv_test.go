package pbconv

import (
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func TestMediaFileURLs(t *testing.T) {
	added := time.Date(2024, 5, 2, 19, 40, 46, 0, time.UTC)
	done := added.Add(time.Minute)
	base := store.MediaFile{ID: "1a2b3c4d", UserID: "alice", AddedTime: added, OrigFilename: new("My clip #1?.mov"),
		Title: new("My clip"), MediaType: new("video"), Duration: new(10.5), TotalFrames: new(int64(252)), FPS: new("24")}
	for _, tc := range []struct {
		name         string
		base         string
		mod          func(*store.MediaFile)
		play, orig   string
		thumb, sheet string
		duration     bool
	}{
		{"relative, not transcoded", "", nil, "videos/1a2b3c4d/orig/My%20clip%20%231%3F.mov", "videos/1a2b3c4d/orig/My%20clip%20%231%3F.mov", "", "", true},
		{"url base, transcoded, thumbs", "https://r.example.com/cs", func(m *store.MediaFile) {
			m.RecompressionDone, m.HasThumbnail, m.ThumbSheetCols, m.ThumbSheetRows = &done, new(true), new(int64(10)), new(int64(10))
		}, "https://r.example.com/cs/videos/1a2b3c4d/video.mp4", "https://r.example.com/cs/videos/1a2b3c4d/orig/My%20clip%20%231%3F.mov",
			"https://r.example.com/cs/videos/1a2b3c4d/thumbs/thumb.webp", "https://r.example.com/cs/videos/1a2b3c4d/thumbs/sheet-10x10.webp", true},
		{"no fps: no duration", "", func(m *store.MediaFile) { m.FPS = nil }, "videos/1a2b3c4d/orig/My%20clip%20%231%3F.mov", "videos/1a2b3c4d/orig/My%20clip%20%231%3F.mov", "", "", false},
		{"no original name", "", func(m *store.MediaFile) { m.OrigFilename = nil }, "", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			if tc.mod != nil {
				tc.mod(&m)
			}
			got := MediaFile(m, []store.Subtitle{{ID: 7, MediaFileID: m.ID, Title: "en", OrigFilename: "a b.srt", Filename: new("a b.vtt")}},
				mediadir.URLs{Base: tc.base}, MediaFileOptions{})
			if got.GetPlaybackUrl() != tc.play || got.GetOrigUrl() != tc.orig || got.GetPreviewData().GetThumbUrl() != tc.thumb ||
				got.GetPreviewData().GetThumbSheet().GetUrl() != tc.sheet || (got.Duration != nil) != tc.duration {
				t.Errorf("got %v", got)
			}
			if (got.ProcessingMetadata != nil) != (m.OrigFilename != nil) || got.AddedTime.AsTime() != added || got.MediaType != "video" {
				t.Errorf("metadata: %v", got)
			}
			prefix := "videos/1a2b3c4d/subs/"
			if tc.base != "" {
				prefix = tc.base + "/" + prefix
			}
			if s := got.Subtitles[0]; s.Id != "7" || s.PlaybackUrl != prefix+"a%20b.vtt" || s.OrigUrl != prefix+"orig/a%20b.srt" {
				t.Errorf("subtitle: %v", s)
			}
		})
	}
}

// The ladder's URL is there only when it is made, beside the MP4's.
func TestMediaFileHLS(t *testing.T) {
	m := store.MediaFile{ID: "1a2b3c4d", UserID: "alice", OrigFilename: new("c.mov"), RecompressionDone: new(time.Now())}
	if got := MediaFile(m, nil, mediadir.URLs{}, MediaFileOptions{}); got.HlsUrl != nil {
		t.Errorf("no ladder, but hlsUrl %q", got.GetHlsUrl())
	}
	got := MediaFile(m, nil, mediadir.URLs{Base: "https://r.example.com"}, MediaFileOptions{HLS: true})
	if got.GetHlsUrl() != "https://r.example.com/videos/1a2b3c4d/hls/master.m3u8" || got.GetPlaybackUrl() != "https://r.example.com/videos/1a2b3c4d/video.mp4" {
		t.Errorf("hlsUrl %q, playbackUrl %q", got.GetHlsUrl(), got.GetPlaybackUrl())
	}
}

func TestMessage(t *testing.T) {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	got := Message(store.Message{ID: 5, UserID: "u", Created: created, EventName: "video_updated", Message: "m", CommentID: new(int64(3))})
	if got.GetId() != "5" || got.Type != pb.UserMessage_OK || got.GetRefs().GetCommentId() != "3" || got.Details != nil ||
		got.Created.AsTime() != created {
		t.Errorf("got %v", got)
	}
	for _, ty := range []pb.UserMessage_Type{pb.UserMessage_OK, pb.UserMessage_ERROR, pb.UserMessage_PROGRESS,
		pb.UserMessage_MEDIA_FILE_ADDED, pb.UserMessage_MEDIA_FILE_UPDATED} {
		if MessageType(EventName(ty)) != ty {
			t.Errorf("%s does not round-trip", ty)
		}
	}
}
