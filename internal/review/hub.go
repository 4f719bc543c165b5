// Package review is Clapshot's realtime review API: the /api/ws websocket
// that the web client speaks (protobuf JSON of clapshot.client), its
// sessions, commands, user messages and collaborative viewing rooms.
//
// Transport is hub.go (the registry and fan-out), session.go (one
// connection: queue, keepalive, read loop), wire.go (decoding commands)
// and collab.go (rooms). The commands are commands.go (dispatch) and
// cmd_*.go by subject. They ask permission of internal/access, store
// through Store, keep files through mediadir, and have their two large
// messages built and cached by render.
//
// The Hub owns every live session. It indexes them by session id, by user
// and by the media file they watch, and owns the collab rooms. Messages to a
// session go through that session's bounded send queue, so a slow client
// never delays anyone else: when its queue overflows it is disconnected.
package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/clapshot-go/clapshot/internal/access"
	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/metrics"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/review/render"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Options configures a Hub. DB, DataDir, Identity and Log are required.
type Options struct {
	DB      Store
	DataDir string // media lives in DataDir/videos
	// Media keeps drawings and subtitle files; nil uses the local
	// DataDir.
	Media *mediadir.Dir
	URLs  mediadir.URLs
	// Identity reads the user from trusted proxy headers.
	Identity *auth.Resolver
	// OriginAllowed checks a websocket upgrade's Origin header; nil allows
	// only requests without one and same-host ones.
	OriginAllowed func(*http.Request) bool
	// Trash deletes media files for delMediaFile (mediadir.Trasher);
	// without it, delMediaFile fails.
	Trash Trasher
	Log   *slog.Logger

	// MaxMessageBytes is the largest message accepted from a client.
	MaxMessageBytes int64
	// RateLimit is messages per second per session (0: unlimited); bursts
	// of RateBurst messages pass.
	RateLimit float64
	RateBurst int
	// SendQueue is the per-session queue length and SendQueueBytes its
	// size in bytes; a session whose queue overflows is disconnected.
	SendQueue      int
	SendQueueBytes int64
	// PingInterval and PongTimeout drive the keepalive ping.
	PingInterval, PongTimeout time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// Metrics records sessions, rooms and messages sent (nil: none).
	Metrics *metrics.Metrics
	// CommentAdded, when set, hears of every stored new comment (with the
	// comment replied to, nil for a top-level one) after it was sent to
	// the file's watchers: notifications hang here.
	CommentAdded func(ctx context.Context, c store.Comment, m store.MediaFile, parent *store.Comment)
	// Peers, when set, tells the other server instances on the same
	// database of the comments this one's sessions add, edit and delete,
	// and of what happens in collab rooms; theirs arrive through
	// PeerComment and PeerCollab.
	Peers Peers
}

// Peers reaches the other server instances (fanout.Fanout).
type Peers interface {
	Publish(ctx context.Context, kind string, v any)
}

// Defaults used for zero Options fields.
const (
	DefaultMaxMessageBytes = 16 << 20
	DefaultRateLimit       = 100
	DefaultSendQueue       = 1024
	DefaultSendQueueBytes  = 64 << 20
	DefaultPingInterval    = 30 * time.Second
	DefaultPongTimeout     = 20 * time.Second
	DefaultWriteTimeout    = 15 * time.Second
)

// ErrNoSession is returned for a session id that is not connected.
var ErrNoSession = errors.New("no such session")

// Hub owns the live sessions and collab rooms.
type Hub struct {
	opt        Options
	media      *mediadir.Dir
	log        *slog.Logger
	render     *render.Renderer // home pages and comment lists, cached
	org        atomic.Pointer[orgBox]
	access     *access.Checker
	nextSID    atomic.Uint64
	ctx        context.Context // ends all sessions (NewHub's)
	frames     frameBufs       // read buffers, shared by the sessions
	memRelease *memReleaser    // gives memory back after large messages

	// handlers counts ServeHTTP calls in progress, from before the
	// upgrade to the end of the session: a hijacked connection is not
	// waited for by http.Server.Shutdown, and a session still starting
	// (recording its user) is not yet in sessions, so Wait waits on this
	// before the database may close. It is added to under mu, and only
	// while ctx has not ended; waiting is set (under mu) when Wait starts.
	handlers sync.WaitGroup
	waiting  bool

	mu       sync.RWMutex
	sessions map[string]*session
	byUser   map[string]map[*session]struct{}
	watchers map[string]map[*session]struct{}
	rooms    map[string]*room
	// peerRooms are rooms with members on other instances only (see
	// PeerCollab).
	peerRooms map[string]peerRoom
}

