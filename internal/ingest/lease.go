package ingest

// Leases on a job queue shared by several processes (Options.Lease).

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

// String names a role in logs.
func (r Role) String() string {
	switch r {
	case RoleFront:
		return "front"
	case RoleWorker:
		return "worker"
	}
	return "all"
}

// holdLease renews the lease of a running job until the returned stop is
// called.
func (p *Pipeline) holdLease(ctx context.Context, id int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(p.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if err := p.db.TouchJob(ctx, id, now); err != nil && ctx.Err() == nil {
					// Another process may take the job over once the lease
					// runs out; the database is likely away.
					p.log.Warn("Cannot renew the lease of a running job", "job", id, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// reclaimLoop takes over, every half lease, the running jobs whose
// process died (their lease ran out): what the dead attempt left (its
// process group, if still there; its partial outputs) is removed, and the
// job goes back in the queue for any process.
func (p *Pipeline) reclaimLoop(ctx context.Context) {
	t := time.NewTicker(p.o.Lease / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			now := time.Now()
			j, err := p.db.ReclaimStaleJob(ctx, now.Add(-p.o.Lease), now)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				if ctx.Err() == nil {
					p.log.Warn("Cannot look for jobs whose process died", "err", err)
				}
				break
			}
			// The pid is only ours to kill if it is the same process (same
			// start time) on this machine: a worker elsewhere died with
			// its machine, or its ffmpeg is that machine's to clean up.
			if j.PID != nil {
				killStale(int(*j.PID), j.PIDStart)
			}
			removeAll(j.Outputs)
			if err := p.db.RequeueJob(ctx, j.ID); err != nil {
				p.log.Error("Cannot put a job whose process died back in the queue", "job", j.ID, "err", err)
				continue
			}
			p.log.Warn("Resuming a job whose process stopped renewing its lease (killed, or lost the database)",
				"job", j.ID, "kind", j.Kind, "attempts", j.Attempts)
			wake(p.ingestWake)
			wake(p.heavyWake)
		}
	}
}
