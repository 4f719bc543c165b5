package review_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/clapshot-go/clapshot/internal/review"
	"github.com/clapshot-go/clapshot/internal/store"
)

// observedStore is a second Store: the SQLite one behind a layer that
// counts the calls made to it, as a backend of our own would see them.
type observedStore struct {
	review.Store
	mu    sync.Mutex
	calls map[string]int
}

func (o *observedStore) seen(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls[name]++
}

func (o *observedStore) count(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[name]
}

func (o *observedStore) InsertComment(ctx context.Context, c store.Comment) (store.Comment, error) {
	o.seen("InsertComment")
	return o.Store.InsertComment(ctx, c)
}

func (o *observedStore) GetMediaFile(ctx context.Context, id string) (store.MediaFile, error) {
	o.seen("GetMediaFile")
	return o.Store.GetMediaFile(ctx, id)
}

func (o *observedStore) InTx(ctx context.Context, fn func(review.Queries) error) error {
	o.seen("InTx")
	return o.Store.InTx(ctx, fn)
}

// The websocket API reaches the database only through review.Store: with
// another implementation plugged in, a comment goes to it and back to
// every viewer, and a deletion runs in its transaction.
func TestCommandsUseTheStoreInterface(t *testing.T) {
	srv := startServer(t)
	srv.addMedia("aaaa0001", "alice", "video")
	obs := &observedStore{Store: store.Bind[review.Queries](srv.app.DB), calls: map[string]int{}}
	s := srv.bareHub(review.Options{DB: obs})
	alice, bob := s.dial("alice"), s.dial("bob")
	alice.openMedia("aaaa0001")
	bob.openMedia("aaaa0001")
	alice.send("addComment", map[string]any{"mediaFileId": "aaaa0001", "comment": "through the interface"})
	for _, c := range []*client{alice, bob} {
		got := c.expect("addComments").GetAddComments().GetComments()
		if len(got) != 1 || got[0].GetComment() != "through the interface" {
			t.Fatalf("%s got %v", c.name, got)
		}
	}
	if n := obs.count("InsertComment"); n != 1 {
		t.Errorf("InsertComment seen %d times", n)
	}
	if n := obs.count("GetMediaFile"); n < 3 {
		t.Errorf("GetMediaFile seen %d times (two opens, one comment)", n)
	}
	rows, err := srv.app.DB.ListCommentsByMediaFile(context.Background(), "aaaa0001", store.All)
	if err != nil || len(rows) != 1 {
		t.Fatalf("stored: %v %v", rows, err)
	}
	alice.send("delComment", map[string]any{"commentId": fmt.Sprint(rows[0].ID)})
	alice.expect("delComment")
	bob.expect("delComment")
	if n := obs.count("InTx"); n != 1 {
		t.Errorf("InTx seen %d times", n)
	}
}
