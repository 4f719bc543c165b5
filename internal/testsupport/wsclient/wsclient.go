// Package wsclient is a small client of the websocket API (/api/ws) for
// tests, the organizer test harness and benchmarks. It behaves like the
// web client where the server can tell: it sends identity headers (as a
// reverse proxy would), keeps the cookies the server sets and sends them
// with every command.
package wsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Client is one websocket session.
type Client struct {
	conn *websocket.Conn
	in   chan *pb.ServerToClientCmd
	errc chan error

	mu      sync.Mutex
	cookies map[string]string
}

// User is who the client claims to be, through the proxy headers.
type User struct {
	ID, Name string
	Admin    bool
}

// Dial connects to base (e.g. "http://127.0.0.1:8095") as user.
func Dial(ctx context.Context, base string, u User) (*Client, error) {
	h := http.Header{}
	if u.ID != "" {
		h.Set("X-Remote-User-Id", u.ID)
		h.Set("X-Remote-User-Name", u.Name)
	}
	if u.Admin {
		h.Set("X-Remote-User-Is-Admin", "true")
	}
	return DialURL(ctx, "ws"+strings.TrimPrefix(strings.TrimRight(base, "/"), "http")+"/api/ws", h)
}

// DialURL connects to a websocket URL with the given request headers (a
// guest's: its share link's /s/<token>/api/ws and cookie). A refused
// upgrade's error includes the HTTP status and the answer's text.
func DialURL(ctx context.Context, url string, h http.Header) (*Client, error) {
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, fmt.Errorf("websocket %s: HTTP %d %s: %w", url, resp.StatusCode, strings.TrimSpace(string(body)), err)
		}
		return nil, fmt.Errorf("websocket %s: %w", url, err)
	}
	conn.SetReadLimit(256 << 20)
	c := &Client{conn: conn, in: make(chan *pb.ServerToClientCmd, 1024), errc: make(chan error, 1), cookies: map[string]string{}}
	go c.read()
	return c, nil
}

func (c *Client) read() {
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.errc <- err
			close(c.in)
			return
		}
		var cmd pb.ServerToClientCmd
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &cmd); err != nil {
			cmd.Cmd = &pb.ServerToClientCmd_Error_{Error: &pb.ServerToClientCmd_Error{Msg: "wsclient: undecodable message: " + string(b)}}
		}
		if sc := cmd.GetSetCookies(); sc != nil {
			c.mu.Lock()
			c.cookies = maps.Clone(sc.GetCookies())
			if c.cookies == nil {
				c.cookies = map[string]string{}
			}
			c.mu.Unlock()
		}
		c.in <- &cmd
	}
}

// Close ends the session.
func (c *Client) Close() { _ = c.conn.Close(websocket.StatusNormalClosure, "") }

// Cookies are the cookies the server set last.
func (c *Client) Cookies() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.cookies)
}

