// Package organizer connects the server to an Organizer plugin over
// Clapshot's gRPC plugin API (proto/organizer.proto): it launches and
// supervises the plugin process, solves the joint database migrations of
// the server and the plugin, serves the plugin's calls to the server
// (OrganizerOutbound) and makes the server's calls to the plugin
// (OrganizerInbound) on behalf of websocket sessions.
//
// Start-up follows Clapshot (§5.2 of the reference): launch the plugin,
// ask it about its migrations and run them with ours, serve
// OrganizerOutbound, call handshake and wait for the plugin's handshake
// back. Unlike Clapshot, a plugin that cannot be started, does not answer
// or dies later does not stop the server: it serves with the default
// (no-organizer) behaviour and restarts the plugin with backoff.
package organizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/version"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Socket file names in the data directory, as Clapshot's.
const (
	InSocketName  = "grpc-srv-to-org.sock" // the organizer listens here
	OutSocketName = "grpc-org-to-srv.sock" // we listen here
)

// Default timings; Options fields override them.
const (
	DefaultSocketWait       = 10 * time.Second
	DefaultHandshakeTimeout = 20 * time.Second
	DefaultCallTimeout      = 15 * time.Second
	DefaultMigrationTimeout = 30 * time.Minute
	DefaultRestartMin       = time.Second
	DefaultRestartMax       = time.Minute
	checkMigrationsTimeout  = time.Minute
	handshakeAttempts       = 5 // Clapshot: 5 connection attempts,
	handshakeRetryDelay     = 500 * time.Millisecond
)

// Options configure a Manager.
type Options struct {
	Cmd     string // --org-cmd: shell command that starts the plugin
	InURI   string // --org-in-uri: where the plugin listens, if not started by us
	OutTCP  string // --org-out-tcp: host:port to serve OrganizerOutbound on instead of a socket
	DataDir string // absolute
	DBPath  string
	// DBURL is --db-url: the organizer is then told PostgreSQL and this
	// URL, credentials included (it opens the database itself), instead
	// of DBPath. Never logged.
	DBURL   string
	URLBase string
	Debug   bool // pass --debug
	JSON    bool // pass --json
	Log     *slog.Logger

	SocketWait       time.Duration // for the plugin's socket to appear
	HandshakeTimeout time.Duration // for handshake and the plugin's handshake back
	CallTimeout      time.Duration // per call made for a websocket session
	MigrationTimeout time.Duration // per apply_migration
	RestartMin       time.Duration // first restart delay, doubled up to RestartMax
	RestartMax       time.Duration
	StopGrace        time.Duration // SIGTERM to SIGKILL
}

// Configured reports whether the options ask for an organizer at all.
func (o Options) Configured() bool { return o.Cmd != "" || o.InURI != "" }

// Connection states, as /api/health?details=1 reports them.
const (
	StateStarting  = "starting"
	StateConnected = "connected"
	StateDown      = "down"
)

// Manager owns the plugin: its process, connections and both services.
type Manager struct {
	opt     Options
	log     *slog.Logger
	inEP    endpoint // the plugin's OrganizerInbound
	outEP   endpoint // our OrganizerOutbound (the backchannel)
	dbPath  string   // canonical path sent to the plugin
	backend atomic.Pointer[Backend]

	ctx       context.Context // New's; ends when the manager closes
	cancel    context.CancelFunc
	stopClose func() bool // unregisters the Close at the end of ctx
	srv       *grpc.Server
	srvErr    chan error

	mu        sync.Mutex
	proc      *process
	conn      *grpc.ClientConn
	client    pb.OrganizerInboundClient // nil unless connected
	lost      chan struct{}             // closed when the connection is lost
	state     string
	info      *pb.OrganizerInfo
	lastErr   string
	restarts  int
	since     time.Time
	handshake chan *pb.OrganizerInfo // the handshake in progress waits here
	// planUnreachable is why the plugin took no part in migrations.
	planUnreachable error

	closeOnce sync.Once
}

