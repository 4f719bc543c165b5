package store

import (
	"archive/tar"
	"compress/gzip"
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

// Backup writes <dir>/<stem>.backup-<local time>.tar.gz holding the database
// file and its -wal and -shm files, the format Clapshot uses. No connection
// may be open on the database while it runs. The archive is synced to disk
// before Backup returns, so a crash during the migration cannot lose both.
func Backup(dbPath string) (string, error) {
	stem := strings.TrimSuffix(dbPath, filepath.Ext(dbPath))
	stamp := time.Now().Format("2006-01-02T15_04_05")
	name := stem + ".backup-" + stamp + ".tar.gz"
	for i := 2; fileExists(name); i++ {
		name = fmt.Sprintf("%s.backup-%s-%d.tar.gz", stem, stamp, i)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = writeBackup(f, dbPath)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

func writeBackup(f *os.File, dbPath string) error {
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	for _, suffix := range dbSuffixes {
		if err := addFile(tw, dbPath+suffix); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Sync()
}

func addFile(tw *tar.Writer, p string) error {
	src, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: filepath.Base(p), Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}
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
