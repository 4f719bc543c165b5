package review_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The permission matrix of Clapshot's defaults (no organizer): owner,
// another user and an admin try every command that has a permission.
func TestPermissionMatrix(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	roles := map[string]*client{
		"owner": s.dial("alice"),
		"other": s.dial("bob"),
		"admin": s.dial("root", "X-Remote-User-Is-Admin", "true"),
	}
	srt := base64.StdEncoding.EncodeToString([]byte("1\n00:00:01,000 --> 00:00:02,000\nHi\n"))
	// This test is about permissions: comment notifications (a message to
	// the owner when another user comments) are off, so that every
	// message a client gets is the answer to its own command.
	for _, u := range []string{"alice", "bob", "root"} {
		if err := s.app.DB.PutNotifySettings(ctx, store.NotifySettings{UserID: u}); err != nil {
			t.Fatal(err)
		}
	}

	type fixture struct {
		media     store.MediaFile
		commentID string
		subID     string
	}
	n := 0
	setup := func() fixture {
		n++
		m := s.addMedia(fmt.Sprintf("perm%04d", n), "alice", "video")
		c, err := s.app.DB.InsertComment(ctx, store.Comment{MediaFileID: m.ID, UserID: new("alice"), UsernameIfNull: "Alice", Comment: "by alice"})
		if err != nil {
			t.Fatal(err)
		}
		subs := filepath.Join(s.dir, "videos", m.ID, "subs")
		os.MkdirAll(filepath.Join(subs, "orig"), 0o755)
		os.WriteFile(filepath.Join(subs, "orig", "old.srt"), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(subs, "old.vtt"), []byte("WEBVTT\n"), 0o644)
		sub, err := s.app.DB.InsertSubtitle(ctx, store.Subtitle{MediaFileID: m.ID, Title: "old", LanguageCode: "en", OrigFilename: "old.srt", Filename: new("old.vtt")})
		if err != nil {
			t.Fatal(err)
		}
		return fixture{media: m, commentID: fmt.Sprint(c.ID), subID: fmt.Sprint(sub.ID)}
	}

	type command struct {
		name    string
		desc    string // Clapshot's words in "Permission denied: <desc>"
		allowed map[string]bool
		send    func(c *client, f fixture)
		// succeeded checks the actor's replies and the stored result.
		succeeded func(c *client, f fixture)
		unchanged func(f fixture)
	}
	ownerAdmin := map[string]bool{"owner": true, "other": false, "admin": true}
	everyone := map[string]bool{"owner": true, "other": true, "admin": true}
	commands := []command{
		{"renameMediaFile", "rename media file", ownerAdmin,
			func(c *client, f fixture) {
				c.send("renameMediaFile", map[string]any{"mediaFileId": f.media.ID, "newName": "  New name  "})
			},
			func(c *client, f fixture) {
				m := c.expectMsg(pb.UserMessage_OK, "Video renamed.")
				if m.GetDetails() != "New name: 'New name'" {
					t.Errorf("details %q", m.GetDetails())
				}
				if got, _ := s.app.DB.GetMediaFile(ctx, f.media.ID); *got.Title != "New name" {
					t.Errorf("title %q", *got.Title)
				}
			},
			func(f fixture) {
				if got, _ := s.app.DB.GetMediaFile(ctx, f.media.ID); *got.Title != *f.media.Title {
					t.Errorf("renamed anyway: %q", *got.Title)
				}
			}},
		{"delMediaFile", "delete media file", ownerAdmin,
			func(c *client, f fixture) { c.send("delMediaFile", map[string]any{"mediaFileId": f.media.ID}) },
			func(c *client, f fixture) {
				m := c.expectMsg(pb.UserMessage_OK, "Video deleted.")
				if !strings.HasPrefix(m.GetDetails(), "Added by 'alice' on ") || !strings.HasSuffix(m.GetDetails(), "Filename was clip "+f.media.ID+".mp4.") {
					t.Errorf("details %q", m.GetDetails())
				}
				if _, err := s.app.DB.GetMediaFile(ctx, f.media.ID); err == nil {
					t.Error("row still there")
				}
				trashed, _ := filepath.Glob(filepath.Join(s.dir, "videos", "trash", f.media.ID+"_*", "db_backup.json"))
				if len(trashed) != 1 {
					t.Errorf("trash: %v", trashed)
				}
			},
			func(f fixture) {
				if _, err := s.app.DB.GetMediaFile(ctx, f.media.ID); err != nil {
					t.Errorf("deleted anyway: %v", err)
				}
			}},
		{"addSubtitle", "add subtitle", ownerAdmin,
			func(c *client, f fixture) {
				c.send("addSubtitle", map[string]any{"mediaFileId": f.media.ID, "fileName": "new.de.srt", "contentsBase64": srt})
			},
			func(c *client, f fixture) {
				mf := c.expect("openMediaFile").GetOpenMediaFile().GetMediaFile()
				c.expect("addComments")
				if len(mf.Subtitles) != 2 {
					t.Errorf("subtitles: %v", mf.Subtitles)
				}
			},
			func(f fixture) {
				if subs, _ := s.app.DB.ListSubtitlesByMediaFile(ctx, f.media.ID); len(subs) != 1 {
					t.Errorf("subtitle added anyway")
				}
			}},
		{"editSubtitleInfo", "edit subtitle", ownerAdmin,
			func(c *client, f fixture) {
				c.send("editSubtitleInfo", map[string]any{"id": f.subID, "title": "Edited"})
			},
			func(c *client, f fixture) {
				c.expect("openMediaFile")
				c.expect("addComments")
				if subs, _ := s.app.DB.ListSubtitlesByMediaFile(ctx, f.media.ID); subs[0].Title != "Edited" {
					t.Errorf("title %q", subs[0].Title)
				}
			},
			func(f fixture) {
				if subs, _ := s.app.DB.ListSubtitlesByMediaFile(ctx, f.media.ID); subs[0].Title != "old" {
					t.Errorf("edited anyway")
				}
			}},
		{"delSubtitle", "delete subtitle", ownerAdmin,
			func(c *client, f fixture) { c.send("delSubtitle", map[string]any{"id": f.subID}) },
			func(c *client, f fixture) {
				c.expect("openMediaFile")
				c.expect("addComments")
				if subs, _ := s.app.DB.ListSubtitlesByMediaFile(ctx, f.media.ID); len(subs) != 0 {
					t.Error("subtitle row still there")
				}
				if _, err := os.Stat(filepath.Join(s.dir, "videos", f.media.ID, "subs", "old.vtt")); !os.IsNotExist(err) {
					t.Errorf("vtt file still there: %v", err)
				}
			},
			func(f fixture) {
				if subs, _ := s.app.DB.ListSubtitlesByMediaFile(ctx, f.media.ID); len(subs) != 1 {
					t.Errorf("deleted anyway")
				}
			}},
		{"editComment", "edit comment", ownerAdmin,
			func(c *client, f fixture) {
				c.send("editComment", map[string]any{"commentId": f.commentID, "newComment": "changed"})
			},
			func(c *client, f fixture) {
				c.expect("delComment")
				if got := c.expect("addComments").GetAddComments().GetComments()[0].Comment; got != "changed" {
					t.Errorf("comment %q", got)
				}
			},
			func(f fixture) {
				if cs, _ := s.app.DB.ListCommentsByMediaFile(ctx, f.media.ID, store.All); cs[0].Comment != "by alice" {
					t.Errorf("edited anyway")
				}
			}},
		{"delComment", "delete comment", ownerAdmin,
			func(c *client, f fixture) { c.send("delComment", map[string]any{"commentId": f.commentID}) },
			func(c *client, f fixture) { c.expect("delComment") },
			func(f fixture) {
				if cs, _ := s.app.DB.ListCommentsByMediaFile(ctx, f.media.ID, store.All); len(cs) != 1 {
					t.Errorf("deleted anyway")
				}
			}},
		{"addComment", "comment media file", everyone,
			func(c *client, f fixture) {
				c.send("addComment", map[string]any{"mediaFileId": f.media.ID, "comment": "mine"})
			},
			func(c *client, f fixture) { c.expect("addComments") },
			nil},
		{"openMediaFile", "open media file", everyone,
			func(c *client, f fixture) { c.send("openMediaFile", map[string]any{"mediaFileId": f.media.ID}) },
			func(c *client, f fixture) { c.expect("openMediaFile"); c.expect("addComments") },
			nil},
		{"joinCollab", "join collab", everyone,
			func(c *client, f fixture) {
				c.send("joinCollab", map[string]any{"collabId": "room-" + f.media.ID, "mediaFileId": f.media.ID})
			},
			func(c *client, f fixture) {
				c.expectMsg(pb.UserMessage_OK, "joined collab")
				c.send("leaveCollab", map[string]any{})
				c.expectMsg(pb.UserMessage_OK, "left collab")
			},
			nil},
	}
	for _, cmd := range commands {
		for _, role := range []string{"owner", "other", "admin"} {
			t.Run(cmd.name+"/"+role, func(t *testing.T) {
				c := roles[role]
				f := setup()
				// Watch the file, so broadcasts to watchers reach the actor.
				c.send("openMediaFile", map[string]any{"mediaFileId": f.media.ID})
				c.expect("openMediaFile")
				c.expect("addComments")
				cmd.send(c, f)
				if cmd.allowed[role] {
					cmd.succeeded(c, f)
				} else {
					m := c.expectMsg(pb.UserMessage_ERROR, "Permission denied: "+cmd.desc)
					if m.GetDetails() == "" {
						t.Error("denial without details")
					}
					cmd.unchanged(f)
					// Stored (it has details), and seen: the user was online.
					// The message refers to the media file, or for comment
					// operations to the comment.
					msgs, _ := s.app.DB.ListMessagesByMediaFile(ctx, f.media.ID, store.All)
					if strings.Contains(cmd.name, "Comment") {
						id, _ := strconv.ParseInt(f.commentID, 10, 64)
						msgs, _ = s.app.DB.ListMessagesByComment(ctx, id, store.All)
					}
					if len(msgs) != 1 || msgs[0].Message != "Permission denied: "+cmd.desc || !msgs[0].Seen || msgs[0].UserID != c.name {
						t.Errorf("stored messages: %+v", msgs)
					}
				}
				c.quiet()
			})
		}
	}
}