// New checks the options and prepares a manager; nothing starts yet. ctx
// is the manager's lifetime: everything it starts (the plugin process,
// connections, the OrganizerOutbound server and their goroutines) stops
// when ctx ends, as with Close.
func New(ctx context.Context, opt Options) (*Manager, error) {
	if !opt.Configured() {
		return nil, errors.New("no organizer configured (--org-cmd or --org-in-uri)")
	}
	defaults := []struct {
		v *time.Duration
		d time.Duration
	}{
		{&opt.SocketWait, DefaultSocketWait}, {&opt.HandshakeTimeout, DefaultHandshakeTimeout},
		{&opt.CallTimeout, DefaultCallTimeout}, {&opt.MigrationTimeout, DefaultMigrationTimeout},
		{&opt.RestartMin, DefaultRestartMin}, {&opt.RestartMax, DefaultRestartMax}, {&opt.StopGrace, StopGrace},
	}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opt: opt, log: opt.Log, state: StateStarting}
	dataDir, err := filepath.EvalSymlinks(opt.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", opt.DataDir, err)
	}
	m.dbPath = filepath.Join(dataDir, filepath.Base(opt.DBPath))
	if d, err := filepath.EvalSymlinks(filepath.Dir(opt.DBPath)); err == nil {
		m.dbPath = filepath.Join(d, filepath.Base(opt.DBPath))
	}
	if opt.InURI != "" {
		if m.inEP, err = parseEndpoint(opt.InURI); err != nil {
			return nil, err
		}
	} else {
		m.inEP = endpoint{unix: filepath.Join(dataDir, InSocketName)}
	}
	if opt.OutTCP != "" {
		if _, _, err := net.SplitHostPort(opt.OutTCP); err != nil {
			return nil, fmt.Errorf("--org-out-tcp %q: %w", opt.OutTCP, err)
		}
		m.outEP = endpoint{host: opt.OutTCP}
	} else {
		m.outEP = endpoint{unix: filepath.Join(dataDir, OutSocketName)}
	}
	for _, e := range []endpoint{m.inEP, m.outEP} {
		if e.unix != "" {
			if err := checkSocketPath(e.unix); err != nil {
				return nil, err
			}
		}
	}
	m.ctx, m.cancel = context.WithCancel(ctx)
	m.stopClose = context.AfterFunc(m.ctx, m.Close)
	return m, nil
}

// Launch starts the plugin process (with --org-cmd). The command runs as
// `sh -c "<cmd> <data-dir>/grpc-srv-to-org.sock [--debug] [--json]"`; the
// socket path is passed only when the plugin listens on a Unix socket.
func (m *Manager) Launch() error {
	if m.opt.Cmd == "" {
		return nil
	}
	var args []string
	if m.inEP.unix != "" {
		if err := removeStaleSocket(m.inEP.unix); err != nil {
			return err
		}
		args = append(args, m.inEP.unix)
	}
	if m.opt.Debug {
		args = append(args, "--debug")
	}
	if m.opt.JSON {
		args = append(args, "--json")
	}
	p, err := startProcess(m.opt.Cmd, args, m.log)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	return nil
}

// processGone is closed when the current plugin process exits (nil for a
// plugin we did not start).
func (m *Manager) processGone() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return nil
	}
	return m.proc.Done()
}

// describe adds the process's exit status and last error output to an
// error caused by the plugin going away.
func (m *Manager) describe(err error) error {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		select {
		case <-p.Done():
			return fmt.Errorf("%w (%v)", err, p.ExitError())
		default:
		}
	}
	return err
}

// whileAlive is ctx, also ended (with cause errProcessExited) when the
// plugin process exits; gone may be nil (a plugin we did not start).
func whileAlive(ctx context.Context, gone <-chan struct{}) (context.Context, func()) {
	cctx, cancel := context.WithCancelCause(ctx)
	if gone != nil {
		go func() {
			select {
			case <-gone:
				cancel(errProcessExited)
			case <-cctx.Done():
			}
		}()
	}
	return cctx, func() { cancel(context.Canceled) }
}

// Attach gives the manager what the plugin's calls need. It must be called
// before Start.
func (m *Manager) Attach(b *Backend) { m.backend.Store(b) }

