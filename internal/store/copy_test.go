package store

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

func openPG(t *testing.T, u string) *DB {
	t.Helper()
	return openTest(t, OpenOptions{URL: u})
}

func checkCounts(t *testing.T, rep *CopyReport) {
	t.Helper()
	if len(rep.Tables) == 0 {
		t.Fatal("no tables copied")
	}
	for _, tc := range rep.Tables {
		if tc.SQLite != tc.Postgres {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL", tc.Table, tc.SQLite, tc.Postgres)
		}
	}
}

// Databases as Clapshot left them at its releases (0.5.6, 0.6.x and 0.8.2
// schemas, an organizer's tables included) move into PostgreSQL with
// every row: the file itself is not changed, the organizer's tables are
// reported as left behind, and the rows read back with their values.
func TestCopyClapshotDatabases(t *testing.T) {
	ctx := context.Background()
	for _, v := range []string{vV056, vUsers, vSubtitles} {
		t.Run(v, func(t *testing.T) {
			p := migrateTo(t, t.TempDir(), v)
			raw := openRaw(t, p)
			seedAt(t, raw, v)
			for _, q := range []string{
				`CREATE TABLE bf_folders (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, user_id VARCHAR(255) NOT NULL, title VARCHAR(255) NOT NULL)`,
				`INSERT INTO bf_folders (user_id, title) VALUES ('alice', 'Home'), ('alice', 'Sub')`,
			} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			hash := fileHash(t, p)
			u := pgtest.NewDatabase(t)
			rep, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: p, URL: u, Log: discardLog()})
			if err != nil {
				t.Fatalf("%v (report %+v)", err, rep)
			}
			checkCounts(t, rep)
			if !rep.Upgraded || rep.SourceVersion != v {
				t.Errorf("report: version %s upgraded %v", rep.SourceVersion, rep.Upgraded)
			}
			if len(rep.LeftBehind) != 1 || rep.LeftBehind[0] != (TableCount{Table: "bf_folders", SQLite: 2}) {
				t.Errorf("left behind: %+v", rep.LeftBehind)
			}
			if fileHash(t, p) != hash {
				t.Error("the SQLite file changed")
			}

			db := openPG(t, u)
			m, err := db.GetMediaFile(ctx, testMediaM1)
			if err != nil {
				t.Fatal(err)
			}
			if deref(m.Title) != "Clip one" || m.UserID != "alice" || deref(m.ThumbSheetCols) != 10 || deref(m.TotalFrames) != 100 ||
				!m.AddedTime.Equal(mustTime("2023-01-02 03:04:05")) || deref(m.MediaType) != "video" {
				t.Errorf("media file: %+v", m)
			}
			reply, _ := db.GetComment(ctx, 2)
			if reply.ParentID == nil || *reply.ParentID != 1 || reply.UsernameIfNull != "Bob Brown" {
				t.Errorf("reply: %+v", reply)
			}
			msgs, _ := db.ListMessages(ctx, All)
			seen := 0
			for _, m := range msgs {
				if m.Seen {
					seen++
				}
			}
			if len(msgs) != 3 || seen != 1 {
				t.Errorf("messages: %+v", msgs)
			}
			if v >= vSubtitles && (m.DefaultSubtitleID == nil || *m.DefaultSubtitleID != 1) {
				t.Errorf("default subtitle (a deferred reference) not set: %v", m.DefaultSubtitleID)
			}
			// The copy behaves as a database of its own: triggers on,
			// ids continue.
			before, _ := db.ReadChangeCounters(ctx)
			c, err := db.InsertComment(ctx, Comment{MediaFileID: testMediaM2, UsernameIfNull: "x", Comment: "after the move"})
			if err != nil || c.ID != 4 {
				t.Errorf("new comment: id %d, %v", c.ID, err)
			}
			if after, _ := db.ReadChangeCounters(ctx); after.Comments == before.Comments {
				t.Error("the change counter triggers are off after the copy")
			}
		})
	}
}

