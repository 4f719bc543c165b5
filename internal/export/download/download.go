// Package download serves comment exports: it gathers a media file's
// comments, their drawings and (for the report) the frame under each
// comment, checks that the asker may view the file, and writes the chosen
// export format as a download.
//
//	GET /api/media/{id}/comments/export?format=edl|csv|fcpxml|premiere|html
//
// Frame images are made once with ffmpeg and kept beside the media's
// thumbnails (mediadir.Layout.Stills), so a second report is fast.
package download

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/export"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Store is what exports read from the database.
type Store interface {
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	ListCommentsByMediaFile(ctx context.Context, mediaFileID string, p store.Page) ([]store.Comment, error)
}

// Authenticator resolves a request's user (auth.Resolver).
type Authenticator interface {
	Authenticate(req *http.Request) (auth.Identity, error)
}

// Viewer answers "may this identity view the media file?" (access.Checker).
type Viewer interface {
	MayViewMedia(ctx context.Context, who access.Identity, m store.MediaFile, urls mediadir.URLs) *access.Denial
}

// StillMaker writes a JPEG of each given frame of a video into dir as
// <frame>.jpg (media.Tools.Stills).
type StillMaker interface {
	Stills(ctx context.Context, src string, fps float64, frames []int64, dir string) error
}

// DrawingReader reads a comment's stored drawing (mediadir.Dir).
type DrawingReader interface {
	ReadDrawing(ctx context.Context, mediaID, name string) ([]byte, error)
}

// SID is the session id the organizer's authz calls see for exports, in
// the style of Clapshot's "<upload--not-set>" for requests outside a
// websocket session.
const SID = "<export--not-set>"

// Handler serves exports.
type Handler struct {
	Store    Store
	Identity Authenticator
	Access   Viewer
	Drawings DrawingReader
	Stills   StillMaker
	Layout   mediadir.Layout
	// Source, if set, is where ffmpeg reads a media file that is not on
	// the local disk (a presigned URL in the object store).
	Source func(ctx context.Context, m store.MediaFile) (string, error)
	URLs   mediadir.URLs
	Log    *slog.Logger

	// stillsSlots bounds the ffmpeg runs for reports at once; a report of
	// a long file with many comments decodes much of it.
	stillsSlots chan struct{}
	// unmade remembers frames ffmpeg could not make (past the end, a
	// damaged spot), so that every later report does not run it again
	// for them; forgotten at restart, when they are tried once more.
	mu     sync.Mutex
	unmade map[string]bool // "<media id>/<frame>"
}

// maxUnmade bounds the memory of frames that could not be made.
const maxUnmade = 100_000

