package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrCountMismatch is returned by CopyToPostgres when a table does not
// have as many rows in PostgreSQL as in SQLite; nothing was committed.
var ErrCountMismatch = errors.New("row counts differ")

// copyHook, set by tests only, runs after the rows are copied and before
// they are counted, on the PostgreSQL transaction's connection.
var copyHook func(ctx context.Context, pg *sql.Conn) error

// CopyOptions control CopyToPostgres.
type CopyOptions struct {
	// SQLitePath is the database to copy (Clapshot's or ours, of any
	// version). It is only read.
	SQLitePath string
	// URL is the PostgreSQL database to fill; it must be empty.
	URL string
	// Schemas make room in PostgreSQL for the tables of modules this
	// store does not own (an organizer plugin's); what they create is
	// then copied like the server's own tables.
	Schemas []CopySchema
	Log     *slog.Logger
}

// CopySchema creates, on the copy's PostgreSQL transaction pg, the tables
// that a module other than the server's has in the SQLite snapshot src
// (at the version src records), so that CopyToPostgres carries their rows
// too. It does nothing for a database without that module.
type CopySchema func(ctx context.Context, src *sql.DB, pg *sql.Conn) error

// TableCount is one table's rows on both sides.
type TableCount struct {
	Table            string
	SQLite, Postgres int64
}

// CopyReport says what CopyToPostgres did.
type CopyReport struct {
	// SourceVersion is the SQLite file's schema version; Upgraded is set
	// when a copy of it was migrated to this server's version first (the
	// file itself is never changed).
	SourceVersion string
	Upgraded      bool
	// UnknownVersions are recorded migrations this server does not know:
	// an organizer plugin's, or a newer server's. Their tables are
	// LeftBehind; a column of theirs in a known table fails the copy.
	UnknownVersions []string
	// Tables were copied, in this order; their counts are equal when
	// CopyToPostgres returns no error.
	Tables []TableCount
	// LeftBehind are tables PostgreSQL has no place for (an organizer
	// plugin's), with their rows in SQLite. They stay in the SQLite file.
	LeftBehind []TableCount
}

// CopyToPostgres moves a SQLite database into an empty PostgreSQL one: a
// consistent snapshot of the file is taken (and migrated to this server's
// schema if it is older, Clapshot's included), PostgreSQL gets the same
// schema from its twin migrations, every row is copied, the identity
// sequences continue after the highest id SQLite ever gave, and the rows
// of every table are counted on both sides. All of it happens in one
// PostgreSQL transaction, committed only if every count matches and the
// SQLite file did not change meanwhile; on any error PostgreSQL is left
// empty. The SQLite file is never written.
func CopyToPostgres(ctx context.Context, o CopyOptions) (*CopyReport, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := checkTwins(); err != nil {
		return nil, err
	}
	st, err := Inspect(ctx, o.SQLitePath)
	if err != nil {
		return nil, err
	}
	if st.New {
		return nil, fmt.Errorf("%s: no database there to copy (check --data-dir)", o.SQLitePath)
	}
	rep := &CopyReport{SourceVersion: st.CurrentVersion(), Upgraded: len(st.Pending) > 0, UnknownVersions: st.Unknown}
	if len(st.Unknown) > 0 {
		o.Log.Warn("The database has migrations this server does not know (an organizer's, or a newer server's); the tables they made are left behind",
			"db", o.SQLitePath, "unknown_versions", strings.Join(st.Unknown, ","))
	}

	orig, err := sql.Open("sqlite", dsn(o.SQLitePath, []string{fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())}, "mode=ro"))
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	before, err := countAll(ctx, orig)
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", o.SQLitePath, err)
	}
	snap, err := snapshotForCopy(ctx, o.SQLitePath, st, o.Log)
	if err != nil {
		return nil, err
	}
	defer removeDBFiles(snap)
	src, err := sql.Open("sqlite", dsn(snap, []string{"foreign_keys(0)"}, "mode=ro"))
	if err != nil {
		return nil, err
	}
	defer src.Close()

	pg, err := connectPostgres(ctx, o.URL)
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	where := RedactURL(o.URL)
	pst, err := inspectPostgres(ctx, pg, where)
	if err != nil {
		return nil, err
	}
	if !pst.New {
		return nil, fmt.Errorf("database %s is not empty: the copy goes into a new, empty database (drop and create it again, or give another)", where)
	}
	conn, err := pg.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := migrateInTx(ctx, conn, where, true, "", o.Log); err != nil {
		return nil, err
	}
	for _, schema := range o.Schemas {
		if err := schema(ctx, src, conn); err != nil {
			return nil, err
		}
	}
	plan, err := planCopy(ctx, src, conn)
	if err != nil {
		return nil, err
	}
	rep.LeftBehind = plan.leftBehind
	o.Log.Info("Copying the database", "from", o.SQLitePath, "to", where, "tables", len(plan.tables))
	if err := plan.run(ctx, src, conn, o.Log); err != nil {
		return nil, err
	}
	if copyHook != nil {
		if err := copyHook(ctx, conn); err != nil {
			return nil, err
		}
	}

	mismatch := false
	for _, t := range plan.tables {
		tc := TableCount{Table: t.name}
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&tc.SQLite); err != nil {
			return nil, err
		}
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&tc.Postgres); err != nil {
			return nil, err
		}
		mismatch = mismatch || tc.SQLite != tc.Postgres
		rep.Tables = append(rep.Tables, tc)
	}
	if mismatch {
		return rep, fmt.Errorf("%w; nothing was committed, %s is still empty", ErrCountMismatch, where)
	}
	after, err := countAll(ctx, orig)
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", o.SQLitePath, err)
	}
	for t, n := range before {
		if after[t] != n {
			return rep, fmt.Errorf("%s changed during the copy (table %s: %d rows, then %d): stop the server first; nothing was committed, %s is still empty",
				o.SQLitePath, t, n, after[t], where)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return rep, fmt.Errorf("commit the copy into %s: %w", where, err)
	}
	committed = true
	if _, err := conn.ExecContext(ctx, "ANALYZE"); err != nil {
		o.Log.Warn("ANALYZE after the copy failed (the planner's statistics come later)", "err", err)
	}
	return rep, nil
}

