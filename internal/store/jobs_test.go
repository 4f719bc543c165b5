package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestJobQueue(t *testing.T) { eachBackend(t, testJobQueue) }

func testJobQueue(t *testing.T, b backend) {
	ctx := context.Background()
	db, media := newTestDB(t, b)
	id := media[0].ID
	ingest, _ := db.InsertJob(ctx, Job{Kind: "ingest", UserID: "nobody-yet", Spec: `{"path":"/x"}`})
	backfill, _ := db.InsertJob(ctx, Job{Kind: "thumbs", MediaFileID: &id, UserID: media[0].UserID, Priority: 1, Spec: "{}"})
	thumbs, _ := db.InsertJob(ctx, Job{Kind: "thumbs", MediaFileID: &id, UserID: media[0].UserID, Spec: "{}"})

	// Kinds are claimed separately; priority before age.
	j, err := db.ClaimJob(ctx, []string{"transcode", "thumbs"})
	if err != nil || j.ID != thumbs || j.State != JobRunning || j.Attempts != 1 {
		t.Fatalf("claim: %+v %v", j, err)
	}
	if err := db.SetJobOutputs(ctx, j.ID, []string{"/a", "/b"}); err != nil {
		t.Fatal(err)
	}
	pid, start := int64(42), int64(7)
	if err := db.SetJobProcess(ctx, j.ID, &pid, &start); err != nil {
		t.Fatal(err)
	}
	running, _ := db.ListJobs(ctx, JobRunning)
	if len(running) != 1 || len(running[0].Outputs) != 2 || *running[0].PID != 42 {
		t.Fatalf("running: %+v", running)
	}
	// An interrupted attempt goes back to the queue and is claimed again.
	if err := db.RequeueJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = db.ClaimJob(ctx, []string{"thumbs"})
	if j.ID != thumbs || j.Attempts != 2 || j.Outputs != nil || j.PID != nil {
		t.Fatalf("reclaim: %+v", j)
	}
	if err := db.FinishJob(ctx, j.ID, JobFailed, "stderr tail", "ffmpeg failed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetJob(ctx, thumbs); got.State != JobFailed || got.Log != "stderr tail" || got.Error != "ffmpeg failed" {
		t.Fatalf("finished: %+v", got)
	}
	// A finished job is not requeued (a shutdown just after it finished).
	if err := db.RequeueJob(ctx, thumbs); !errors.Is(err, ErrNotFound) {
		t.Fatalf("requeue a finished job: %v", err)
	}
	if got, _ := db.GetJob(ctx, thumbs); got.State != JobFailed {
		t.Fatalf("a finished job went back to %s", got.State)
	}
	if j, _ = db.ClaimJob(ctx, []string{"thumbs"}); j.ID != backfill {
		t.Fatalf("claimed %d, want the back-fill job", j.ID)
	}
	if _, err := db.ClaimJob(ctx, []string{"thumbs"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty queue: %v", err)
	}
	if j, _ = db.ClaimJob(ctx, []string{"ingest"}); j.ID != ingest || j.MediaFileID != nil {
		t.Fatalf("ingest: %+v", j)
	}

	// Media with a thumbnail job are not back-filled; the others are.
	for _, m := range media {
		db.SetThumbnails(ctx, m.ID, false, nil, nil, time.Now())
	}
	db.q.ExecContext(ctx, "UPDATE media_files SET thumbs_done = NULL WHERE id IN (?, ?)", media[0].ID, media[1].ID)
	todo, err := db.ListMediaWithoutThumbJob(ctx)
	if err != nil || len(todo) != 1 || todo[0].ID != media[1].ID {
		t.Fatalf("back-fill list: %+v %v", todo, err)
	}

	// Deleting the media file deletes its jobs.
	if err := db.DeleteMediaFile(ctx, id); err != nil {
		t.Fatal(err)
	}
	if left, _ := db.ListJobsForMedia(ctx, id); len(left) != 0 {
		t.Errorf("jobs left: %+v", left)
	}
	if n, err := db.DeleteFinishedJobs(ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("delete finished: %d %v", n, err)
	}
}

// Concurrent workers never get the same job.
func TestClaimJobIsAtomic(t *testing.T) { eachBackend(t, testClaimJobIsAtomic) }

func testClaimJobIsAtomic(t *testing.T, b backend) {
	ctx := context.Background()
	db, _ := newTestDB(t, b)
	for i := 0; i < 40; i++ {
		db.InsertJob(ctx, Job{Kind: "ingest", UserID: "u", Spec: "{}"})
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := db.ClaimJob(ctx, []string{"ingest"})
				if err != nil {
					return
				}
				mu.Lock()
				if seen[j.ID] {
					t.Errorf("job %d claimed twice", j.ID)
				}
				seen[j.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Errorf("claimed %d of 40", len(seen))
	}
}