// Start serves OrganizerOutbound and connects to the plugin (handshake in
// both directions). Only a failure to serve is an error: a plugin that
// does not connect is retried by Run while the server works without it.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.serveOutbound(); err != nil {
		return err
	}
	// If the plugin could not be asked about its migrations before, it is
	// asked now: one with pending migrations is not used.
	m.mu.Lock()
	unchecked := m.planUnreachable != nil
	m.mu.Unlock()
	if err := m.connect(ctx, unchecked); err != nil {
		m.markDown(err, false)
		m.log.Error("Organizer is not available; serving without it and retrying in the background", "err", err)
	}
	return nil
}

func (m *Manager) serveOutbound() error {
	var ln net.Listener
	var err error
	if m.outEP.unix != "" {
		if err := removeStaleSocket(m.outEP.unix); err != nil {
			return err
		}
		ln, err = net.Listen("unix", m.outEP.unix)
	} else {
		ln, err = net.Listen("tcp", m.outEP.host)
	}
	if err != nil {
		return fmt.Errorf("serve organizer calls on %s: %w", m.outEP, err)
	}
	if m.outEP.host != "" {
		// Report the bound port (":0" in tests) in the backchannel.
		m.outEP.host = ln.Addr().String()
	}
	m.srv = grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
	pb.RegisterOrganizerOutboundServer(m.srv, &outbound{m: m})
	reflection.Register(m.srv)
	m.srvErr = make(chan error, 1)
	go func() { m.srvErr <- m.srv.Serve(ln) }()
	m.log.Debug("Serving organizer calls", "on", m.outEP.String())
	return nil
}

func (m *Manager) serverInfo() *pb.ServerInfo {
	v := &pb.SemanticVersionNumber{}
	if parts := strings.Split(version.ClapshotCompat, "."); len(parts) == 3 {
		v.Major, _ = strconv.ParseUint(parts[0], 10, 64)
		v.Minor, _ = strconv.ParseUint(parts[1], 10, 64)
		v.Patch, _ = strconv.ParseUint(parts[2], 10, 64)
	}
	back := &pb.ServerInfo_GrpcEndpoint{}
	if m.outEP.unix != "" {
		back.Endpoint = &pb.ServerInfo_GrpcEndpoint_Unix_{Unix: &pb.ServerInfo_GrpcEndpoint_Unix{Path: m.outEP.unix}}
	} else {
		host, port, _ := net.SplitHostPort(m.outEP.host)
		p, _ := strconv.ParseUint(port, 10, 32)
		back.Endpoint = &pb.ServerInfo_GrpcEndpoint_Tcp{Tcp: &pb.ServerInfo_GrpcEndpoint_TCP{Host: host, Port: uint32(p)}}
	}
	return &pb.ServerInfo{
		Version: v,
		Storage: &pb.ServerInfo_Storage{Storage: &pb.ServerInfo_Storage_LocalFs{
			LocalFs: &pb.ServerInfo_Storage_LocalFilesystem{BaseDir: m.opt.DataDir}}},
		UrlBase:     m.opt.URLBase,
		Db:          m.database(),
		Backchannel: back,
	}
}

