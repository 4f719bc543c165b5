package share_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// matrixFixture is what one guest's commands act on.
type matrixFixture struct {
	shared, other      store.MediaFile
	ownerComment       int64 // alice's, on the shared file
	ownEdit, ownDelete int64 // the guest's own, on the shared file
	subtitle           int64 // on the shared file
}

// cmd builds a command from its JSON form, as the web client sends it.
func cmd(t *testing.T, js string) *pb.ClientToServerCmd {
	t.Helper()
	var c pb.ClientToServerCmd
	if err := protojson.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return &c
}

// The permission matrix: a guest of each permission level sends every
// websocket command (all of the protocol's, checked below). What the
// level allows works; everything else gets "Permission denied", changes
// nothing, and sends nothing else (no page, file or comment of anyone).
func TestGuestPermissionMatrix(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	n := 0
	setup := func(level string) (*guest, *wsclient.Client, matrixFixture) {
		n++
		f := matrixFixture{
			shared: e.addMedia(fmt.Sprintf("sh%06d", n), "alice", true),
			other:  e.addMedia(fmt.Sprintf("ot%06d", n), "alice", true),
		}
		tok := e.link("alice", map[string]any{"media_file_id": f.shared.ID, "permission": level})
		g := e.guest(tok)
		code, _, out := g.join("Ann", "")
		if code != 200 {
			t.Fatalf("join: %d %v", code, out)
		}
		c, w := g.mustDial()
		guestID := strings.TrimPrefix(w.GetUser().GetId(), "guest:"+tok[:12]+":")
		mk := func(text string, user *string, name string) int64 {
			row, err := e.db().InsertComment(ctx, store.Comment{MediaFileID: f.shared.ID, UserID: user, UsernameIfNull: name, Comment: text})
			if err != nil {
				t.Fatal(err)
			}
			return row.ID
		}
		f.ownerComment = mk("by alice", new("alice"), "alice")
		for _, p := range []*int64{&f.ownEdit, &f.ownDelete} {
			*p = mk("by Ann", nil, "Ann (guest)")
			var gid int64
			fmt.Sscan(guestID, &gid)
			if err := e.db().InsertShareComment(ctx, store.ShareComment{CommentID: *p, LinkID: tok[:12], GuestID: gid}); err != nil {
				t.Fatal(err)
			}
		}
		subs := filepath.Join(e.dir, "videos", f.shared.ID, "subs")
		os.MkdirAll(filepath.Join(subs, "orig"), 0o755)
		os.WriteFile(filepath.Join(subs, "orig", "en.srt"), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(subs, "en.vtt"), []byte("WEBVTT\n"), 0o644)
		sub, err := e.db().InsertSubtitle(ctx, store.Subtitle{MediaFileID: f.shared.ID, Title: "en", LanguageCode: "en", OrigFilename: "en.srt", Filename: new("en.vtt")})
		if err != nil {
			t.Fatal(err)
		}
		f.subtitle = sub.ID
		return g, c, f
	}
	srt := base64.StdEncoding.EncodeToString([]byte("1\n00:00:01,000 --> 00:00:02,000\nHi\n"))
	all := map[string]bool{"view": true, "comment": true, "download": true}
	commenters := map[string]bool{"comment": true, "download": true}
	none := map[string]bool{}
	comment := func(f matrixFixture, id int64) (store.Comment, error) { return e.db().GetComment(ctx, id) }

	type row struct {
		name    string // the command's JSON name
		variant string
		allowed map[string]bool
		send    func(f matrixFixture) string // the command as JSON
		// works checks what came back and what was stored when allowed;
		// unchanged checks that a denial changed nothing.
		works     func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd)
		unchanged func(t *testing.T, f matrixFixture)
	}
	has := func(t *testing.T, got []*pb.ServerToClientCmd, pred func(*pb.ServerToClientCmd) bool, what string) {
		t.Helper()
		for _, m := range got {
			if pred(m) {
				return
			}
		}
		t.Errorf("no %s in %s", what, wsclient.Describe(got))
	}
	commentIs := func(id int64, text string) func(t *testing.T, f matrixFixture) {
		return func(t *testing.T, f matrixFixture) {
			if c, err := e.db().GetComment(ctx, id); err != nil || c.Comment != text {
				t.Errorf("comment %d: %q %v", id, c.Comment, err)
			}
		}
	}
	rows := []row{
		{"openNavigationPage", "", all, func(matrixFixture) string { return `{"openNavigationPage":{}}` },
			func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
				has(t, got, func(m *pb.ServerToClientCmd) bool {
					items := m.GetShowPage().GetPageItems()
					if len(items) != 1 {
						return false
					}
					l := items[0].GetFolderListing()
					return len(l.GetItems()) == 1 && l.GetItems()[0].GetMediaFile().GetId() == f.shared.ID &&
						len(l.GetItems()[0].GetPopupActions()) == 0 && !l.GetAllowUpload()
				}, "page of the shared file alone")
			}, nil},
		{"openMediaFile", "the shared file", all, func(f matrixFixture) string { return `{"openMediaFile":{"mediaFileId":"` + f.shared.ID + `"}}` },
			func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
				has(t, got, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile().GetMediaFile().GetId() == f.shared.ID }, "openMediaFile")
				has(t, got, func(m *pb.ServerToClientCmd) bool { return len(m.GetAddComments().GetComments()) >= 3 }, "its comments")
			}, nil},
		{"openMediaFile", "another file", none, func(f matrixFixture) string { return `{"openMediaFile":{"mediaFileId":"` + f.other.ID + `"}}` }, nil, nil},
		{"openMediaFile", "no such file", none, func(matrixFixture) string { return `{"openMediaFile":{"mediaFileId":"nosuchid"}}` }, nil, nil},
		{"delMediaFile", "", none, func(f matrixFixture) string { return `{"delMediaFile":{"mediaFileId":"` + f.shared.ID + `"}}` }, nil,
			func(t *testing.T, f matrixFixture) {
				if _, err := e.db().GetMediaFile(ctx, f.shared.ID); err != nil {
					t.Errorf("deleted: %v", err)
				}
			}},
		{"renameMediaFile", "", none, func(f matrixFixture) string {
			return `{"renameMediaFile":{"mediaFileId":"` + f.shared.ID + `","newName":"Renamed"}}`
		}, nil, func(t *testing.T, f matrixFixture) {
			if m, _ := e.db().GetMediaFile(ctx, f.shared.ID); *m.Title != *f.shared.Title {
				t.Errorf("renamed to %q", *m.Title)
			}
		}},
		{"addComment", "the shared file", commenters, func(f matrixFixture) string {
			return `{"addComment":{"mediaFileId":"` + f.shared.ID + `","comment":"from the matrix","timecode":"00:00:01:00"}}`
		}, func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
			has(t, got, func(m *pb.ServerToClientCmd) bool {
				cs := m.GetAddComments().GetComments()
				return len(cs) == 1 && cs[0].GetComment() == "from the matrix" && cs[0].GetUsernameIfnull() == "Ann (guest)" && cs[0].GetUserId() == ""
			}, "the guest's comment")
		}, func(t *testing.T, f matrixFixture) {
			if cs, _ := e.db().ListCommentsByMediaFile(ctx, f.shared.ID, store.All); len(cs) != 3 {
				t.Errorf("%d comments", len(cs))
			}
		}},
		{"addComment", "another file", none, func(f matrixFixture) string {
			return `{"addComment":{"mediaFileId":"` + f.other.ID + `","comment":"elsewhere"}}`
		}, nil, func(t *testing.T, f matrixFixture) {
			if cs, _ := e.db().ListCommentsByMediaFile(ctx, f.other.ID, store.All); len(cs) != 0 {
				t.Errorf("%d comments", len(cs))
			}
		}},
		{"editComment", "own comment", commenters, func(f matrixFixture) string {
			return fmt.Sprintf(`{"editComment":{"commentId":"%d","newComment":"edited"}}`, f.ownEdit)
		}, func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
			has(t, got, func(m *pb.ServerToClientCmd) bool { return m.GetAddComments() != nil }, "the edited comment")
			commentIs(f.ownEdit, "edited")(t, f)
		}, func(t *testing.T, f matrixFixture) { commentIs(f.ownEdit, "by Ann")(t, f) }},
		{"editComment", "the owner's comment", none, func(f matrixFixture) string {
			return fmt.Sprintf(`{"editComment":{"commentId":"%d","newComment":"edited"}}`, f.ownerComment)
		}, nil, func(t *testing.T, f matrixFixture) { commentIs(f.ownerComment, "by alice")(t, f) }},
		{"editComment", "no such comment", none, func(matrixFixture) string { return `{"editComment":{"commentId":"999999","newComment":"x"}}` }, nil, nil},
		{"delComment", "own comment", commenters, func(f matrixFixture) string { return fmt.Sprintf(`{"delComment":{"commentId":"%d"}}`, f.ownDelete) },
			func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
				has(t, got, func(m *pb.ServerToClientCmd) bool { return m.GetDelComment() != nil }, "delComment")
				if _, err := comment(f, f.ownDelete); err == nil {
					t.Error("still there")
				}
			}, func(t *testing.T, f matrixFixture) { commentIs(f.ownDelete, "by Ann")(t, f) }},
		{"delComment", "the owner's comment", none, func(f matrixFixture) string { return fmt.Sprintf(`{"delComment":{"commentId":"%d"}}`, f.ownerComment) },
			nil, func(t *testing.T, f matrixFixture) { commentIs(f.ownerComment, "by alice")(t, f) }},
		{"addSubtitle", "", none, func(f matrixFixture) string {
			return `{"addSubtitle":{"mediaFileId":"` + f.shared.ID + `","fileName":"de.srt","contentsBase64":"` + srt + `"}}`
		}, nil, func(t *testing.T, f matrixFixture) {
			if subs, _ := e.db().ListSubtitlesByMediaFile(ctx, f.shared.ID); len(subs) != 1 {
				t.Errorf("%d subtitles", len(subs))
			}
		}},
		{"editSubtitleInfo", "", none, func(f matrixFixture) string {
			return fmt.Sprintf(`{"editSubtitleInfo":{"id":"%d","title":"changed"}}`, f.subtitle)
		}, nil, func(t *testing.T, f matrixFixture) {
			if s, _ := e.db().GetSubtitle(ctx, f.subtitle); s.Title != "en" {
				t.Errorf("title %q", s.Title)
			}
		}},
		{"delSubtitle", "", none, func(f matrixFixture) string { return fmt.Sprintf(`{"delSubtitle":{"id":"%d"}}`, f.subtitle) }, nil,
			func(t *testing.T, f matrixFixture) {
				if _, err := e.db().GetSubtitle(ctx, f.subtitle); err != nil {
					t.Errorf("deleted: %v", err)
				}
			}},
		{"joinCollab", "", none, func(f matrixFixture) string {
			return `{"joinCollab":{"collabId":"room1","mediaFileId":"` + f.shared.ID + `"}}`
		}, nil, nil},
		{"leaveCollab", "", all, func(matrixFixture) string { return `{"leaveCollab":{}}` },
			func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
				if len(got) != 0 {
					t.Errorf("answered %s", wsclient.Describe(got))
				}
			}, nil},
		{"collabReport", "", all, func(matrixFixture) string { return `{"collabReport":{"paused":true,"seekTimeSec":1}}` },
			func(t *testing.T, f matrixFixture, got []*pb.ServerToClientCmd) {
				has(t, got, wsclient.Message("Report rejected: no active collab session."), "the rejection (a guest is in no room)")
			}, nil},
		{"organizerCmd", "", none, func(matrixFixture) string { return `{"organizerCmd":{"cmd":"new_folder","args":"{\"name\":\"x\"}"}}` }, nil, nil},
		{"moveToFolder", "", none, func(f matrixFixture) string {
			return `{"moveToFolder":{"ids":[{"mediaFileId":"` + f.shared.ID + `"}],"dstFolderId":"1"}}`
		}, nil, nil},
		{"reorderItems", "", none, func(f matrixFixture) string {
			return `{"reorderItems":{"ids":[{"mediaFileId":"` + f.shared.ID + `"}]}}`
		}, nil, nil},
		{"addVersion", "", none, func(f matrixFixture) string {
			return `{"addVersion":{"mediaFileId":"` + f.other.ID + `","versionOf":"` + f.shared.ID + `"}}`
		}, nil, func(t *testing.T, f matrixFixture) {
			if infos, err := e.db().StackInfos(ctx, []string{f.shared.ID, f.other.ID}); err != nil || len(infos) != 0 {
				t.Errorf("stacked: %v %v", infos, err)
			}
		}},
		{"listVersionComments", "", none, func(f matrixFixture) string {
			return `{"listVersionComments":{"mediaFileId":"` + f.shared.ID + `"}}`
		}, nil, nil},
		// listMyMessages and logout are sent on their own below.
		{"listMyMessages", "", all, nil, nil, nil},
		{"logout", "", all, nil, nil, nil},
	}

	// Every command of the protocol has a row.
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.name] = true
	}
	oneof := (&pb.ClientToServerCmd{}).ProtoReflect().Descriptor().Oneofs().ByName("cmd")
	for i := 0; i < oneof.Fields().Len(); i++ {
		if name := oneof.Fields().Get(i).JSONName(); !covered[name] {
			t.Errorf("command %s has no row in the guest permission matrix", name)
		}
	}

	for _, level := range []string{"view", "comment", "download"} {
		t.Run(level, func(t *testing.T) {
			g, c, f := setup(level)
			for _, r := range rows {
				if r.send == nil {
					continue
				}
				t.Run(strings.TrimSuffix(r.name+" "+r.variant, " "), func(t *testing.T) {
					got := roundTrip(t, c, cmd(t, r.send(f)))
					if r.allowed[level] {
						for _, m := range got {
							if wsclient.Message("Permission denied")(m) {
								t.Errorf("denied: %s", wsclient.Describe(got))
							}
						}
						if r.works != nil {
							r.works(t, f, got)
						}
						return
					}
					if len(got) != 1 || len(got[0].GetShowMessages().GetMsgs()) != 1 {
						t.Fatalf("denial: want exactly one message, got %s", wsclient.Describe(got))
					}
					msg := got[0].GetShowMessages().GetMsgs()[0]
					text := msg.GetMessage() + " " + msg.GetDetails()
					if msg.GetType() != pb.UserMessage_ERROR || !strings.HasPrefix(msg.GetMessage(), "Permission denied") {
						t.Errorf("denial %v", msg)
					}
					if strings.Contains(text, f.other.ID) || strings.Contains(text, *f.other.Title) || strings.Contains(text, "alice") {
						t.Errorf("the denial tells about others: %q", text)
					}
					if r.unchanged != nil {
						r.unchanged(t, f)
					}
				})
			}
			t.Run("listMyMessages", func(t *testing.T) {
				if err := c.Send(ctx, cmd(t, `{"listMyMessages":{}}`)); err != nil {
					t.Fatal(err)
				}
				m, skipped, err := c.Wait(ctx, wait, func(m *pb.ServerToClientCmd) bool { return m.GetShowMessages() != nil })
				if err != nil || len(m.GetShowMessages().GetMsgs()) != 0 || len(skipped) != 0 {
					t.Errorf("messages %v, %s, %v", m, wsclient.Describe(skipped), err)
				}
			})
			// The same message from the "no such file" and "another file"
			// rows: which ids exist is not told.
			a := roundTrip(t, c, cmd(t, `{"openMediaFile":{"mediaFileId":"`+f.other.ID+`"}}`))
			b := roundTrip(t, c, cmd(t, `{"openMediaFile":{"mediaFileId":"nosuchid"}}`))
			if len(a) != 1 || len(b) != 1 || a[0].GetShowMessages().GetMsgs()[0].GetDetails() != b[0].GetShowMessages().GetMsgs()[0].GetDetails() {
				t.Errorf("another file vs none: %s / %s", wsclient.Describe(a), wsclient.Describe(b))
			}
			// Media over HTTP: the shared file plays for everyone, its
			// original only with "download"; another file never.
			for _, m := range []struct {
				sub  string
				want bool
			}{
				{"videos/" + f.shared.ID + "/video.mp4", true},
				{"videos/" + f.shared.ID + "/orig/clip.mov", level == "download"},
				{"videos/" + f.shared.ID + "/subs/en.vtt", true},
				{"videos/" + f.other.ID + "/video.mp4", false},
				{"videos/" + f.other.ID + "/orig/clip.mov", false},
			} {
				if code, _, _ := g.do("GET", m.sub, nil); (code == 200) != m.want {
					t.Errorf("%s: %d", m.sub, code)
				}
			}
			t.Run("logout", func(t *testing.T) {
				if err := c.Send(ctx, cmd(t, `{"logout":{}}`)); err != nil {
					t.Fatal(err)
				}
				_, _, err := c.Wait(ctx, wait, func(*pb.ServerToClientCmd) bool { return false })
				if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
					t.Errorf("logout: %v", err)
				}
			})
		})
	}
}
