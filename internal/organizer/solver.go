package organizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Module is one participant in a joint migration: the server's schema, our
// own additions to it, or an organizer plugin's tables. Current is nil when
// the module has never recorded a version; an organizer that has applied
// nothing reports "" instead, and the two mean different things to a
// dependency (see Solve).
type Module struct {
	Name       string
	Current    *string
	Migrations []*pb.Migration
}

// Planned is one step of a solved plan.
type Planned struct {
	Module    string
	Migration *pb.Migration
}

// ErrUnsolvable is returned (wrapped, with a description of every module
// and migration) when no order of migrations reaches every module's newest
// version.
var ErrUnsolvable = errors.New("cannot proceed with migrations due to unsolvable dependencies")

// maxSearchStates bounds the search. Real plans have a few dozen states;
// the bound only stops a plugin that lists hundreds of unordered
// migrations from stalling start-up.
const maxSearchStates = 500_000

// Solve finds the shortest sequence of migrations that brings every module
// that lists migrations to the highest version it lists, with Clapshot's
// semantics (server/src/database/migration_solver.rs):
//
//   - candidates are the migrations whose version is greater than their
//     module's current version (all of them if it has none), ordered by
//     version with ties kept in input order, so the server's come first;
//   - a migration applies when each dependency holds: if the named module
//     has a current version, it must be >= min_ver and <= max_ver (each
//     when set, compared as strings); if it has none, only a dependency
//     without min_ver holds (max_ver is ignored then). max_ver "" thus
//     means "nothing applied yet" for a module that reports "";
//   - applying a migration sets its module's version to the migration's;
//   - of the shortest plans, the one Clapshot's depth-first search finds
//     first is returned: the lexicographically smallest sequence of
//     candidate positions.
//
// The search is breadth-first over distinct states (applied set and
// versions), which finds the same plan as Clapshot's exhaustive search
// without its exponential blow-up on independent chains.
//
// An empty, non-nil plan means nothing needs doing.
func Solve(modules []Module) ([]Planned, error) {
	type cand struct {
		module string
		mig    *pb.Migration
	}
	var cands []cand
	target := map[string]string{}
	seen := map[string]bool{}
	for _, m := range modules {
		for _, mig := range m.Migrations {
			if t, ok := target[m.Name]; !ok || mig.GetVersion() > t {
				target[m.Name] = mig.GetVersion()
			}
			if m.Current != nil && mig.GetVersion() <= *m.Current {
				continue
			}
			if seen[mig.GetUuid()] {
				return nil, fmt.Errorf("duplicate migration uuid %q (module %s)", mig.GetUuid(), m.Name)
			}
			seen[mig.GetUuid()] = true
			cands = append(cands, cand{m.Name, mig})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return strings.Compare(a.mig.GetVersion(), b.mig.GetVersion()) })

	// Module names get small indexes so a state's versions are a slice.
	names := map[string]int{}
	var order []string
	addName := func(n string) int {
		if i, ok := names[n]; ok {
			return i
		}
		names[n] = len(order)
		order = append(order, n)
		return names[n]
	}
	for _, m := range modules {
		addName(m.Name)
	}
	for _, c := range cands {
		for _, d := range c.mig.GetDependencies() {
			addName(d.GetName())
		}
	}

	type version struct {
		set bool
		v   string
	}
	type node struct {
		cur     []version
		applied []bool
		parent  int // index in nodes, -1 for the root
		step    int // candidate applied to reach this node
	}
	root := node{cur: make([]version, len(order)), applied: make([]bool, len(cands)), parent: -1, step: -1}
	for _, m := range modules {
		if m.Current != nil {
			root.cur[names[m.Name]] = version{true, *m.Current}
		}
	}
	isGoal := func(n *node) bool {
		for mod, t := range target {
			if c := n.cur[names[mod]]; !c.set || c.v != t {
				return false
			}
		}
		return true
	}
	applicable := func(n *node, c cand) bool {
		for _, d := range c.mig.GetDependencies() {
			cur := n.cur[names[d.GetName()]]
			if !cur.set {
				if d.MinVer != nil {
					return false
				}
				continue
			}
			if d.MinVer != nil && cur.v < *d.MinVer {
				return false
			}
			if d.MaxVer != nil && cur.v > *d.MaxVer {
				return false
			}
		}
		return true
	}
	key := func(n *node) string {
		var b strings.Builder
		for _, a := range n.applied {
			if a {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		for _, c := range n.cur {
			if c.set {
				b.WriteString("\x00+")
				b.WriteString(c.v)
			} else {
				b.WriteString("\x00-")
			}
		}
		return b.String()
	}

	nodes := []node{root}
	visited := map[string]bool{key(&root): true}
	for head := 0; head < len(nodes); head++ {
		n := &nodes[head]
		if isGoal(n) {
			var path []Planned
			for i := head; nodes[i].parent >= 0; i = nodes[i].parent {
				c := cands[nodes[i].step]
				path = append(path, Planned{Module: c.module, Migration: c.mig})
			}
			slices.Reverse(path)
			if path == nil {
				path = []Planned{}
			}
			return path, nil
		}
		for i, c := range cands {
			if n.applied[i] || !applicable(n, c) {
				continue
			}
			child := node{cur: slices.Clone(n.cur), applied: slices.Clone(n.applied), parent: head, step: i}
			child.applied[i] = true
			child.cur[names[c.module]] = version{true, c.mig.GetVersion()}
			k := key(&child)
			if visited[k] {
				continue
			}
			visited[k] = true
			if len(nodes) >= maxSearchStates {
				return nil, fmt.Errorf("migration plan search gave up after %d states; the modules list too many unordered migrations:\n%s",
					maxSearchStates, DescribeModules(modules))
			}
			nodes = append(nodes, child)
			n = &nodes[head] // append may have moved the slice
		}
	}
	return nil, fmt.Errorf("%w:\n%s", ErrUnsolvable, DescribeModules(modules))
}

// DescribeModules lists every module with its current version and every
// migration with its dependencies, for logs and error messages.
func DescribeModules(modules []Module) string {
	var b strings.Builder
	for _, m := range modules {
		cur := "(none)"
		if m.Current != nil {
			cur = fmt.Sprintf("%q", *m.Current)
		}
		fmt.Fprintf(&b, "  module %s at version %s", m.Name, cur)
		if len(m.Migrations) == 0 {
			b.WriteString(", no pending migrations\n")
			continue
		}
		b.WriteString(":\n")
		for _, mig := range m.Migrations {
			fmt.Fprintf(&b, "    %s -> version %q", mig.GetUuid(), mig.GetVersion())
			if deps := mig.GetDependencies(); len(deps) > 0 {
				parts := make([]string, len(deps))
				for i, d := range deps {
					parts[i] = d.GetName() + " " + describeRange(d)
				}
				b.WriteString(", needs " + strings.Join(parts, " and "))
			}
			b.WriteString("\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func describeRange(d *pb.Migration_Dependency) string {
	switch {
	case d.MinVer != nil && d.MaxVer != nil && *d.MinVer == *d.MaxVer:
		return fmt.Sprintf("= %q", *d.MinVer)
	case d.MinVer != nil && d.MaxVer != nil:
		return fmt.Sprintf("in [%q, %q]", *d.MinVer, *d.MaxVer)
	case d.MinVer != nil:
		return fmt.Sprintf(">= %q", *d.MinVer)
	case d.MaxVer != nil && *d.MaxVer == "":
		return "with nothing applied"
	case d.MaxVer != nil:
		return fmt.Sprintf("<= %q", *d.MaxVer)
	}
	return "at any version"
}