// connect dials the plugin and does the two-way handshake. fresh means a
// newly started plugin process, whose schema is checked first: a plugin
// with pending migrations is not used until the server restarts with
// --migrate (migrating needs the database to itself).
func (m *Manager) connect(ctx context.Context, fresh bool) error {
	gone := m.processGone()
	if fresh && m.opt.Cmd != "" {
		res, err := m.checkMigrations(ctx)
		switch {
		case err == nil && len(res.GetPendingMigrations()) > 0:
			return fmt.Errorf("the organizer has %d pending migration(s) for %s (from version %q); restart the server with --migrate to apply them",
				len(res.GetPendingMigrations()), res.GetName(), res.GetCurrentSchemaVer())
		case err != nil && status.Code(err) != codes.Unimplemented && status.Code(err) != codes.NotFound:
			return fmt.Errorf("check_migrations: %w", err)
		}
	}
	conn, err := dial(ctx, m.inEP, m.opt.SocketWait, gone)
	if err != nil {
		return m.describe(err)
	}
	ch := make(chan *pb.OrganizerInfo, 1)
	m.mu.Lock()
	m.handshake = ch
	m.mu.Unlock()
	client := pb.NewOrganizerInboundClient(conn)
	fail := func(err error) error {
		conn.Close()
		return m.describe(err)
	}
	for attempt := 1; ; attempt++ {
		actx, cancelA := whileAlive(ctx, gone)
		cctx, cancel := context.WithTimeout(actx, m.opt.HandshakeTimeout)
		_, err = client.Handshake(cctx, m.serverInfo(), waitReady)
		cancel()
		exited := errors.Is(context.Cause(actx), errProcessExited)
		cancelA()
		if exited {
			return fail(errProcessExited)
		}
		if err == nil {
			break
		}
		if status.Code(err) != codes.Unavailable || attempt == handshakeAttempts {
			if status.Code(err) == codes.DeadlineExceeded {
				return fail(fmt.Errorf("the organizer did not answer handshake within %s", m.opt.HandshakeTimeout))
			}
			return fail(fmt.Errorf("handshake with the organizer at %s failed (attempt %d): %w", m.inEP, attempt, err))
		}
		m.log.Warn("Connecting to the organizer failed; retrying", "attempt", attempt, "of", handshakeAttempts, "err", err)
		select {
		case <-time.After(handshakeRetryDelay):
		case <-gone:
			return fail(errProcessExited)
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	var info *pb.OrganizerInfo
	select {
	case info = <-ch:
	case <-time.After(m.opt.HandshakeTimeout):
		return fail(fmt.Errorf("the organizer answered handshake but did not call back OrganizerOutbound.handshake on %s within %s", m.outEP, m.opt.HandshakeTimeout))
	case <-gone:
		return fail(errProcessExited)
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	lost := make(chan struct{})
	m.mu.Lock()
	m.conn, m.client, m.lost, m.info = conn, client, lost, info
	m.state, m.since, m.lastErr = StateConnected, time.Now(), ""
	m.mu.Unlock()
	go m.watch(conn, gone, lost)
	m.log.Info("Organizer connected", "name", info.GetName(), "version", semver(info.GetVersion()),
		"description", info.GetDescription())
	return nil
}

// receivedHandshake is the plugin's OrganizerOutbound.handshake.
func (m *Manager) receivedHandshake(info *pb.OrganizerInfo) {
	m.mu.Lock()
	ch := m.handshake
	m.mu.Unlock()
	if ch == nil {
		m.log.Warn("Organizer sent a handshake nobody asked for; ignored", "name", info.GetName())
		return
	}
	select {
	case ch <- info:
	default: // a retried handshake: the first one counts
	}
}

// watch closes lost when the connection fails for good: the process
// exits, or the channel reports a transport failure.
func (m *Manager) watch(conn *grpc.ClientConn, gone <-chan struct{}, lost chan struct{}) {
	defer close(lost)
	wctx, cancel := context.WithCancel(m.ctx)
	defer cancel()
	if gone != nil {
		go func() {
			select {
			case <-gone:
				cancel()
			case <-wctx.Done():
			}
		}()
	}
	// The connection never idles (see dial), so a ready connection that
	// becomes idle has lost its transport: the plugin closed it or died.
	wasReady := false
	for {
		s := conn.GetState()
		switch {
		case s == connectivity.TransientFailure, s == connectivity.Shutdown, s == connectivity.Idle && wasReady:
			return
		case s == connectivity.Ready:
			wasReady = true
		}
		if !conn.WaitForStateChange(wctx, s) {
			return
		}
	}
}

// current is the connected plugin's client, or nil.
func (m *Manager) current() pb.OrganizerInboundClient {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.client
}

func (m *Manager) setLastError(err error) {
	m.mu.Lock()
	m.lastErr = err.Error()
	m.mu.Unlock()
}

// markDown records that the plugin is not usable. If it was connected,
// live sessions are told.
func (m *Manager) markDown(err error, announce bool) {
	m.mu.Lock()
	was := m.state
	m.state, m.client, m.lost, m.since = StateDown, nil, nil, time.Now()
	m.lastErr = err.Error()
	conn := m.conn
	m.conn = nil
	m.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if announce && was == StateConnected {
		m.tellSessions(pb.UserMessage_ERROR, "The organizer plugin stopped, so folders are not available right now. "+
			"The server is restarting it; your media and comments are safe.")
	}
}

// Run supervises the plugin until ctx ends: when it is lost, it is
// restarted after a delay that doubles on each failure (from RestartMin
// up to RestartMax). Then everything is stopped.
func (m *Manager) Run(ctx context.Context) error {
	defer m.Close()
	delay := m.opt.RestartMin
	for {
		m.mu.Lock()
		lost, since := m.lost, m.since
		m.mu.Unlock()
		if lost != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-lost:
			}
			if ctx.Err() != nil {
				return nil
			}
			err := m.describe(errors.New("organizer connection lost"))
			m.log.Error("Organizer lost; serving without it until it is back", "err", err)
			m.markDown(err, true)
			if time.Since(since) > m.opt.RestartMax {
				delay = m.opt.RestartMin // it ran fine for a while
			}
		}
		m.log.Info("Restarting the organizer", "in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, m.opt.RestartMax)
		if err := m.restart(ctx); err != nil {
			m.markDown(err, false)
			m.log.Error("Organizer restart failed", "err", err, "next_attempt_in", delay)
			continue
		}
		m.announce(ctx)
	}
}

// restart replaces the plugin process (if we run it) and reconnects.
func (m *Manager) restart(ctx context.Context) error {
	m.mu.Lock()
	old := m.proc
	m.restarts++
	m.state = StateStarting
	m.mu.Unlock()
	if old != nil {
		old.Stop(m.opt.StopGrace)
		if err := m.Launch(); err != nil {
			return err
		}
	}
	return m.connect(ctx, true)
}

// announce tells the new plugin about the sessions that are already
// connected (on_start_user_session, as if they had just started) and
// tells their users that folders are back, which makes the web client
// reload its page.
func (m *Manager) announce(ctx context.Context) {
	b := m.backend.Load()
	if b == nil {
		return
	}
	in := m.Inbound()
	for _, ses := range b.Clients.Sessions() {
		if err := in.OnStartUserSession(ctx, &pb.OnStartUserSessionRequest{Ses: ses}); err != nil && status.Code(err) != codes.Unimplemented {
			m.log.Warn("Organizer on_start_user_session for an existing session failed", "sid", ses.GetSid(), "err", err)
		}
	}
	m.tellSessions(pb.UserMessage_OK, "The organizer plugin is available again.")
}

func (m *Manager) tellSessions(t pb.UserMessage_Type, text string) {
	b := m.backend.Load()
	if b == nil {
		return
	}
	for _, ses := range b.Clients.Sessions() {
		_ = b.Clients.SendToSession(ses.GetSid(), userMessageCmd(&pb.UserMessage{Type: t, Message: text, UserId: new(ses.GetUser().GetId())}))
	}
}

func userMessageCmd(msgs ...*pb.UserMessage) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowMessages_{ShowMessages: &pb.ServerToClientCmd_ShowMessages{Msgs: msgs}}}
}

