package organizer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// basicFolders is what Clapshot's basic_folders organizer answers to
// check_migrations with nothing applied (organizer/basic_folders/organizer/
// database/migrations.py): two migrations that need clapshot.server in
// [20240522163000, 20240602173200].
func basicFolders(cur string) *pb.CheckMigrationsResponse {
	const name = "clapshot.organizer.basic_folders"
	server := &pb.Migration_Dependency{Name: ServerModule, MinVer: new("20240522163000"), MaxVer: new("20240602173200")}
	all := []*pb.Migration{
		{Uuid: "basic_folders_2024-05-01_1610", Version: "0001_initial_schema", Dependencies: []*pb.Migration_Dependency{
			server, {Name: name, MaxVer: new("")}}},
		{Uuid: "rename_video_to_media_file_2024-05-22_2018", Version: "0002_media_file_renamed", Dependencies: []*pb.Migration_Dependency{
			server, {Name: name, MinVer: new("0001_initial_schema"), MaxVer: new("0001_initial_schema")}}},
	}
	res := &pb.CheckMigrationsResponse{Name: name, CurrentSchemaVer: cur}
	for _, m := range all {
		if m.Version > cur {
			res.PendingMigrations = append(res.PendingMigrations, m)
		}
	}
	return res
}

// stateAt is a database with the given versions applied.
func stateAt(applied ...string) *store.State {
	st := &store.State{Path: "test.sqlite", New: len(applied) == 0, Applied: applied}
	for _, m := range store.Migrations() {
		if !slices.Contains(applied, m.Version) {
			st.Pending = append(st.Pending, m)
		}
	}
	return st
}

// versionsUpTo lists our known migrations up to and including v.
func versionsUpTo(v string) []string {
	var out []string
	for _, m := range store.Migrations() {
		if m.Version <= v {
			out = append(out, m.Version)
		}
	}
	return out
}

func describe(steps []store.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		if s.Server != nil {
			out[i] = s.Server.Version
		} else {
			out[i] = strings.Fields(s.Label)[1] // "<module> <version> (<uuid>)"
		}
	}
	return out
}

func ownVersions() []string {
	var out []string
	for _, m := range store.Migrations() {
		if isOwn(m.Version) {
			out = append(out, m.Version)
		}
	}
	return out
}

func TestJointPlanWithBasicFolders(t *testing.T) {
	own := ownVersions()
	if len(own) == 0 {
		t.Fatal("expected this server to have migrations of its own")
	}
	latest := store.Migrations()[len(store.Migrations())-1].Version
	tests := []struct {
		name string
		st   *store.State
		org  *pb.CheckMigrationsResponse
		want []string
	}{
		{"fresh database: folders tables right after media_files exists",
			stateAt(), basicFolders(""),
			slices.Concat(versionsUpTo("20240522163000"), []string{"0001_initial_schema", "0002_media_file_renamed", "20240530202000", "20240602173200"}, own)},
		{"v0.6.1 database: the rename runs between the server's migrations",
			// Clapshot 0.6.1 left the obsolete 20230418191009 applied; it is
			// not a known migration and must not disturb the plan.
			func() *store.State {
				st := stateAt(slices.Concat(versionsUpTo("20240513093800"), []string{"20230418191009"})...)
				slices.Sort(st.Applied)
				return st
			}(), basicFolders("0001_initial_schema"),
			slices.Concat([]string{"20240522163000", "0002_media_file_renamed", "20240530202000", "20240602173200"}, own)},
		{"our database, organizer added later: our own versions do not count as Clapshot's",
			stateAt(versionsUpTo(latest)...), basicFolders(""),
			[]string{"0001_initial_schema", "0002_media_file_renamed"}},
		{"Clapshot 0.8.2 database with folders: only our additions",
			stateAt(versionsUpTo(store.LatestClapshotVersion)...), basicFolders("0002_media_file_renamed"),
			own},
		{"nothing to do", stateAt(versionsUpTo(latest)...), basicFolders("0002_media_file_renamed"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var applied []string
			steps, err := JointPlan(tc.st, tc.org, func(_ context.Context, uuid string) error {
				applied = append(applied, uuid)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(steps); !slices.Equal(got, tc.want) {
				t.Fatalf("plan\n %v\nwant\n %v", got, tc.want)
			}
			for _, s := range steps {
				if s.External != nil {
					if err := s.External(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, uuid := range applied {
				if !strings.Contains(uuid, "_20") {
					t.Errorf("apply called with %q, not an organizer uuid", uuid)
				}
			}
		})
	}
}

func TestServerPlanAlone(t *testing.T) {
	steps, err := ServerPlan(stateAt())
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, m := range store.Migrations() {
		all = append(all, m.Version)
	}
	if got := describe(steps); !slices.Equal(got, all) {
		t.Fatalf("plan %v, want %v", got, all)
	}
}

func TestJointPlanBadInput(t *testing.T) {
	latest := store.Migrations()[len(store.Migrations())-1].Version
	tests := []struct {
		name string
		st   *store.State
		org  *pb.CheckMigrationsResponse
		want string
	}{
		{"organizer needs an older server",
			stateAt(versionsUpTo(latest)...),
			&pb.CheckMigrationsResponse{Name: "com.example.org", PendingMigrations: []*pb.Migration{
				{Uuid: "x1", Version: "1", Dependencies: []*pb.Migration_Dependency{{Name: ServerModule, MaxVer: new("20240530202000")}}}}},
			`module com.example.org at version "":`},
		{"missing name", stateAt(), &pb.CheckMigrationsResponse{}, "no module name"},
		{"server's name", stateAt(), &pb.CheckMigrationsResponse{Name: ServerModule}, "server's own name"},
		{"uuid clash with a server migration", stateAt(),
			&pb.CheckMigrationsResponse{Name: "o", PendingMigrations: []*pb.Migration{{Uuid: store.Migrations()[0].Name, Version: "1"}}},
			"duplicate migration uuid"},
		{"gap in applied migrations", &store.State{Path: "x", Applied: []string{"20240602173200"}, Pending: store.Migrations()[:1]},
			nil, "applied but not the older"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JointPlan(tc.st, tc.org, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	_, err := JointPlan(tests[0].st, tests[0].org, nil)
	if !errors.Is(err, ErrUnsolvable) || !strings.Contains(err.Error(), "module clapshot.server at version \"20240602173200\"") ||
		!strings.Contains(err.Error(), "module clapshot-go.server at version") {
		t.Fatalf("unsolvable error should list every module: %v", err)
	}
}
