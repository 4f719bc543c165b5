package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// The queries the other tests do not reach, on every backend: batch
// reads, updates of whole rows, the brief listings, subtitles of many
// files, notification settings and the outbox.
func TestMoreQueries(t *testing.T) { eachBackend(t, testMoreQueries) }

func testMoreQueries(t *testing.T, b backend) {
	ctx := context.Background()
	db, media := newTestDB(t, b)

	// Users.
	if err := db.EnsureUser(ctx, "user.num1", "Renamed?"); err != nil {
		t.Fatal(err)
	}
	if err := db.EnsureUser(ctx, "newbie", ""); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.GetUser(ctx, "user.num1"); u.Name != "User Number1" {
		t.Errorf("EnsureUser renamed an existing user: %q", u.Name)
	}
	if u, err := db.GetUser(ctx, "newbie"); err != nil || u.Name != "newbie" || u.Created == nil {
		t.Errorf("EnsureUser: %+v %v", u, err)
	}
	if users, _ := db.ListUsers(ctx, All); len(users) != 3 {
		t.Errorf("users: %+v", users)
	}
	if _, err := db.GetUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}

	// Media files: batch reads, brief listings, a whole-row update.
	got, err := db.GetMediaFiles(ctx, []string{"22222", "B1DE0", "missing"})
	if err != nil || len(got) != 2 || got[0].ID != "22222" || got[1].ID != "B1DE0" {
		t.Fatalf("GetMediaFiles (newest first): %+v %v", got, err)
	}
	if none, err := db.GetMediaFiles(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("GetMediaFiles(nil): %v %v", none, err)
	}
	m := media[1]
	m.RawMetadataAll = ptr(`{"streams":[]}`)
	m.Title = ptr("retitled")
	m.AddedTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m.HasThumbnail = ptr(false)
	if err := db.UpdateMediaFile(ctx, m); err != nil {
		t.Fatal(err)
	}
	full, _ := db.GetMediaFile(ctx, m.ID)
	if deref(full.Title) != "retitled" || deref(full.RawMetadataAll) == "" || !full.AddedTime.Equal(m.AddedTime) || deref(full.HasThumbnail) {
		t.Errorf("after UpdateMediaFile: %+v", full)
	}
	brief, _ := db.GetMediaFilesBrief(ctx, []string{m.ID})
	byUser, _ := db.ListMediaFilesByUserBrief(ctx, m.UserID, All)
	if len(brief) != 1 || brief[0].RawMetadataAll != nil || deref(brief[0].Title) != "retitled" ||
		len(byUser) != 2 || byUser[0].ID != m.ID || byUser[0].RawMetadataAll != nil {
		t.Errorf("brief listings: %+v / %+v", brief, byUser)
	}
	if err := db.SetThumbsDone(ctx, m.ID, time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateMediaFile(ctx, MediaFile{ID: "missing", UserID: "user.num1", AddedTime: time.Now()}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing media file: %v", err)
	}

	// Change log: the update above is listed as a change after the
	// counter the listing was read under.
	before, _ := db.ReadChangeCounters(ctx)
	if err := db.RenameMediaFile(ctx, "B1DE4", "moved on"); err != nil {
		t.Fatal(err)
	}
	changed, err := db.MediaChangedSince(ctx, before.Media)
	if err != nil || !slices.Equal(changed, []string{"B1DE4"}) {
		t.Errorf("MediaChangedSince: %v %v", changed, err)
	}

	// Comments and messages by id, updates, per-comment listings.
	cs, _ := db.GetComments(ctx, []int64{1, 2, 999})
	if len(cs) != 2 {
		t.Errorf("GetComments: %+v", cs)
	}
	c := cs[0]
	c.Comment, c.Edited = "rewritten", ptr(time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC))
	if err := db.UpdateComment(ctx, c); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.GetComment(ctx, c.ID); again.Comment != "rewritten" || again.Edited == nil || !again.Edited.Equal(*c.Edited) {
		t.Errorf("after UpdateComment: %+v", again)
	}
	msg, err := db.InsertMessage(ctx, Message{UserID: "user.num1", EventName: EventOK, Message: "about a comment", CommentID: ptr(int64(1)), MediaFileID: ptr("B1DE0"), Details: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	msg.Message, msg.Seen = "updated", true
	if err := db.UpdateMessage(ctx, msg); err != nil {
		t.Fatal(err)
	}
	byComment, _ := db.ListMessagesByComment(ctx, 1, All)
	byMedia, _ := db.ListMessagesByMediaFile(ctx, "B1DE0", All)
	if len(byComment) != 1 || byComment[0].Message != "updated" || !byComment[0].Seen || len(byMedia) != 1 {
		t.Errorf("messages by comment %+v, by media %+v", byComment, byMedia)
	}
	if err := db.SetMessageSeen(ctx, msg.ID, false); err != nil {
		t.Fatal(err)
	}
	if ms, _ := db.GetMessages(ctx, []int64{msg.ID}); len(ms) != 1 || ms[0].Seen {
		t.Errorf("GetMessages after SetMessageSeen(false): %+v", ms)
	}
	if err := db.DeleteMessage(ctx, msg.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteMessage(ctx, msg.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}

	// Subtitles of many files at once.
	var subs []Subtitle
	for _, s := range []Subtitle{
		{MediaFileID: "B1DE0", Title: "en", LanguageCode: "en", OrigFilename: "a.srt", Filename: ptr("a.vtt"), TimeOffset: -1.5},
		{MediaFileID: "B1DE0", Title: "fi", OrigFilename: "b.vtt"},
		{MediaFileID: "11111", Title: "sv", LanguageCode: "sv", OrigFilename: "c.srt", Filename: ptr("c.vtt")},
	} {
		got, err := db.InsertSubtitle(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, got)
	}
	if subs[0].TimeOffset != -1.5 || subs[1].LanguageCode != "" || subs[1].Filename != nil {
		t.Errorf("inserted subtitles: %+v", subs)
	}
	if _, err := db.InsertSubtitle(ctx, Subtitle{MediaFileID: "B1DE0", Title: "dup", OrigFilename: "a2.srt", Filename: ptr("a.vtt")}); err == nil {
		t.Error("two subtitles of one file with the same file name")
	}
	s := subs[2]
	s.Title, s.TimeOffset = "svenska", 2
	if err := db.UpdateSubtitle(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetSubtitle(ctx, s.ID); got.Title != "svenska" || got.TimeOffset != 2 {
		t.Errorf("after UpdateSubtitle: %+v", got)
	}
	if got, _ := db.GetSubtitles(ctx, []int64{subs[0].ID, subs[2].ID}); len(got) != 2 {
		t.Errorf("GetSubtitles: %+v", got)
	}
	for name, list := range map[string]func() (map[string][]Subtitle, error){
		"ListSubtitlesByMediaFiles": func() (map[string][]Subtitle, error) {
			return db.ListSubtitlesByMediaFiles(ctx, []string{"B1DE0", "11111", "22222"})
		},
		"ListSubtitlesOfMedia": func() (map[string][]Subtitle, error) { return db.ListSubtitlesOfMedia(ctx, []string{"B1DE0", "11111"}) },
	} {
		got, err := list()
		if err != nil || len(got["B1DE0"]) != 2 || len(got["11111"]) != 1 || len(got["22222"]) != 0 {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
	// B1DE0 is user.num1's, 11111 user.num2's.
	if got, _ := db.ListSubtitlesOfUsersMedia(ctx, "user.num1"); len(got) != 1 || len(got["B1DE0"]) != 2 {
		t.Errorf("ListSubtitlesOfUsersMedia: %+v", got)
	}

	// Jobs: spec changes and counts.
	id, _ := db.InsertJob(ctx, Job{Kind: "ingest", UserID: "user.num1", Spec: "{}"})
	if err := db.SetJobSpec(ctx, id, `{"media":"x"}`); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.GetJob(ctx, id); j.Spec != `{"media":"x"}` || j.Created.IsZero() {
		t.Errorf("after SetJobSpec: %+v", j)
	}
	if counts, err := db.CountJobs(ctx); err != nil || counts[[2]string{"ingest", JobQueued}] != 1 {
		t.Errorf("CountJobs: %v %v", counts, err)
	}
}

// Notification settings and the outbox, on every backend.
func TestNotifyQueries(t *testing.T) { eachBackend(t, testNotifyQueries) }

func testNotifyQueries(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	if s, err := db.GetNotifySettings(ctx, "user.num1"); err != nil || s != DefaultNotify("user.num1") {
		t.Errorf("defaults: %+v %v", s, err)
	}
	want := NotifySettings{UserID: "user.num1", OnComment: true, OnMention: true, Email: "one@example.com", EmailEnabled: true,
		WebhookURL: "https://hooks.example.com/x", WebhookSecret: "s3cret"}
	for range 2 { // the second time updates
		if err := db.PutNotifySettings(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetNotifySettings(ctx, "user.num1")
	if err != nil || got.Updated == nil {
		t.Fatalf("stored settings: %+v %v", got, err)
	}
	got.Updated = nil
	if got != want {
		t.Errorf("settings read back %+v, want %+v", got, want)
	}

	if _, ok, err := db.NextDeliveryDue(ctx); ok || err != nil {
		t.Errorf("next due with an empty outbox: %v %v", ok, err)
	}
	var ids []int64
	for _, ch := range []string{"email", "webhook"} {
		id, err := db.QueueDelivery(ctx, Delivery{UserID: "user.num1", Channel: ch, Target: "t", Event: "comment", Payload: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	now := time.Now().Add(time.Second)
	due, err := db.ClaimDeliveries(ctx, now, time.Minute, 10)
	if err != nil || len(due) != 2 || due[0].ID != ids[0] || due[0].State != DeliveryQueued {
		t.Fatalf("due: %+v %v", due, err)
	}
	// Claimed: nobody else takes them until the lease is over, then they
	// are due again (their taker died).
	if again, err := db.ClaimDeliveries(ctx, now, time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice: %+v %v", again, err)
	}
	if again, err := db.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 1); err != nil || len(again) != 1 || again[0].ID != ids[0] {
		t.Fatalf("after the lease: %+v %v", again, err)
	}
	retry := now.Add(time.Hour).Truncate(time.Second)
	if err := db.DeliveryFailed(ctx, ids[0], "connection refused", retry, false); err != nil {
		t.Fatal(err)
	}
	if err := db.DeliveryDone(ctx, ids[1], now); err != nil {
		t.Fatal(err)
	}
	if due, _ = db.ClaimDeliveries(ctx, now.Add(5*time.Minute), time.Minute, 10); len(due) != 0 {
		t.Errorf("due after one failure and one success: %+v", due)
	}
	next, ok, err := db.NextDeliveryDue(ctx)
	if err != nil || !ok || !next.Equal(retry) {
		t.Errorf("next due %v %v %v, want %v", next, ok, err, retry)
	}
	d, _ := db.GetDelivery(ctx, ids[0])
	if d.Attempts != 1 || d.LastError != "connection refused" || d.State != DeliveryQueued || d.Delivered != nil {
		t.Errorf("failed delivery: %+v", d)
	}
	if err := db.DeliveryFailed(ctx, ids[0], "gave up", retry, true); err != nil {
		t.Fatal(err)
	}
	list, _ := db.ListDeliveries(ctx, "user.num1", All)
	if len(list) != 2 || list[0].ID != ids[1] || list[0].Delivered == nil || list[1].State != DeliveryFailed {
		t.Errorf("deliveries, newest first: %+v", list)
	}

	// Names: an exact id wins over a name; case does not matter; a name
	// two users share matches nobody.
	if err := db.UpsertUser(ctx, "alice", "Shared"); err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertUser(ctx, "bob", "Shared"); err != nil {
		t.Fatal(err)
	}
	found, err := db.FindUsersByName(ctx, []string{"USER.NUM1", "user number2", "shared", "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found["USER.NUM1"] != "user.num1" || found["user number2"] != "user.num2" {
		t.Errorf("FindUsersByName: %v", found)
	}
}
