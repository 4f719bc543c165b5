package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Schema versions at which Clapshot's tables changed shape.
const (
	vSetup      = "20221004155935"
	vTitle      = "20230208153341"
	vThumbDims  = "20230209211348"
	vV056       = "20230417100000" // the last migration of Clapshot 0.5.6
	vPrimKey    = "20230418190209"
	vCascade    = "20230418190300"
	vUsers      = "20240513093800"
	vMediaType  = "20240522163000"
	vSubtitles  = "20240602173200"
	testMediaM1 = "aaaa1111"
	testMediaM2 = "bbbb2222"
)

// seedAt fills a database at schema version v with the same logical data:
// two users with media, a comment thread, and messages (one for a user who
// exists nowhere else). The SQL follows each historical schema's shape.
func seedAt(t *testing.T, db *sql.DB, v string) {
	t.Helper()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("seed at %s: %v\n%s", v, err, q)
		}
	}
	switch {
	case v < vPrimKey:
		cols, vals := "", ""
		if v >= vTitle {
			cols, vals = ", title", ", 'Clip one'"
		}
		if v >= vThumbDims {
			cols, vals = cols+", thumb_sheet_dims", vals+", '10x10'"
		}
		exec(`INSERT INTO videos (id, video_hash, added_by_userid, added_by_username, added_time, recompression_done,
			orig_filename, total_frames, duration, fps, raw_metadata_all` + cols + `) VALUES
			(1, 'aaaa1111', 'alice', 'Alice Anderson', '2023-01-02 03:04:05', '2023-01-02 03:05:00', 'one.mp4', 100, 4.0, '25', '{"a":1}'` + vals + `)`)
		if v >= vTitle {
			exec(`INSERT INTO videos (id, video_hash, added_by_userid, added_by_username, added_time, orig_filename, total_frames, duration, fps, title)
				VALUES (2, 'bbbb2222', 'bob', 'Bob Brown', '2023-02-01 00:00:00', 'two.mov', 50, 2.0, '25', 'two.mov')`)
		} else {
			exec(`INSERT INTO videos (id, video_hash, added_by_userid, added_by_username, added_time, orig_filename, total_frames, duration, fps)
				VALUES (2, 'bbbb2222', 'bob', 'Bob Brown', '2023-02-01 00:00:00', 'two.mov', 50, 2.0, '25')`)
		}
		exec(`INSERT INTO comments (id, video_hash, parent_id, created, edited, user_id, username, comment, timecode, drawing) VALUES
			(1, 'aaaa1111', NULL, '2023-01-03 00:00:00', NULL, 'alice', 'Alice Anderson', 'First!', '00:00:01:00', 'abc.webp'),
			(2, 'aaaa1111', 1, '2023-01-04 00:00:00', NULL, 'bob', 'Bob Brown', 'Reply', NULL, NULL),
			(3, 'bbbb2222', NULL, '2023-02-02 00:00:00', '2023-02-03 00:00:00', 'bob', 'Bob Brown', 'On two', '00:00:00:10', NULL)`)
		exec(`INSERT INTO messages (id, user_id, created, seen, ref_video_hash, ref_comment_id, event_name, message, details) VALUES
			(1, 'alice', '2023-01-05 00:00:00', 1, 'aaaa1111', 1, 'ok', 'Media added.', ''),
			(2, 'bob', '2023-02-05 00:00:00', 0, 'bbbb2222', NULL, 'error', 'Transcode failed', 'details x'),
			(3, 'carol', '2023-03-05 00:00:00', 0, NULL, NULL, 'video_updated', 'legacy', '')`)
	case v < vUsers:
		userCols, msgCols, nameCol := "added_by_userid, added_by_username", "ref_video_id, ref_comment_id", "username"
		if v >= vCascade {
			userCols, msgCols, nameCol = "user_id, user_name", "video_id, comment_id", "user_name"
		}
		exec(`INSERT INTO videos (id, ` + userCols + `, added_time, recompression_done, orig_filename, total_frames, duration,
			fps, raw_metadata_all, title, thumb_sheet_cols, thumb_sheet_rows) VALUES
			('aaaa1111', 'alice', 'Alice Anderson', '2023-01-02 03:04:05', '2023-01-02 03:05:00', 'one.mp4', 100, 4.0, '25', '{"a":1}', 'Clip one', 10, 10),
			('bbbb2222', 'bob', 'Bob Brown', '2023-02-01 00:00:00', NULL, 'two.mov', 50, 2.0, '25', NULL, 'two.mov', NULL, NULL)`)
		exec(`INSERT INTO comments (id, video_id, parent_id, created, edited, user_id, ` + nameCol + `, comment, timecode, drawing) VALUES
			(1, 'aaaa1111', NULL, '2023-01-03 00:00:00', NULL, 'alice', 'Alice Anderson', 'First!', '00:00:01:00', 'abc.webp'),
			(2, 'aaaa1111', 1, '2023-01-04 00:00:00', NULL, 'bob', 'Bob Brown', 'Reply', NULL, NULL),
			(3, 'bbbb2222', NULL, '2023-02-02 00:00:00', '2023-02-03 00:00:00', 'bob', 'Bob Brown', 'On two', '00:00:00:10', NULL)`)
		exec(`INSERT INTO messages (id, user_id, created, seen, ` + msgCols + `, event_name, message, details) VALUES
			(1, 'alice', '2023-01-05 00:00:00', 1, 'aaaa1111', 1, 'ok', 'Media added.', ''),
			(2, 'bob', '2023-02-05 00:00:00', 0, 'bbbb2222', NULL, 'error', 'Transcode failed', 'details x'),
			(3, 'carol', '2023-03-05 00:00:00', 0, NULL, NULL, 'video_updated', 'legacy', '')`)
	default:
		table, ref, extraCols, extraVals1, extraVals2 := "videos", "video_id", "", "", ""
		if v >= vMediaType {
			table, ref = "media_files", "media_file_id"
			extraCols = ", media_type, thumbs_done, has_thumbnail"
			extraVals1 = ", 'video', '2023-01-02 03:05:00', 1"
			extraVals2 = ", 'video', NULL, NULL"
		}
		exec(`INSERT INTO users (id, name) VALUES ('alice', 'Alice Anderson'), ('bob', 'Bob Brown'), ('carol', 'carol')`)
		exec(`INSERT INTO ` + table + ` (id, user_id, added_time, recompression_done, orig_filename, total_frames, duration,
			fps, raw_metadata_all, title, thumb_sheet_cols, thumb_sheet_rows` + extraCols + `) VALUES
			('aaaa1111', 'alice', '2023-01-02 03:04:05', '2023-01-02 03:05:00', 'one.mp4', 100, 4.0, '25', '{"a":1}', 'Clip one', 10, 10` + extraVals1 + `),
			('bbbb2222', 'bob', '2023-02-01 00:00:00', NULL, 'two.mov', 50, 2.0, '25', NULL, 'two.mov', NULL, NULL` + extraVals2 + `)`)
		exec(`INSERT INTO comments (id, ` + ref + `, parent_id, created, edited, user_id, username_ifnull, comment, timecode, drawing) VALUES
			(1, 'aaaa1111', NULL, '2023-01-03 00:00:00', NULL, 'alice', 'Alice Anderson', 'First!', '00:00:01:00', 'abc.webp'),
			(2, 'aaaa1111', 1, '2023-01-04 00:00:00', NULL, 'bob', 'Bob Brown', 'Reply', NULL, NULL),
			(3, 'bbbb2222', NULL, '2023-02-02 00:00:00', '2023-02-03 00:00:00', 'bob', 'Bob Brown', 'On two', '00:00:00:10', NULL)`)
		exec(`INSERT INTO messages (id, user_id, created, seen, ` + ref + `, comment_id, event_name, message, details) VALUES
			(1, 'alice', '2023-01-05 00:00:00', 1, 'aaaa1111', 1, 'ok', 'Media added.', ''),
			(2, 'bob', '2023-02-05 00:00:00', 0, 'bbbb2222', NULL, 'error', 'Transcode failed', 'details x'),
			(3, 'carol', '2023-03-05 00:00:00', 0, NULL, NULL, 'video_updated', 'legacy', '')`)
		if v >= vSubtitles {
			exec(`INSERT INTO subtitles (id, media_file_id, title, language_code, filename, orig_filename, added_time, time_offset)
				VALUES (1, 'aaaa1111', 'English', 'en', 'one.en.vtt', 'one.en.srt', '2023-01-06 00:00:00', -0.5)`)
			exec(`UPDATE media_files SET default_subtitle_id = 1 WHERE id = 'aaaa1111'`)
			exec(`UPDATE comments SET subtitle_id = 1 WHERE id = 1`)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func mustTime(s string) time.Time {
	t, err := parseTimeString(s)
	if err != nil {
		panic(err)
	}
	return t
}

// Databases of every historical Clapshot schema upgrade with --migrate and
// keep every row with the right values.
func TestUpgradeKeepsEveryRow(t *testing.T) {
	ctx := context.Background()
	for _, m := range migrations {
		if m.Version > vSubtitles {
			break
		}
		v := m.Version
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			p := migrateTo(t, dir, v)
			raw := openRaw(t, p)
			seedAt(t, raw, v)
			raw.Close()

			db, err := Open(ctx, OpenOptions{Path: p, Migrate: true, Log: discardLog()})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			st, err := Inspect(ctx, p)
			if err != nil || len(st.Pending) != 0 {
				t.Fatalf("still pending after migration: %v %v", st, err)
			}
			if v != migrations[len(migrations)-1].Version {
				backups, _ := filepath.Glob(filepath.Join(dir, "clapshot.backup-*.tar.gz"))
				if len(backups) != 1 {
					t.Errorf("want one backup, got %v", backups)
				}
			}

			users, err := db.ListUsers(ctx, All)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]string{}
			for _, u := range users {
				names[u.ID] = u.Name
			}
			wantNames := map[string]string{"alice": "Alice Anderson", "bob": "Bob Brown", "carol": "carol"}
			if len(names) != len(wantNames) {
				t.Errorf("users = %v, want %v", names, wantNames)
			}
			for id, n := range wantNames {
				if names[id] != n {
					t.Errorf("user %s name = %q, want %q", id, names[id], n)
				}
			}

			m1, err := db.GetMediaFile(ctx, testMediaM1)
			if err != nil {
				t.Fatal(err)
			}
			wantTitle := "Clip one"
			if v < vTitle {
				wantTitle = "one.mp4" // the title migration copies the file name
			}
			checkEq(t, "m1.user_id", m1.UserID, "alice")
			checkEq(t, "m1.title", deref(m1.Title), wantTitle)
			checkEq(t, "m1.orig_filename", deref(m1.OrigFilename), "one.mp4")
			checkEq(t, "m1.added_time", m1.AddedTime, mustTime("2023-01-02 03:04:05"))
			checkEq(t, "m1.recompression_done", deref(m1.RecompressionDone), mustTime("2023-01-02 03:05:00"))
			checkEq(t, "m1.total_frames", deref(m1.TotalFrames), int64(100))
			checkEq(t, "m1.duration", deref(m1.Duration), 4.0)
			checkEq(t, "m1.fps", deref(m1.FPS), "25")
			checkEq(t, "m1.raw_metadata_all", deref(m1.RawMetadataAll), `{"a":1}`)
			checkEq(t, "m1.media_type", deref(m1.MediaType), "video")
			if v >= vThumbDims {
				checkEq(t, "m1.thumb_sheet_cols", deref(m1.ThumbSheetCols), int64(10))
				checkEq(t, "m1.thumb_sheet_rows", deref(m1.ThumbSheetRows), int64(10))
				checkEq(t, "m1.has_thumbnail", deref(m1.HasThumbnail), true)
				checkEq(t, "m1.thumbs_done", deref(m1.ThumbsDone), mustTime("2023-01-02 03:05:00"))
			} else if m1.ThumbSheetCols != nil || m1.HasThumbnail != nil || m1.ThumbsDone != nil {
				t.Errorf("m1 has thumbnail state it never had: %+v", m1)
			}
			m2, err := db.GetMediaFile(ctx, testMediaM2)
			if err != nil {
				t.Fatal(err)
			}
			checkEq(t, "m2.user_id", m2.UserID, "bob")
			checkEq(t, "m2.title", deref(m2.Title), "two.mov")
			if m2.RecompressionDone != nil || m2.RawMetadataAll != nil {
				t.Errorf("m2 gained values: %+v", m2)
			}

			comments, err := db.ListComments(ctx, All)
			if err != nil {
				t.Fatal(err)
			}
			if len(comments) != 3 {
				t.Fatalf("comments = %d, want 3", len(comments))
			}
			byID := map[int64]Comment{}
			for _, c := range comments {
				byID[c.ID] = c
			}
			c1, c2, c3 := byID[1], byID[2], byID[3]
			checkEq(t, "c1.media", c1.MediaFileID, testMediaM1)
			checkEq(t, "c1.user", deref(c1.UserID), "alice")
			checkEq(t, "c1.username_ifnull", c1.UsernameIfNull, "Alice Anderson")
			checkEq(t, "c1.comment", c1.Comment, "First!")
			checkEq(t, "c1.timecode", deref(c1.Timecode), "00:00:01:00")
			checkEq(t, "c1.drawing", deref(c1.Drawing), "abc.webp")
			checkEq(t, "c1.created", c1.Created, mustTime("2023-01-03 00:00:00"))
			checkEq(t, "c2.parent", deref(c2.ParentID), int64(1))
			checkEq(t, "c2.user", deref(c2.UserID), "bob")
			checkEq(t, "c3.media", c3.MediaFileID, testMediaM2)
			checkEq(t, "c3.edited", deref(c3.Edited), mustTime("2023-02-03 00:00:00"))

			msgs, err := db.ListMessages(ctx, All)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 3 {
				t.Fatalf("messages = %d, want 3", len(msgs))
			}
			// newest first
			checkEq(t, "msg[0].user", msgs[0].UserID, "carol")
			checkEq(t, "msg[0].event", msgs[0].EventName, "video_updated")
			checkEq(t, "msg[1].media", deref(msgs[1].MediaFileID), testMediaM2)
			checkEq(t, "msg[1].details", msgs[1].Details, "details x")
			checkEq(t, "msg[1].seen", msgs[1].Seen, false)
			checkEq(t, "msg[2].comment", deref(msgs[2].CommentID), int64(1))
			checkEq(t, "msg[2].seen", msgs[2].Seen, true)

			if v >= vSubtitles {
				subs, err := db.ListSubtitlesByMediaFile(ctx, testMediaM1)
				if err != nil || len(subs) != 1 {
					t.Fatalf("subtitles = %v, %v", subs, err)
				}
				checkEq(t, "sub.time_offset", subs[0].TimeOffset, -0.5)
				checkEq(t, "sub.filename", deref(subs[0].Filename), "one.en.vtt")
				checkEq(t, "m1.default_subtitle", deref(m1.DefaultSubtitleID), int64(1))
				checkEq(t, "c1.subtitle", deref(c1.SubtitleID), int64(1))
			}
		})
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func checkEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOutdatedDatabaseNeedsMigrateFlag(t *testing.T) {
	ctx := context.Background()
	p := migrateTo(t, t.TempDir(), vV056)
	before := fileHash(t, p)
	_, err := Open(ctx, OpenOptions{Path: p, Log: discardLog()})
	if !errors.Is(err, ErrMigrationRequired) {
		t.Fatalf("want ErrMigrationRequired, got %v", err)
	}
	for _, want := range []string{vPrimKey, vSubtitles, "--migrate", "Back up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if fileHash(t, p) != before {
		t.Error("database changed although migration was refused")
	}
}

// withMigrations replaces the known migration list for one test.
func withMigrations(t *testing.T, ms []Migration) {
	saved := migrations
	migrations = ms
	t.Cleanup(func() { migrations = saved })
}

func TestFailedMigrationRestoresBackup(t *testing.T) {
	cases := []struct {
		name, sql, wantErr string
	}{
		{"sql error halfway", "CREATE TABLE halfway (x); INSERT INTO users (id, name) VALUES ('zed', 'Zed'); SELECT * FROM no_such_table;", "no_such_table"},
		{"foreign key violation", "INSERT INTO comments (media_file_id, username_ifnull, comment) VALUES ('nope', 'x', 'dangling');", "foreign key check failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			p := migrateTo(t, dir, vMediaType)
			raw := openRaw(t, p)
			seedAt(t, raw, vMediaType)
			raw.Close()

			// The real next migration succeeds, then ours fails: the
			// restore must undo both.
			ms := Migrations()
			ms = append(ms, Migration{Version: "20990101000000", Name: "2099-01-01-000000_broken", SQL: tc.sql})
			withMigrations(t, ms)

			_, err := Open(ctx, OpenOptions{Path: p, Migrate: true, Log: discardLog()})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "restored") {
				t.Fatalf("want an error about %q saying the backup was restored, got %v", tc.wantErr, err)
			}
			st, err := Inspect(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if st.CurrentVersion() != vMediaType {
				t.Errorf("version after restore = %s, want %s", st.CurrentVersion(), vMediaType)
			}
			raw = openRaw(t, p)
			var n int
			if err := raw.QueryRow("SELECT count(*) FROM comments").Scan(&n); err != nil || n != 3 {
				t.Errorf("comments after restore = %d (%v), want 3", n, err)
			}
			if err := raw.QueryRow("SELECT count(*) FROM users WHERE id = 'zed'").Scan(&n); err != nil || n != 0 {
				t.Errorf("half-applied row survived the restore")
			}
			if err := raw.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('halfway', 'subtitles')").Scan(&n); err != nil || n != 0 {
				t.Errorf("tables from the failed run survived the restore")
			}
		})
	}
}