type orgBox struct{ o Organizer }

// NewHub creates a hub with NoOrganizer. ctx bounds every session: when
// it ends, each is closed ("going away") and new connections are refused
// with 503; Wait waits for them to be gone.
func NewHub(ctx context.Context, opt Options) *Hub {
	if opt.MaxMessageBytes <= 0 {
		opt.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opt.RateBurst <= 0 {
		opt.RateBurst = max(50, int(3*opt.RateLimit))
	}
	if opt.SendQueue <= 0 {
		opt.SendQueue = DefaultSendQueue
	}
	if opt.SendQueueBytes <= 0 {
		opt.SendQueueBytes = DefaultSendQueueBytes
	}
	if opt.PingInterval <= 0 {
		opt.PingInterval = DefaultPingInterval
	}
	if opt.PongTimeout <= 0 {
		opt.PongTimeout = DefaultPongTimeout
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Media == nil {
		opt.Media = mediadir.New(opt.DataDir)
	}
	h := &Hub{
		opt:        opt,
		media:      opt.Media,
		log:        opt.Log,
		render:     render.New(opt.DB, opt.Media, opt.URLs, opt.Log),
		ctx:        ctx,
		memRelease: newMemReleaser(),
		sessions:   map[string]*session{},
		byUser:     map[string]map[*session]struct{}{},
		watchers:   map[string]map[*session]struct{}{},
		rooms:      map[string]*room{},
		peerRooms:  map[string]peerRoom{},
	}
	h.access = access.NewChecker(access.AuthorizerFunc(func(ctx context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
		return h.organizer().AuthzUserAction(ctx, req)
	}), opt.Log)
	h.SetOrganizer(nil)
	return h
}

// Access answers permission questions as the sessions' commands do (the
// server's default rules and the current organizer's verdicts), for
// callers outside a websocket session: an HTTP handler asks it about the
// identity of its request.
func (h *Hub) Access() *access.Checker { return h.access }

// SetOrganizer plugs in an organizer; nil restores NoOrganizer. Sessions
// use the new one from their next call on.
func (h *Hub) SetOrganizer(o Organizer) {
	if o == nil {
		o = NoOrganizer{}
	}
	h.org.Store(&orgBox{o})
}

func (h *Hub) organizer() Organizer { return h.org.Load().o }

// Wait returns once the hub's context has ended and every session it had
// is gone.
func (h *Hub) Wait() error {
	<-h.ctx.Done()
	// A handler that got in before the end has been counted (under mu);
	// none gets in after.
	h.mu.Lock()
	h.waiting = true
	h.mu.Unlock()
	h.handlers.Wait()
	h.memRelease.stop()
	return nil
}

// enter counts a handler in, or reports false once the hub's context has
// ended.
func (h *Hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiting || h.ctx.Err() != nil {
		return false
	}
	h.handlers.Add(1)
	return true
}

// ---- registry ----

func (h *Hub) register(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[s.sid] = s
	addTo(h.byUser, s.user.UserID, s)
}

// unregister removes a session from every index and room.
func (h *Hub) unregister(s *session) {
	h.leaveRoom(s, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s.sid)
	removeFrom(h.byUser, s.user.UserID, s)
	if s.watching != "" {
		removeFrom(h.watchers, s.watching, s)
		s.watching = ""
	}
}

// watch makes s a watcher of mediaFileID (and of nothing else).
func (h *Hub) watch(s *session, mediaFileID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.watching == mediaFileID {
		return
	}
	if s.watching != "" {
		removeFrom(h.watchers, s.watching, s)
	}
	s.watching = mediaFileID
	addTo(h.watchers, mediaFileID, s)
}

func (h *Hub) watchingOf(s *session) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return s.watching
}

func addTo(m map[string]map[*session]struct{}, key string, s *session) {
	set := m[key]
	if set == nil {
		set = map[*session]struct{}{}
		m[key] = set
	}
	set[s] = struct{}{}
}

func removeFrom(m map[string]map[*session]struct{}, key string, s *session) {
	if set := m[key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

func (h *Hub) session(sid string) *session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.sessions[sid]
}

func (h *Hub) sessionsOf(m map[string]map[*session]struct{}, key string) []*session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	set := m[key]
	out := make([]*session, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

// ---- sending ----

var jsonOut = protojson.MarshalOptions{}

// encode renders a command as the client reads it: proto3 JSON with
// lowerCamelCase names, enum names and 64-bit integers as strings.
func encode(cmd *pb.ServerToClientCmd) []byte {
	b, err := jsonOut.Marshal(cmd)
	if err != nil {
		// Only invalid UTF-8 in a string field can fail; never drop the
		// message silently.
		b, _ = jsonOut.Marshal(errorCmd(fmt.Sprintf("Server could not encode a message: %v", err)))
	}
	return b
}

func errorCmd(msg string) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_Error_{Error: &pb.ServerToClientCmd_Error{Msg: msg}}}
}

func messagesCmd(msgs ...*pb.UserMessage) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowMessages_{ShowMessages: &pb.ServerToClientCmd_ShowMessages{Msgs: msgs}}}
}

