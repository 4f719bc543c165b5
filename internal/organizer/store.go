package organizer

import (
	"context"

	"github.com/clapshot-go/clapshot/internal/store"
)

// Store is the database as the plugin's Db* calls see it: every row kind
// of Clapshot's API, read, written and deleted. The SQLite store
// implements it (store.Bind[Queries]); so can a second backend.
type Store interface {
	Queries
	// InTx runs fn in one transaction, committed if it returns nil.
	InTx(ctx context.Context, fn func(q Queries) error) error
}

// Queries are the statements of the Db* calls, alone or in a transaction.
// Single-row calls give store.ErrNotFound for a missing id.
type Queries interface {
	MediaFiles
	Comments
	Messages
	Subtitles
}

// MediaFiles are media file rows.
type MediaFiles interface {
	InsertMediaFile(ctx context.Context, m store.MediaFile) error
	UpdateMediaFile(ctx context.Context, m store.MediaFile) error
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	GetMediaFiles(ctx context.Context, ids []string) ([]store.MediaFile, error)
	ListMediaFiles(ctx context.Context, p store.Page) ([]store.MediaFile, error)
	ListMediaFilesByUser(ctx context.Context, userID string, p store.Page) ([]store.MediaFile, error)
	DeleteMediaFile(ctx context.Context, id string) error
	// ListStackHeads and ListStackHeadsByUser list each version stack as
	// one media file (the version standing for it); StackInfos says where
	// files stand in their stacks.
	ListStackHeads(ctx context.Context, p store.Page) ([]store.MediaFile, error)
	ListStackHeadsByUser(ctx context.Context, userID string, p store.Page) ([]store.MediaFile, error)
	StackInfos(ctx context.Context, ids []string) (map[string]store.StackInfo, error)
}

// Comments are comment rows.
type Comments interface {
	InsertComment(ctx context.Context, c store.Comment) (store.Comment, error)
	UpdateComment(ctx context.Context, c store.Comment) error
	GetComment(ctx context.Context, id int64) (store.Comment, error)
	GetComments(ctx context.Context, ids []int64) ([]store.Comment, error)
	ListComments(ctx context.Context, p store.Page) ([]store.Comment, error)
	ListCommentsByMediaFile(ctx context.Context, mediaFileID string, p store.Page) ([]store.Comment, error)
	ListCommentsByUser(ctx context.Context, userID string, p store.Page) ([]store.Comment, error)
	DeleteComment(ctx context.Context, id int64) error
}

// Messages are users' stored messages.
type Messages interface {
	InsertMessage(ctx context.Context, m store.Message) (store.Message, error)
	UpdateMessage(ctx context.Context, m store.Message) error
	GetMessage(ctx context.Context, id int64) (store.Message, error)
	GetMessages(ctx context.Context, ids []int64) ([]store.Message, error)
	ListMessages(ctx context.Context, p store.Page) ([]store.Message, error)
	ListMessagesByUser(ctx context.Context, userID string, p store.Page) ([]store.Message, error)
	ListMessagesByMediaFile(ctx context.Context, mediaFileID string, p store.Page) ([]store.Message, error)
	ListMessagesByComment(ctx context.Context, commentID int64, p store.Page) ([]store.Message, error)
	DeleteMessage(ctx context.Context, id int64) error
}

// Subtitles are subtitle rows.
type Subtitles interface {
	InsertSubtitle(ctx context.Context, s store.Subtitle) (store.Subtitle, error)
	UpdateSubtitle(ctx context.Context, s store.Subtitle) error
	GetSubtitle(ctx context.Context, id int64) (store.Subtitle, error)
	ListSubtitlesByMediaFiles(ctx context.Context, mediaFileIDs []string) (map[string][]store.Subtitle, error)
	DeleteSubtitle(ctx context.Context, id int64) error
}
