package ingest

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// Every container/codec family of the test matrix goes through the
// real pipeline (real ffprobe and ffmpeg, real SQLite). The result must be
// browser-safe (H.264 yuv420p, AAC, fast-start MP4), keep the duration
// within one frame, and have thumbnails of the right size.
func TestFamiliesBecomeBrowserSafe(t *testing.T) {
	mediatest.Require(t)
	h := newHarness(t, nil)
	src := t.TempDir()
	want := map[string]struct {
		typ    media.Type
		action media.Action
		audio  bool
	}{
		"h264_mp4":              {media.Video, media.AsIs, true},
		"h264_mov":              {media.Video, media.Remux, true},
		"h264_mp4_pcm":          {media.Video, media.Remux, true},
		"h264_mp4_no_faststart": {media.Video, media.Remux, true},
		"h264_mp4_high_bitrate": {media.Video, media.Transcode, true},
		"vp9_webm":              {media.Video, media.Transcode, true},
		"prores_mov":            {media.Video, media.Transcode, true},
		"hevc_mkv":              {media.Video, media.Transcode, true},
		"mpeg2_ts":              {media.Video, media.Transcode, true},
		"audio_wav":             {media.Audio, media.Transcode, true},
		"audio_mp3":             {media.Audio, media.Transcode, true},
		"audio_flac":            {media.Audio, media.Transcode, true},
		"audio_ogg":             {media.Audio, media.Transcode, true},
		"image_png":             {media.Image, media.Transcode, false},
		"image_jpeg":            {media.Image, media.Transcode, false},
		"image_webp":            {media.Image, media.Transcode, false},
	}
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, fam := range names {
		spec := mediatest.Families[fam]
		p := mediatest.Make(t, src, spec, mediatest.Small)
		h.submit(p, spec.Name, "alice", map[string]string{"folder": fam})
	}
	h.waitIdle(3 * time.Minute)

	for _, fam := range names {
		w, spec := want[fam], mediatest.Families[fam]
		t.Run(fam, func(t *testing.T) {
			m, ok := h.mediaByName(spec.Name)
			if !ok {
				t.Fatalf("not ingested; messages: %v; rejected: %v", h.rec.texts("alice", ""), h.rejected())
			}
			if *m.MediaType != string(w.typ) || m.UserID != "alice" || *m.Title != spec.Name {
				t.Errorf("row: type %s user %s title %s", *m.MediaType, m.UserID, *m.Title)
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(*m.RawMetadataAll), &raw); err != nil || raw["streams"] == nil {
				t.Errorf("raw_metadata_all is not ffprobe JSON: %v", err)
			}
			mediaDir := h.l.MediaDir(m.ID)
			orig := filepath.Join(mediaDir, "orig", spec.Name)
			if _, err := os.Stat(orig); err != nil {
				t.Errorf("original missing: %v", err)
			}
			srcDur := 1.0
			switch w.typ {
			case media.Video:
				if *m.FPS != "24.000" || *m.TotalFrames < 23 || *m.TotalFrames > 25 || math.Abs(*m.Duration-1) > 0.1 {
					t.Errorf("video figures: fps %s frames %d duration %g", *m.FPS, *m.TotalFrames, *m.Duration)
				}
				srcDur = *m.Duration
			case media.Audio:
				if *m.FPS != "0" || *m.TotalFrames != 0 || math.Abs(*m.Duration-1) > 0.1 {
					t.Errorf("audio figures: fps %s frames %d duration %g", *m.FPS, *m.TotalFrames, *m.Duration)
				}
				srcDur = *m.Duration
			case media.Image:
				if *m.FPS != "0" || *m.TotalFrames != 1 || *m.Duration != 0 {
					t.Errorf("image figures: fps %s frames %d duration %g", *m.FPS, *m.TotalFrames, *m.Duration)
				}
			}

			playable := orig
			if w.action == media.AsIs {
				if m.RecompressionDone != nil {
					t.Error("as-is file marked recompressed")
				}
				if _, err := os.Lstat(h.l.VideoLink(m.ID)); err == nil {
					t.Error("as-is file got a video.mp4")
				}
			} else {
				if m.RecompressionDone == nil {
					t.Fatalf("not recompressed; messages %v", h.rec.texts("alice", m.ID))
				}
				target, err := os.Readlink(h.l.VideoLink(m.ID))
				if err != nil || strings.Contains(target, "/") {
					t.Fatalf("video.mp4 must be a relative symlink in the media dir: %q %v", target, err)
				}
				prefix := "transcoded_br"
				if w.action == media.Remux {
					prefix = "remuxed_"
				}
				if !strings.HasPrefix(target, prefix) {
					t.Errorf("video.mp4 -> %s, want %s...", target, prefix)
				}
				playable = h.l.VideoLink(m.ID)
			}
			out := probeFile(t, playable)
			if out.vcodec != "h264" || (out.pixfmt != "yuv420p" && out.pixfmt != "yuvj420p") || !out.faststart ||
				out.width%2 != 0 || out.height%2 != 0 {
				t.Errorf("not browser-safe: %+v", out)
			}
			if (out.acodec == "aac") != w.audio {
				t.Errorf("audio codec %q, want aac: %v", out.acodec, w.audio)
			}
			tolerance := 1.0/24 + 0.01
			if w.typ == media.Audio {
				tolerance = 1.0/30 + 0.01
			}
			if math.Abs(out.vdur-srcDur) > tolerance {
				t.Errorf("duration %g, source %g", out.vdur, srcDur)
			}

			if m.ThumbsDone == nil {
				t.Error("thumbs_done not set")
			}
			switch w.typ {
			case media.Audio:
				if m.HasThumbnail != nil {
					t.Error("audio has no thumbnail")
				}
			default:
				if m.HasThumbnail == nil || !*m.HasThumbnail {
					t.Fatal("has_thumbnail not set")
				}
				if p := probeFile(t, h.l.Poster(m.ID)); p.width != 160 || p.height != 90 {
					t.Errorf("poster %dx%d", p.width, p.height)
				}
				_, err := os.Stat(h.l.Sheet(m.ID, 10, 10))
				if w.typ == media.Video {
					if m.ThumbSheetCols == nil || *m.ThumbSheetCols != 10 || *m.ThumbSheetRows != 10 {
						t.Error("sheet dimensions not recorded")
					}
					if p := probeFile(t, h.l.Sheet(m.ID, 10, 10)); p.width != 1600 || p.height != 900 {
						t.Errorf("sheet %dx%d", p.width, p.height)
					}
				} else if err == nil || m.ThumbSheetCols != nil {
					t.Error("an image has no sprite sheet")
				}
			}

			texts := h.rec.texts("alice", m.ID)
			wantTexts := []string{"media_file_added ", "ok Media added."}
			if w.action != media.AsIs {
				wantTexts = []string{"media_file_added ", "ok Media added. Transcoding...", "media_file_updated Transcoding done", "ok Media transcoded."}
			}
			if w.typ != media.Audio {
				wantTexts = append(wantTexts, "media_file_updated Media thumbnail generated")
			}
			for _, wt := range wantTexts {
				if !slices.Contains(texts, wt) {
					t.Errorf("message %q missing: %v", wt, texts)
				}
			}
			if texts[0] != "media_file_added " {
				t.Errorf("first message %q", texts[0])
			}
			for _, m2 := range h.rec.all() {
				if m2.MediaFileID == m.ID && m2.Kind.EventName() == "media_file_added" && m2.Details != `{"folder":"`+fam+`"}` {
					t.Errorf("MEDIA_FILE_ADDED details %q must echo the upload cookies", m2.Details)
				}
			}
		})
	}

	// Persistence: OK/ERROR are stored, the rest only delivered.
	stored, err := h.db.ListMessagesByUser(context.Background(), "alice", store.All)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range stored {
		if m.EventName != "ok" && m.EventName != "error" {
			t.Errorf("stored a %s message: %+v", m.EventName, m)
		}
	}
	if len(stored) < len(names) {
		t.Errorf("only %d stored messages for %d files", len(stored), len(names))
	}
	if len(h.rejected()) != 0 {
		t.Errorf("rejected: %v", h.rejected())
	}
	if entries, _ := os.ReadDir(h.l.Upload()); len(entries) != 0 {
		t.Errorf("upload/ not emptied: %v", entries)
	}
}

