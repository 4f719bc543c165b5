package render

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The built-in page, brought up to date from the rows written since (by
// this server or anyone else with the database), is always the page a
// full read would give, encoded as protojson would encode it.
func TestUserPageFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range []string{"alice", "bob"} {
		if err := db.EnsureUser(ctx, u, ""); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(i int, owner string) {
		t.Helper()
		m := store.MediaFile{ID: fmt.Sprintf("f%07d", i), UserID: owner, AddedTime: base.Add(time.Duration(i%7) * time.Hour),
			OrigFilename: new(fmt.Sprintf("clip %d.mp4", i)), Title: new(fmt.Sprintf("Clip %d", i)), MediaType: new("video"),
			Duration: new(2.5), TotalFrames: new(int64(60)), FPS: new("24"), HasThumbnail: new(i%2 == 0)}
		if err := db.InsertMediaFile(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i++ {
		add(i, []string{"alice", "bob"}[i%2])
	}
	r := New(db, mediadir.New(t.TempDir()), mediadir.URLs{}, nil)
	check := func(step string) {
		t.Helper()
		got, err := r.HomePage(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		// What a full read gives, through protojson.
		files, _ := db.ListMediaFilesByUserBrief(ctx, "alice", store.All)
		subs, _ := db.ListSubtitlesOfUsersMedia(ctx, "alice")
		list := make([]*pb.MediaFile, len(files))
		for i, f := range files {
			list[i] = pbconv.MediaFile(f, subs[f.ID], mediadir.URLs{}, pbconv.MediaFileOptions{NoRawMetadata: true})
		}
		heading := "<h2>All your media files</h2>"
		if len(list) == 0 {
			heading = "<h2>You have no media yet.</h2>"
		}
		want := showPage([]*pb.PageItem{{Item: &pb.PageItem_Html{Html: heading}}, FolderListing(list)}, nil, new("Your Media"))
		t.Run(step, func(t *testing.T) { checkSame(t, got, want) })
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	check("first read")
	check("unchanged")
	exec("UPDATE media_files SET title = 'Renamed' WHERE id = 'f0000002'")
	check("renamed")
	exec("DELETE FROM media_files WHERE id = 'f0000004'")
	check("deleted")
	add(100, "alice")
	check("added")
	add(101, "bob")
	check("someone else's added")
	exec("UPDATE media_files SET user_id = 'bob' WHERE id = 'f0000006'")
	check("given away")
	exec("UPDATE media_files SET user_id = 'alice' WHERE id = 'f0000001'")
	check("received")
	exec("INSERT INTO subtitles (media_file_id, title, language_code, filename, orig_filename, added_time, time_offset) VALUES ('f0000008', 'en', 'en', 'a.vtt', 'a.srt', '2025-01-02 00:00:00', 0)")
	check("subtitle added")
	exec("UPDATE media_files SET default_subtitle_id = (SELECT id FROM subtitles LIMIT 1) WHERE id = 'f0000008'")
	exec("DELETE FROM subtitles")
	check("subtitle deleted (default cleared by the foreign key)")
	exec("UPDATE media_files SET added_time = '2030-01-01 00:00:00' WHERE id = 'f0000010'")
	check("moved to the top")
	exec("UPDATE media_files SET id = 'g0000012' WHERE id = 'f0000012'")
	check("id changed")
	exec("DELETE FROM media_files WHERE user_id = 'alice'")
	check("all gone")
	add(200, "alice")
	check("one again")
	// Many changes at once: read again in full.
	err = db.InTx(ctx, func(q *store.Queries) error {
		for i := 300; i < 300+fullReload+5; i++ {
			m := store.MediaFile{ID: fmt.Sprintf("h%07d", i), UserID: "alice", OrigFilename: new("x.mp4"), Title: new("x"), MediaType: new("video")}
			if err := q.InsertMediaFile(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("more changes than fullReload")
}
