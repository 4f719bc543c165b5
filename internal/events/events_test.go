package events

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
)

type recorder struct {
	mu     sync.Mutex
	got    []Message
	online bool
}

func (r *recorder) Deliver(_ context.Context, m Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	return r.online
}

func TestBusPersistsWithClapshotRules(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bus := NewBus(db, slog.New(slog.DiscardHandler))

	// No deliverer yet: persisted kinds are stored unseen, for a user who
	// has no row yet.
	bus.Publish(ctx, Message{Kind: OK, UserID: "newcomer", MediaFileID: "abcd1234", Text: "Media added."})
	bus.Publish(ctx, Message{Kind: Progress, UserID: "newcomer", MediaFileID: "abcd1234", Text: "Transcoding... 5%"})

	rec := &recorder{online: true}
	bus.SetDeliverer(rec)
	bus.Publish(ctx, Message{Kind: Error, UserID: "newcomer", Text: "failed", Details: "why"})
	bus.Publish(ctx, Message{Kind: MediaFileAdded, UserID: "newcomer", MediaFileID: "abcd1234"})
	bus.Publish(ctx, Message{Kind: MediaFileUpdated, MediaFileID: "abcd1234", Text: "thumbs"})

	msgs, err := db.ListMessagesByUser(ctx, "newcomer", store.All)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("stored %d messages, want 2 (OK and ERROR): %+v", len(msgs), msgs)
	}
	byName := map[string]store.Message{}
	for _, m := range msgs {
		byName[m.EventName] = m
	}
	if m := byName["ok"]; m.Seen || m.MediaFileID == nil || *m.MediaFileID != "abcd1234" {
		t.Errorf("ok message: %+v", m)
	}
	if m := byName["error"]; !m.Seen || m.Details != "why" {
		t.Errorf("error message delivered to an online user must be seen: %+v", m)
	}
	if len(rec.got) != 3 {
		t.Errorf("delivered %d, want 3", len(rec.got))
	}
	for _, name := range []string{"ok", "error", "progress", "media_file_updated", "media_file_added", "video_updated"} {
		k := KindFromEventName(name)
		if name != "video_updated" && k.EventName() != name {
			t.Errorf("%s round trip gives %s", name, k.EventName())
		}
	}
	if KindFromEventName("video_updated") != OK {
		t.Error("legacy names must read as OK")
	}
}