// snapshotForCopy writes a consistent copy of the database next to it
// and, if it is older than this server's schema, migrates the copy.
func snapshotForCopy(ctx context.Context, path string, st *State, log *slog.Logger) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".clapshot-to-postgres-*.sqlite")
	if err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", path, err)
	}
	snap := f.Name()
	f.Close()
	if err := vacuumInto(path, snap); err != nil {
		removeDBFiles(snap)
		return "", err
	}
	if len(st.Pending) > 0 {
		log.Info("Migrating a copy of the database to this server's schema first (the file itself is not changed)",
			"db", path, "from_version", st.CurrentVersion(), "steps", len(st.Pending))
		var plan []Step
		for i := range st.Pending {
			plan = append(plan, Step{Server: &st.Pending[i]})
		}
		if err := applyPlan(ctx, snap, plan, log); err != nil {
			removeDBFiles(snap)
			return "", fmt.Errorf("migrate a copy of %s: %w", path, err)
		}
	}
	return snap, nil
}

// countAll counts the rows of every table of a SQLite database.
func countAll(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	tables, err := stringList(ctx, db, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}

// copyTable is one table of the copy.
type copyTable struct {
	name string
	cols []copyColumn
	pk   string // the single primary key column
	// identity is the column whose sequence continues after the copy.
	identity string
}

type copyColumn struct {
	name   string
	pgType string // information_schema's data_type on the PostgreSQL side
	// deferred columns are nullable references that close a loop (a
	// comment's parent, a media file's default subtitle): copied as NULL,
	// then set once every table is in.
	deferred bool
}

type copyPlan struct {
	tables     []copyTable // parents before children
	leftBehind []TableCount
}

// planCopy pairs the SQLite tables with PostgreSQL's and orders them so
// that every row's references are already there when it is inserted.
func planCopy(ctx context.Context, src *sql.DB, pg *sql.Conn) (*copyPlan, error) {
	srcTables, err := stringList(ctx, src, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('sqlite_sequence', '__diesel_schema_migrations') ORDER BY name")
	if err != nil {
		return nil, err
	}
	rows, err := pg.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_identity = 'YES'
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'`)
	if err != nil {
		return nil, err
	}
	pgCols := map[string]map[string]copyColumn{}
	identity := map[string]string{}
	for rows.Next() {
		var t, c, typ string
		var ident bool
		if err := rows.Scan(&t, &c, &typ, &ident); err != nil {
			rows.Close()
			return nil, err
		}
		if pgCols[t] == nil {
			pgCols[t] = map[string]copyColumn{}
		}
		pgCols[t][c] = copyColumn{name: c, pgType: typ}
		if ident {
			identity[t] = c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	plan := &copyPlan{}
	tables := map[string]*copyTable{}
	type ref struct {
		table, col, parent string
		nullable           bool
	}
	var refs []ref
	for _, name := range srcTables {
		target, ok := pgCols[name]
		if !ok {
			var n int64
			if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+name+`"`).Scan(&n); err != nil {
				return nil, err
			}
			plan.leftBehind = append(plan.leftBehind, TableCount{Table: name, SQLite: n})
			continue
		}
		t := &copyTable{name: name, identity: identity[name]}
		rows, err := src.QueryContext(ctx, `SELECT name, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			return nil, err
		}
		nullable := map[string]bool{}
		for rows.Next() {
			var c string
			var notNull, pk int
			if err := rows.Scan(&c, &notNull, &pk); err != nil {
				rows.Close()
				return nil, err
			}
			col, ok := target[c]
			if !ok {
				rows.Close()
				return nil, fmt.Errorf("column %s.%s has no place in PostgreSQL's schema", name, c)
			}
			delete(target, c)
			t.cols = append(t.cols, col)
			nullable[c] = notNull == 0 && pk == 0
			if pk > 0 {
				if t.pk != "" {
					rows.Close()
					return nil, fmt.Errorf("table %s has a primary key of several columns, which the copy does not handle", name)
				}
				t.pk = c
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for c := range target {
			return nil, fmt.Errorf("PostgreSQL's %s.%s is not in the SQLite table: the schemas differ", name, c)
		}
		delete(pgCols, name)
		fks, err := src.QueryContext(ctx, `SELECT "from", "table" FROM pragma_foreign_key_list(?)`, name)
		if err != nil {
			return nil, err
		}
		for fks.Next() {
			var from, parent string
			if err := fks.Scan(&from, &parent); err != nil {
				fks.Close()
				return nil, err
			}
			refs = append(refs, ref{name, from, parent, nullable[from]})
		}
		fks.Close()
		if err := fks.Err(); err != nil {
			return nil, err
		}
		tables[name] = t
	}
	for name := range pgCols {
		return nil, fmt.Errorf("PostgreSQL's table %s is not in the SQLite database: the schemas differ", name)
	}

	// Order: a table goes once every table it references is placed, not
	// counting deferred references. When none can go, the first nullable
	// reference between tables still waiting is deferred.
	deferred := map[[2]string]bool{}
	for _, r := range refs {
		if tables[r.parent] == nil {
			return nil, fmt.Errorf("%s.%s references %s, which is not copied", r.table, r.col, r.parent)
		}
		if r.parent == r.table {
			if !r.nullable {
				return nil, fmt.Errorf("%s.%s references its own table and may not be NULL: the copy cannot order its rows", r.table, r.col)
			}
			deferred[[2]string{r.table, r.col}] = true
		}
	}
	placed := map[string]bool{}
	names := slices.Sorted(maps.Keys(tables))
	for len(plan.tables) < len(tables) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ready := true
			for _, r := range refs {
				if r.table == n && !placed[r.parent] && !deferred[[2]string{r.table, r.col}] {
					ready = false
				}
			}
			if ready {
				placed[n] = true
				plan.tables = append(plan.tables, *tables[n])
				progress = true
			}
		}
		if progress {
			continue
		}
		// Only a reference on a loop is deferred: deferring one that merely
		// waits behind a loop (a folder item's media file, say) would
		// insert it as NULL, which its table's CHECKs may refuse.
		waitsOn := func(from, to string) bool { // from reaches to through references still in force
			seen := map[string]bool{}
			var walk func(t string) bool
			walk = func(t string) bool {
				if t == to {
					return true
				}
				if seen[t] {
					return false
				}
				seen[t] = true
				for _, r := range refs {
					if r.table == t && !placed[r.parent] && !deferred[[2]string{r.table, r.col}] && walk(r.parent) {
						return true
					}
				}
				return false
			}
			return walk(from)
		}
		broke := false
		for _, r := range refs {
			if !placed[r.table] && !placed[r.parent] && r.nullable && !deferred[[2]string{r.table, r.col}] && waitsOn(r.parent, r.table) {
				deferred[[2]string{r.table, r.col}] = true
				broke = true
				break
			}
		}
		if !broke {
			return nil, errors.New("the tables reference each other through columns that may not be NULL: the copy cannot order them")
		}
	}
	for i := range plan.tables {
		t := &plan.tables[i]
		for j := range t.cols {
			if deferred[[2]string{t.name, t.cols[j].name}] {
				if t.pk == "" {
					return nil, fmt.Errorf("table %s has no primary key to set %s by", t.name, t.cols[j].name)
				}
				t.cols[j].deferred = true
			}
		}
	}
	return plan, nil
}

// run copies the rows, with the tables' own triggers off (they would
// count the copy as changes and touch other tables), then the deferred
// references, then moves the identity sequences on.
func (p *copyPlan) run(ctx context.Context, src *sql.DB, pg *sql.Conn, log *slog.Logger) error {
	for _, t := range p.tables {
		if _, err := pg.ExecContext(ctx, `ALTER TABLE "`+t.name+`" DISABLE TRIGGER USER`); err != nil {
			return err
		}
	}
	// The migrations' seed rows (media types, counters) come from SQLite.
	for i := len(p.tables) - 1; i >= 0; i-- {
		if _, err := pg.ExecContext(ctx, `DELETE FROM "`+p.tables[i].name+`"`); err != nil {
			return err
		}
	}
	for _, t := range p.tables {
		start := time.Now()
		n, err := copyRows(ctx, src, pg, t)
		if err != nil {
			return err
		}
		log.Info("Copied a table", "table", t.name, "rows", n, "seconds", time.Since(start).Seconds())
	}
	for _, t := range p.tables {
		for _, c := range t.cols {
			if c.deferred {
				if err := copyDeferred(ctx, src, pg, t, c); err != nil {
					return err
				}
			}
		}
	}
	// Checks of DEFERRABLE INITIALLY DEFERRED references (basic_folders'
	// bf_folders.user_id) would wait for the commit, and a table with
	// pending checks cannot be altered: run them now.
	if _, err := pg.ExecContext(ctx, "SET CONSTRAINTS ALL IMMEDIATE"); err != nil {
		return fmt.Errorf("check the copied references: %w", err)
	}
	for _, t := range p.tables {
		if err := continueSequence(ctx, src, pg, t); err != nil {
			return err
		}
		if _, err := pg.ExecContext(ctx, `ALTER TABLE "`+t.name+`" ENABLE TRIGGER USER`); err != nil {
			return err
		}
	}
	return nil
}

// selectList is the SELECT list that reads cols from SQLite as stored:
// a DATETIME column's text is read as text (the driver would otherwise
// guess at it), to be parsed by parseDBTime.
func selectList(cols []copyColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		q := `"` + c.name + `"`
		if c.pgType == "timestamp without time zone" {
			q = "CASE typeof(" + q + ") WHEN 'text' THEN CAST(" + q + " AS TEXT) ELSE " + q + " END"
		}
		parts[i] = q
	}
	return strings.Join(parts, ", ")
}

// withPgx runs f on the pgx connection under conn (for COPY), in conn's
// transaction.
func withPgx(conn *sql.Conn, f func(c *pgx.Conn) error) error {
	return conn.Raw(func(dc any) error { return f(dc.(*stdlib.Conn).Conn()) })
}

func copyRows(ctx context.Context, src *sql.DB, pg *sql.Conn, t copyTable) (int64, error) {
	rows, err := src.QueryContext(ctx, "SELECT "+selectList(t.cols)+` FROM "`+t.name+`"`)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	names := make([]string, len(t.cols))
	pkIdx := 0
	for i, c := range t.cols {
		names[i] = c.name
		if c.name == t.pk {
			pkIdx = i
		}
	}
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := make([]any, len(t.cols))
	next := func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range t.cols {
			if c.deferred {
				out[i] = nil
				continue
			}
			v, err := pgValue(c.pgType, vals[i])
			if err != nil {
				return nil, fmt.Errorf("%s row %v, column %s: %w", t.name, vals[pkIdx], c.name, err)
			}
			out[i] = v
		}
		return out, nil
	}
	var n int64
	err = withPgx(pg, func(c *pgx.Conn) error {
		var err error
		n, err = c.CopyFrom(ctx, pgx.Identifier{t.name}, names, pgx.CopyFromFunc(next))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", t.name, err)
	}
	return n, nil
}

// copyDeferred sets a deferred reference column from SQLite's values,
// through a temporary table.
func copyDeferred(ctx context.Context, src *sql.DB, pg *sql.Conn, t copyTable, c copyColumn) error {
	var pkCol copyColumn
	for _, col := range t.cols {
		if col.name == t.pk {
			pkCol = col
		}
	}
	// A name of its own per column: pgx remembers the column types of a
	// table it copied into by name.
	tmp := "copy_deferred_" + t.name + "_" + c.name
	if _, err := pg.ExecContext(ctx, `CREATE TEMP TABLE "`+tmp+`" ON COMMIT DROP AS SELECT "`+t.pk+`" AS k, "`+c.name+`" AS v FROM "`+t.name+`" WITH NO DATA`); err != nil {
		return err
	}
	rows, err := src.QueryContext(ctx, `SELECT "`+t.pk+`", "`+c.name+`" FROM "`+t.name+`" WHERE "`+c.name+`" IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	next := func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		var k, v any
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		pk, err := pgValue(pkCol.pgType, k)
		if err == nil {
			v, err = pgValue(c.pgType, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s row %v, column %s: %w", t.name, k, c.name, err)
		}
		return []any{pk, v}, nil
	}
	var n int64
	if err := withPgx(pg, func(conn *pgx.Conn) error {
		var err error
		n, err = conn.CopyFrom(ctx, pgx.Identifier{tmp}, []string{"k", "v"}, pgx.CopyFromFunc(next))
		return err
	}); err != nil {
		return fmt.Errorf("copy %s.%s: %w", t.name, c.name, err)
	}
	res, err := pg.ExecContext(ctx, `UPDATE "`+t.name+`" SET "`+c.name+`" = d.v FROM "`+tmp+`" d WHERE "`+t.name+`"."`+t.pk+`" = d.k`)
	if err != nil {
		return fmt.Errorf("set %s.%s: %w", t.name, c.name, err)
	}
	if set, _ := res.RowsAffected(); set != n {
		return fmt.Errorf("set %s.%s on %d rows of %d", t.name, c.name, set, n)
	}
	_, err = pg.ExecContext(ctx, `DROP TABLE "`+tmp+`"`)
	return err
}

// continueSequence makes the identity column's sequence continue after
// the highest id SQLite ever gave (AUTOINCREMENT's sqlite_sequence, which
// remembers deleted rows too), so ids are never reused.
func continueSequence(ctx context.Context, src *sql.DB, pg *sql.Conn, t copyTable) error {
	if t.identity == "" {
		return nil
	}
	var maxID, seq sql.NullInt64
	if err := src.QueryRowContext(ctx, `SELECT max("`+t.identity+`") FROM "`+t.name+`"`).Scan(&maxID); err != nil {
		return err
	}
	var hasSeq int
	if err := src.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").Scan(&hasSeq); err != nil {
		return err
	}
	if hasSeq > 0 {
		if err := src.QueryRowContext(ctx, "SELECT max(seq) FROM sqlite_sequence WHERE name = ?", t.name).Scan(&seq); err != nil {
			return err
		}
	}
	last := max(maxID.Int64, seq.Int64)
	if last <= 0 {
		return nil
	}
	_, err := pg.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), $3)", `"`+t.name+`"`, t.identity, last)
	if err != nil {
		return fmt.Errorf("continue the ids of %s: %w", t.name, err)
	}
	return nil
}

// pgValue converts a value as SQLite stored it (its types are dynamic)
// to what the PostgreSQL column holds, or says why it cannot.
func pgValue(pgType string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch pgType {
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
				return int64(x), nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
	case "timestamp without time zone":
		// PostgreSQL keeps microseconds, and rounds the text the server
		// writes; COPY's binary form would truncate.
		t, err := parseDBTime(v)
		return t.Round(time.Microsecond), err
	case "text", "character varying":
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		case time.Time:
			s = dbTime(x)
		default:
			return nil, fmt.Errorf("cannot store a %T as text", v)
		}
		if !utf8.ValidString(s) {
			return nil, errors.New("text is not valid UTF-8, which PostgreSQL refuses")
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, errors.New("text holds a NUL character, which PostgreSQL refuses")
		}
		return s, nil
	default:
		return nil, fmt.Errorf("the copy does not know PostgreSQL type %q", pgType)
	}
	return nil, fmt.Errorf("cannot store %T %v in a %s column", v, v, pgType)
}