// Send sends one command with the current cookies.
func (c *Client) Send(ctx context.Context, cmd *pb.ClientToServerCmd) error {
	b, err := protojson.Marshal(cmd)
	if err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	ck, _ := json.Marshal(c.Cookies())
	obj["cookies"] = ck
	b, _ = json.Marshal(obj)
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// Next returns the next message from the server.
func (c *Client) Next(ctx context.Context) (*pb.ServerToClientCmd, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, fmt.Errorf("connection closed: %w", <-c.errc)
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ErrTimeout is returned by Wait when nothing matched in time.
var ErrTimeout = errors.New("timed out waiting for a message")

// Wait reads messages until match returns true for one, and returns it;
// the others are returned too, in order, for diagnostics.
func (c *Client) Wait(ctx context.Context, timeout time.Duration, match func(*pb.ServerToClientCmd) bool) (*pb.ServerToClientCmd, []*pb.ServerToClientCmd, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var skipped []*pb.ServerToClientCmd
	for {
		m, err := c.Next(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = ErrTimeout
			}
			return nil, skipped, fmt.Errorf("%w (got %s)", err, Describe(skipped))
		}
		if match(m) {
			return m, skipped, nil
		}
		skipped = append(skipped, m)
	}
}

// Describe summarises messages for test failures.
func Describe(msgs []*pb.ServerToClientCmd) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		b, _ := protojson.Marshal(m)
		if len(b) > 300 {
			b = append(b[:300], "..."...)
		}
		parts[i] = string(b)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Page matches a showPage.
func Page(m *pb.ServerToClientCmd) bool { return m.GetShowPage() != nil }

// Message matches a user message whose text contains text.
func Message(text string) func(*pb.ServerToClientCmd) bool {
	return func(m *pb.ServerToClientCmd) bool {
		for _, msg := range m.GetShowMessages().GetMsgs() {
			if strings.Contains(msg.GetMessage(), text) {
				return true
			}
		}
		return false
	}
}

// Error matches an error toast or an ERROR user message.
func Error(m *pb.ServerToClientCmd) bool {
	if m.GetError() != nil {
		return true
	}
	for _, msg := range m.GetShowMessages().GetMsgs() {
		if msg.GetType() == pb.UserMessage_ERROR {
			return true
		}
	}
	return false
}

// Commands builds client commands.

// OpenNavigationPage asks for a page (pageID "" for the home page).
func OpenNavigationPage(pageID string) *pb.ClientToServerCmd {
	c := &pb.ClientToServerCmd_OpenNavigationPage{}
	if pageID != "" {
		c.PageId = &pageID
	}
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_OpenNavigationPage_{OpenNavigationPage: c}}
}

// OrganizerCmd is clapshot.callOrganizer(cmd, args).
func OrganizerCmd(cmd string, args any) *pb.ClientToServerCmd {
	b, _ := json.Marshal(args)
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_OrganizerCmd_{OrganizerCmd: &pb.ClientToServerCmd_OrganizerCmd{Cmd: cmd, Args: string(b)}}}
}

// MoveToFolder is clapshot.moveToFolder(dst, ids, listingData).
func MoveToFolder(dst string, ids []*pb.FolderItemID, listing map[string]string) *pb.ClientToServerCmd {
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_MoveToFolder_{MoveToFolder: &pb.ClientToServerCmd_MoveToFolder{
		DstFolderId: dst, Ids: ids, ListingData: listing}}}
}

// ReorderItems is the client's reorder after a drag.
func ReorderItems(ids []*pb.FolderItemID, listing map[string]string) *pb.ClientToServerCmd {
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_ReorderItems_{ReorderItems: &pb.ClientToServerCmd_ReorderItems{
		Ids: ids, ListingData: listing}}}
}

// AddComment comments on an open media file.
func AddComment(mediaFileID, text string) *pb.ClientToServerCmd {
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_AddComment_{AddComment: &pb.ClientToServerCmd_AddComment{
		MediaFileId: mediaFileID, Comment: text}}}
}

// OpenMediaFile opens a media file in the player.
func OpenMediaFile(id string) *pb.ClientToServerCmd {
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_OpenMediaFile_{OpenMediaFile: &pb.ClientToServerCmd_OpenMediaFile{MediaFileId: id}}}
}

// Media is a folder item id for a media file.
func Media(id string) *pb.FolderItemID {
	return &pb.FolderItemID{Item: &pb.FolderItemID_MediaFileId{MediaFileId: id}}
}

// Folder is a folder item id for a folder.
func Folder(id string) *pb.FolderItemID {
	return &pb.FolderItemID{Item: &pb.FolderItemID_FolderId{FolderId: id}}
}

// JoinCollab joins a collaborative session on a media file.
func JoinCollab(collabID, mediaFileID string) *pb.ClientToServerCmd {
	return &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_JoinCollab_{JoinCollab: &pb.ClientToServerCmd_JoinCollab{
		CollabId: collabID, MediaFileId: mediaFileID}}}
}
