// Package orgtest runs an organizer plugin's own tests (list_tests and
// run_test of the plugin API) the way Clapshot's test suite does: every
// test gets a fresh data directory, a database seeded with Clapshot's test
// fixture, and its own server with the plugin started by --org-cmd.
package orgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

// Fixture media file ids, as in Clapshot's make_test_db.
var FixtureMediaIDs = []string{"B1DE0", "11111", "22222", "B1DE3", "B1DE4"}

// SeedFixture creates dataDir's database (all server migrations) with the
// data of Clapshot's make_test_db (server/src/database/tests.rs):
//   - five video files, owned alternately by user.num1 and user.num2, named
//     test<i>.mp4, transcoded and thumbnailed at the epoch, with an i x i
//     thumbnail sheet, i*1000 frames, i*100 seconds at "i*i" fps;
//   - comments 1-5 on files 0, 1, 2, 0, 1 by the same alternating users,
//     each with a drawing file containing IMAGE_DATA; two replies to the
//     first comment; one more comment on the first file with drawing "".
func SeedFixture(ctx context.Context, dataDir string) error {
	return SeedFixtureIn(ctx, dataDir, "")
}

// SeedFixtureIn is SeedFixture with the database in PostgreSQL at dbURL
// (an empty database; "" is dataDir's SQLite file). The media
// directories are made in dataDir all the same.
func SeedFixtureIn(ctx context.Context, dataDir, dbURL string) error {
	for _, sub := range []string{"incoming", "videos"} {
		if err := os.MkdirAll(filepath.Join(dataDir, sub), 0o755); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(dataDir, "clapshot.sqlite"), URL: dbURL})
	if err != nil {
		return err
	}
	defer db.Close()
	user := func(i int) (id, name string) {
		n := 1 + i%2
		return fmt.Sprintf("user.num%d", n), fmt.Sprintf("User Number%d", n)
	}
	for i := range 2 {
		id, name := user(i)
		if err := db.UpsertUser(ctx, id, name); err != nil {
			return err
		}
	}
	epoch := time.Unix(0, 0).UTC()
	for i, id := range FixtureMediaIDs {
		// The media directories (Clapshot's fixture has only those with
		// drawings), so that trashing a fixture file moves something.
		if err := os.MkdirAll(filepath.Join(dataDir, "videos", id), 0o755); err != nil {
			return err
		}
		owner, _ := user(i)
		name := fmt.Sprintf("test%d.mp4", i)
		n := int64(i)
		if err := db.InsertMediaFile(ctx, store.MediaFile{
			ID: id, UserID: owner, OrigFilename: &name, Title: &name, MediaType: new("video"),
			RecompressionDone: &epoch, ThumbsDone: &epoch, HasThumbnail: new(true),
			ThumbSheetCols: &n, ThumbSheetRows: &n,
			TotalFrames: new(n * 1000), Duration: new(float64(n * 100)), FPS: new(strconv.Itoa(i * i)),
		}); err != nil {
			return err
		}
	}
	comment := func(mediaID string, i int, parent *int64, drawing *string) (store.Comment, error) {
		uid, uname := user(i)
		return db.InsertComment(ctx, store.Comment{
			MediaFileID: mediaID, UserID: &uid, UsernameIfNull: uname,
			Comment: fmt.Sprintf("Comment %d", i), Timecode: new("00:00:01.00"), ParentID: parent, Drawing: drawing,
		})
	}
	var first store.Comment
	for i := range 5 {
		mediaID := FixtureMediaIDs[i%3]
		drawing := fmt.Sprintf("drawing_%d.webp", i)
		dir := filepath.Join(dataDir, "videos", mediaID, "drawings")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, drawing), []byte("IMAGE_DATA"), 0o644); err != nil {
			return err
		}
		c, err := comment(mediaID, i, nil, &drawing)
		if err != nil {
			return err
		}
		if i == 0 {
			first = c
		}
	}
	for i := 5; i < 7; i++ {
		if _, err := comment(first.MediaFileID, i, &first.ID, nil); err != nil {
			return err
		}
	}
	_, err = comment(FixtureMediaIDs[0], 7, nil, new(""))
	return err
}