// Our own data, every table: what the two databases list is the same,
// and ids continue after the highest SQLite ever gave (deleted rows
// included).
func TestCopyOwnData(t *testing.T) {
	ctx := context.Background()
	lite, _ := newTestDB(t, backends[0])
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sub, err := lite.InsertSubtitle(ctx, Subtitle{MediaFileID: "B1DE0", Title: "en", LanguageCode: "en", OrigFilename: "a.srt", Filename: ptr("a.vtt"), TimeOffset: 0.25})
	mustDo(err)
	mustDo(lite.SetDefaultSubtitle(ctx, "B1DE0", &sub.ID))
	_, err = lite.InsertComment(ctx, Comment{MediaFileID: "B1DE0", UsernameIfNull: "x", Comment: "on a subtitle", SubtitleID: &sub.ID, TimecodeEnd: ptr("00:00:02:00")})
	mustDo(err)
	_, err = lite.InsertMessage(ctx, Message{UserID: "user.num2", EventName: EventError, Message: "failed", Details: "d", Seen: true})
	mustDo(err)
	jid, err := lite.InsertJob(ctx, Job{Kind: "transcode", MediaFileID: ptr("22222"), UserID: "user.num1", Spec: `{"a":1}`})
	mustDo(err)
	mustDo(lite.SetJobOutputs(ctx, jid, []string{"/x/y.mp4"}))
	mustDo(lite.PutNotifySettings(ctx, NotifySettings{UserID: "user.num1", OnReply: true, Email: "a@example.com", EmailEnabled: true}))
	_, err = lite.QueueDelivery(ctx, Delivery{UserID: "user.num1", Channel: "email", Target: "a@example.com", Event: "reply", Payload: "{}"})
	mustDo(err)
	_, err = lite.InsertShareLink(ctx, ShareLink{ID: "abcdefghijkl", SecretSHA256: "00ff", MediaFileID: ptr("B1DE0"), CreatedBy: "user.num1", Permission: "comment"})
	mustDo(err)
	guest, err := lite.InsertShareGuest(ctx, ShareGuest{LinkID: "abcdefghijkl", Name: "Ann", SecretSHA256: "11"})
	mustDo(err)
	byGuest, err := lite.InsertComment(ctx, Comment{MediaFileID: "B1DE0", UsernameIfNull: "Ann (guest)", Comment: "from a guest"})
	mustDo(err)
	mustDo(lite.InsertShareComment(ctx, ShareComment{CommentID: byGuest.ID, LinkID: "abcdefghijkl", GuestID: guest.ID}))
	// The highest comment id SQLite gave is a deleted one's.
	last, err := lite.InsertComment(ctx, Comment{MediaFileID: "11111", UsernameIfNull: "x", Comment: "deleted"})
	mustDo(err)
	mustDo(lite.DeleteComment(ctx, last.ID))
	mustDo(lite.Close())

	u := pgtest.NewDatabase(t)
	rep, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: lite.Path(), URL: u, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, rep)
	tables, err := stringList(ctx, openRaw(t, lite.Path()), "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('sqlite_sequence', '__diesel_schema_migrations')")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Upgraded || len(rep.LeftBehind) != 0 || len(rep.Tables) != len(tables) {
		t.Errorf("report (want all %d tables): %+v", len(tables), rep)
	}
	lite = openTest(t, OpenOptions{Path: lite.Path()})
	pg := openPG(t, u)
	for name, read := range map[string]func(db *DB) (any, error){
		"users":    func(db *DB) (any, error) { return db.ListUsers(ctx, All) },
		"media":    func(db *DB) (any, error) { return db.ListMediaFiles(ctx, All) },
		"comments": func(db *DB) (any, error) { return db.ListComments(ctx, All) },
		"messages": func(db *DB) (any, error) { return db.ListMessages(ctx, All) },
		"subtitles": func(db *DB) (any, error) {
			return db.ListSubtitlesOfMedia(ctx, []string{"B1DE0", "11111", "22222"})
		},
		"jobs":       func(db *DB) (any, error) { return db.ListJobs(ctx) },
		"settings":   func(db *DB) (any, error) { return db.GetNotifySettings(ctx, "user.num1") },
		"deliveries": func(db *DB) (any, error) { return db.ListDeliveries(ctx, "user.num1", All) },
		"counters":   func(db *DB) (any, error) { return db.ReadChangeCounters(ctx) },
		"shares":     func(db *DB) (any, error) { return db.ListShareLinks(ctx, ShareLinkFilter{}) },
		"guest":      func(db *DB) (any, error) { return db.GetShareGuest(ctx, guest.ID) },
		"by guest":   func(db *DB) (any, error) { return db.GetShareComment(ctx, byGuest.ID) },
		"changes": func(db *DB) (any, error) {
			ids, err := db.MediaChangedSince(ctx, 0)
			slices.Sort(ids)
			return ids, err
		},
	} {
		a, err := read(lite)
		if err != nil {
			t.Fatal(err)
		}
		b, err := read(pg)
		if err != nil {
			t.Fatal(err)
		}
		// SQLite kept nanoseconds where the server wrote them.
		if !reflect.DeepEqual(roundTimes(a), b) {
			t.Errorf("%s differ:\nsqlite   %+v\npostgres %+v", name, a, b)
		}
	}
	c, err := pg.InsertComment(ctx, Comment{MediaFileID: "22222", UsernameIfNull: "x", Comment: "new"})
	if err != nil || c.ID != last.ID+1 {
		t.Errorf("the next comment id is %d (%v), want %d: a deleted comment's id was reused or skipped", c.ID, err, last.ID+1)
	}
}

