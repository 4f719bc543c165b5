package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Share links, their guests and the guests' comments round-trip, and go
// away with their media file (the comments' username_ifnull stays with the
// comments while they exist).
func TestShareLinks(t *testing.T) { eachBackend(t, testShareLinks) }

func testShareLinks(t *testing.T, b backend) {
	db, media := newTestDB(t, b)
	ctx := context.Background()
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	l, err := db.InsertShareLink(ctx, ShareLink{ID: "abcdefghijkl", SecretSHA256: "00ff", MediaFileID: ptr(media[0].ID),
		CreatedBy: media[0].UserID, Permission: "comment", PassphraseHash: ptr("$argon2id$x"), Label: "agency", Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if l.Created.IsZero() || !l.Expires.Equal(exp) || l.Revoked != nil || *l.PassphraseHash != "$argon2id$x" || l.Label != "agency" {
		t.Errorf("stored link: %+v", l)
	}
	folder, err := db.InsertShareLink(ctx, ShareLink{ID: "folderlink01", SecretSHA256: "11", FolderID: ptr("42"), FolderTitle: ptr("Cuts"),
		CreatedBy: "user.num2", CreatedByAdmin: true, Permission: "view"})
	if err != nil {
		t.Fatal(err)
	}
	if *folder.FolderID != "42" || !folder.CreatedByAdmin || folder.MediaFileID != nil {
		t.Errorf("folder link: %+v", folder)
	}

	bad := []struct {
		name string
		link ShareLink
	}{
		{"both targets", ShareLink{ID: "x1", SecretSHA256: "1", MediaFileID: ptr(media[0].ID), FolderID: ptr("1"), CreatedBy: "u", Permission: "view"}},
		{"no target", ShareLink{ID: "x2", SecretSHA256: "1", CreatedBy: "u", Permission: "view"}},
		{"unknown permission", ShareLink{ID: "x3", SecretSHA256: "1", FolderID: ptr("1"), CreatedBy: "u", Permission: "admin"}},
		{"missing media file", ShareLink{ID: "x4", SecretSHA256: "1", MediaFileID: ptr("nope"), CreatedBy: "u", Permission: "view"}},
		{"duplicate id", ShareLink{ID: "abcdefghijkl", SecretSHA256: "1", FolderID: ptr("1"), CreatedBy: "u", Permission: "view"}},
	}
	for _, b := range bad {
		if _, err := db.InsertShareLink(ctx, b.link); err == nil {
			t.Errorf("%s: stored", b.name)
		}
	}

	for _, c := range []struct {
		f    ShareLinkFilter
		want []string
	}{
		{ShareLinkFilter{}, []string{"abcdefghijkl", "folderlink01"}},
		{ShareLinkFilter{MediaFileID: media[0].ID}, []string{"abcdefghijkl"}},
		{ShareLinkFilter{FolderID: "42"}, []string{"folderlink01"}},
		{ShareLinkFilter{CreatedBy: "user.num2"}, []string{"folderlink01"}},
		{ShareLinkFilter{MediaFileID: media[1].ID}, nil},
	} {
		got, err := db.ListShareLinks(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, l := range got {
			ids[l.ID] = true
		}
		if len(got) != len(c.want) {
			t.Errorf("%+v: %d links, want %v", c.f, len(got), c.want)
		}
		for _, w := range c.want {
			if !ids[w] {
				t.Errorf("%+v: %s missing", c.f, w)
			}
		}
	}

	g, err := db.InsertShareGuest(ctx, ShareGuest{LinkID: l.ID, Name: "Ann", SecretSHA256: "22"})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == 0 || g.Name != "Ann" || g.Created.IsZero() {
		t.Errorf("guest %+v", g)
	}
	if n, err := db.CountShareGuests(ctx, []string{l.ID, folder.ID}); err != nil || n[l.ID] != 1 || n[folder.ID] != 0 {
		t.Errorf("guest counts %v, %v", n, err)
	}
	c, err := db.InsertComment(ctx, Comment{MediaFileID: media[0].ID, UsernameIfNull: "Ann (guest)", Comment: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InsertShareComment(ctx, ShareComment{CommentID: c.ID, LinkID: l.ID, GuestID: g.ID}); err != nil {
		t.Fatal(err)
	}
	if sc, err := db.GetShareComment(ctx, c.ID); err != nil || sc.GuestID != g.ID || sc.LinkID != l.ID {
		t.Errorf("share comment %+v, %v", sc, err)
	}
	if _, err := db.GetShareComment(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("comment 1 by a guest: %v", err)
	}

	at := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	if did, err := db.RevokeShareLink(ctx, l.ID, at); err != nil || !did {
		t.Fatalf("revoke: %v %v", did, err)
	}
	if did, err := db.RevokeShareLink(ctx, l.ID, at.Add(time.Hour)); err != nil || did {
		t.Errorf("second revoke: %v %v", did, err)
	}
	if got, _ := db.GetShareLink(ctx, l.ID); got.Revoked == nil || !got.Revoked.Equal(at) {
		t.Errorf("revoked at %v", got.Revoked)
	}
	if _, err := db.RevokeShareLink(ctx, "nosuchlink", at); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}

	if err := db.DeleteMediaFile(ctx, media[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetShareLink(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("link of a deleted media file: %v", err)
	}
	if _, err := db.GetShareGuest(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("guest of a deleted link: %v", err)
	}
	if _, err := db.GetShareLink(ctx, folder.ID); err != nil {
		t.Errorf("folder link gone with another media file: %v", err)
	}
}
