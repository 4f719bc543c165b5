// Package events carries user notifications (Clapshot's UserMessage) from
// the subsystems that produce them, such as the media pipeline, to the
// subsystem that delivers them live (websocket sessions), and persists them
// with Clapshot's rules.
//
// Producers depend only on Publisher. The delivery layer registers itself
// on the Bus with SetDeliverer; until one is registered, messages are still
// persisted (as unseen) so nothing is lost.
package events

import (
	"context"
	"log/slog"
	"sync"

	"github.com/clapshot-go/clapshot/internal/store"
)

// Kind is the message type. The values equal the protobuf enum
// clapshot.common.UserMessage.Type.
type Kind int

const (
	OK Kind = iota
	Error
	Progress
	MediaFileUpdated
	MediaFileAdded
)

// EventName is how the kind is stored in messages.event_name.
func (k Kind) EventName() string {
	switch k {
	case Error:
		return store.EventError
	case Progress:
		return store.EventProgress
	case MediaFileUpdated:
		return store.EventMediaFileUpdated
	case MediaFileAdded:
		return store.EventMediaFileAdded
	}
	return store.EventOK
}

// KindFromEventName maps a stored event name back; unknown and legacy
// names (e.g. "video_updated" in old databases) read as OK, as in Clapshot.
func KindFromEventName(name string) Kind {
	switch name {
	case store.EventError:
		return Error
	case store.EventProgress:
		return Progress
	case store.EventMediaFileUpdated:
		return MediaFileUpdated
	case store.EventMediaFileAdded:
		return MediaFileAdded
	}
	return OK
}

// Persisted reports whether a message of this kind from the media pipeline
// is saved to the messages table (Clapshot: everything but progress and
// added/updated notifications).
func (k Kind) Persisted() bool {
	return k != Progress && k != MediaFileAdded && k != MediaFileUpdated
}

// Message is one notification.
type Message struct {
	Kind Kind
	// UserID receives the message on all of their sessions; "" for none.
	UserID string
	// MediaFileID, if set, also sends the message to every session
	// watching that media file (unless Personal), and is stored as the
	// message's reference.
	MediaFileID string
	// Personal messages (a notification meant for one user) go to the
	// user's sessions only, never to the media file's other watchers.
	Personal   bool
	CommentID  *int64
	SubtitleID *int64
	Text       string
	Details    string
	// Progress is 0..1 for progress reports.
	Progress *float64
}

// Publisher is what producers use.
type Publisher interface {
	Publish(ctx context.Context, m Message)
}

// Deliverer sends a message to connected sessions: the user's, and the
// media file's watchers. It reports whether the user had at least one
// session that received it (stored as the message's "seen").
type Deliverer interface {
	Deliver(ctx context.Context, m Message) (userReached bool)
}

// Store is where the bus keeps messages; *store.DB implements it.
type Store interface {
	// EnsureUser adds a users row unless there is one.
	EnsureUser(ctx context.Context, id, name string) error
	InsertMessage(ctx context.Context, m store.Message) (store.Message, error)
}

// Bus is the Publisher used in production.
type Bus struct {
	db  Store
	log *slog.Logger

	mu        sync.RWMutex
	deliverer Deliverer
}

// NewBus creates a bus that persists into db.
func NewBus(db Store, log *slog.Logger) *Bus {
	return &Bus{db: db, log: log}
}

// SetDeliverer registers the live delivery layer (nil to remove it).
func (b *Bus) SetDeliverer(d Deliverer) {
	b.mu.Lock()
	b.deliverer = d
	b.mu.Unlock()
}

// Publish delivers the message live and persists it if its kind is
// persisted and it has a user. A message for a user who has no users row
// yet creates the row, so it is never lost on the foreign key (Clapshot
// only logged that failure).
func (b *Bus) Publish(ctx context.Context, m Message) {
	b.mu.RLock()
	d := b.deliverer
	b.mu.RUnlock()
	reached := false
	if d != nil {
		reached = d.Deliver(ctx, m)
	}
	if m.UserID == "" || !m.Kind.Persisted() {
		return
	}
	row := store.Message{
		UserID:     m.UserID,
		Seen:       reached,
		CommentID:  m.CommentID,
		SubtitleID: m.SubtitleID,
		EventName:  m.Kind.EventName(),
		Message:    m.Text,
		Details:    m.Details,
	}
	if m.MediaFileID != "" {
		id := m.MediaFileID
		row.MediaFileID = &id
	}
	// Two statements, not a transaction: EnsureUser is idempotent, so a
	// failure between them leaves nothing to undo, and on PostgreSQL a
	// transaction takes the lock that serializes every instance's
	// transactions (store.DB.InTx), which every comment notifying its
	// file's owner would then queue on.
	err := b.db.EnsureUser(ctx, m.UserID, "")
	if err == nil {
		_, err = b.db.InsertMessage(ctx, row)
	}
	if err != nil {
		b.log.Error("Cannot save user message", "user", m.UserID, "message", m.Text, "err", err)
	}
}