// sendAll queues one encoded message to many sessions and returns how many
// accepted it.
func sendAll(list []*session, b []byte) int {
	n := 0
	for _, s := range list {
		if s.send(b) {
			n++
		}
	}
	return n
}

// SendToSession queues a command to one session.
func (h *Hub) SendToSession(sid string, cmd *pb.ServerToClientCmd) error {
	s := h.session(sid)
	if s == nil {
		return fmt.Errorf("session %q: %w", sid, ErrNoSession)
	}
	if sp := cmd.GetShowPage(); sp != nil && s.guest != nil {
		// An organizer's page, as a guest may see it.
		sp = proto.CloneOf(sp)
		sp.PageItems = s.guestItems(sp.PageItems)
		cmd = &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowPage_{ShowPage: sp}}
	}
	if !s.send(encode(cmd)) {
		return fmt.Errorf("session %q: %w", sid, ErrNoSession)
	}
	return nil
}

// SendToUser queues a command to every session of a user and returns how
// many sessions got it.
func (h *Hub) SendToUser(userID string, cmd *pb.ServerToClientCmd) int {
	return sendAll(h.sessionsOf(h.byUser, userID), encode(cmd))
}

// SendToMediaFile queues a command to every session watching a media file.
func (h *Hub) SendToMediaFile(mediaFileID string, cmd *pb.ServerToClientCmd) int {
	return sendAll(h.sessionsOf(h.watchers, mediaFileID), encode(cmd))
}

// SendToCollab queues a command to every participant of a collab room.
func (h *Hub) SendToCollab(collabID string, cmd *pb.ServerToClientCmd) int {
	h.mu.RLock()
	r := h.rooms[collabID]
	h.mu.RUnlock()
	if r == nil {
		return 0
	}
	return sendAll(r.memberList(), encode(cmd))
}

// UserSessions lists the session ids of a user's connected sessions.
func (h *Hub) UserSessions(userID string) []string {
	list := h.sessionsOf(h.byUser, userID)
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.sid
	}
	slices.Sort(out)
	return out
}

// SessionData describes a connected session as the organizer API does.
func (h *Hub) SessionData(sid string) (*pb.UserSessionData, error) {
	s := h.session(sid)
	if s == nil {
		return nil, fmt.Errorf("session %q: %w", sid, ErrNoSession)
	}
	return s.data(), nil
}

// Sessions describes every live session as the organizer API does (the
// organizer integration re-announces them to a restarted plugin).
func (h *Hub) Sessions() []*pb.UserSessionData {
	h.mu.RLock()
	list := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	h.mu.RUnlock()
	out := make([]*pb.UserSessionData, len(list))
	for i, s := range list {
		out[i] = s.data()
	}
	return out
}

