package organizer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func mod(name string, cur *string, migs ...*pb.Migration) Module {
	return Module{Name: name, Current: cur, Migrations: migs}
}

func mig(uuid, ver string, deps ...*pb.Migration_Dependency) *pb.Migration {
	return &pb.Migration{Uuid: uuid, Version: ver, Dependencies: deps}
}

func dep(name string, minVer, maxVer *string) *pb.Migration_Dependency {
	return &pb.Migration_Dependency{Name: name, MinVer: minVer, MaxVer: maxVer}
}

func s(v string) *string { return &v }

func uuids(p []Planned) []string {
	out := make([]string, len(p))
	for i, x := range p {
		out[i] = x.Migration.GetUuid()
	}
	return out
}

func TestSolve(t *testing.T) {
	// The first seven are Clapshot's own solver tests
	// (server/src/database/migration_solver.rs), with the same expected plans.
	tests := []struct {
		name    string
		modules []Module
		want    []string // nil: unsolvable
	}{
		{"trivial_from_empty", []Module{
			mod("server", nil,
				mig("uuid1", "1"),
				mig("uuid2", "2", dep("server", s("1"), s("1"))),
				mig("uuid3", "3", dep("server", s("2"), s("2")))),
		}, []string{"uuid1", "uuid2", "uuid3"}},
		{"shortcut", []Module{
			mod("server", s("1"),
				mig("uuid1", "1"),
				mig("uuid2", "2", dep("server", s("1"), s("1"))),
				mig("uuid3", "3", dep("server", s("2"), s("2"))),
				mig("uuid4", "4", dep("server", s("1"), s("3")))),
		}, []string{"uuid4"}},
		{"two_modules_indep", []Module{
			mod("server", nil,
				mig("S1", "1"),
				mig("S2", "2", dep("server", s("1"), s("1"))),
				mig("S3", "3", dep("server", s("2"), s("2")))),
			mod("org", s("0"),
				mig("G1", "1", dep("org", nil, s("0"))),
				mig("G2", "2", dep("org", s("1"), s("1"))),
				mig("G3", "3", dep("org", s("2"), s("2")))),
		}, []string{"S1", "G1", "S2", "G2", "S3", "G3"}},
		{"two_modules_dep", []Module{
			mod("server", nil,
				mig("S1", "1"),
				mig("S2", "2", dep("server", s("1"), s("1"))),
				mig("S3", "3", dep("server", s("2"), s("2")))),
			mod("org", s("0"),
				mig("G1", "1", dep("org", s("0"), s("0")), dep("server", nil, s("1"))),
				mig("G2", "2", dep("org", s("1"), s("1")), dep("server", s("2"), s("2"))),
				mig("G3", "3", dep("org", s("2"), s("2")), dep("server", s("2"), s("2")))),
		}, []string{"S1", "G1", "S2", "G2", "G3", "S3"}},
		{"one_module_nonsolvable", []Module{
			mod("server", nil,
				mig("S1", "1"),
				mig("S2", "2", dep("server", s("1"), s("1"))),
				mig("S4", "4", dep("server", s("3"), s("3")))),
		}, nil},
		{"two_modules_nonsolvable", []Module{
			mod("server", nil,
				mig("S1", "1"),
				mig("S2", "2", dep("server", s("1"), s("1"))),
				mig("S3", "3", dep("server", s("2"), s("2")))),
			mod("org", s("0"),
				mig("G1", "1", dep("org", s("0"), s("0")), dep("server", s("1"), s("1"))),
				mig("G2", "2", dep("org", s("2"), s("2"))),
				mig("G3", "3", dep("org", s("2"), s("2")), dep("server", s("1"), s("1")))),
		}, nil},
		{"actual_failing_case", []Module{
			// max_ver "" from current version "1": the chain cannot start.
			mod("clapshot.server", s("1"),
				mig("a", "2023-04-18-190209_change_video_primkey", dep("clapshot.server", nil, s(""))),
				mig("b", "2023-04-18-190300_add_cascade_rules", dep("clapshot.server", s("2023-04-18-190209_change_video_primkey"), s("2023-04-18-190209_change_video_primkey"))),
				mig("c", "2024-05-13-093800_add_users_table", dep("clapshot.server", s("2023-04-18-190300_add_cascade_rules"), s("2023-04-18-190300_add_cascade_rules")))),
		}, nil},

		// Ours.
		{"nothing_to_do", []Module{mod("server", s("3")), mod("org", s(""))}, []string{}},
		{"empty_string_means_nothing_applied", []Module{
			// An organizer reporting "" may start a chain guarded by max_ver "".
			mod("org", s(""),
				mig("G1", "0001", dep("org", nil, s(""))),
				mig("G2", "0002", dep("org", s("0001"), s("0001")))),
		}, []string{"G1", "G2"}},
		{"no_version_ignores_max", []Module{
			// A module with no version at all passes a dependency with only
			// max_ver, but fails one with min_ver.
			mod("org", nil, mig("G1", "1", dep("other", nil, s("0")))),
			mod("org2", nil, mig("H1", "1", dep("other", s("0"), nil))),
		}, nil},
		{"no_version_max_only", []Module{
			mod("org", nil, mig("G1", "1", dep("other", nil, s("0")))),
		}, []string{"G1"}},
		{"cycle_between_modules", []Module{
			// Each module waits for the other to move first.
			mod("a", s("0"), mig("A1", "1", dep("b", s("1"), nil))),
			mod("b", s("0"), mig("B1", "1", dep("a", s("1"), nil))),
		}, nil},
		{"cycle_within_module", []Module{
			// 1 needs 2 and 2 needs 1.
			mod("a", nil,
				mig("A1", "1", dep("a", s("2"), s("2"))),
				mig("A2", "2", dep("a", s("1"), s("1")))),
		}, nil},
		{"version_going_back_is_allowed", []Module{
			// A migration may set a lower version (Clapshot allows it); the
			// plan still has to end at the highest one.
			mod("a", s("1"),
				mig("A3", "3", dep("a", s("1"), s("1"))),
				mig("A2", "2", dep("a", s("3"), s("3"))),
				mig("A4", "4", dep("a", s("2"), s("2")))),
		}, []string{"A3", "A2", "A4"}},
		{"tie_same_version_server_first", []Module{
			// Equal versions keep input order: the server's migration first.
			mod("server", s("0"), mig("S1", "1")),
			mod("org", s("0"), mig("G1", "1")),
		}, []string{"S1", "G1"}},
		{"tie_alternative_migrations_same_version", []Module{
			// Two ways to reach "2": the first applicable one wins, and
			// only one of them is applied.
			mod("org", s("1"),
				mig("G2a", "2", dep("org", s("1"), s("1"))),
				mig("G2b", "2", dep("org", s("1"), s("1")))),
		}, []string{"G2a"}},
		{"tie_alternatives_by_dependency", []Module{
			// G2a needs a server version that is never reached; G2b works.
			mod("server", s("5")),
			mod("org", s("1"),
				mig("G2a", "2", dep("org", s("1"), s("1")), dep("server", s("9"), nil)),
				mig("G2b", "2", dep("org", s("1"), s("1")), dep("server", s("5"), nil))),
		}, []string{"G2b"}},
		{"target_below_current_unreachable", []Module{
			// A module that lists only old migrations cannot reach their
			// version again: Clapshot reports this as unsolvable too.
			mod("org", s("5"), mig("G1", "1")),
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Solve(tc.modules)
			if tc.want == nil {
				if !errors.Is(err, ErrUnsolvable) {
					t.Fatalf("want unsolvable, got plan %v err %v", uuids(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(uuids(got), ","); g != strings.Join(tc.want, ",") {
				t.Fatalf("plan %s, want %s", g, strings.Join(tc.want, ","))
			}
		})
	}
}

func TestSolveDuplicateUUID(t *testing.T) {
	_, err := Solve([]Module{mod("a", nil, mig("X", "1")), mod("b", nil, mig("X", "1"))})
	if err == nil || !strings.Contains(err.Error(), `duplicate migration uuid "X"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSolveUnsolvableNamesModulesAndVersions(t *testing.T) {
	_, err := Solve([]Module{
		mod("clapshot.server", s("20240602173200")),
		mod("clapshot.organizer.basic_folders", s(""),
			mig("basic_folders_2024-05-01_1610", "0001_initial_schema",
				dep("clapshot.server", s("20240522163000"), s("20240530202000")),
				dep("clapshot.organizer.basic_folders", nil, s("")))),
	})
	for _, want := range []string{
		"unsolvable dependencies",
		`module clapshot.server at version "20240602173200"`,
		`module clapshot.organizer.basic_folders at version ""`,
		`basic_folders_2024-05-01_1610 -> version "0001_initial_schema"`,
		`clapshot.server in ["20240522163000", "20240530202000"]`,
		"clapshot.organizer.basic_folders with nothing applied",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// Many independent chains: Clapshot's exhaustive search explores every
// interleaving; ours must stay fast and give the interleaved plan.
func TestSolveManyIndependentChains(t *testing.T) {
	var modules []Module
	for m := range 4 {
		name := fmt.Sprintf("m%d", m)
		var migs []*pb.Migration
		prev := ""
		for v := 1; v <= 6; v++ {
			ver := fmt.Sprintf("%02d", v)
			migs = append(migs, mig(fmt.Sprintf("%s-%s", name, ver), ver, dep(name, s(prev), s(prev))))
			prev = ver
		}
		modules = append(modules, mod(name, s(""), migs...))
	}
	got, err := Solve(modules)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 || uuids(got)[0] != "m0-01" || uuids(got)[1] != "m1-01" || uuids(got)[23] != "m3-06" {
		t.Fatalf("plan %v", uuids(got))
	}
}