func TestNewDatabaseFailureLeavesNothing(t *testing.T) {
	ms := Migrations()
	ms = append(ms, Migration{Version: "20990101000000", Name: "broken", SQL: "SELECT * FROM nope;"})
	withMigrations(t, ms)
	dir := t.TempDir()
	p := filepath.Join(dir, "clapshot.sqlite")
	if _, err := Open(context.Background(), OpenOptions{Path: p, Log: discardLog()}); err == nil {
		t.Fatal("want error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestUnknownVersionsAreTolerated(t *testing.T) {
	ctx := context.Background()
	p := migrateTo(t, t.TempDir(), "")
	raw := openRaw(t, p)
	if _, err := raw.Exec("INSERT INTO __diesel_schema_migrations (version) VALUES ('20230418191009')"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	st, err := Inspect(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unknown) != 1 || st.Unknown[0] != "20230418191009" || len(st.Pending) != 0 {
		t.Errorf("state = %+v", st)
	}
	db, err := Open(ctx, OpenOptions{Path: p, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestBadDatabaseFilesAreLeftUntouched(t *testing.T) {
	ctx := context.Background()
	good := migrateTo(t, t.TempDir(), "")
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), goodBytes...)
	for i := 4096; i < len(corrupt) && i < 4096*6; i++ {
		corrupt[i] = 0xA5
	}
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"text file", []byte("hello, this is not a database\n"), "not a SQLite database"},
		{"random bytes", func() []byte {
			b := make([]byte, 8192)
			for i := range b {
				b[i] = byte(i * 7)
			}
			return b
		}(), "not a SQLite database"},
		{"corrupt pages", corrupt, "corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "clapshot.sqlite")
			if err := os.WriteFile(p, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(ctx, OpenOptions{Path: p, Migrate: true, Log: discardLog()})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("want error containing %q and the path, got %v", tc.want, err)
			}
			after, _ := os.ReadFile(p)
			if string(after) != string(tc.content) {
				t.Error("file was modified")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("extra files created: %v", entries)
			}
		})
	}
}

func TestBackupRestoreDropsLaterWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := migrateTo(t, dir, "")
	db, err := openPool(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertUser(ctx, "before", "Before"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	backup, err := Backup(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(backup), "clapshot.backup-") || !strings.HasSuffix(backup, ".tar.gz") {
		t.Errorf("backup name %s", backup)
	}
	// Write after the backup and leave the change in the WAL (no checkpoint).
	db, err = openPool(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertUser(ctx, "after", "After"); err != nil {
		t.Fatal(err)
	}
	db.sql.Close()
	if err := Restore(p, backup); err != nil {
		t.Fatal(err)
	}
	db, err = openPool(p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetUser(ctx, "before"); err != nil {
		t.Errorf("user from before the backup: %v", err)
	}
	if _, err := db.GetUser(ctx, "after"); !errors.Is(err, ErrNotFound) {
		t.Errorf("user written after the backup survived the restore: %v", err)
	}
}

// clapshotTestDB copies one of Clapshot's own test databases from
// CLAPSHOT_TEST_DB_DIR into a temporary directory, or skips the test.
func clapshotTestDB(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("CLAPSHOT_TEST_DB_DIR")
	if dir == "" {
		t.Skip("CLAPSHOT_TEST_DB_DIR not set")
	}
	src, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "clapshot.sqlite")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// CLAPSHOT_TEST_DB_DIR may point at Clapshot's own test databases
// (server/src/tests/assets/databases in its repository), which we cannot
// ship. Clapshot's own test expects these counts after migrating.
func TestClapshotV056Database(t *testing.T) {
	p := clapshotTestDB(t, "clapshot-migration-test-1_v056.sqlite")
	ctx := context.Background()
	db, err := Open(ctx, OpenOptions{Path: p, Migrate: true, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	media, _ := db.ListMediaFiles(ctx, All)
	comments, _ := db.ListComments(ctx, All)
	msgs, _ := db.ListMessages(ctx, All)
	if len(media) != 9 || len(comments) != 41 || len(msgs) != 36 {
		t.Errorf("media/comments/messages = %d/%d/%d, want 9/41/36", len(media), len(comments), len(msgs))
	}
	perUser := map[string]int{}
	for _, m := range media {
		perUser[m.UserID]++
	}
	t.Logf("media per user: %v", perUser)
}

// A table of someone else's (here basic_folders' bf_folder_items as the
// Python organizer of Clapshot 0.6.1 made it) that references "videos"
// must follow the rename to media_files: with no organizer configured to
// rebuild it, the foreign key check after migrating failed and the server
// refused to start.
func TestForeignTablesFollowTheMediaFilesRename(t *testing.T) {
	ctx := context.Background()
	p := migrateTo(t, t.TempDir(), vUsers)
	raw := openRaw(t, p)
	for _, q := range []string{
		`CREATE TABLE bf_folders (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, user_id VARCHAR(255) NOT NULL REFERENCES users(id), title VARCHAR(255) NOT NULL)`,
		`CREATE TABLE bf_folder_items (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
			folder_id INTEGER NOT NULL REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
			video_id VARCHAR(255) UNIQUE REFERENCES videos(id) ON UPDATE CASCADE ON DELETE CASCADE,
			subfolder_id INTEGER UNIQUE REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE)`,
		`INSERT INTO users (id, name) VALUES ('docker', 'Docker User')`,
		`INSERT INTO videos (id, user_id, orig_filename, title) VALUES ('7a0d17c8', 'docker', 'a.mp4', 'a.mp4'), ('41967bb4', 'docker', 'b.mp4', 'b.mp4')`,
		`INSERT INTO bf_folders (id, user_id, title) VALUES (1, 'docker', 'home'), (2, 'docker', 'sub')`,
		`INSERT INTO bf_folder_items (folder_id, video_id, subfolder_id) VALUES (1, '7a0d17c8', NULL), (2, '41967bb4', NULL), (1, NULL, 2)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, OpenOptions{Path: p, Migrate: true, Log: discardLog()})
	if err != nil {
		t.Fatalf("migrating a database with a foreign table that references videos: %v", err)
	}
	db.Close()
	raw = openRaw(t, p)
	var ddl string
	if err := raw.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'bf_folder_items'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, `REFERENCES "media_files"(id)`) {
		t.Errorf("bf_folder_items does not reference media_files:\n%s", ddl)
	}
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM bf_folder_items JOIN media_files ON media_files.id = bf_folder_items.video_id`).Scan(&n); err != nil || n != 2 {
		t.Errorf("folder items pointing at media files: %d (%v), want 2", n, err)
	}
	// The reference works: deleting a media file removes its folder item.
	if _, err := raw.Exec(`DELETE FROM media_files WHERE id = '7a0d17c8'`); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM bf_folder_items`).Scan(&n); err != nil || n != 2 {
		t.Errorf("folder items after deleting a media file: %d (%v), want 2 (cascade)", n, err)
	}
}

// Clapshot's own 0.6.1 test database has basic_folders' tables (with
// bf_folder_items referencing videos). Migrated without an organizer, the
// folder rows stay and point at media_files.
func TestClapshotV061Database(t *testing.T) {
	p := clapshotTestDB(t, "clapshot-migration-test-2_v061.sqlite")
	db, err := Open(context.Background(), OpenOptions{Path: p, Migrate: true, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	var n int
	if err := openRaw(t, p).QueryRow(`SELECT count(*) FROM bf_folder_items i LEFT JOIN media_files m ON m.id = i.video_id
		WHERE i.video_id IS NULL OR m.id IS NOT NULL`).Scan(&n); err != nil || n != 4 {
		t.Errorf("folder items kept: %d (%v), want 4", n, err)
	}
}

// Backup reads the database through SQLite only, so it can run while the
// pool is open: a plain open and close of the file in this process would
// drop SQLite's POSIX locks, and the next `sqlite3` run by an admin would
// then checkpoint and delete the live -wal and -shm under the server.
func TestBackupWhileOpenKeepsTheLocks(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 not installed")
	}
	ctx := context.Background()
	p := migrateTo(t, t.TempDir(), "")
	db, err := openPool(p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.UpsertUser(ctx, "in-wal", "Only in the WAL"); err != nil {
		t.Fatal(err)
	}
	inode := func(suffix string) uint64 {
		var st syscall.Stat_t
		if syscall.Stat(p+suffix, &st) != nil {
			return 0
		}
		return st.Ino
	}
	wal, shm := inode("-wal"), inode("-shm")
	if wal == 0 || shm == 0 {
		t.Fatal("no -wal/-shm while the pool is open")
	}
	backup, err := Backup(p)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sqlite3, p, "select count(*) from users").CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	if inode("-wal") != wal || inode("-shm") != shm {
		t.Errorf("after Backup, an external sqlite3 deleted or replaced the live -wal/-shm (%d %d, were %d %d)",
			inode("-wal"), inode("-shm"), wal, shm)
	}
	// The backup holds what was only in the WAL.
	restored := filepath.Join(t.TempDir(), "clapshot.sqlite")
	if err := Restore(restored, backup); err != nil {
		t.Fatal(err)
	}
	rdb, err := openPool(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, err := rdb.GetUser(ctx, "in-wal"); err != nil {
		t.Errorf("user written before the backup: %v", err)
	}
}