// roundTimes returns v with every time.Time in it rounded to the
// microsecond, as PostgreSQL stores it.
func roundTimes(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	out.Set(roundValue(rv))
	return out.Interface()
}

func roundValue(v reflect.Value) reflect.Value {
	if t, ok := v.Interface().(time.Time); ok {
		return reflect.ValueOf(t.Round(time.Microsecond))
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Elem().Type())
		p.Elem().Set(roundValue(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(roundValue(v.Index(i)))
		}
		return s
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), roundValue(it.Value()))
		}
		return m
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		for i := range v.NumField() {
			if s.Field(i).CanSet() {
				s.Field(i).Set(roundValue(v.Field(i)))
			}
		}
		return s
	}
	return v
}

// Whatever goes wrong, PostgreSQL is left empty and the reason is named:
// a target that is not empty, values PostgreSQL cannot hold, a count that
// differs, a source that changes during the copy.
func TestCopyRefusals(t *testing.T) {
	ctx := context.Background()
	emptyAfter := func(t *testing.T, u string) {
		t.Helper()
		st, err := inspectPostgres(ctx, rawPostgres(t, u), "x")
		if err != nil || !st.New {
			t.Errorf("PostgreSQL is not empty after a failed copy: %+v %v", st, err)
		}
	}
	newSource := func(t *testing.T, corrupt string) string {
		t.Helper()
		db, _ := newTestDB(t, backends[0])
		if corrupt != "" {
			if _, err := db.SQL().Exec(corrupt); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		return db.Path()
	}

	t.Run("not empty", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		openPG(t, u) // the server ran on it once
		_, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: newSource(t, ""), URL: u})
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("%v", err)
		}
	})
	t.Run("no source", func(t *testing.T) {
		_, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: t.TempDir() + "/clapshot.sqlite", URL: pgtest.NewDatabase(t)})
		if err == nil || !strings.Contains(err.Error(), "no database there") {
			t.Errorf("%v", err)
		}
	})
	t.Run("newer source", func(t *testing.T) {
		// A newer server's column in a known table cannot be copied; its
		// new tables would be listed as left behind.
		p := newSource(t, "INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')")
		w := openRaw(t, p)
		if _, err := w.Exec("ALTER TABLE comments ADD COLUMN reactions VARCHAR"); err != nil {
			t.Fatal(err)
		}
		w.Close()
		u := pgtest.NewDatabase(t)
		_, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: p, URL: u})
		if err == nil || !strings.Contains(err.Error(), "comments.reactions has no place") {
			t.Errorf("%v", err)
		}
		emptyAfter(t, u)
	})
	for _, tc := range []struct{ name, corrupt, want string }{
		{"NUL in text", "UPDATE comments SET comment = 'a' || char(0) || 'b' WHERE id = 3", "comments row 3, column comment: text holds a NUL"},
		{"bad UTF-8", "UPDATE media_files SET title = CAST(x'ff' AS TEXT) WHERE id = '11111'", "media_files row 11111, column title: text is not valid UTF-8"},
		{"bad time", "UPDATE comments SET created = 'yesterday' WHERE id = 2", `comments row 2, column created: cannot read "yesterday"`},
		{"text in an integer", "UPDATE media_files SET total_frames = 'many' WHERE id = 'B1DE3'", "media_files row B1DE3, column total_frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := pgtest.NewDatabase(t)
			_, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: newSource(t, tc.corrupt), URL: u})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			emptyAfter(t, u)
		})
	}
	t.Run("count differs", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		copyHook = func(ctx context.Context, pg *sql.Conn) error {
			_, err := pg.ExecContext(ctx, "DELETE FROM messages WHERE id IN (SELECT min(id) FROM messages)")
			return err
		}
		defer func() { copyHook = nil }()
		p := newSource(t, "INSERT INTO messages (user_id, seen, event_name, message, details) VALUES ('user.num1', 0, 'ok', 'm', '')")
		rep, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: p, URL: u})
		if !errors.Is(err, ErrCountMismatch) || rep == nil {
			t.Fatalf("%v", err)
		}
		for _, tc := range rep.Tables {
			if (tc.SQLite != tc.Postgres) != (tc.Table == "messages") {
				t.Errorf("%+v", tc)
			}
		}
		emptyAfter(t, u)
	})
	t.Run("source changes", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		p := newSource(t, "")
		copyHook = func(ctx context.Context, _ *sql.Conn) error {
			w := openRaw(t, p)
			_, err := w.ExecContext(ctx, "INSERT INTO users (id, name) VALUES ('late', 'Late')")
			w.Close()
			return err
		}
		defer func() { copyHook = nil }()
		_, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: p, URL: u})
		if err == nil || !strings.Contains(err.Error(), "changed during the copy") || !strings.Contains(err.Error(), "stop the server") {
			t.Fatalf("%v", err)
		}
		emptyAfter(t, u)
	})
}

