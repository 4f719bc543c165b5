package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/auth"
	"github.com/clapshot-go/clapshot/internal/metrics"
	"github.com/clapshot-go/clapshot/internal/review/render"
	"github.com/clapshot-go/clapshot/internal/version"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Why a session ended, also sent as the websocket close reason.
var (
	errServerShutdown = errors.New("server shutting down")
	errSlowClient     = errors.New("client too slow: its send queue overflowed")
	errNoPong         = errors.New("no answer to keepalive ping")
	errLogout         = errors.New("logout")
	errLoginDenied    = errors.New("login denied")
	errTooBig         = errors.New("message too large")
)

// session is one websocket connection.
type session struct {
	hub  *Hub
	sid  string
	user auth.Identity
	// guest is set for a guest of a share link; user is then made from it.
	guest *guestSession
	conn  *websocket.Conn

	ctx    context.Context
	cancel context.CancelCauseFunc
	out    sendQueue
	drain  chan struct{} // closed to flush the queue and stop writing
	wrote  chan struct{} // closed when the writer has stopped
	// pings are the pong waiters; linked ends when the connection has
	// been closed (after ctx), and them with it.
	pings    sync.WaitGroup
	linked   context.Context
	unlinked context.CancelFunc

	mu      sync.Mutex
	cookies map[string]string

	// watching is the media file this session watches; guarded by hub.mu.
	watching string
	// room is the collab room joined; guarded by hub.mu.
	room *room

	limiter     tokenBucket
	lastRateMsg time.Time
}

