package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
)

// A symlink under videos/ to the database (or its -wal/-shm) must not be
// served. Serving it also opened and closed the database file in the
// server's process, which drops the process's POSIX locks on it: an
// ordinary `sqlite3 clapshot.sqlite "select ..."` by an admin then thought
// it was the last user, checkpointed and deleted the live -wal, the server
// went on writing into the deleted file, and after a crash an upload it
// had answered 200 Ok was gone.
func TestMediaLinksToTheDatabaseKeepItSafe(t *testing.T) {
	mediatest.Require(t)
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 not installed")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "clapshot.sqlite")
	args := []string{"-D", dir, "-P", "0.1", "-w", "1"}
	p := start(t, nil, args...)
	p.waitHealthy(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", p.port)

	// Links an uploader-turned-attacker (or a careless restore script)
	// could leave under videos/, to every name of the database.
	orig := filepath.Join(dir, "videos", "abcd1234", "orig")
	if err := os.MkdirAll(orig, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Symlink("../../../clapshot.sqlite"+suffix, filepath.Join(orig, "x"+suffix+".mp4")); err != nil {
			t.Fatal(err)
		}
		// The database's own name, by a hard link too, and with videos/
		// reached through a link to the data directory.
		_ = os.Link(dbPath+suffix, filepath.Join(orig, "hard"+suffix+".mp4"))
	}
	if err := os.Symlink("..", filepath.Join(dir, "videos", "up")); err != nil {
		t.Fatal(err)
	}
	inode := func(p string) uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return 0
		}
		return st.Ino
	}
	walIno, shmIno := inode(dbPath+"-wal"), inode(dbPath+"-shm")
	if walIno == 0 || shmIno == 0 {
		t.Fatalf("the running server has no -wal/-shm (%d %d)", walIno, shmIno)
	}
	for _, path := range []string{"x.mp4", "x-wal.mp4", "x-shm.mp4", "x-journal.mp4", "hard.mp4", "hard-wal.mp4", "hard-shm.mp4"} {
		resp, err := http.Get(base + "/videos/abcd1234/orig/" + path)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 16)
		n, _ := io.ReadFull(resp.Body, head)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET /videos/abcd1234/orig/%s: %d (%q...), want 404", path, resp.StatusCode, head[:n])
		}
	}
	for _, path := range []string{"/videos/up/clapshot.sqlite", "/videos/up/clapshot.sqlite-wal"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}

	// An admin looks at the database while the server runs.
	if out, err := exec.Command(sqlite3, dbPath, "select count(*) from users").CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	if inode(dbPath+"-wal") != walIno || inode(dbPath+"-shm") != shmIno {
		t.Errorf("sqlite3 replaced or deleted the live -wal/-shm (inodes %d %d, were %d %d)",
			inode(dbPath+"-wal"), inode(dbPath+"-shm"), walIno, shmIno)
	}

	// An upload answered Ok survives a crash right after.
	clip, err := os.ReadFile(mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := uploadMultipart(t, base+"/", "alice", "kept.mp4", clip); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done

	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jobs int
	if err := db.QueryRow(`SELECT count(*) FROM ingest_jobs WHERE spec LIKE '%kept.mp4%'`).Scan(&jobs); err != nil || jobs == 0 {
		t.Errorf("the upload answered 200 Ok is not in the database after the crash: %d jobs (%v)", jobs, err)
	}

}
