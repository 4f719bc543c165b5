package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// Every SQLite migration has a PostgreSQL twin of the same file name, and
// nothing else is in migrations/postgres/. A migration added to
// internal/store/migrations needs its twin (see migrations/postgres/README.md).
func TestEveryMigrationHasAPostgresTwin(t *testing.T) {
	twins := map[string]string{}
	for _, m := range pgMigrations {
		twins[m.Version] = m.Name
	}
	for _, m := range migrations {
		name, ok := twins[m.Version]
		switch {
		case !ok:
			t.Errorf("SQLite migration %s has no PostgreSQL twin: add internal/store/migrations/postgres/%s_%s.sql making the same change for PostgreSQL (see the README.md there)",
				m.Name, m.Version, m.Name[18:])
		case name != m.Name:
			t.Errorf("PostgreSQL twin of %s is named %s: use the SQLite file's name", m.Name, name)
		}
		delete(twins, m.Version)
	}
	for v, name := range twins {
		t.Errorf("PostgreSQL migration %s (%s) has no SQLite migration", v, name)
	}
	if err := checkTwins(); (err != nil) != t.Failed() {
		t.Errorf("checkTwins disagrees: %v", err)
	}
}

// At every version, a SQLite database and a PostgreSQL one migrated to it
// have the same schema, described without what differs by nature (type
// names, how auto-increment is spelled, names of automatic indexes).
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	for _, m := range migrations {
		t.Run(m.Version, func(t *testing.T) {
			p := migrateTo(t, t.TempDir(), m.Version)
			lite, err := describePortable(ctx, openRaw(t, p), sqliteDialect)
			if err != nil {
				t.Fatal(err)
			}
			u := pgtest.NewDatabase(t)
			if err := CreatePostgresAtVersion(ctx, u, m.Version); err != nil {
				t.Fatal(err)
			}
			pdb, err := connectPostgres(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer pdb.Close()
			pg, err := describePortable(ctx, pdb, postgresDialect)
			if err != nil {
				t.Fatal(err)
			}
			if lite != pg {
				t.Errorf("schemas differ after %s\n%s", m.Name, lineDiff(lite, pg))
			}
		})
	}
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- sqlite:   "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ postgres: "+l)
		}
	}
	return strings.Join(out, "\n")
}

