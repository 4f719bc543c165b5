package folders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// openDB opens the database the server named, SQLite or PostgreSQL, with
// the server's settings (store.OpenSharedDB): both processes write to it,
// and on PostgreSQL so do the other instances' organizers. A type this
// organizer does not know is refused, saying which.
func openDB(ctx context.Context, db *pb.Database, foreignKeys bool) (*store.Shared, error) {
	var backend string
	switch db.GetType() {
	case pb.Database_SQLITE:
		backend = store.BackendSQLite
	case pb.Database_POSTGRES:
		backend = store.BackendPostgres
	default:
		return nil, fmt.Errorf("the server's database is of type %s, which this organizer does not know (it knows SQLITE and POSTGRES)", db.GetType())
	}
	return store.OpenSharedDB(ctx, backend, db.GetEndpoint(), foreignKeys)
}

// querier is the database or one of its transactions; statements use ?
// placeholders, rebound for PostgreSQL by the store.
type querier = store.Querier

// folder is a row of bf_folders.
type folder struct {
	ID     int64
	UserID string
	Title  string
}

// entry is one item of a folder: a subfolder or a media file.
type entry struct {
	SortOrder int64
	Folder    *folder   // set for a subfolder
	MediaID   string    // set for a media file
	time      time.Time // of creation, newest first among equals
}

func getFolder(ctx context.Context, q querier, id int64) (*folder, error) {
	f := &folder{ID: id}
	err := q.QueryRowContext(ctx, "SELECT user_id, title FROM bf_folders WHERE id = ?", id).Scan(&f.UserID, &f.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "Folder %d not found", id)
	}
	return f, err
}

