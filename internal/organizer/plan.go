package organizer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Module names in joint migrations.
const (
	// ServerModule is Clapshot's schema. Its version is the newest Clapshot
	// migration applied (a 14-digit diesel version), which is what
	// organizers written for Clapshot declare their dependencies against.
	ServerModule = "clapshot.server"
	// OwnModule is this server's additions to Clapshot's schema (versions
	// after store.LatestClapshotVersion). They are kept out of
	// ServerModule's version: an organizer that needs "clapshot.server at
	// most 20240602173200" must stay installable on a database that also
	// has our additions. Each of our migrations needs the full Clapshot
	// schema first, and all of them only add tables and columns, so an
	// organizer migration written for Clapshot's schema still applies.
	OwnModule = "clapshot-go.server"
)

// isOwn reports whether a migration version is one of our additions rather
// than Clapshot's: every version after Clapshot 0.8.2's newest is ours,
// known to this binary or not (a newer release of this server may have
// applied more). Porting a later Clapshot migration means moving
// store.LatestClapshotVersion, which must stay below our own versions.
func isOwn(version string) bool { return version > store.LatestClapshotVersion }

// serverModules describes a database's server-side migration state to the
// solver, and returns the server migrations by uuid (diesel's directory
// name, as Clapshot names them for the solver).
func serverModules(st *store.State) ([]Module, map[string]store.Migration, error) {
	var clapCur, ownCur *string
	for _, v := range st.Applied { // sorted ascending
		if isOwn(v) {
			ownCur = &v
		} else {
			clapCur = &v
		}
	}
	if ownCur == nil {
		// Nothing of ours applied: the chain of our migrations starts from
		// "", like an organizer's.
		ownCur = new("")
	}
	byUUID := map[string]store.Migration{}
	clap := Module{Name: ServerModule, Current: clapCur}
	own := Module{Name: OwnModule, Current: ownCur}
	clapPrev, ownPrev := clapCur, ownCur
	for _, m := range st.Pending {
		mig := &pb.Migration{Uuid: m.Name, Version: m.Version, Description: "clapshot server migration " + m.Name}
		byUUID[m.Name] = m
		if isOwn(m.Version) {
			mig.Dependencies = []*pb.Migration_Dependency{
				{Name: OwnModule, MinVer: ownPrev, MaxVer: ownPrev},
				{Name: ServerModule, MinVer: new(store.LatestClapshotVersion)},
			}
			own.Migrations = append(own.Migrations, mig)
			ownPrev = &m.Version
			continue
		}
		if clapCur != nil && m.Version <= *clapCur {
			return nil, nil, fmt.Errorf("database %s has Clapshot migration %s applied but not the older %s; it was changed by hand or by an incompatible program",
				st.Path, *clapCur, m.Version)
		}
		mig.Dependencies = []*pb.Migration_Dependency{{Name: ServerModule, MinVer: clapPrev, MaxVer: clapPrev}}
		clap.Migrations = append(clap.Migrations, mig)
		clapPrev = &m.Version
	}
	return []Module{clap, own}, byUUID, nil
}

// ServerPlan solves the server's own migrations alone: what runs when the
// organizer cannot be asked.
func ServerPlan(st *store.State) ([]store.Step, error) {
	return JointPlan(st, nil, nil)
}

// JointPlan solves the server's pending migrations together with an
// organizer's (org may be nil) and turns the solution into store steps;
// apply runs one organizer migration by uuid.
func JointPlan(st *store.State, org *pb.CheckMigrationsResponse, apply func(ctx context.Context, uuid string) error) ([]store.Step, error) {
	modules, server, err := serverModules(st)
	if err != nil {
		return nil, err
	}
	if org != nil {
		switch org.GetName() {
		case "":
			return nil, errors.New("the organizer's check_migrations answer has no module name")
		case ServerModule, OwnModule:
			return nil, fmt.Errorf("the organizer calls its schema module %q, which is the server's own name", org.GetName())
		}
		modules = append(modules, Module{Name: org.GetName(), Current: new(org.GetCurrentSchemaVer()), Migrations: org.GetPendingMigrations()})
	}
	if !slices.ContainsFunc(modules, func(m Module) bool { return len(m.Migrations) > 0 }) {
		return nil, nil
	}
	plan, err := Solve(modules)
	if err != nil {
		return nil, err
	}
	steps := make([]store.Step, 0, len(plan))
	for _, p := range plan {
		if m, ok := server[p.Migration.GetUuid()]; ok && p.Module != org.GetName() {
			steps = append(steps, store.Step{Server: &m})
			continue
		}
		uuid := p.Migration.GetUuid()
		steps = append(steps, store.Step{
			Label:    fmt.Sprintf("%s %s (%s)", p.Module, p.Migration.GetVersion(), uuid),
			External: func(ctx context.Context) error { return apply(ctx, uuid) },
		})
	}
	return steps, nil
}
