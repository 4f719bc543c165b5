// Package render produces the review API's two large messages, a user's
// home page (showPage of every media file) and a media file's comments
// (addComments, drawings inlined as data URLs), as the JSON the client
// reads, quickly and from caches that follow the database's change
// counters. It also holds the built-in page's content: the folder listing
// and the rename and trash actions.
package render

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Source is what the messages are built from: the listings, and the
// change counters that tell when to build them again (review.Store has
// it; the SQLite store implements it).
type Source interface {
	ReadChangeCounters(ctx context.Context) (store.ChangeCounters, error)
	// MediaChangedSince lists the media files written since change n.
	MediaChangedSince(ctx context.Context, n int64) ([]string, error)
	ListMediaFilesByUserBrief(ctx context.Context, userID string, p store.Page) ([]store.MediaFile, error)
	GetMediaFilesBrief(ctx context.Context, ids []string) ([]store.MediaFile, error)
	ListSubtitlesOfUsersMedia(ctx context.Context, userID string) (map[string][]store.Subtitle, error)
	ListSubtitlesOfMedia(ctx context.Context, ids []string) (map[string][]store.Subtitle, error)
	ListCommentsByMediaFile(ctx context.Context, mediaFileID string, p store.Page) ([]store.Comment, error)
	// StackInfos and StackInfosOfUser say how media files stand in their
	// version stacks: a page shows each stack once.
	StackInfos(ctx context.Context, ids []string) (map[string]store.StackInfo, error)
	StackInfosOfUser(ctx context.Context, userID string) (map[string]store.StackInfo, error)
}

// Drawings reads stored drawings (mediadir.Dir).
type Drawings interface {
	ReadDrawing(ctx context.Context, mediaID, name string) ([]byte, error)
}

// Renderer builds the messages and owns their caches. Its methods may be
// called from any goroutine.
type Renderer struct {
	db    Source
	media Drawings
	urls  mediadir.URLs
	log   *slog.Logger

	json         *jsonCache
	drawings     *drawingCache
	pages        *userPages   // each user's built-in page
	commentLists *renderCache // media file id -> rendered addComments
}

// New makes a renderer over db, reading drawings from media; media URLs
// are made with urls.
func New(db Source, media Drawings, urls mediadir.URLs, log *slog.Logger) *Renderer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Renderer{
		db: db, media: media, urls: urls, log: log,
		json:         newJSONCache(64 << 20),
		drawings:     &drawingCache{m: map[string]string{}, max: 128 << 20},
		pages:        newUserPages(128 << 20),
		commentLists: newRenderCache(128 << 20),
	}
}

var jsonOut = protojson.MarshalOptions{}

var emptyAddComments, _ = jsonOut.Marshal(&pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_AddComments_{
	AddComments: &pb.ServerToClientCmd_AddComments{}}})

// AddComments is the addComments message of comments just written, with
// their drawings inlined.
func (r *Renderer) AddComments(ctx context.Context, rows ...store.Comment) []byte {
	return r.encodeAddComments(r.withDrawings(ctx, rows))
}

func (r *Renderer) commentsWithDrawings(ctx context.Context, mediaFileID string) ([]*pb.Comment, error) {
	rows, err := r.db.ListCommentsByMediaFile(ctx, mediaFileID, store.All)
	if err != nil {
		return nil, err
	}
	return r.withDrawings(ctx, rows), nil
}

// withDrawings converts comment rows, with their drawings inlined.
func (r *Renderer) withDrawings(ctx context.Context, rows []store.Comment) []*pb.Comment {
	out := make([]*pb.Comment, len(rows))
	for i, c := range rows {
		out[i] = pbconv.Comment(c)
	}
	r.inlineDrawings(ctx, out)
	return out
}
