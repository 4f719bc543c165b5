package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

// recover prepares the queue after a start: jobs left running by a server
// that crashed or was killed are stopped for good (their process group, if
// it still runs), their partial outputs removed, and they go back in the
// queue. Uploads recorded but not yet moved into place are moved, so the
// incoming monitor never sees them twice. Media files from before this
// server (or Clapshot) that never got thumbnails are queued for them, at
// low priority.
func (p *Pipeline) recover(ctx context.Context) error {
	if p.o.Lease > 0 {
		// Running jobs may well be other processes'; reclaimLoop takes
		// over those whose process died.
		if p.o.Role == RoleWorker {
			return nil
		}
		return p.recoverUploads(ctx)
	}
	running, err := p.db.ListJobs(ctx, store.JobRunning)
	if err != nil {
		return err
	}
	for _, j := range running {
		if j.PID != nil {
			killStale(int(*j.PID), j.PIDStart)
		}
		removeAll(j.Outputs)
		if err := p.db.RequeueJob(ctx, j.ID); errors.Is(err, store.ErrNotFound) {
			continue // finished meanwhile
		} else if err != nil {
			return err
		}
		p.log.Info("Resuming a job interrupted by a crash or restart", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts)
	}
	return p.recoverUploads(ctx)
}

// recoverUploads moves recorded uploads into place and queues missing
// thumbnails (see recover).
func (p *Pipeline) recoverUploads(ctx context.Context) error {
	queued, err := p.db.ListJobs(ctx, store.JobQueued)
	if err != nil {
		return err
	}
	for _, j := range queued {
		if j.Kind != KindIngest {
			continue
		}
		var spec ingestSpec
		if decodeSpec(j, &spec) == nil {
			if err := materialize(spec); err != nil {
				p.log.Warn("Cannot move a recorded upload into place", "job", j.ID, "from", spec.From, "err", err)
			}
		}
	}
	return p.backfillThumbnails(ctx)
}

func (p *Pipeline) backfillThumbnails(ctx context.Context) error {
	todo, err := p.db.ListMediaWithoutThumbJob(ctx)
	if err != nil {
		return err
	}
	for _, m := range todo {
		src := p.l.VideoLink(m.ID)
		if m.RecompressionDone == nil && m.OrigFilename != nil {
			src = filepath.Join(p.l.OrigDir(m.ID), *m.OrigFilename)
		}
		name := m.ID
		if m.OrigFilename != nil {
			name = *m.OrigFilename
		}
		id := m.ID
		if _, err := p.db.InsertJob(ctx, store.Job{Kind: KindThumbs, MediaFileID: &id, UserID: m.UserID, Priority: 1,
			Spec: encodeSpec(processSpec{Src: src, Name: name, Backfill: true})}); err != nil {
			return err
		}
	}
	if len(todo) > 0 {
		p.log.Info("Queued thumbnails for media files that have none", "count", len(todo))
	}
	return nil
}

// killStale kills the process group a dead server's job left running,
// if that process is still the one recorded (same start time), and waits
// briefly for it to go.
func killStale(pid int, start *int64) {
	now := processStartTime(pid)
	if now == nil || start == nil || *now != *start {
		return // gone, or the pid was reused by something else
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st := processState(pid); st == "" || st == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat returns the fields of /proc/<pid>/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// processStartTime is the process's start time in clock ticks after boot
// (field 22 of /proc/<pid>/stat), nil if there is no such process.
func processStartTime(pid int) *int64 {
	f := procStat(pid)
	if len(f) < 20 {
		return nil
	}
	n, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// processState is the one-letter state ("R", "S", "Z", ...), "" if gone.
func processState(pid int) string {
	if f := procStat(pid); len(f) > 0 {
		return f[0]
	}
	return ""
}