// OpenMediaFile opens a media file in a session's player, as the session's
// own openMediaFile would but without a permission check (the organizer's
// client_open_media_file).
func (h *Hub) OpenMediaFile(ctx context.Context, sid, mediaFileID string) error {
	s := h.session(sid)
	if s == nil {
		return fmt.Errorf("session %q: %w", sid, ErrNoSession)
	}
	m, err := h.opt.DB.GetMediaFile(ctx, mediaFileID)
	if err != nil {
		return err
	}
	// A guest sees only what the link grants, whoever opens it for them.
	if s.guest != nil {
		if d := h.access.Check(ctx, s.identity(), s.mediaOp("open media file", pb.AuthzUserActionRequest_MediaFileOp_VIEW, m, true)); d != nil {
			return fmt.Errorf("session %q is a guest's: %w", sid, d)
		}
	}
	return s.sendOpenMediaFile(ctx, m, true)
}

// Deliver implements events.Deliverer: a notification from the media
// pipeline reaches the owner's sessions and the media file's watchers,
// each session once. It reports whether the owner had a session that got
// it.
func (h *Hub) Deliver(_ context.Context, m events.Message) bool {
	msg := &pb.UserMessage{
		Type:    pb.UserMessage_Type(m.Kind),
		Message: m.Text,
		Refs: &pb.UserMessage_Refs{
			CommentId:  rowid.FormatPtr(m.CommentID),
			SubtitleId: rowid.FormatPtr(m.SubtitleID),
		},
	}
	if m.UserID != "" {
		msg.UserId = new(m.UserID)
	}
	if m.MediaFileID != "" {
		msg.Refs.MediaFileId = new(m.MediaFileID)
	}
	if m.Details != "" {
		msg.Details = new(m.Details)
	}
	if m.Progress != nil {
		msg.Progress = new(float32(*m.Progress))
	}
	b := encode(messagesCmd(msg))

	h.mu.RLock()
	targets := map[*session]bool{} // session -> is the user's own
	if !m.Personal {
		for s := range h.watchers[m.MediaFileID] {
			targets[s] = false
		}
	}
	if m.UserID != "" {
		for s := range h.byUser[m.UserID] {
			targets[s] = true
		}
	}
	h.mu.RUnlock()

	reached := false
	for s, own := range targets {
		if s.send(b) && own {
			reached = true
		}
	}
	return reached
}

// Watching reports whether userID has the media file open in a session.
func (h *Hub) Watching(userID, mediaFileID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.watchers[mediaFileID] {
		if s.user.UserID == userID {
			return true
		}
	}
	return false
}

// notifyUser sends a user message to every session of userID and, if
// persist is set, stores it, seen if the user has a session, as Clapshot's
// send_user_ok!/send_user_error! do. It is stored before it is sent, so a
// client that reacts to it (listMyMessages) finds it.
func (h *Hub) notifyUser(ctx context.Context, userID string, msg *pb.UserMessage, persist bool) {
	msg.UserId = new(userID)
	if msg.Refs == nil {
		msg.Refs = &pb.UserMessage_Refs{}
	}
	targets := h.sessionsOf(h.byUser, userID)
	// Guests are no users: their messages are never stored.
	if persist && !strings.HasPrefix(userID, auth.GuestIDPrefix) {
		row := store.Message{
			UserID:      userID,
			Seen:        len(targets) > 0,
			MediaFileID: msg.Refs.MediaFileId,
			EventName:   pbconv.EventName(msg.Type),
			Message:     msg.Message,
			Details:     msg.GetDetails(),
		}
		var err error
		if row.CommentID, err = rowid.ParsePtr("comment id", msg.Refs.CommentId); err == nil {
			row.SubtitleID, err = rowid.ParsePtr("subtitle id", msg.Refs.SubtitleId)
		}
		if err == nil {
			_, err = h.opt.DB.InsertMessage(context.WithoutCancel(ctx), row)
		}
		if err != nil {
			h.log.Error("Cannot save user message", "user", userID, "message", msg.Message, "err", err)
		}
	}
	sendAll(targets, encode(messagesCmd(msg)))
}

var _ events.Deliverer = (*Hub)(nil)
