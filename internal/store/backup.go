package store

import (
	"archive/tar"
	"compress/gzip"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// dbSuffixes are the files that make up a SQLite database in WAL mode.
var dbSuffixes = []string{"", "-wal", "-shm"}

// Backup writes <dir>/<stem>.backup-<local time>.tar.gz holding the
// database, the format Clapshot uses (Restore also reads Clapshot's, which
// add the -wal and -shm files). The archive is synced to disk before Backup
// returns, so a crash during the migration cannot lose both.
//
// The database is read through SQLite only (VACUUM INTO a snapshot, which
// includes what is still in the WAL), never opened as a plain file: closing
// any other descriptor of it would drop this process's POSIX locks on it,
// and an outside sqlite3 could then delete the live -wal and -shm. So it
// may run while connections are open.
func Backup(dbPath string) (string, error) {
	stem := strings.TrimSuffix(dbPath, filepath.Ext(dbPath))
	stamp := time.Now().Format("2006-01-02T15_04_05")
	name := stem + ".backup-" + stamp + ".tar.gz"
	for i := 2; fileExists(name); i++ {
		name = fmt.Sprintf("%s.backup-%s-%d.tar.gz", stem, stamp, i)
	}
	snapshot := strings.TrimSuffix(name, ".tar.gz") + ".snapshot"
	defer os.Remove(snapshot)
	if err := vacuumInto(dbPath, snapshot); err != nil {
		return "", err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = writeBackup(f, snapshot, filepath.Base(dbPath))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// vacuumInto writes a consistent copy of the database to target (which
// must not exist) through SQLite.
func vacuumInto(dbPath, target string) error {
	os.Remove(target) // a leftover of an interrupted backup
	conn, err := sql.Open("sqlite", dsn(dbPath, []string{fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())}))
	if err != nil {
		return fmt.Errorf("open %s for the backup: %w", dbPath, err)
	}
	defer conn.Close()
	if _, err := conn.Exec("VACUUM INTO ?", target); err != nil {
		return fmt.Errorf("copy %s for the backup: %w", dbPath, err)
	}
	return nil
}

// writeBackup archives the snapshot file under the database's name.
func writeBackup(f *os.File, snapshot, name string) error {
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	if err := addFile(tw, snapshot, name); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Sync()
}

func addFile(tw *tar.Writer, p, name string) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// Restore puts a backup made by Backup (or by Clapshot) back in place. The
// current database files are removed first, so that a -wal file written
// after the backup can never be replayed onto the restored database.
func Restore(dbPath, backupPath string) error {
	f, err := os.Open(backupPath)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read backup %s: %w", backupPath, err)
	}
	tr := tar.NewReader(gz)
	wanted := map[string]bool{}
	for _, suffix := range dbSuffixes {
		wanted[filepath.Base(dbPath)+suffix] = true
	}
	// Extract to temporary names first: if the archive is damaged, the
	// current files stay as they are.
	dir := filepath.Dir(dbPath)
	var extracted []string
	defer func() {
		for _, n := range extracted {
			os.Remove(filepath.Join(dir, n+".restoring"))
		}
	}()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read backup %s: %w", backupPath, err)
		}
		if !wanted[hdr.Name] || hdr.Typeflag != tar.TypeReg {
			continue // not ours: never write outside the database's own names
		}
		tmp := filepath.Join(dir, hdr.Name+".restoring")
		out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		extracted = append(extracted, hdr.Name)
		_, err = io.Copy(out, tr)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("restore %s from %s: %w", hdr.Name, backupPath, err)
		}
	}
	if !slices.Contains(extracted, filepath.Base(dbPath)) {
		return fmt.Errorf("backup %s does not contain %s", backupPath, filepath.Base(dbPath))
	}
	removeDBFiles(dbPath)
	for _, n := range extracted {
		if err := os.Rename(filepath.Join(dir, n+".restoring"), filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	extracted = nil
	return nil
}

func removeDBFiles(dbPath string) {
	for _, suffix := range dbSuffixes {
		os.Remove(dbPath + suffix)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