func getFolders(ctx context.Context, q querier, ids []int64) (map[int64]*folder, error) {
	out := map[int64]*folder{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, "SELECT id, user_id, title FROM bf_folders WHERE id IN (?"+strings.Repeat(",?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		f := &folder{}
		if err := rows.Scan(&f.ID, &f.UserID, &f.Title); err != nil {
			return nil, err
		}
		out[f.ID] = f
	}
	return out, rows.Err()
}

// rootFolder finds the user's home folder (their folder that is nobody's
// subfolder), creating "Home of '<name>'" if there is none, and moves the
// user's media files that are in no folder into it. If a user has several
// homes (an inconsistency), the newer ones become subfolders of the oldest
// and the returned message says so. Run in one of db's transactions
// (tx), it makes one home even when two instances' organizers ask at once.
func rootFolder(ctx context.Context, db *store.Shared, tx querier, user *pb.UserInfo) (*folder, *pb.UserMessage, error) {
	if user.GetId() == "" {
		return nil, nil, status.Error(codes.InvalidArgument, "session has no user id")
	}
	var known int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", user.GetId()).Scan(&known); err != nil {
		return nil, nil, err
	}
	if known == 0 {
		return nil, nil, status.Errorf(codes.FailedPrecondition, "user %q is not in the users table", user.GetId())
	}
	rows, err := tx.QueryContext(ctx, `SELECT f.id, f.user_id, f.title FROM bf_folders f
		WHERE f.user_id = ? AND NOT EXISTS (SELECT 1 FROM bf_folder_items i WHERE i.subfolder_id = f.id) ORDER BY f.id`, user.GetId())
	if err != nil {
		return nil, nil, err
	}
	var roots []*folder
	for rows.Next() {
		f := &folder{}
		if err := rows.Scan(&f.ID, &f.UserID, &f.Title); err != nil {
			rows.Close()
			return nil, nil, err
		}
		roots = append(roots, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var msg *pb.UserMessage
	var root *folder
	switch len(roots) {
	case 0:
		name := user.GetName()
		if name == "" {
			name = user.GetId()
		}
		root = &folder{UserID: user.GetId(), Title: fmt.Sprintf("Home of '%s'", name)}
		if err := tx.QueryRowContext(ctx, "INSERT INTO bf_folders (user_id, title) VALUES (?, ?) RETURNING id", root.UserID, root.Title).Scan(&root.ID); err != nil {
			return nil, nil, err
		}
	case 1:
		root = roots[0]
	default:
		root = roots[0]
		for _, f := range roots[1:] {
			if _, err := tx.ExecContext(ctx, "INSERT INTO bf_folder_items (folder_id, subfolder_id) VALUES (?, ?)", root.ID, f.ID); err != nil {
				return nil, nil, err
			}
		}
		msg = &pb.UserMessage{Type: pb.UserMessage_ERROR, Message: "Your home had several root folders; they are now inside the first one.",
			Details: new("Each user should have one home folder. The inconsistency was fixed, but your home may show unexpected folders.")}
	}
	// Adopt orphans: the user's media files that are in no folder, except
	// new versions of a stack that is filed already (the stack shows them).
	// (media_versions is this server's: Clapshot's database has none.)
	adopt := `INSERT INTO bf_folder_items (folder_id, media_file_id)
		SELECT CAST(? AS BIGINT), m.id FROM media_files m
		WHERE m.user_id = ? AND NOT EXISTS (SELECT 1 FROM bf_folder_items i WHERE i.media_file_id = m.id)`
	stacks, err := db.HasTable(ctx, tx, "media_versions")
	if err != nil {
		return nil, nil, err
	}
	if stacks {
		adopt += ` AND NOT EXISTS (SELECT 1 FROM media_versions v JOIN media_versions w ON w.stack_id = v.stack_id
			JOIN bf_folder_items i ON i.media_file_id = w.media_file_id WHERE v.media_file_id = m.id)`
	}
	if _, err := tx.ExecContext(ctx, adopt, root.ID, user.GetId()); err != nil {
		return nil, nil, err
	}
	return root, msg, nil
}

// canSee reports whether the session may see or change a folder: its
// owner or an admin.
func canSee(f *folder, ses *pb.UserSessionData) bool {
	return f.UserID == ses.GetUser().GetId() || ses.GetIsAdmin()
}

// contents lists a folder's items in display order: by sort_order, then
// folders before media files, then newest first.
func contents(ctx context.Context, q querier, f *folder, ses *pb.UserSessionData) ([]entry, error) {
	if !canSee(f, ses) {
		return nil, status.Error(codes.PermissionDenied, "Cannot open another user's folder")
	}
	// Times as text, read by store.ParseTime: the same on both backends.
	rows, err := q.QueryContext(ctx, `SELECT i.sort_order, i.subfolder_id, sf.user_id, sf.title, i.media_file_id,
			COALESCE(CAST(sf.created AS TEXT), CAST(m.added_time AS TEXT))
		FROM bf_folder_items i
		LEFT JOIN bf_folders sf ON sf.id = i.subfolder_id
		LEFT JOIN media_files m ON m.id = i.media_file_id
		WHERE i.folder_id = ?`, f.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		var subID sql.NullInt64
		var subUser, subTitle, mediaID, created sql.NullString
		if err := rows.Scan(&e.SortOrder, &subID, &subUser, &subTitle, &mediaID, &created); err != nil {
			return nil, err
		}
		if created.Valid {
			e.time, _ = store.ParseTime(created.String) // unreadable: oldest, as julianday's NULL was
		}
		if subID.Valid {
			e.Folder = &folder{ID: subID.Int64, UserID: subUser.String, Title: subTitle.String}
		} else {
			e.MediaID = mediaID.String
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b entry) int {
		switch {
		case a.SortOrder != b.SortOrder:
			return cmpInt(a.SortOrder, b.SortOrder)
		case (a.Folder == nil) != (b.Folder == nil):
			if a.Folder != nil {
				return -1
			}
			return 1
		case !a.time.Equal(b.time):
			return b.time.Compare(a.time)
		}
		return 0
	})
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// createFolder adds a folder at the end of parent. Names are unique among
// a folder's items, as in basic_folders.
func createFolder(ctx context.Context, tx querier, ses *pb.UserSessionData, parent *folder, name string) (*folder, error) {
	name = strings.TrimSpace(name)
	switch {
	case !canSee(parent, ses):
		return nil, status.Error(codes.PermissionDenied, "Cannot create a folder in another user's folder")
	case name == "":
		return nil, status.Error(codes.InvalidArgument, "Folder name cannot be empty")
	case len(name) > 255:
		return nil, status.Error(codes.InvalidArgument, "Folder name too long (at most 255 bytes)")
	}
	var clash int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM bf_folder_items i
		LEFT JOIN bf_folders f ON f.id = i.subfolder_id
		LEFT JOIN media_files m ON m.id = i.media_file_id
		WHERE i.folder_id = ? AND (f.title = ? OR m.title = ?)`, parent.ID, name, name).Scan(&clash); err != nil {
		return nil, err
	}
	if clash > 0 {
		return nil, status.Errorf(codes.AlreadyExists, "An item named '%s' already exists in this folder", name)
	}
	f := &folder{UserID: parent.UserID, Title: name}
	if err := tx.QueryRowContext(ctx, "INSERT INTO bf_folders (user_id, title) VALUES (?, ?) RETURNING id", f.UserID, f.Title).Scan(&f.ID); err != nil {
		return nil, err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO bf_folder_items (folder_id, subfolder_id, sort_order)
		VALUES (?, ?, COALESCE((SELECT max(sort_order) FROM bf_folder_items WHERE folder_id = ?), 0) + 1)`, parent.ID, f.ID, parent.ID)
	return f, err
}

// isInside reports whether folder id is folder ancestor or below it.
func isInside(ctx context.Context, q querier, id, ancestor int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `WITH RECURSIVE below(id) AS (
			SELECT CAST(? AS BIGINT) UNION SELECT i.subfolder_id FROM bf_folder_items i JOIN below b ON i.folder_id = b.id WHERE i.subfolder_id IS NOT NULL)
		SELECT count(*) FROM below WHERE id = ?`, ancestor, id).Scan(&n)
	return n > 0, err
}

// setOwner gives a folder, everything below it and the media files in
// them to a new owner (moving into another user's folder transfers
// ownership, as in basic_folders).
func setOwner(ctx context.Context, tx querier, folderID int64, owner string) error {
	const below = `WITH RECURSIVE below(id) AS (
		SELECT CAST(? AS BIGINT) UNION SELECT i.subfolder_id FROM bf_folder_items i JOIN below b ON i.folder_id = b.id WHERE i.subfolder_id IS NOT NULL)`
	if _, err := tx.ExecContext(ctx, below+` UPDATE bf_folders SET user_id = ? WHERE id IN (SELECT id FROM below)`, folderID, owner); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, below+` UPDATE media_files SET user_id = ? WHERE id IN
		(SELECT media_file_id FROM bf_folder_items WHERE folder_id IN (SELECT id FROM below) AND media_file_id IS NOT NULL)`, folderID, owner)
	return err
}