// Register adds the route.
func (h *Handler) Register(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	h.stillsSlots = make(chan struct{}, 2)
	mux.Handle("GET /api/media/{id}/comments/export", http.HandlerFunc(h.serve))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	format, err := export.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user, err := h.Identity.Authenticate(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	id := r.PathValue("id")
	m, err := h.Store.GetMediaFile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, fmt.Sprintf("media file %q does not exist", id), http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, "reading the media file", id, err)
		return
	}
	who := access.Identity{User: user, Cookies: auth.Cookies(r.Header), SID: SID}
	if d := h.Access.MayViewMedia(ctx, who, m, h.URLs); d != nil {
		// The same answer as for a file that does not exist would hide
		// what exists, but Clapshot tells the user the denial; so do we.
		http.Error(w, d.Error(), http.StatusForbidden)
		return
	}
	media, err := Media(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	rows, err := h.Store.ListCommentsByMediaFile(ctx, m.ID, store.All)
	if err != nil {
		h.fail(w, "reading the comments", id, err)
		return
	}
	comments := Threads(media.Rate, rows)
	var opt export.Options
	if format == export.Report {
		h.attachDrawings(ctx, m.ID, rows, comments)
		opt.Frames = h.frames(ctx, m, media, comments)
	}
	info := format.Info()
	name := exportName(media, info.Extension)
	w.Header().Set("Content-Type", info.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if format == export.Report {
		// The report is self-contained: it needs no script and no
		// outside resource, so a comment's text can never run as code.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	}
	if err := export.Write(w, format, media, comments, opt); err != nil {
		// Headers are gone; the download is cut short, and the log says why.
		h.log().Error("Comment export failed", "media_file_id", m.ID, "format", format, "err", err)
	}
}

func (h *Handler) fail(w http.ResponseWriter, doing, id string, err error) {
	h.log().Error("Comment export: "+doing+" failed", "media_file_id", id, "err", err)
	http.Error(w, "export of media file "+id+": "+doing+" failed", http.StatusInternalServerError)
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// exportName is the download's file name: the media's title (or
// original name) without its extension, then "comments" and the format's
// extension; characters that file systems refuse become "_".
func exportName(m export.Media, ext string) string {
	base := m.Title
	if base == "" {
		base = m.FileName
	}
	base = strings.TrimSuffix(base, filepath.Ext(base))
	base = strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(base))
	if base == "" {
		base = m.ID
	}
	return base + " comments" + ext
}

// Media describes a media file for export from its database row: rate,
// start timecode and picture size from the stored ffprobe output.
func Media(m store.MediaFile) (export.Media, error) {
	out := export.Media{ID: m.ID, Title: deref(m.Title), FileName: deref(m.OrigFilename), Kind: deref(m.MediaType)}
	if m.TotalFrames != nil {
		out.Frames = *m.TotalFrames
	}
	probe := parseProbe(deref(m.RawMetadataAll))
	out.HasVideo, out.HasAudio, out.Width, out.Height = probe.hasVideo, probe.hasAudio, probe.width, probe.height
	if out.Kind == "" {
		out.Kind = "video"
	}
	rate, err := export.ParseRate(deref(m.FPS))
	switch {
	case err == nil && out.Kind == "video":
		out.Rate = rate
	case out.Kind == "video" && m.FPS != nil && *m.FPS != "":
		return out, fmt.Errorf("media file %s: cannot export with frame rate %q: %w", m.ID, *m.FPS, err)
	default:
		// Audio, images and files without a rate: editors count seconds
		// at 25 frames unless told otherwise.
		out.Rate, out.RateGuessed = export.Rate{Num: 25, Den: 1}, true
	}
	if out.Frames == 0 && m.Duration != nil {
		out.Frames = int64(math.Round(*m.Duration * out.Rate.FPS()))
	}
	if f, tag, ok := export.SourceTimecode(deref(m.RawMetadataAll), out.Rate); ok {
		out.Start, out.StartTag = f, tag
	}
	return out, nil
}

type probeFacts struct {
	hasVideo, hasAudio bool
	width, height      int
}

func parseProbe(raw string) probeFacts {
	var p struct {
		Streams []struct {
			CodecType   string `json:"codec_type"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			Disposition struct {
				AttachedPic int `json:"attached_pic"`
			} `json:"disposition"`
		} `json:"streams"`
	}
	var f probeFacts
	if json.Unmarshal([]byte(raw), &p) != nil {
		return f
	}
	for _, s := range p.Streams {
		switch {
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0 && !f.hasVideo:
			f.hasVideo, f.width, f.height = true, s.Width, s.Height
		case s.CodecType == "audio":
			f.hasAudio = true
		}
	}
	return f
}

// Threads turns comment rows into top-level comments with their replies
// in thread order (each reply after its parent, siblings by creation), at
// the given rate. A reply whose parent is gone is shown as a top-level
// comment rather than dropped.
func Threads(rate export.Rate, rows []store.Comment) []export.Comment {
	byID := make(map[int64]store.Comment, len(rows))
	children := map[int64][]store.Comment{}
	for _, c := range rows {
		byID[c.ID] = c
	}
	var tops []store.Comment
	for _, c := range rows {
		if c.ParentID != nil {
			if _, ok := byID[*c.ParentID]; ok && *c.ParentID != c.ID {
				children[*c.ParentID] = append(children[*c.ParentID], c)
				continue
			}
		}
		tops = append(tops, c)
	}
	byCreation := func(a, b store.Comment) int {
		if d := a.Created.Compare(b.Created); d != 0 {
			return d
		}
		return int(a.ID - b.ID)
	}
	out := make([]export.Comment, 0, len(tops))
	for _, c := range tops {
		ec := export.Comment{ID: c.ID, Author: author(c), Text: c.Comment, Created: c.Created, Edited: c.Edited}
		if f, ok := rate.WireFrame(deref(c.Timecode)); ok {
			ec.Frame = &f
			if end, ok := rate.WireFrame(deref(c.TimecodeEnd)); ok && end >= f {
				ec.EndFrame = &end
			}
		}
		// Depth-first, with a guard against cycles in damaged data.
		seen := map[int64]bool{c.ID: true}
		var walk func(parent int64, depth int)
		walk = func(parent int64, depth int) {
			kids := slices.Clone(children[parent])
			slices.SortFunc(kids, byCreation)
			for _, k := range kids {
				if seen[k.ID] {
					continue
				}
				seen[k.ID] = true
				ec.Replies = append(ec.Replies, export.Reply{ID: k.ID, Author: author(k), Text: k.Comment, Created: k.Created, Depth: depth})
				walk(k.ID, depth+1)
			}
		}
		walk(c.ID, 1)
		out = append(out, ec)
	}
	return out
}

// author is the name a comment shows, as the clients show it.
func author(c store.Comment) string {
	if c.UsernameIfNull != "" {
		return c.UsernameIfNull
	}
	return deref(c.UserID)
}

// attachDrawings reads the drawing of each top-level comment that has
// one. A drawing that cannot be read is left out and logged: the report
// is still worth having.
func (h *Handler) attachDrawings(ctx context.Context, mediaID string, rows []store.Comment, cs []export.Comment) {
	names := map[int64]string{}
	for _, r := range rows {
		if r.Drawing != nil && mediadir.IsDrawingName(*r.Drawing) {
			names[r.ID] = *r.Drawing
		}
	}
	// Drawings are named by content: one read (and one encoding in the
	// report) per name.
	read := map[string][]byte{}
	for i := range cs {
		name, ok := names[cs[i].ID]
		if !ok {
			continue
		}
		b, seen := read[name]
		if !seen {
			var err error
			if b, err = h.Drawings.ReadDrawing(ctx, mediaID, name); err != nil {
				h.log().Warn("Comment export: drawing left out", "media_file_id", mediaID, "comment_id", cs[i].ID, "err", err)
			}
			read[name] = b
		}
		cs[i].Drawing = b
	}
}

// frames returns the JPEG of the frame under each timed comment, making
// the missing ones with ffmpeg (kept for next time). Failures leave
// frames out; the report shows a placeholder.
func (h *Handler) frames(ctx context.Context, m store.MediaFile, media export.Media, cs []export.Comment) map[int64][]byte {
	if !media.HasVideo || h.Stills == nil {
		return nil
	}
	// Playable also checks that the id can name a directory.
	src, err := h.Layout.Playable(m.ID, deref(m.OrigFilename))
	if err != nil && h.Source != nil && mediadir.ValidID(m.ID) {
		src, err = h.Source(ctx, m)
	}
	if err != nil {
		h.log().Warn("Comment export: frame images left out", "media_file_id", m.ID, "err", err)
		return nil
	}
	dir := h.Layout.Stills(m.ID)
	var want, missing []int64
	seen := map[int64]bool{}
	for _, c := range cs {
		if c.Frame == nil || seen[*c.Frame] {
			continue
		}
		seen[*c.Frame] = true
		want = append(want, *c.Frame)
		if _, err := os.Stat(filepath.Join(dir, stillName(*c.Frame))); err != nil && !h.isUnmade(m.ID, *c.Frame) {
			missing = append(missing, *c.Frame)
		}
	}
	if len(missing) > 0 {
		if err := h.makeStills(ctx, src, media, dir, missing); err != nil {
			h.log().Warn("Comment export: frame images left out", "media_file_id", m.ID, "err", err)
		}
		if ctx.Err() == nil {
			for _, f := range missing {
				if _, err := os.Stat(filepath.Join(dir, stillName(f))); err != nil {
					h.setUnmade(m.ID, f)
				}
			}
		}
	}
	out := make(map[int64][]byte, len(want))
	for _, f := range want {
		if b, err := os.ReadFile(filepath.Join(dir, stillName(f))); err == nil {
			out[f] = b
		}
	}
	return out
}

func (h *Handler) isUnmade(mediaID string, frame int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.unmade[mediaID+"/"+strconv.FormatInt(frame, 10)]
}

func (h *Handler) setUnmade(mediaID string, frame int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.unmade == nil || len(h.unmade) >= maxUnmade {
		h.unmade = map[string]bool{}
	}
	h.unmade[mediaID+"/"+strconv.FormatInt(frame, 10)] = true
}

func (h *Handler) makeStills(ctx context.Context, src string, media export.Media, dir string, frames []int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("frame images of %s: %w", media.ID, err)
	}
	select {
	case h.stillsSlots <- struct{}{}:
		defer func() { <-h.stillsSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Stills.Stills(ctx, src, media.Rate.FPS(), frames, dir)
}

func stillName(frame int64) string { return strconv.FormatInt(frame, 10) + ".jpg" }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