// ServeHTTP upgrades /api/ws requests to websocket sessions.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enter() {
		http.Error(w, "Service Unavailable: the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.handlers.Done()
	ident, err := h.opt.Identity.Authenticate(r)
	if err != nil {
		http.Error(w, "Forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	h.serve(w, r, ident, nil)
}

// serve upgrades the request and runs the session of ident (or of a
// guest, with g) until it ends. The caller has entered the hub.
func (h *Hub) serve(w http.ResponseWriter, r *http.Request, ident auth.Identity, g *guestSession) {
	if !h.originAllowed(r) {
		h.log.Warn("Refusing websocket from a foreign origin (see --cors and --url-base)",
			"origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		http.Error(w, "Forbidden: origin "+r.Header.Get("Origin")+" is not allowed (see --cors and --url-base)", http.StatusForbidden)
		return
	}
	// The origin was checked above, with proxies and --cors in mind.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		h.log.Debug("Websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The read loop stops at MaxMessageBytes+1 and answers with an error
	// first; the library's own limit (which closes without one) is above.
	conn.SetReadLimit(h.opt.MaxMessageBytes + 2)

	// Not derived from the hub's context, whose end would be the cause:
	// the client is told why.
	ctx, cancel := context.WithCancelCause(context.Background())
	linked, unlinked := context.WithCancel(context.Background())
	defer unlinked()
	defer context.AfterFunc(h.ctx, func() { cancel(errServerShutdown) })()
	defer context.AfterFunc(r.Context(), func() { cancel(errServerShutdown) })()
	s := &session{
		hub:      h,
		sid:      strconv.FormatUint(h.nextSID.Add(1), 10),
		user:     ident,
		guest:    g,
		conn:     conn,
		ctx:      ctx,
		cancel:   cancel,
		linked:   linked,
		unlinked: unlinked,
		out:      sendQueue{notify: make(chan struct{}, 1)},
		drain:    make(chan struct{}),
		wrote:    make(chan struct{}),
		cookies:  auth.Cookies(r.Header),
		limiter:  newTokenBucket(h.opt.RateLimit, h.opt.RateBurst),
	}
	if g != nil {
		// The link's end ends the session then, with the reason.
		if exp := g.Expires; !exp.IsZero() {
			t := time.AfterFunc(time.Until(exp), func() { s.stop(&guestEnded{reason: ErrLinkExpired.Error()}) })
			defer t.Stop()
		}
	}
	defer h.opt.Metrics.SessionOpened()()
	s.run()
}

func (h *Hub) originAllowed(r *http.Request) bool {
	if h.opt.OriginAllowed != nil {
		return h.opt.OriginAllowed(r)
	}
	o := r.Header.Get("Origin")
	return o == "" || o == "http://"+r.Host || o == "https://"+r.Host
}

// run serves the session until it ends.
//
// The websocket library closes a connection without a close frame when the
// context of a read or write ends, so reads and writes never use the
// session's context: a watcher closes the connection properly (with the
// reason) when the session is stopped, and that ends the read loop.
func (s *session) run() {
	h := s.hub
	log := h.log.With("sid", s.sid, "user", s.user.UserID)
	go s.writeLoop()
	closed := make(chan struct{})
	context.AfterFunc(s.ctx, func() {
		defer close(closed)
		defer s.unlinked()
		s.closeConn(context.Cause(s.ctx))
	})

	cause := s.start()
	if cause == nil {
		log.Info("Websocket session started", "name", s.user.UserName, "admin", s.user.IsAdmin)
		cause = s.readLoop()
	}
	h.unregister(s)

	// Let queued messages (e.g. why a login was refused) reach the client
	// before the close frame, unless the client is the problem.
	if s.ctx.Err() == nil {
		close(s.drain)
		select {
		case <-s.wrote:
		case <-time.After(h.opt.WriteTimeout):
		}
	}
	s.cancel(cause)
	<-s.wrote
	<-closed
	s.pings.Wait()
	log.Info("Websocket session ended", "reason", context.Cause(s.ctx))
}

// closeConn ends the connection: with a close frame and the reason, or at
// once for a client that does not read or answer.
func (s *session) closeConn(cause error) {
	code, reason := websocket.StatusNormalClosure, ""
	switch {
	case websocket.CloseStatus(cause) != -1:
		// The client closed it; the library has answered.
		_ = s.conn.CloseNow()
		return
	case errors.Is(cause, errSlowClient), errors.Is(cause, errNoPong):
		_ = s.conn.CloseNow()
		return
	case errors.Is(cause, errServerShutdown):
		code, reason = websocket.StatusGoingAway, cause.Error()
	case errors.Is(cause, errLogout), errors.Is(cause, errLoginDenied):
		reason = cause.Error()
	case errors.Is(cause, errTooBig):
		code, reason = websocket.StatusMessageTooBig, cause.Error()
	case errors.As(cause, new(*guestEnded)):
		// The client stops reconnecting on this code and shows the reason.
		code, reason = websocket.StatusPolicyViolation, closeReason(cause.Error())
	}
	_ = s.conn.Close(code, reason)
}

// start does what Clapshot does on connect: the users row, welcome,
// the built-in actions, the organizer's on_start_user_session and the
// LOGIN permission. A non-nil result ends the session.
func (s *session) start() error {
	h := s.hub
	if s.guest == nil {
		if err := h.opt.DB.UpsertUser(s.ctx, s.user.UserID, s.user.UserName); err != nil {
			h.log.Error("Cannot record user; closing session", "user", s.user.UserID, "err", err)
			s.send(encode(errorCmd("Server error: cannot record your user account. Try again later.")))
			return err
		}
	}
	h.register(s)
	// Once registered, a revocation reaches this session; one that came
	// before is caught here.
	if err := s.guestLive(); err != nil {
		return err
	}
	s.send(encode(&pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_Welcome_{Welcome: &pb.ServerToClientCmd_Welcome{
		User:          &pb.UserInfo{Id: s.user.UserID, Name: s.user.UserName},
		IsAdmin:       s.user.IsAdmin,
		ServerVersion: version.ClapshotCompat,
	}}}))
	s.send(encode(&pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_DefineActions_{DefineActions: &pb.ServerToClientCmd_DefineActions{
		Actions: render.BuiltinActions(),
	}}}))

	org := h.organizer()
	if err := org.OnStartUserSession(s.ctx, &pb.OnStartUserSessionRequest{Ses: s.data()}); err != nil && status.Code(err) != codes.Unimplemented && s.guest != nil && s.guest.FolderID == "" {
		// A guest of a media link needs nothing of the organizer but its
		// verdicts; one that knows nothing of guests may fail here.
		h.log.Warn("Organizer on_start_user_session failed for a guest; going on", "sid", s.sid, "link", s.guest.LinkID, "err", err)
	} else if err != nil && status.Code(err) != codes.Unimplemented {
		h.log.Error("Organizer on_start_user_session failed; closing session", "sid", s.sid, "err", err)
		s.send(encode(errorCmd("Error connecting to Organizer. Closing session.")))
		return fmt.Errorf("organizer: %w", err)
	}
	if !s.authorizeLogin() {
		s.send(encode(errorCmd("Login permission denied.")))
		return errLoginDenied
	}
	return nil
}

// data is the session as the organizer API describes it.
func (s *session) data() *pb.UserSessionData { return s.identity().Session() }

// sendQueue is a session's outgoing messages. It holds no memory while
// empty (an idle session costs little) and is bounded in messages and
// bytes.
type sendQueue struct {
	mu     sync.Mutex
	items  [][]byte
	bytes  int64
	notify chan struct{} // signalled (capacity 1) when items are added
}

// push adds b, or reports false when the queue is full. One message
// larger than the byte budget still goes to an idle client.
func (q *sendQueue) push(b []byte, maxItems int, maxBytes int64) bool {
	q.mu.Lock()
	if len(q.items) >= maxItems || (q.bytes > 0 && q.bytes+int64(len(b)) > maxBytes) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, b)
	q.bytes += int64(len(b))
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// takeAll empties the queue.
func (q *sendQueue) takeAll() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.bytes = nil, 0
	return items
}

func (q *sendQueue) size() (int, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}

