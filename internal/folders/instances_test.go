package folders_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to look into the database

	"github.com/clapshot-go/clapshot/internal/folders"
	"github.com/clapshot-go/clapshot/internal/organizer"
	"github.com/clapshot-go/clapshot/internal/orgtest"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Two server instances on one PostgreSQL database and one data directory,
// started together, each with its own folders organizer (its own sockets:
// org-in-uri outside the shared directory, org-out-tcp on a port of its
// own): the organizers' migrations run once, a user has one home whichever
// instance they come through, and folders made and media moved through
// one are what the other shows. The password in the URL (which the
// organizers get) is in neither log.
func TestTwoInstancesShareFolders(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	u := strings.Replace(pgtest.NewDatabase(t), "postgres@", "postgres:hunter2@", 1) // trust auth ignores it
	if err := orgtest.SeedFixtureIn(ctx, dir, u); err != nil {
		t.Fatal(err)
	}
	servers := make([]*server, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range servers {
		sock := filepath.Join(shortDir(t), "org.sock")
		wg.Go(func() {
			servers[i], errs[i] = start(t, dir, "--org-cmd", orgBin, "--db-url", u, "--org-in-uri", "unix://"+sock, "--org-out-tcp", "127.0.0.1:0")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	a, b := servers[0], servers[1]
	for i, s := range servers {
		if st := s.app.Organizer.Status(); st["state"] != organizer.StateConnected {
			t.Fatalf("organizer of instance %d: %v", i, st)
		}
	}
	migrated := 0
	for _, s := range servers {
		migrated += strings.Count(s.log.String(), `[folders] Applying migration uuid=`)
	}
	if migrated != 2 { // basic_folders' two, once
		t.Errorf("the organizers applied %d migrations between them, want 2\n%s\n%s", migrated, a.log, b.log)
	}

	onA := a.dial(t, "user.num1", "User Number1", false)
	onB := b.dial(t, "user.num1", "User Number1", false)
	send(t, onA, wsclient.OpenNavigationPage(""))
	homeA := listing(nextPage(t, onA))
	send(t, onB, wsclient.OpenNavigationPage(""))
	homeB := listing(nextPage(t, onB))
	if homeA.GetListingData()["folder_id"] != homeB.GetListingData()["folder_id"] {
		t.Fatalf("home folder %s on A, %s on B", homeA.GetListingData()["folder_id"], homeB.GetListingData()["folder_id"])
	}

	// On A: a folder, and a media file moved into it.
	send(t, onA, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Project"}))
	project := folderID(t, listing(nextPage(t, onA)), "Project")
	send(t, onA, wsclient.MoveToFolder(project, []*pb.FolderItemID{wsclient.Media("B1DE0")}, homeA.GetListingData()))
	nextPage(t, onA)

	// B shows them; a folder made in Project on B shows on A.
	send(t, onB, wsclient.OpenNavigationPage(""))
	if got := names(listing(nextPage(t, onB))); !slices.Contains(got, "folder:Project") || slices.Contains(got, "B1DE0") {
		t.Errorf("home on B after A's changes: %v", got)
	}
	send(t, onB, wsclient.OrganizerCmd("open_folder", map[string]any{"id": project}))
	if got := names(listing(nextPage(t, onB))); !slices.Equal(got, []string{"B1DE0"}) {
		t.Errorf("Project on B: %v", got)
	}
	send(t, onB, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Made on B"}))
	nextPage(t, onB)
	send(t, onA, wsclient.OrganizerCmd("open_folder", map[string]any{"id": project}))
	if got := names(listing(nextPage(t, onA))); !slices.Equal(sortedCopy(got), []string{"B1DE0", "folder:Made on B"}) {
		t.Errorf("Project on A after B's folder: %v", got)
	}

	// An admin on B sees the user's home as it is.
	admin := b.dial(t, "admin", "Admin", true)
	send(t, admin, wsclient.OpenNavigationPage(""))
	p := nextPage(t, admin)
	users := listing(&pb.ServerToClientCmd_ShowPage{PageItems: p.GetPageItems()[len(p.GetPageItems())-1:]})
	send(t, admin, wsclient.OrganizerCmd("open_folder", map[string]any{"id": folderID(t, users, "user.num1")}))
	if got := names(listing(nextPage(t, admin))); !slices.Contains(got, "folder:Project") {
		t.Errorf("admin on B browsing user.num1: %v", got)
	}

	// It is all in PostgreSQL: one home, Project, Made on B.
	pg, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var n int
	if err := pg.QueryRow(`SELECT count(*) FROM bf_folders WHERE user_id = 'user.num1'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("user.num1 has %d folders in PostgreSQL (%v), want 3", n, err)
	}
	for i, s := range servers {
		if strings.Contains(s.log.String(), "hunter2") {
			t.Errorf("the log of instance %d shows the database password", i)
		}
	}
}

// A server with the folders organizer on an empty PostgreSQL database
// creates it with the organizer's migrations between its own (the
// organizer's first needs media_files), and serves folders.
func TestNewPostgresDatabaseWithTheOrganizer(t *testing.T) {
	dir := shortDir(t)
	s, err := start(t, dir, "--org-cmd", orgBin, "--db-url", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	log := s.log.String()
	i1 := strings.Index(log, `step="clapshot.server 20240522163000`)
	i2 := strings.Index(log, `step="clapshot.organizer.basic_folders 0001_initial_schema`)
	i3 := strings.Index(log, `step="clapshot.server 20240602173200`)
	if i1 < 0 || !(i1 < i2 && i2 < i3) {
		t.Errorf("the organizer's migration did not run between the server's (%d %d %d)", i1, i2, i3)
	}
	c := s.dial(t, "alice", "Alice", false)
	send(t, c, wsclient.OpenNavigationPage(""))
	if p := nextPage(t, c); p.GetPageTitle() != "Home of 'Alice'" {
		t.Errorf("home page title %q", p.GetPageTitle())
	}
}

// --migrate-to carries the folders into PostgreSQL: a Clapshot 0.6.1
// database with folders, copied as it is (organizer schema 0001, items
// still pointing at the old videos table) or after the organizer upgraded
// it on SQLite (0002), shows the same folders on PostgreSQL, where the
// organizer runs what is left of its migrations.
func TestMigrateToKeepsFolders(t *testing.T) {
	for _, tc := range []struct {
		name          string
		upgradeFirst  bool
		wantMigration bool // the organizer's 0002 runs on PostgreSQL
	}{
		{"copied at organizer schema 0001", false, true},
		{"copied after the organizer's upgrade on SQLite", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := shortDir(t)
			v061Database(t, dir)
			if tc.upgradeFirst {
				s, err := start(t, dir, "--org-cmd", orgBin)
				if err != nil {
					t.Fatal(err)
				}
				s.stop()
			}
			u := pgtest.NewDatabase(t)
			rep, err := store.CopyToPostgres(ctx, store.CopyOptions{SQLitePath: filepath.Join(dir, "clapshot.sqlite"), URL: u,
				Schemas: []store.CopySchema{folders.CopySchema}})
			if err != nil {
				t.Fatalf("copy: %v (%+v)", err, rep)
			}
			copied := map[string]int64{}
			for _, tc := range rep.Tables {
				copied[tc.Table] = tc.Postgres
			}
			if len(rep.LeftBehind) != 0 || copied["bf_folders"] != 3 || copied["bf_folder_items"] != 4 || copied["__bf_schema_migrations"] == 0 {
				t.Fatalf("copied %v, left behind %v", copied, rep.LeftBehind)
			}
			s, err := start(t, dir, "--org-cmd", orgBin, "--db-url", u)
			if err != nil {
				t.Fatal(err)
			}
			if ran := strings.Contains(s.log.String(), "clapshot.organizer.basic_folders 0002_media_file_renamed"); ran != tc.wantMigration {
				t.Errorf("the organizer's 0002 ran on PostgreSQL: %v, want %v", ran, tc.wantMigration)
			}
			checkV061Folders(t, s)
			// New folders continue after the copied ids.
			c := s.dial(t, "docker", "Docker User", false)
			send(t, c, wsclient.OpenNavigationPage(""))
			_ = nextPage(t, c)
			send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "after the move"}))
			if got := names(listing(nextPage(t, c))); !slices.Contains(got, "folder:after the move") {
				t.Errorf("home after a new folder: %v", got)
			}
		})
	}
}
