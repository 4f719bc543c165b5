package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// Version stacks: numbering, the version standing for the stack (newest
// ready, so a failed version keeps the last good one), deleting a middle
// version, listings with one file per stack, and the change records that
// keep cached pages right.
func TestVersionStacks(t *testing.T) { eachBackend(t, testVersionStacks) }

func testVersionStacks(t *testing.T, b backend) {
	db, media := newTestDB(t, b)
	ctx := context.Background()
	// media[0] B1DE0, [2] 22222, [4] B1DE4 are user.num1's.
	v1, v2, v3 := media[0].ID, media[2].ID, media[4].ID
	if _, err := db.GetVersion(ctx, v1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a plain media file is in no stack: %v", err)
	}
	stackOf := func(id string) StackInfo {
		t.Helper()
		infos, err := db.StackInfos(ctx, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		return infos[id]
	}
	before, _ := db.ReadChangeCounters(ctx)
	got, err := db.AddVersion(ctx, v1, v2, VersionProcessing)
	if err != nil || got.StackID != v1 || got.Version != 2 || got.State != VersionProcessing {
		t.Fatalf("AddVersion: %+v %v", got, err)
	}
	if s := stackOf(v1); s != (StackInfo{StackID: v1, Version: 1, Count: 2, Head: v1}) {
		t.Errorf("while v2 is processing, v1 stands for the stack: %+v", s)
	}
	changed, _ := db.MediaChangedSince(ctx, before.Media)
	if !slices.Contains(changed, v1) || !slices.Contains(changed, v2) {
		t.Errorf("both versions must count as changed: %v", changed)
	}
	if err := db.SetVersionState(ctx, v2, VersionReady); err != nil {
		t.Fatal(err)
	}
	if s := stackOf(v1); s.Head != v2 {
		t.Errorf("a ready v2 stands for the stack: %+v", s)
	}
	if _, err := db.AddVersion(ctx, v2, v3, VersionFailed); err != nil {
		t.Fatal(err)
	}
	if s := stackOf(v3); s != (StackInfo{StackID: v1, Version: 3, Count: 3, Head: v2}) {
		t.Errorf("a failed v3 keeps v2 standing for the stack: %+v", s)
	}
	if _, err := db.AddVersion(ctx, v1, v3, VersionReady); !errors.Is(err, ErrInStack) {
		t.Errorf("a version added twice: %v", err)
	}
	heads, _ := db.ListStackHeadsByUser(ctx, "user.num1", All)
	if ids := mediaIDs(heads); !slices.Equal(ids, []string{v2}) {
		t.Errorf("user.num1's listing: %v, want the stack once, as %s", ids, v2)
	}
	all, _ := db.ListStackHeads(ctx, All)
	if len(all) != len(media)-2 {
		t.Errorf("all media: %d files, want %d", len(all), len(media)-2)
	}

	// Deleting the middle version: the others stay, numbers are kept, the
	// newest ready one (v1 now) stands for the stack.
	if err := db.DeleteMediaFile(ctx, v2); err != nil {
		t.Fatal(err)
	}
	stack, _ := db.VersionStack(ctx, v3)
	if len(stack) != 2 || stack[0].MediaFileID != v1 || stack[0].Version != 1 || stack[1].MediaFileID != v3 || stack[1].Version != 3 {
		t.Errorf("stack after deleting v2: %+v", stack)
	}
	if s := stackOf(v3); s.Head != v1 || s.Count != 2 {
		t.Errorf("after deleting v2: %+v", s)
	}
	// A new version after that gets the next number, not a reused one.
	if err := db.SetVersionState(ctx, v3, VersionReady); err != nil {
		t.Fatal(err)
	}
	if s := stackOf(v1); s.Head != v3 {
		t.Errorf("v3 ready: %+v", s)
	}
	// Deleting the first version: the stack goes on under its old id.
	if err := db.DeleteMediaFile(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if s := stackOf(v3); s != (StackInfo{StackID: v1, Version: 3, Count: 1, Head: v3}) {
		t.Errorf("after deleting v1: %+v", s)
	}
	if err := db.SetVersionState(ctx, "nope", VersionReady); !errors.Is(err, ErrNotFound) {
		t.Errorf("state of a file in no stack: %v", err)
	}
}

func mediaIDs(ms []MediaFile) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