// Clapshot's own test databases (CLAPSHOT_TEST_DB_DIR, see
// TestClapshotV056Database) move with their counts.
func TestCopyClapshotTestDatabases(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		file                      string
		media, comments, messages int
		leftBehind                int
	}{
		{"clapshot-migration-test-1_v056.sqlite", 9, 41, 36, 0},
		{"clapshot-migration-test-2_v061.sqlite", -1, -1, -1, 3}, // basic_folders' two tables and its migration table
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := clapshotTestDB(t, tc.file)
			u := pgtest.NewDatabase(t)
			start := time.Now()
			rep, err := CopyToPostgres(ctx, CopyOptions{SQLitePath: p, URL: u, Log: discardLog()})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("copied in %v: %+v, left behind %+v", time.Since(start), rep.Tables, rep.LeftBehind)
			checkCounts(t, rep)
			if len(rep.LeftBehind) != tc.leftBehind {
				t.Errorf("left behind: %+v", rep.LeftBehind)
			}
			if tc.media < 0 {
				return
			}
			db := openPG(t, u)
			media, _ := db.ListMediaFiles(ctx, All)
			comments, _ := db.ListComments(ctx, All)
			msgs, _ := db.ListMessages(ctx, All)
			if len(media) != tc.media || len(comments) != tc.comments || len(msgs) != tc.messages {
				t.Errorf("media/comments/messages = %d/%d/%d", len(media), len(comments), len(msgs))
			}
		})
	}
}