// send queues an encoded message. A full queue means the client does not
// read fast enough: it is disconnected rather than allowed to hold up
// everyone else or grow memory without bound.
func (s *session) send(b []byte) bool {
	if s.ctx.Err() != nil {
		return false
	}
	if !s.out.push(b, s.hub.opt.SendQueue, s.hub.opt.SendQueueBytes) {
		n, bytes := s.out.size()
		s.hub.log.Warn("Disconnecting a client that does not keep up", "sid", s.sid, "user", s.user.UserID,
			"queued_messages", n, "queued_bytes", bytes)
		s.stop(errSlowClient)
		return false
	}
	return true
}

// stop ends the session from any goroutine.
func (s *session) stop(cause error) { s.cancel(cause) }

// writeLoop writes queued messages in order, and pings the client now and
// then: one that stops answering is disconnected. (Pings from the client
// are answered by the websocket library; unlike Clapshot, they do not end
// the session.)
func (s *session) writeLoop() {
	defer close(s.wrote)
	ping := time.NewTicker(s.hub.opt.PingInterval)
	defer ping.Stop()
	writeAll := func() bool {
		for _, b := range s.out.takeAll() {
			if s.ctx.Err() != nil || !s.write(b) {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-s.out.notify:
			if !writeAll() {
				return
			}
		case <-ping.C:
			// The pong arrives through the read loop; wait for it aside,
			// so writes go on meanwhile, until the session ends. (Not on
			// ctx itself: its end would make the library drop a
			// connection whose ping is being written, close frame and
			// all; the session's connection ends just after it.)
			s.pings.Add(1)
			go func() {
				defer s.pings.Done()
				ctx, cancel := context.WithTimeout(s.linked, s.hub.opt.PongTimeout)
				defer cancel()
				if err := s.conn.Ping(ctx); err != nil && s.ctx.Err() == nil {
					s.stop(errNoPong)
				}
			}()
		case <-s.ctx.Done():
			return
		case <-s.drain:
			writeAll()
			return
		}
	}
}

func (s *session) write(b []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.hub.opt.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		s.stop(fmt.Errorf("write: %w", err))
		return false
	}
	s.hub.opt.Metrics.MessageSent(metrics.CommandOf(b))
	return true
}

// readLoop reads and handles client messages, one at a time, until the
// connection ends; the result is why.
func (s *session) readLoop() error {
	for {
		typ, r, err := s.conn.Reader(context.Background())
		if err != nil {
			if c := context.Cause(s.ctx); c != nil {
				return c
			}
			return err
		}
		// A buffer per message, from the hub's pool: see framebuf.go.
		buf := s.hub.frames.get()
		end := s.readMessage(typ, r, buf)
		if buf.Len() >= largeMessage {
			s.hub.memRelease.large()
		}
		s.hub.frames.put(buf)
		if end != nil {
			return end
		}
	}
}

// readMessage reads one message into buf and handles it; a non-nil
// result ends the session.
func (s *session) readMessage(typ websocket.MessageType, r io.Reader, buf *bytes.Buffer) error {
	limit := s.hub.opt.MaxMessageBytes
	n, err := io.Copy(buf, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		// Reading (and skipping) the rest could take long, and the
		// client is misbehaving or misconfigured: say why, then close.
		s.sendError(fmt.Sprintf("Message too large: the limit is %d MiB (--ws-max-message-mb). Closing the connection.", limit>>20))
		return errTooBig
	}
	if err != nil {
		if c := context.Cause(s.ctx); c != nil {
			return c
		}
		return err
	}
	if !s.allow() {
		return nil
	}
	if typ != websocket.MessageText {
		s.sendError("Binary messages are not supported: send each command as a JSON text message.")
		return nil
	}
	return s.handleText(buf.Bytes())
}

// allow applies the rate limit. Excess messages are dropped, with at most
// one error a second telling the client so.
func (s *session) allow() bool {
	now := time.Now()
	if s.limiter.take(now) {
		return true
	}
	if now.Sub(s.lastRateMsg) >= time.Second {
		s.lastRateMsg = now
		s.sendError(fmt.Sprintf("Too many messages: at most %g per second; the excess was ignored.", s.hub.opt.RateLimit))
	}
	return false
}

// sendError sends an error in the protocol's envelope,
// {"error":{"msg":...}}, which the client shows as a toast.
func (s *session) sendError(msg string) { s.send(encode(errorCmd(msg))) }

// handleText parses and dispatches one command; a non-nil result ends the
// session.
func (s *session) handleText(b []byte) error {
	cmd, cookies, err := decodeCommand(b)
	if cookies != nil {
		s.mu.Lock()
		s.cookies = cookies
		s.mu.Unlock()
	}
	if err != nil {
		s.hub.log.Debug("Invalid message from client", "sid", s.sid, "err", err)
		s.sendError("Invalid command from client: " + err.Error())
		return nil
	}
	if err := s.guestLive(); err != nil {
		return err
	}
	return s.dispatch(cmd)
}

// tokenBucket allows rate events a second on average and bursts of burst.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
