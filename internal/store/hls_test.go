package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHLSLadderRow(t *testing.T) { eachBackend(t, testHLSLadderRow) }

func testHLSLadderRow(t *testing.T, b backend) {
	db, media := newTestDB(t, b)
	ctx := context.Background()
	id := media[0].ID
	if _, err := db.GetHLSLadder(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no ladder yet: %v", err)
	}
	done := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, r := range []string{`[{"name":"720p"}]`, `[{"name":"1080p"},{"name":"720p"}]`} {
		if err := db.SetHLSLadder(ctx, HLSLadder{MediaFileID: id, Renditions: r, Done: done}); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetHLSLadder(ctx, id)
		if err != nil || got.Renditions != r || !got.Done.Equal(done) {
			t.Errorf("got %+v, %v; want %s", got, err, r)
		}
	}
	if err := db.SetHLSLadder(ctx, HLSLadder{MediaFileID: "nope", Renditions: "[]", Done: done}); err == nil {
		t.Error("a ladder for a missing media file was recorded")
	}
	// Deleting the media file (Clapshot does it with the same foreign keys)
	// deletes the row.
	if err := db.DeleteMediaFile(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetHLSLadder(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("ladder row outlived its media file: %v", err)
	}
}
