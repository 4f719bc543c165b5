package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DescribeSchema renders a database's schema structurally: tables with
// their columns (type, NOT NULL, default, primary key), foreign keys (with
// ON UPDATE/DELETE rules), indexes and triggers. Two schemas that describe
// equal behave the same, whatever whitespace or comments their CREATE
// statements carry. Tables named in skip are left out.
func DescribeSchema(ctx context.Context, db *sql.DB, skip ...string) (string, error) {
	var b strings.Builder
	tables, err := stringList(ctx, db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
	if err != nil {
		return "", err
	}
	for _, t := range tables {
		if t == "sqlite_sequence" || slices.Contains(skip, t) {
			continue
		}
		fmt.Fprintf(&b, "table %s\n", t)
		rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(%s)", quoteLit(t)))
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var name, typ string
			var notNull, pk int
			var dflt sql.NullString
			if err := rows.Scan(&name, &typ, &notNull, &dflt, &pk); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintf(&b, "  column %s type=%q notnull=%d default=%s pk=%d\n", name, typ, notNull, normDefault(dflt), pk)
		}
		rows.Close()
		rows, err = db.QueryContext(ctx, fmt.Sprintf(`SELECT id, seq, "table", "from", coalesce("to", ''), on_update, on_delete FROM pragma_foreign_key_list(%s) ORDER BY id, seq`, quoteLit(t)))
		if err != nil {
			return "", err
		}
		var fks []string
		for rows.Next() {
			var id, seq int
			var parent, from, to, onUpdate, onDelete string
			if err := rows.Scan(&id, &seq, &parent, &from, &to, &onUpdate, &onDelete); err != nil {
				rows.Close()
				return "", err
			}
			fks = append(fks, fmt.Sprintf("  foreign key %s -> %s(%s) on update %s on delete %s\n", from, parent, to, onUpdate, onDelete))
		}
		rows.Close()
		slices.Sort(fks) // SQLite numbers foreign keys differently after ALTER TABLE
		for _, fk := range fks {
			b.WriteString(fk)
		}
		rows, err = db.QueryContext(ctx, fmt.Sprintf(`SELECT name, "unique", origin FROM pragma_index_list(%s) ORDER BY name`, quoteLit(t)))
		if err != nil {
			return "", err
		}
		type idx struct {
			name, origin string
			unique       int
		}
		var idxs []idx
		for rows.Next() {
			var i idx
			if err := rows.Scan(&i.name, &i.unique, &i.origin); err != nil {
				rows.Close()
				return "", err
			}
			idxs = append(idxs, i)
		}
		rows.Close()
		for _, i := range idxs {
			cols, err := stringList(ctx, db, fmt.Sprintf("SELECT coalesce(name, '<expr>') FROM pragma_index_info(%s) ORDER BY seqno", quoteLit(i.name)))
			if err != nil {
				return "", err
			}
			name := i.name
			if i.origin != "c" {
				name = "(" + i.origin + ")" // automatic index: its name is an implementation detail
			}
			fmt.Fprintf(&b, "  index %s unique=%d on (%s)\n", name, i.unique, strings.Join(cols, ", "))
		}
	}
	triggers, err := db.QueryContext(ctx, "SELECT name, tbl_name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name")
	if err != nil {
		return "", err
	}
	defer triggers.Close()
	for triggers.Next() {
		var name, table, body string
		if err := triggers.Scan(&name, &table, &body); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "trigger %s on %s: %s\n", name, table, normSQL(body))
	}
	return b.String(), triggers.Err()
}

func stringList(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlSpace   = regexp.MustCompile(`\s+`)
)

func normSQL(s string) string {
	s = sqlComment.ReplaceAllString(s, " ")
	return strings.TrimSpace(sqlSpace.ReplaceAllString(s, " "))
}

// normDefault treats DEFAULT x and DEFAULT (x) as the same.
func normDefault(d sql.NullString) string {
	if !d.Valid {
		return "none"
	}
	v := strings.TrimSpace(d.String)
	for len(v) > 1 && v[0] == '(' && v[len(v)-1] == ')' {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}