// Close stops serving, disconnects and stops the plugin process.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		m.stopClose() // called directly: no second Close when ctx ends
		m.cancel()
		m.mu.Lock()
		conn, p := m.conn, m.proc
		m.conn, m.client = nil, nil
		m.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		if p != nil {
			p.Stop(m.opt.StopGrace)
		}
		if m.srv != nil {
			stopped := make(chan struct{})
			go func() { m.srv.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(2 * time.Second):
				m.srv.Stop()
			}
		}
		for _, e := range []endpoint{m.inEP, m.outEP} {
			if e.unix != "" && (e == m.outEP || m.opt.Cmd != "") {
				_ = removeStaleSocket(e.unix)
			}
		}
	})
}

// Status describes the plugin for /api/health?details=1.
func (m *Manager) Status() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := map[string]any{"state": m.state, "restarts": m.restarts, "since": m.since.UTC().Format(time.RFC3339)}
	if m.info != nil {
		st["name"] = m.info.GetName()
		st["version"] = semver(m.info.GetVersion())
	}
	if m.lastErr != "" {
		st["last_error"] = m.lastErr
	}
	return st
}

// Info is what the plugin said about itself, nil before its handshake.
func (m *Manager) Info() *pb.OrganizerInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.info
}

func semver(v *pb.SemanticVersionNumber) string {
	return fmt.Sprintf("%d.%d.%d", v.GetMajor(), v.GetMinor(), v.GetPatch())
}