// The id is Clapshot's, byte for byte: a fixed input and its hash.
func TestMediaIDMatchesClapshot(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "clip.mp4")
	content := make([]byte, 40*1024)
	for i := range content {
		content[i] = byte(i * 7)
	}
	os.WriteFile(p, content, 0o644)
	// sha256("clip.mp4" "alice" be64(40960) "a" "1" "b" "2" content[:32768])[:8],
	// computed independently with Python's hashlib.
	id, err := MediaID(p, "alice", map[string]string{"b": "2", "a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if id != wantMediaID {
		t.Errorf("id %s, want %s", id, wantMediaID)
	}
	other, _ := MediaID(p, "alice", map[string]string{"a": "1"})
	noCookies, _ := MediaID(p, "bob", nil)
	if other == id || noCookies == id || len(noCookies) != 8 {
		t.Errorf("ids must depend on cookies and user: %s %s %s", id, other, noCookies)
	}
}

const wantMediaID = "dfa52cf8"

// Clapshot's progress texts.
func TestProgressText(t *testing.T) {
	cases := []struct {
		p       media.Progress
		total   int64
		dur     float64
		text    string
		ratio   float64
		noRatio bool
	}{
		{media.Progress{Frame: 42, Speed: "1.23x"}, 100, 4, "Transcoding... 42% done (speed: 1.23x)", 0.42, false},
		{media.Progress{Frame: 10, FPS: 52.44}, 40, 0, "Transcoding... 25% done (speed: 52.4 fps)", 0.25, false},
		{media.Progress{OutTime: 3 * time.Second}, 0, 4, "Transcoding... 75% done", 0.75, false},
		{media.Progress{Frame: 500}, 100, 0, "Transcoding... 100% done", 1, false},
		{media.Progress{Speed: "0.5x"}, 0, 0, "Transcoding... (speed: 0.5x)", 0, true},
		{media.Progress{End: true, Frame: 3}, 100, 4, "Transcoding done.", 1, false},
	}
	for _, c := range cases {
		text, ratio := progressText("Transcoding", c.p, c.total, c.dur)
		if text != c.text || (ratio == nil) != c.noRatio || (ratio != nil && math.Abs(*ratio-c.ratio) > 1e-9) {
			t.Errorf("%+v: %q %v, want %q %v", c.p, text, ratio, c.text, c.ratio)
		}
	}
}
