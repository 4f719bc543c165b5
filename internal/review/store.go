package review

import (
	"context"

	"github.com/clapshot-go/clapshot/internal/review/render"
	"github.com/clapshot-go/clapshot/internal/store"
)

// Store is the database as the websocket API uses it. The SQLite store
// implements it (store.Bind[Queries]); a second backend implements the
// same interfaces and no handler changes.
type Store interface {
	Queries
	// InTx runs fn in one transaction, committed if it returns nil.
	InTx(ctx context.Context, fn func(q Queries) error) error
}

// Queries are the statements the commands run, alone or in a
// transaction.
type Queries interface {
	MediaFiles
	Versions
	Comments
	Subtitles
	Messages
	Users
	Listings
	GuestComments
}

// GuestComments record which guest of a share link wrote a comment
// (comments.user_id stays NULL for guests).
type GuestComments interface {
	InsertShareComment(ctx context.Context, c store.ShareComment) error
	// GetShareComment is store.ErrNotFound for a comment no guest wrote.
	GetShareComment(ctx context.Context, commentID int64) (store.ShareComment, error)
}

// MediaFiles are the media file rows commands read and rename.
type MediaFiles interface {
	// GetMediaFile is store.ErrNotFound for a missing id, as are all the
	// single-row calls here.
	GetMediaFile(ctx context.Context, id string) (store.MediaFile, error)
	RenameMediaFile(ctx context.Context, id, title string) error
	// GetHLSLadder is the media file's adaptive ladder, if it has one.
	GetHLSLadder(ctx context.Context, mediaFileID string) (store.HLSLadder, error)
}

// Versions are the version stacks (media_versions).
type Versions interface {
	AddVersion(ctx context.Context, targetID, newID, state string) (store.Version, error)
	VersionStack(ctx context.Context, mediaFileID string) ([]store.Version, error)
	StackInfos(ctx context.Context, ids []string) (map[string]store.StackInfo, error)
}

// Comments are a media file's comments.
type Comments interface {
	GetComment(ctx context.Context, id int64) (store.Comment, error)
	InsertComment(ctx context.Context, c store.Comment) (store.Comment, error)
	EditComment(ctx context.Context, id int64, text string) error
	CountReplies(ctx context.Context, id int64) (int, error)
	DeleteComment(ctx context.Context, id int64) error
}

// Subtitles are a media file's subtitle rows (the files are mediadir's).
type Subtitles interface {
	GetSubtitle(ctx context.Context, id int64) (store.Subtitle, error)
	InsertSubtitle(ctx context.Context, s store.Subtitle) (store.Subtitle, error)
	UpdateSubtitle(ctx context.Context, s store.Subtitle) error
	DeleteSubtitle(ctx context.Context, id int64) error
	ListSubtitlesByMediaFile(ctx context.Context, mediaFileID string) ([]store.Subtitle, error)
	// SetDefaultSubtitle sets (nil: clears) a media file's default.
	SetDefaultSubtitle(ctx context.Context, mediaFileID string, subtitleID *int64) error
}

// Messages are users' stored messages.
type Messages interface {
	InsertMessage(ctx context.Context, m store.Message) (store.Message, error)
	ListMessagesByUser(ctx context.Context, userID string, p store.Page) ([]store.Message, error)
	SetMessageSeen(ctx context.Context, id int64, seen bool) error
}

// Users records who connects.
type Users interface {
	// UpsertUser adds or renames a user.
	UpsertUser(ctx context.Context, id, name string) error
}

// Listings are what the cached home pages and comment lists are built
// from (render.Source).
type Listings = render.Source
