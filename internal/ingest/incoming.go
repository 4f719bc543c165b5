package ingest

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/mediadir"
)

// fileState is what the monitor saw of a file at the last poll.
type fileState struct {
	size   int64
	mtime  time.Time
	stable int // consecutive polls without change
}

// emptyFilePolls is how many unchanged polls an empty file needs before
// it is taken (and rejected as empty): a copy may create it and only
// start writing a little later.
const emptyFilePolls = 5

// monitorIncoming polls incoming/ every Poll. A regular file is taken once
// its size and modification time were the same at two polls, it was last
// modified at least one interval ago, and no visible process has it open
// for writing; its OS owner's user name is the user id. Hidden files (rsync and editors write temporary ".name" files)
// and directories are ignored.
func (p *Pipeline) monitorIncoming(ctx context.Context) {
	seen := map[string]*fileState{}
	t := time.NewTicker(p.o.Poll)
	defer t.Stop()
	for {
		p.pollIncoming(ctx, seen)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pipeline) pollIncoming(ctx context.Context, seen map[string]*fileState) {
	entries, err := os.ReadDir(p.l.Incoming())
	if err != nil {
		p.log.Error("Cannot list the incoming folder", "dir", p.l.Incoming(), "err", err)
		return
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		present[name] = true
		info, err := e.Info()
		if err != nil {
			continue
		}
		prev := seen[name]
		if prev == nil || prev.size != info.Size() || !prev.mtime.Equal(info.ModTime()) {
			seen[name] = &fileState{size: info.Size(), mtime: info.ModTime()}
			continue
		}
		prev.stable++
		if (info.Size() == 0 && prev.stable < emptyFilePolls) || time.Since(info.ModTime()) < p.o.Poll {
			continue
		}
		path := filepath.Join(p.l.Incoming(), name)
		if openForWriting(path) {
			continue // a copy that paused: stable size, but still open
		}
		delete(seen, name)
		p.pickUp(ctx, path, info)
	}
	for name := range seen {
		if !present[name] {
			delete(seen, name)
		}
	}
}

// pickUp records an incoming file as an upload by its owner and moves it
// out of incoming/ at once.
func (p *Pipeline) pickUp(ctx context.Context, path string, info os.FileInfo) {
	log := p.log.With("file", filepath.Base(path))
	owner, name, err := fileOwner(info)
	if err != nil {
		where, rerr := mediadir.Reject(p.l, path, "")
		log.Error("Cannot tell who owns an incoming file; rejected", "err", err, "moved_to", where, "move_err", rerr)
		return
	}
	dir, done, err := p.NewUploadDir()
	if err != nil {
		log.Error("Cannot take an incoming file", "err", err)
		return
	}
	defer done()
	raw := filepath.Base(path)
	u := Upload{Path: filepath.Join(dir, mediadir.StoredName(raw)), Title: mediadir.Title(raw), From: path, UserID: owner, UserName: name, Source: "incoming"}
	if err := p.Submit(ctx, u); err != nil {
		os.Remove(dir)
		log.Error("Cannot queue an incoming file", "err", err)
		return
	}
	if err := materialize(ingestSpec{Path: u.Path, From: u.From}); err != nil {
		log.Error("Cannot move an incoming file out of incoming/; its job will retry", "err", err)
	}
	log.Info("Incoming file picked up", "user", owner)
}

// openForWriting reports whether a process this server may inspect (its
// own user's, or all as root) has path open for writing. It backs up the
// size-stability rule for copies that stall longer than a poll.
func openForWriting(path string) bool {
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, pr := range procs {
		if pr.Name()[0] < '0' || pr.Name()[0] > '9' {
			continue
		}
		fdDir := filepath.Join("/proc", pr.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err != nil || target != want {
				continue
			}
			info, err := os.ReadFile(filepath.Join("/proc", pr.Name(), "fdinfo", fd.Name()))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(line, "flags:"); ok {
					if flags, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64); err == nil && flags&3 != 0 {
						return true // O_WRONLY or O_RDWR
					}
				}
			}
		}
	}
	return false
}

// fileOwner returns the user name (the user id) and the full name of the
// file's owner.
func fileOwner(info os.FileInfo) (string, string, error) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "", "", fmt.Errorf("no owner information")
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return "", "", fmt.Errorf("owner uid %d: %w", st.Uid, err)
	}
	name := u.Name
	if i := strings.IndexByte(name, ','); i >= 0 {
		name = name[:i] // GECOS: full name, then room, phone, ...
	}
	if name == "" {
		name = u.Username
	}
	return u.Username, name, nil
}
