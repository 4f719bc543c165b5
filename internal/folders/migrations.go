package folders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// ModuleName is the schema module of basic_folders. Its tables, versions
// and migration uuids are basic_folders', so a database that ran
// Clapshot's Python organizer keeps its folders with this one, and back.
const ModuleName = "clapshot.organizer.basic_folders"

type migration struct {
	meta *pb.Migration
	sql  string
}

// serverRange is the clapshot.server schema basic_folders' tables were
// written against: media_files exists from 20240522163000 on.
func serverRange() *pb.Migration_Dependency {
	return &pb.Migration_Dependency{Name: "clapshot.server", MinVer: new("20240522163000"), MaxVer: new("20240602173200")}
}

// migrations are basic_folders' two, with the same uuids, versions and
// dependencies. The first creates the folder tables; the second rebuilds
// bf_folder_items with media_file_id, because early databases had it
// (as video_id) pointing at the videos table that became media_files.
var migrations = []migration{
	{
		meta: &pb.Migration{
			Uuid: "basic_folders_2024-05-01_1610", Version: "0001_initial_schema",
			Description: "Folders per user, nested; each media file in one folder",
			Dependencies: []*pb.Migration_Dependency{
				serverRange(),
				{Name: ModuleName, MaxVer: new("")}, // nothing of ours applied yet
			},
		},
		sql: `
CREATE TABLE bf_folders (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    user_id VARCHAR(255) NOT NULL REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    title VARCHAR(255) NOT NULL
);
CREATE INDEX bf_folders_user_id ON bf_folders(user_id);
CREATE TABLE bf_folder_items (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    video_id VARCHAR(255) UNIQUE REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    subfolder_id INTEGER UNIQUE REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
    CHECK ((video_id IS NOT NULL AND subfolder_id IS NULL) OR (video_id IS NULL AND subfolder_id IS NOT NULL)),
    CHECK (folder_id != subfolder_id)
);
CREATE INDEX bf_folder_items_folder_id ON bf_folder_items(folder_id);
CREATE INDEX bf_folder_items_video_id ON bf_folder_items(video_id);
CREATE INDEX bf_folder_items_subfolder_id ON bf_folder_items(subfolder_id);
`,
	},
	{
		meta: &pb.Migration{
			Uuid: "rename_video_to_media_file_2024-05-22_2018", Version: "0002_media_file_renamed",
			Description: "bf_folder_items.video_id becomes media_file_id, referencing media_files",
			Dependencies: []*pb.Migration_Dependency{
				serverRange(),
				{Name: ModuleName, MinVer: new("0001_initial_schema"), MaxVer: new("0001_initial_schema")},
			},
		},
		sql: `
CREATE TABLE bf_folder_items_new (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    media_file_id VARCHAR(255) UNIQUE REFERENCES media_files(id) ON UPDATE CASCADE ON DELETE CASCADE,
    subfolder_id INTEGER UNIQUE REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
    CHECK ((media_file_id IS NOT NULL AND subfolder_id IS NULL) OR (media_file_id IS NULL AND subfolder_id IS NOT NULL)),
    CHECK (folder_id != subfolder_id)
);
INSERT INTO bf_folder_items_new (id, folder_id, sort_order, media_file_id, subfolder_id)
    SELECT id, folder_id, sort_order, video_id, subfolder_id FROM bf_folder_items;
DROP TABLE bf_folder_items;
ALTER TABLE bf_folder_items_new RENAME TO bf_folder_items;
DROP INDEX IF EXISTS bf_folder_items_video_id;
CREATE INDEX bf_folder_items_folder_id ON bf_folder_items(folder_id);
CREATE INDEX bf_folder_items_media_file_id ON bf_folder_items(media_file_id);
CREATE INDEX bf_folder_items_subfolder_id ON bf_folder_items(subfolder_id);
`,
	},
}

// schemaTable is basic_folders' record of applied migrations.
const schemaTable = `CREATE TABLE IF NOT EXISTS __bf_schema_migrations (
    version VARCHAR NOT NULL,
    migration_uuid VARCHAR NOT NULL,
    run_on DATETIME NOT NULL,
    PRIMARY KEY (version)
)`

// currentVersion is the newest applied version, "" if none (or if the
// tracking table does not exist yet: it is created by the first
// migration, so that asking changes nothing in the database).
func currentVersion(ctx context.Context, db *sql.DB) (string, error) {
	var exists int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='__bf_schema_migrations'").Scan(&exists); err != nil {
		return "", err
	}
	if exists == 0 {
		return "", nil
	}
	var v sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM __bf_schema_migrations").Scan(&v); err != nil {
		return "", err
	}
	return v.String, nil
}

// pending lists the migrations after cur.
func pending(cur string) []*pb.Migration {
	var out []*pb.Migration
	for _, m := range migrations {
		if m.meta.GetVersion() > cur {
			out = append(out, m.meta)
		}
	}
	return out
}

// applyMigration runs one migration and records it, in one transaction on
// a connection with foreign keys off (a table rebuild needs that).
func applyMigration(ctx context.Context, path, uuid string) error {
	var m *migration
	for i := range migrations {
		if migrations[i].meta.GetUuid() == uuid {
			m = &migrations[i]
		}
	}
	if m == nil {
		return fmt.Errorf("no migration %q in %s", uuid, ModuleName)
	}
	db, err := openDB(path, false)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range []string{schemaTable, m.sql} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migration %s: %w", uuid, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO __bf_schema_migrations (version, migration_uuid, run_on) VALUES (?, ?, CURRENT_TIMESTAMP)",
		m.meta.GetVersion(), uuid); err != nil {
		return fmt.Errorf("record migration %s: %w", uuid, err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
	return err
}

// errNoDatabase is returned by calls made before the handshake.
var errNoDatabase = errors.New("no database yet: the server has not sent its handshake")