// trashFolder deletes a folder and everything below it from the folder
// tables and returns the media files that were in them, for the caller to
// trash through the server once the transaction is committed.
func trashFolder(ctx context.Context, tx querier, ses *pb.UserSessionData, id int64) ([]string, error) {
	f, err := getFolder(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !canSee(f, ses) {
		return nil, status.Error(codes.PermissionDenied, "Cannot trash another user's folder")
	}
	const below = `WITH RECURSIVE below(id) AS (
		SELECT CAST(? AS BIGINT) UNION SELECT i.subfolder_id FROM bf_folder_items i JOIN below b ON i.folder_id = b.id WHERE i.subfolder_id IS NOT NULL)`
	rows, err := tx.QueryContext(ctx, below+` SELECT media_file_id FROM bf_folder_items WHERE folder_id IN (SELECT id FROM below) AND media_file_id IS NOT NULL`, id)
	if err != nil {
		return nil, err
	}
	var media []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, err
		}
		media = append(media, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []int64
	rows, err = tx.QueryContext(ctx, below+` SELECT id FROM below`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fid int64
		if err := rows.Scan(&fid); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, fid)
	}
	rows.Close()
	for _, fid := range ids {
		if _, err := tx.ExecContext(ctx, "DELETE FROM bf_folder_items WHERE folder_id = ? OR subfolder_id = ?", fid, fid); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM bf_folders WHERE id = ?", fid); err != nil {
			return nil, err
		}
	}
	return media, nil
}

// checkIntegrity repairs what basic_folders checks after its migrations:
// folder loops (which make homes unreachable) are broken, and items that
// point at missing folders or media files are removed. It reports what it
// did, for the log.
func checkIntegrity(ctx context.Context, db *store.Shared) ([]string, error) {
	var report []string
	err := db.InTx(ctx, func(tx querier) error {
		for _, q := range []struct{ what, sql string }{
			{"items in folders that do not exist", "DELETE FROM bf_folder_items WHERE folder_id NOT IN (SELECT id FROM bf_folders)"},
			{"items for subfolders that do not exist", "DELETE FROM bf_folder_items WHERE subfolder_id IS NOT NULL AND subfolder_id NOT IN (SELECT id FROM bf_folders)"},
			{"items for media files that do not exist", "DELETE FROM bf_folder_items WHERE media_file_id IS NOT NULL AND media_file_id NOT IN (SELECT id FROM media_files)"},
		} {
			res, err := tx.ExecContext(ctx, q.sql)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				report = append(report, fmt.Sprintf("removed %d %s", n, q.what))
			}
		}
		// Loops: follow each folder's parent chain; a chain that comes
		// back to where it started is cut at its last link.
		parent := map[int64]int64{}
		rows, err := tx.QueryContext(ctx, "SELECT folder_id, subfolder_id FROM bf_folder_items WHERE subfolder_id IS NOT NULL")
		if err != nil {
			return err
		}
		for rows.Next() {
			var p, c int64
			if err := rows.Scan(&p, &c); err != nil {
				rows.Close()
				return err
			}
			parent[c] = p
		}
		rows.Close()
		cut := map[int64]bool{}
		for start := range parent {
			seen := map[int64]bool{start: true}
			for cur, ok := parent[start]; ok && !cut[cur]; cur, ok = parent[cur] {
				if seen[cur] {
					// cur is on a loop: detach it from its parent.
					if _, err := tx.ExecContext(ctx, "DELETE FROM bf_folder_items WHERE subfolder_id = ?", cur); err != nil {
						return err
					}
					report = append(report, fmt.Sprintf("broke a folder loop at folder %d (it is now a top-level folder)", cur))
					cut[cur] = true
					delete(parent, cur)
					break
				}
				seen[cur] = true
			}
		}
		return nil
	})
	return report, err
}
