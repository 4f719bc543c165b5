package mediadir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

func ptr[T any](v T) *T { return &v }

func openDB(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(dir, "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTrashWritesBackupAndMoves(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := Layout{DataDir: dir}
	db := openDB(t, dir)
	added := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	done := time.Date(2024, 5, 1, 12, 0, 3, 250_000_000, time.UTC)
	m := store.MediaFile{ID: "abcd1234", UserID: "alice", AddedTime: added, RecompressionDone: &done,
		OrigFilename: ptr("clip <1>.mov"), Title: ptr("clip"), TotalFrames: ptr(int64(50)), Duration: ptr(2.0),
		FPS: ptr("25.000"), RawMetadataAll: ptr(`{"streams":[]}`), MediaType: ptr("video"), HasThumbnail: ptr(true),
		ThumbSheetCols: ptr(int64(10)), ThumbSheetRows: ptr(int64(10))}
	if err := db.UpsertUser(ctx, "alice", "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertMediaFile(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertJob(ctx, store.Job{Kind: "thumbs", MediaFileID: ptr("abcd1234"), UserID: "alice", Spec: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(l.OrigDir(m.ID), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(l.OrigDir(m.ID), "clip <1>.mov"), []byte("x"), 0o644)

	now := time.Date(2026, 11, 21, 10, 11, 12, 0, time.FixedZone("X", 3600))
	res, err := Trash(ctx, db, l, m.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(l.Trash(), "abcd1234_20261121-091112"); res.Dir != want || len(res.Warnings) != 0 {
		t.Fatalf("result %+v, want dir %s", res, want)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "orig", "clip <1>.mov")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(l.MediaDir(m.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Error("media dir still there")
	}
	if _, err := db.GetMediaFile(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Error("row not deleted")
	}
	if jobs, _ := db.ListJobsForMedia(ctx, m.ID); len(jobs) != 0 {
		t.Error("jobs must cascade")
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, BackupFile))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "id": "abcd1234",
  "user_id": "alice",
  "media_type": "video",
  "added_time": 1714564800,
  "recompression_done": "2024-05-01T12:00:03.250",
  "thumbs_done": null,
  "has_thumbnail": true,
  "thumb_sheet_cols": 10,
  "thumb_sheet_rows": 10,
  "orig_filename": "clip <1>.mov",
  "title": "clip",
  "total_frames": 50,
  "duration": 2.0,
  "fps": "25.000",
  "raw_metadata_all": "{\"streams\":[]}",
  "default_subtitle_id": null
}`
	if string(b) != want {
		t.Errorf("db_backup.json:\n%s\nwant\n%s", b, want)
	}
	var parsed map[string]any
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Error(err)
	}
	if d := res.Details(); d != "Added by 'alice' on 2024-05-01 12:00:00. Filename was clip <1>.mov." {
		t.Errorf("details %q", d)
	}

	// Through the adapter the websocket API uses: gone now.
	if w, err := (&Trasher{DB: db, Layout: l}).TrashMediaFile(ctx, m.ID); !errors.Is(err, store.ErrNotFound) || w != nil {
		t.Errorf("adapter on a deleted file: %v %v", w, err)
	}
	// Again: gone. A path-like id is refused outright.
	if _, err := Trash(ctx, db, l, m.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second trash: %v", err)
	}
	if _, err := Trash(ctx, db, l, "../x", now); err == nil {
		t.Error("a path as id must be refused")
	}

	// A row whose directory is missing is still deleted, with warnings.
	m.ID = "00000001"
	db.InsertMediaFile(ctx, m)
	res, err = Trash(ctx, db, l, m.ID, now)
	if err != nil || len(res.Warnings) != 2 || !strings.Contains(res.Details(), "WARNING: Move to trash failed") {
		t.Errorf("missing dir: %v %+v", err, res)
	}
}

func TestRejectNeverLosesAFile(t *testing.T) {
	dir := t.TempDir()
	l := Layout{DataDir: dir}
	write := func(sub, content string) string {
		p := filepath.Join(dir, "upload", sub, "clip.mp4")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	first, err := Reject(l, write("a", "one"), "")
	if err != nil || first != filepath.Join(l.Rejected(), "clip.mp4") {
		t.Fatalf("%s %v", first, err)
	}
	// Same name, other content: a subdirectory named by the media id.
	second, err := Reject(l, write("b", "two"), "abcd1234")
	if err != nil || second != filepath.Join(l.Rejected(), "abcd1234", "clip.mp4") {
		t.Fatalf("%s %v", second, err)
	}
	// Same name, same id, other content again: a random subdirectory.
	third, err := Reject(l, write("c", "three"), "abcd1234")
	if err != nil || filepath.Dir(third) == filepath.Dir(second) || filepath.Dir(filepath.Dir(third)) != l.Rejected() {
		t.Fatalf("%s %v", third, err)
	}
	// Identical content: the copy is redundant.
	src := write("d", "one")
	if got, err := Reject(l, src, ""); err != nil || got != first {
		t.Fatalf("%s %v", got, err)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Error("identical copy not removed")
	}
	for p, want := range map[string]string{first: "one", second: "two", third: "three"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s holds %q, want %q", p, b, want)
		}
	}
}

func TestPurgeTrash(t *testing.T) {
	dir := t.TempDir()
	l := Layout{DataDir: dir}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, n := range []string{"aaaaaaaa_20261001-000000", "bbbbbbbb_20261120-000000", "cccccccc_20261001-000000-2"} {
		os.MkdirAll(filepath.Join(l.Trash(), n, "orig"), 0o755)
	}
	removed, err := PurgeTrash(l, 30*24*time.Hour, now)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(l.Trash(), "bbbbbbbb_20261120-000000")); err != nil {
		t.Error("recent trash removed")
	}
}
