package folders

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// instances is how many organizers share the database in these tests:
// on PostgreSQL, one per server instance, each with its own pool.
const instances = 4

// serverDatabases make a database with the server's schema on each
// backend, as the server tells the organizer about it.
var serverDatabases = []struct {
	name string
	make func(t *testing.T) *pb.Database
}{
	{"sqlite", func(t *testing.T) *pb.Database {
		p := filepath.Join(t.TempDir(), "clapshot.sqlite")
		migrateServer(t, store.OpenOptions{Path: p})
		return &pb.Database{Type: pb.Database_SQLITE, Endpoint: p}
	}},
	{"postgres", func(t *testing.T) *pb.Database {
		u := pgtest.NewDatabase(t)
		migrateServer(t, store.OpenOptions{URL: u})
		return &pb.Database{Type: pb.Database_POSTGRES, Endpoint: u}
	}},
}

// eachServerDatabase runs test on a new server database of each backend.
func eachServerDatabase(t *testing.T, test func(t *testing.T, info *pb.Database)) {
	for _, b := range serverDatabases {
		t.Run(b.name, func(t *testing.T) { test(t, b.make(t)) })
	}
}

func migrateServer(t *testing.T, o store.OpenOptions) {
	t.Helper()
	db, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// openInstances opens the database once per instance.
func openInstances(t *testing.T, info *pb.Database) []*store.Shared {
	t.Helper()
	var out []*store.Shared
	for range instances {
		db, err := openDB(context.Background(), info, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		out = append(out, db)
	}
	return out
}

// all runs fn once per instance at the same moment and waits for them.
func all(dbs []*store.Shared, fn func(i int, db *store.Shared)) {
	var wg sync.WaitGroup
	startLine := make(chan struct{})
	for i, db := range dbs {
		wg.Go(func() {
			<-startLine
			fn(i, db)
		})
	}
	close(startLine)
	wg.Wait()
}

// Every instance's organizer applies the same migration at once (two
// servers starting together, say): it runs once, the others find it
// recorded and skip it.
func TestMigrationRunsOnceAcrossInstances(t *testing.T) {
	eachServerDatabase(t, func(t *testing.T, info *pb.Database) {
		ctx := context.Background()
		for _, m := range migrations {
			ran := make([]bool, instances)
			errs := make([]error, instances)
			all(make([]*store.Shared, instances), func(i int, _ *store.Shared) {
				var skipped bool
				skipped, errs[i] = applyMigration(ctx, info, m.meta.GetUuid())
				ran[i] = !skipped
			})
			n := 0
			for i := range instances {
				if errs[i] != nil {
					t.Fatalf("%s on instance %d: %v", m.meta.GetVersion(), i, errs[i])
				}
				if ran[i] {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s ran %d times, want once", m.meta.GetVersion(), n)
			}
		}
		db := openInstances(t, info)[0]
		if cur, err := currentVersion(ctx, db); err != nil || cur != "0002_media_file_renamed" {
			t.Errorf("schema version %q (%v)", cur, err)
		}
	})
}

// A user who opens their home through several instances at once gets
// one home folder, created once; every instance shows that one.
func TestOneHomeWhenInstancesAskAtOnce(t *testing.T) {
	eachServerDatabase(t, func(t *testing.T, info *pb.Database) {
		ctx := context.Background()
		for _, m := range migrations {
			if _, err := applyMigration(ctx, info, m.meta.GetUuid()); err != nil {
				t.Fatal(err)
			}
		}
		dbs := openInstances(t, info)
		for round := range 10 {
			user := &pb.UserInfo{Id: fmt.Sprintf("user.%d", round), Name: fmt.Sprintf("User %d", round)}
			if _, err := dbs[0].ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, ?)", user.GetId(), user.GetName()); err != nil {
				t.Fatal(err)
			}
			homes := make([]int64, instances)
			errs := make([]error, instances)
			all(dbs, func(i int, db *store.Shared) {
				errs[i] = db.InTx(ctx, func(tx querier) error {
					f, _, err := rootFolder(ctx, db, tx, user)
					if err == nil {
						homes[i] = f.ID
					}
					return err
				})
			})
			for i := range instances {
				if errs[i] != nil {
					t.Fatalf("round %d, instance %d: %v", round, i, errs[i])
				}
				if homes[i] != homes[0] {
					t.Errorf("round %d: instances got homes %v, want one", round, homes)
					break
				}
			}
			var n int
			if err := dbs[0].QueryRowContext(ctx, "SELECT count(*) FROM bf_folders WHERE user_id = ?", user.GetId()).Scan(&n); err != nil || n != 1 {
				t.Errorf("round %d: %d folders for the user (%v), want 1", round, n, err)
			}
		}
	})
}

// A type of database the organizer does not know is refused, saying so.
func TestUnknownDatabaseTypeRefused(t *testing.T) {
	_, err := openDB(context.Background(), &pb.Database{Type: pb.Database_DatabaseType(7), Endpoint: "x"}, true)
	if err == nil || !strings.Contains(err.Error(), "of type 7, which this organizer does not know") {
		t.Fatalf("unknown type: %v", err)
	}
}
