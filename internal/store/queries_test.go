package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// newTestDB opens a fresh database seeded like Clapshot's make_test_db:
// media B1DE0, 11111, 22222, B1DE3, B1DE4 owned alternately by user.num1
// and user.num2; comments 1..5 on videos[i%3], 6 and 7 replying to 1, and
// one more on B1DE0 with an empty drawing.
func newTestDB(t *testing.T, b backend) (*DB, []MediaFile) {
	t.Helper()
	ctx := context.Background()
	db := b.open(t)
	ids := []string{"B1DE0", "11111", "22222", "B1DE3", "B1DE4"}
	var media []MediaFile
	base := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for i, id := range ids {
		user := fmt.Sprintf("user.num%d", 1+i%2)
		if err := db.UpsertUser(ctx, user, fmt.Sprintf("User Number%d", 1+i%2)); err != nil {
			t.Fatal(err)
		}
		m := MediaFile{
			ID: id, UserID: user, AddedTime: base.Add(time.Duration(i) * time.Minute),
			OrigFilename: ptr(fmt.Sprintf("test%d.mp4", i)), Title: ptr(fmt.Sprintf("test%d.mp4", i)),
			RecompressionDone: ptr(time.Unix(0, 0).UTC()), ThumbsDone: ptr(time.Unix(0, 0).UTC()),
			HasThumbnail: ptr(true), ThumbSheetCols: ptr(int64(i)), ThumbSheetRows: ptr(int64(i)),
			TotalFrames: ptr(int64(i * 1000)), Duration: ptr(float64(i * 100)), FPS: ptr(fmt.Sprint(i * i)),
			MediaType: ptr("video"),
		}
		if err := db.InsertMediaFile(ctx, m); err != nil {
			t.Fatal(err)
		}
		media = append(media, m)
	}
	for i := 0; i < 5; i++ {
		user := fmt.Sprintf("user.num%d", 1+i%2)
		if _, err := db.InsertComment(ctx, Comment{MediaFileID: ids[i%3], UserID: &user, UsernameIfNull: "User " + user,
			Comment: fmt.Sprintf("Comment %d", i), Timecode: ptr("00:00:01:00"), Drawing: ptr(fmt.Sprintf("drawing_%d.webp", i)),
			Created: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 5; i < 7; i++ {
		user := fmt.Sprintf("user.num%d", 1+i%2)
		if _, err := db.InsertComment(ctx, Comment{MediaFileID: ids[0], ParentID: ptr(int64(1)), UserID: &user,
			UsernameIfNull: "User " + user, Comment: fmt.Sprintf("Reply %d", i), Created: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.InsertComment(ctx, Comment{MediaFileID: ids[0], UserID: ptr("user.num1"), UsernameIfNull: "x",
		Comment: "empty drawing", Drawing: ptr(""), Created: base.Add(8 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	return db, media
}

func TestFixtureCountsAndOrder(t *testing.T) { eachBackend(t, testFixtureCountsAndOrder) }

func testFixtureCountsAndOrder(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	for media, want := range map[string]int{"B1DE0": 5, "11111": 2, "22222": 1, "B1DE3": 0, "B1DE4": 0} {
		cs, err := db.ListCommentsByMediaFile(ctx, media, All)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != want {
			t.Errorf("comments on %s = %d, want %d", media, len(cs), want)
		}
	}
	for user, want := range map[string]int{"user.num1": 3, "user.num2": 2} {
		ms, err := db.ListMediaFilesByUser(ctx, user, All)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != want {
			t.Errorf("media of %s = %d, want %d", user, len(ms), want)
		}
		for i := 1; i < len(ms); i++ {
			if ms[i].AddedTime.After(ms[i-1].AddedTime) {
				t.Errorf("media of %s not newest first: %v", user, ms)
			}
		}
	}
	all, _ := db.ListComments(ctx, All)
	for i := 1; i < len(all); i++ {
		if all[i].Created.After(all[i-1].Created) {
			t.Fatalf("comments not newest first")
		}
	}
}

func TestPaging(t *testing.T) { eachBackend(t, testPaging) }

func testPaging(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	all, _ := db.ListComments(ctx, All)
	var paged []Comment
	sizes := []int{}
	for p := 0; ; p++ {
		page, err := db.ListComments(ctx, Page{Num: p, Size: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		paged = append(paged, page...)
	}
	if fmt.Sprint(sizes) != "[3 3 2]" {
		t.Errorf("page sizes = %v, want [3 3 2]", sizes)
	}
	for i := range all {
		if all[i].ID != paged[i].ID {
			t.Fatalf("paged order differs at %d", i)
		}
	}
}

func TestTransactions(t *testing.T) { eachBackend(t, testTransactions) }

func testTransactions(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	boom := errors.New("boom")
	err := db.InTx(ctx, func(q *Queries) error {
		if err := q.RenameMediaFile(ctx, "B1DE0", "inside tx"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	m, _ := db.GetMediaFile(ctx, "B1DE0")
	if *m.Title != "test0.mp4" {
		t.Errorf("rolled-back rename visible: %q", *m.Title)
	}
	if err := db.InTx(ctx, func(q *Queries) error { return q.RenameMediaFile(ctx, "B1DE0", "committed") }); err != nil {
		t.Fatal(err)
	}
	m, _ = db.GetMediaFile(ctx, "B1DE0")
	if *m.Title != "committed" {
		t.Errorf("committed rename lost: %q", *m.Title)
	}
}

func TestDeletesAndTriggers(t *testing.T) { eachBackend(t, testDeletesAndTriggers) }

func testDeletesAndTriggers(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)

	// AUTOINCREMENT: a deleted id is never reused.
	maxID := int64(0)
	all, _ := db.ListComments(ctx, All)
	for _, c := range all {
		maxID = max(maxID, c.ID)
	}
	if err := db.DeleteComment(ctx, maxID); err != nil {
		t.Fatal(err)
	}
	c, err := db.InsertComment(ctx, Comment{MediaFileID: "22222", UsernameIfNull: "x", Comment: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID <= maxID {
		t.Errorf("comment id %d reused (max was %d)", c.ID, maxID)
	}

	n, err := db.CountReplies(ctx, 1)
	if err != nil || n != 2 {
		t.Errorf("replies to 1 = %d, %v", n, err)
	}

	// Subtitle delete: comments keep the file name, default is cleared.
	sub, err := db.InsertSubtitle(ctx, Subtitle{MediaFileID: "B1DE0", Title: "sub1", LanguageCode: "en", OrigFilename: "sub1.srt", Filename: ptr("sub1.vtt")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetDefaultSubtitle(ctx, "B1DE0", &sub.ID); err != nil {
		t.Fatal(err)
	}
	withSub, err := db.InsertComment(ctx, Comment{MediaFileID: "B1DE0", UsernameIfNull: "x", Comment: "about sub", SubtitleID: &sub.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSubtitle(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := db.GetComment(ctx, withSub.ID)
	if after.SubtitleID != nil || deref(after.SubtitleFilenameIfNull) != "sub1.srt" {
		t.Errorf("comment after subtitle delete: %+v", after)
	}
	m, _ := db.GetMediaFile(ctx, "B1DE0")
	if m.DefaultSubtitleID != nil {
		t.Errorf("default subtitle not cleared")
	}

	// User delete: comments keep the name; media must go first (RESTRICT).
	if err := db.DeleteUser(ctx, "user.num2"); err == nil {
		t.Error("deleted a user who still owns media")
	}
	for _, id := range []string{"11111", "B1DE3"} {
		if err := db.DeleteMediaFile(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteUser(ctx, "user.num2"); err != nil {
		t.Fatal(err)
	}
	byUser, _ := db.ListCommentsByUser(ctx, "user.num2", All)
	if len(byUser) != 0 {
		t.Errorf("comments still linked to deleted user")
	}
	// Clapshot's tr_comments_set_username_on_user_delete is an AFTER
	// trigger, and ON DELETE SET NULL has already cleared user_id when it
	// runs, so it never matches: username_ifnull keeps the name the comment
	// was written under. We keep the schema identical, quirk included.
	reply, _ := db.GetComment(ctx, 6)
	if reply.UserID != nil || reply.UsernameIfNull != "User user.num2" {
		t.Errorf("reply after user delete: user=%v name=%q", reply.UserID, reply.UsernameIfNull)
	}

	// Media delete cascades to comments and replies.
	if err := db.DeleteMediaFile(ctx, "B1DE0"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := db.ListCommentsByMediaFile(ctx, "B1DE0", All); len(cs) != 0 {
		t.Errorf("comments survived media delete: %d", len(cs))
	}
	if err := db.DeleteMediaFile(ctx, "B1DE0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestMessagesAndTimes(t *testing.T) { eachBackend(t, testMessagesAndTimes) }

func testMessagesAndTimes(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	for i := 0; i < 3; i++ {
		user := "user.num1"
		if i == 1 {
			user = "user.num2"
		}
		if _, err := db.InsertMessage(ctx, Message{UserID: user, EventName: EventOK, Message: fmt.Sprint("msg", i),
			MediaFileID: ptr("B1DE0"), Created: time.Date(2024, 2, 1, 0, 0, i, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := db.ListMessagesByUser(ctx, "user.num1", All)
	if len(msgs) != 2 || msgs[0].Message != "msg2" || msgs[0].Seen {
		t.Fatalf("messages = %+v", msgs)
	}
	if err := db.MarkMessagesSeen(ctx, "user.num1"); err != nil {
		t.Fatal(err)
	}
	msgs, _ = db.ListMessagesByUser(ctx, "user.num1", All)
	if !msgs[0].Seen || !msgs[1].Seen {
		t.Error("not marked seen")
	}
	other, _ := db.ListMessagesByUser(ctx, "user.num2", All)
	if other[0].Seen {
		t.Error("another user's message marked seen")
	}

	// Times: sub-second precision survives, stored in diesel's text form
	// (SQLite, to the nanosecond) or as a TIMESTAMP (PostgreSQL, which
	// keeps microseconds).
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	want, wantRaw := at, "2024-05-06 07:08:09.123456789"
	if b.name == "postgres" {
		want, wantRaw = at.Round(time.Microsecond), "2024-05-06 07:08:09.123457"
	}
	if err := db.SetRecompressionDone(ctx, "22222", &at); err != nil {
		t.Fatal(err)
	}
	m, _ := db.GetMediaFile(ctx, "22222")
	if !m.RecompressionDone.Equal(want) {
		t.Errorf("time round trip: %v != %v", m.RecompressionDone, want)
	}
	var raw string
	if err := db.sql.QueryRow("SELECT CAST(recompression_done AS TEXT) FROM media_files WHERE id='22222'").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != wantRaw {
		t.Errorf("stored as %q, want %q", raw, wantRaw)
	}
	// A CURRENT_TIMESTAMP default reads back as a UTC time close to now.
	c, _ := db.InsertComment(ctx, Comment{MediaFileID: "22222", UsernameIfNull: "x", Comment: "now"})
	if d := time.Since(c.Created); d < -2*time.Second || d > time.Minute {
		t.Errorf("created = %v", c.Created)
	}
}

// timecode_end (our migration 20261121200000) round-trips through insert,
// update and the listings, and stays NULL for ordinary comments.
func TestCommentTimecodeEnd(t *testing.T) { eachBackend(t, testCommentTimecodeEnd) }

func testCommentTimecodeEnd(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	c, err := db.InsertComment(ctx, Comment{MediaFileID: "22222", UsernameIfNull: "x", Comment: "range",
		Timecode: ptr("00:00:01:00"), TimecodeEnd: ptr("00:00:03:12")})
	if err != nil {
		t.Fatal(err)
	}
	if deref(c.TimecodeEnd) != "00:00:03:12" || deref(c.Timecode) != "00:00:01:00" {
		t.Errorf("inserted: start %v end %v", deref(c.Timecode), deref(c.TimecodeEnd))
	}
	c.TimecodeEnd = ptr("00:00:04:00")
	if err := db.UpdateComment(ctx, c); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListCommentsByMediaFile(ctx, "22222", All)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range list {
		switch {
		case l.ID == c.ID:
			found = deref(l.TimecodeEnd) == "00:00:04:00"
		case l.TimecodeEnd != nil:
			t.Errorf("comment %d has timecode_end %q", l.ID, *l.TimecodeEnd)
		}
	}
	if !found {
		t.Errorf("updated timecode_end not listed")
	}
}

// The change counters move on every write to what they count, including
// cascades, and only then.
func TestChangeCounters(t *testing.T) { eachBackend(t, testChangeCounters) }

func testChangeCounters(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	read := func() ChangeCounters {
		t.Helper()
		c, err := db.ReadChangeCounters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name            string
		write           func() error
		media, comments bool
	}{
		{"rename", func() error { return db.RenameMediaFile(ctx, "B1DE0", "x") }, true, false},
		{"subtitle", func() error {
			_, err := db.InsertSubtitle(ctx, Subtitle{MediaFileID: "B1DE0", Title: "s", OrigFilename: "s.srt"})
			return err
		}, true, false},
		{"comment", func() error { return db.EditComment(ctx, 1, "edited") }, false, true},
		{"user", func() error { return db.UpsertUser(ctx, "someone", "Someone") }, false, false},
		{"cascade", func() error { return db.DeleteMediaFile(ctx, "11111") }, true, true},
	} {
		before := read()
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		after := read()
		if (after.Media != before.Media) != tc.media || (after.Comments != before.Comments) != tc.comments {
			t.Errorf("%s: %+v -> %+v", tc.name, before, after)
		}
	}
}