// describePortable renders a schema in terms both engines share: per
// table, its columns sorted by name (type class, NOT NULL, default,
// primary key), foreign keys with their rules, indexes other than the
// primary key's (by name; a UNIQUE constraint's by its columns), and
// trigger names. The migration table is left out.
func describePortable(ctx context.Context, db *sql.DB, d *dialect) (string, error) {
	var tables []string
	var err error
	if d == sqliteDialect {
		tables, err = stringList(ctx, db, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN ('sqlite_sequence', '__diesel_schema_migrations') ORDER BY name")
	} else {
		tables, err = stringList(ctx, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
			AND table_type = 'BASE TABLE' AND table_name <> '__diesel_schema_migrations' ORDER BY table_name`)
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, t := range tables {
		fmt.Fprintf(&b, "table %s\n", t)
		var lines []string
		var queries []func(string) ([]string, error)
		if d == sqliteDialect {
			queries = []func(string) ([]string, error){
				func(t string) ([]string, error) { return sqliteColumns(ctx, db, t) },
				func(t string) ([]string, error) { return sqliteKeysAndIndexes(ctx, db, t) },
			}
		} else {
			queries = []func(string) ([]string, error){
				func(t string) ([]string, error) { return pgColumns(ctx, db, t) },
				func(t string) ([]string, error) { return pgKeysAndIndexes(ctx, db, t) },
			}
		}
		for _, q := range queries {
			l, err := q(t)
			if err != nil {
				return "", fmt.Errorf("table %s: %w", t, err)
			}
			lines = append(lines, l...)
		}
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String(), nil
}

// column describes one column. auto is an id the database assigns:
// SQLite's INTEGER PRIMARY KEY (the rowid) unless it is a foreign key
// (its values then come from the other table), PostgreSQL's identity.
func column(name, class string, notNull, pk, auto bool, dflt sql.NullString) string {
	return fmt.Sprintf("column %s %s notnull=%v default=%s pk=%v auto=%v", name, class, notNull || pk, portableDefault(class, dflt), pk, auto)
}

// typeClass maps a declared type to what it holds, by SQLite's affinity
// rules (with DATETIME and BOOLEAN told apart) or PostgreSQL's type name.
func typeClass(decl string) string {
	t := strings.ToUpper(decl)
	switch {
	case strings.Contains(t, "INT"):
		return "integer"
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return "text"
	case strings.Contains(t, "BOOL"):
		return "bool"
	case strings.Contains(t, "DATE"), strings.Contains(t, "TIME"):
		return "datetime"
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return "real"
	}
	return "numeric(" + decl + ")"
}

var pgCast = regexp.MustCompile(`::[a-z ]+`)

// portableDefault writes a column default the same way for both: casts
// and parentheses dropped, NULL as none, booleans as true/false, and
// PostgreSQL's UTC now as CURRENT_TIMESTAMP.
func portableDefault(class string, d sql.NullString) string {
	if !d.Valid {
		return "none"
	}
	v := pgCast.ReplaceAllString(strings.TrimSpace(d.String), "")
	for len(v) > 1 && v[0] == '(' && v[len(v)-1] == ')' {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	switch {
	case strings.EqualFold(v, "NULL"):
		return "none"
	case v == "now() AT TIME ZONE 'UTC'", strings.EqualFold(v, "CURRENT_TIMESTAMP"):
		return "CURRENT_TIMESTAMP"
	case class == "bool" && (v == "1" || strings.EqualFold(v, "true")):
		return "true"
	case class == "bool" && (v == "0" || strings.EqualFold(v, "false")):
		return "false"
	}
	return v
}

func sqliteColumns(ctx context.Context, db *sql.DB, t string) ([]string, error) {
	fkCols, err := stringList(ctx, db, `SELECT "from" FROM pragma_foreign_key_list('`+t+`')`)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, typ string
		var notNull, pk int
		var dflt sql.NullString
		if err := rows.Scan(&name, &typ, &notNull, &dflt, &pk); err != nil {
			return nil, err
		}
		auto := pk > 0 && strings.EqualFold(typ, "INTEGER") && !slices.Contains(fkCols, name)
		out = append(out, column(name, typeClass(typ), notNull == 1, pk > 0, auto, dflt))
	}
	return out, rows.Err()
}

func sqliteKeysAndIndexes(ctx context.Context, db *sql.DB, t string) ([]string, error) {
	out, err := stringList(ctx, db, `SELECT 'foreign key ' || "from" || ' -> ' || "table" || '(' || coalesce("to", '') || ') on update ' || on_update || ' on delete ' || on_delete
		FROM pragma_foreign_key_list('`+t+`')`)
	if err != nil {
		return nil, err
	}
	idx, err := stringList(ctx, db, `SELECT CASE origin WHEN 'c' THEN name ELSE '(unique constraint)' END || ' unique=' || "unique" || ' on (' ||
			(SELECT group_concat(coalesce(ii.name, '<expr>'), ', ') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) ii) || ')'
		FROM pragma_index_list('`+t+`') il WHERE origin <> 'pk'`)
	if err != nil {
		return nil, err
	}
	trg, err := stringList(ctx, db, `SELECT 'trigger ' || name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '`+t+`'`)
	if err != nil {
		return nil, err
	}
	for _, i := range idx {
		out = append(out, "index "+i)
	}
	return append(out, trg...), nil
}

func pgColumns(ctx context.Context, db *sql.DB, t string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.column_name, c.data_type, c.is_nullable = 'NO', c.column_default, c.is_identity = 'YES',
			EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
				WHERE i.indrelid = to_regclass(c.table_name) AND i.indisprimary AND a.attname = c.column_name)
		FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = $1`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, typ string
		var notNull, auto, pk bool
		var dflt sql.NullString
		if err := rows.Scan(&name, &typ, &notNull, &dflt, &auto, &pk); err != nil {
			return nil, err
		}
		if typ == "double precision" {
			typ = "DOUBLE"
		}
		out = append(out, column(name, typeClass(typ), notNull, pk, auto, dflt))
	}
	return out, rows.Err()
}

func pgKeysAndIndexes(ctx context.Context, db *sql.DB, t string) ([]string, error) {
	rule := `CASE %s WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END`
	out, err := stringList(ctx, db, `SELECT 'foreign key ' || a.attname || ' -> ' || cf.relname || '(' || af.attname || ') on update '
			|| `+fmt.Sprintf(rule, "c.confupdtype")+` || ' on delete ' || `+fmt.Sprintf(rule, "c.confdeltype")+`
		FROM pg_constraint c
		JOIN pg_class cf ON cf.oid = c.confrelid
		CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, fcol)
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
		JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol
		WHERE c.contype = 'f' AND c.conrelid = to_regclass('`+t+`')`)
	if err != nil {
		return nil, err
	}
	idx, err := stringList(ctx, db, `SELECT 'index ' ||
			CASE WHEN EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u')
				THEN '(unique constraint)' ELSE ic.relname END
			|| ' unique=' || CASE WHEN i.indisunique THEN 1 ELSE 0 END || ' on (' ||
			array_to_string(ARRAY(SELECT coalesce(a.attname, '<expr>') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
				LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), ', ') || ')'
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
		WHERE i.indrelid = to_regclass('`+t+`') AND NOT i.indisprimary`)
	if err != nil {
		return nil, err
	}
	trg, err := stringList(ctx, db, `SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = to_regclass('`+t+`') AND NOT tgisinternal`)
	if err != nil {
		return nil, err
	}
	return append(append(out, idx...), trg...), nil
}

// The portable description notices what a twin could get wrong.
func TestDescribePortableSeesDifferences(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ a, b string }{
		{"CREATE TABLE x (a INTEGER NOT NULL)", "CREATE TABLE x (a INTEGER)"},
		{"CREATE TABLE x (a INTEGER)", "CREATE TABLE x (a VARCHAR)"},
		{"CREATE TABLE x (a INTEGER DEFAULT 1)", "CREATE TABLE x (a INTEGER DEFAULT 2)"},
		{"CREATE TABLE x (a INTEGER, b INTEGER)", "CREATE TABLE x (a INTEGER)"},
		{"CREATE TABLE x (a INTEGER); CREATE INDEX ix ON x (a)", "CREATE TABLE x (a INTEGER)"},
		{"CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE x (a INTEGER REFERENCES p(id) ON DELETE CASCADE)",
			"CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE x (a INTEGER REFERENCES p(id))"},
		{"CREATE TABLE x (a INTEGER); CREATE TRIGGER tr AFTER DELETE ON x BEGIN SELECT 1; END", "CREATE TABLE x (a INTEGER)"},
		{"CREATE TABLE x (a INTEGER PRIMARY KEY)", "CREATE TABLE x (a INT PRIMARY KEY)"},
	} {
		var descs []string
		for _, ddl := range []string{tc.a, tc.b} {
			db := openRaw(t, filepath.Join(t.TempDir(), "x.sqlite"))
			if _, err := db.Exec(ddl); err != nil {
				t.Fatal(err)
			}
			d, err := describePortable(ctx, db, sqliteDialect)
			if err != nil {
				t.Fatal(err)
			}
			descs = append(descs, d)
		}
		if descs[0] == descs[1] {
			t.Errorf("%q and %q describe the same:\n%s", tc.a, tc.b, descs[0])
		}
	}
}
