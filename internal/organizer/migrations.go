package organizer

// Migrations with the plugin taking part (§3.5 of the reference): ask it
// about its schema module over one-shot connections, solve the joint plan
// with the server's migrations, apply its steps when the plan says so.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// database is the database the plugin is told about: the SQLite file, or
// with --db-url PostgreSQL (POSTGRES, not in Clapshot's API: a plugin
// that knows only SQLITE sees a type it can refuse) and the server's URL
// with its credentials, since the plugin connects itself.
func (m *Manager) database() *pb.Database {
	if m.opt.DBURL != "" {
		return &pb.Database{Type: pb.Database_POSTGRES, Endpoint: m.opt.DBURL}
	}
	return &pb.Database{Type: pb.Database_SQLITE, Endpoint: m.dbPath}
}

// unreachable tells errors meaning "could not talk to the plugin" from
// errors the plugin returned.
func unreachable(err error) bool {
	if errors.Is(err, errProcessExited) || errors.Is(err, errNoSocket) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

var errNoSocket = errors.New("no organizer socket")

// oneShot dials a fresh connection for one start-up call, as Clapshot
// makes each migration call on a new connection. The call waits for the
// connection to be ready (a plugin that is still starting refuses
// connections for a moment) until its deadline, or until the plugin
// process exits.
func (m *Manager) oneShot(ctx context.Context, timeout time.Duration, call func(context.Context, pb.OrganizerInboundClient) error) error {
	gone := m.processGone()
	conn, err := dial(ctx, m.inEP, m.opt.SocketWait, gone)
	if err != nil {
		if !errors.Is(err, errProcessExited) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %w", errNoSocket, err)
		}
		return m.describe(err)
	}
	defer conn.Close()
	cctx, cancel := whileAlive(ctx, gone)
	defer cancel()
	cctx, cancelT := context.WithTimeout(cctx, timeout)
	defer cancelT()
	err = call(cctx, pb.NewOrganizerInboundClient(conn))
	if err != nil && errors.Is(context.Cause(cctx), errProcessExited) {
		err = errProcessExited
	}
	return m.describe(err)
}

// waitReady is for start-up calls: wait for the connection rather than
// failing at once while the plugin starts listening.
var waitReady = grpc.WaitForReady(true)

// checkMigrations asks the plugin for its schema module.
func (m *Manager) checkMigrations(ctx context.Context) (*pb.CheckMigrationsResponse, error) {
	var res *pb.CheckMigrationsResponse
	err := m.oneShot(ctx, checkMigrationsTimeout, func(ctx context.Context, c pb.OrganizerInboundClient) error {
		var err error
		res, err = c.CheckMigrations(ctx, &pb.CheckMigrationsRequest{Db: m.database()}, waitReady)
		return err
	})
	return res, err
}

func (m *Manager) applyMigration(ctx context.Context, uuid string) error {
	m.log.Info("Organizer applies migration", "uuid", uuid)
	err := m.oneShot(ctx, m.opt.MigrationTimeout, func(ctx context.Context, c pb.OrganizerInboundClient) error {
		_, err := c.ApplyMigration(ctx, &pb.ApplyMigrationRequest{Db: m.database(), Uuid: uuid}, waitReady)
		return err
	})
	if err != nil {
		return fmt.Errorf("organizer apply_migration %s: %w", uuid, err)
	}
	return nil
}

// Plan is the store's migration planner with the plugin taking part:
// check_migrations, then the joint solution (§3.5). A plugin that answers
// UNIMPLEMENTED or NOT_FOUND has no migrations. One that cannot be reached
// at all leaves the server's own migrations to run alone; the plugin's run
// at the next start. Any other error stops start-up, with nothing changed.
func (m *Manager) Plan(ctx context.Context) func(*store.State) ([]store.Step, error) {
	return func(st *store.State) ([]store.Step, error) {
		res, err := m.checkMigrations(ctx)
		switch {
		case err == nil:
			if n := len(res.GetPendingMigrations()); n > 0 {
				m.log.Info("Organizer has pending migrations", "module", res.GetName(),
					"current_version", res.GetCurrentSchemaVer(), "pending", n)
			}
			steps, err := JointPlan(st, res, m.applyMigration)
			if err != nil {
				return nil, fmt.Errorf("migrations of the server and the organizer: %w", err)
			}
			return steps, nil
		case status.Code(err) == codes.Unimplemented, status.Code(err) == codes.NotFound:
			return ServerPlan(st)
		case unreachable(err):
			m.log.Error("Cannot ask the organizer about its migrations; migrating the server's own schema only. "+
				"If a migration fails for that reason, fix the organizer and start again.", "err", err)
			m.setLastError(err)
			m.mu.Lock()
			m.planUnreachable = err
			m.mu.Unlock()
			return ServerPlan(st)
		default:
			return nil, fmt.Errorf("organizer check_migrations failed: %w", err)
		}
	}
}

// ExplainMigrationError adds to a failed migration that the plugin could
// not be asked about its own migrations, which is the likely cause when
// its tables depend on them (e.g. basic_folders' on a Clapshot 0.6 database).
func (m *Manager) ExplainMigrationError(err error) error {
	m.mu.Lock()
	why := m.planUnreachable
	m.mu.Unlock()
	if err == nil || why == nil {
		return err
	}
	return fmt.Errorf("%w (the organizer took no part because it could not be reached: %v; fix it and start again)", err, why)
}
