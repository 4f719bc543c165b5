package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OwnTables are tables of ours that Clapshot's schema does not have.
var OwnTables = []string{"ingest_jobs", "review_change_counters", "review_media_changes", "notify_settings", "notify_outbox", "share_links", "share_guests", "share_comments", "media_hls", "media_versions"}

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a row of ingest_jobs: one unit of media pipeline work.
type Job struct {
	ID          int64
	Kind        string
	MediaFileID *string
	UserID      string
	State       string
	Priority    int
	// Spec is the job's JSON description, owned by the pipeline.
	Spec     string
	Attempts int
	// Outputs are the files the running attempt writes; a failed or
	// interrupted attempt's outputs are removed.
	Outputs  []string
	PID      *int64
	PIDStart *int64
	Log      string
	Error    string
	Created  time.Time
	Updated  time.Time
}

const jobCols = `id, kind, media_file_id, user_id, state, priority, spec, attempts, outputs, pid, pid_start,
	COALESCE(log, ''), COALESCE(error, ''), created, updated`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var outputs sql.NullString
	err := sc.Scan(&j.ID, &j.Kind, &j.MediaFileID, &j.UserID, &j.State, &j.Priority, &j.Spec, &j.Attempts,
		&outputs, &j.PID, &j.PIDStart, &j.Log, &j.Error, reqTimeScanner{&j.Created}, reqTimeScanner{&j.Updated})
	if err == nil && outputs.Valid && outputs.String != "" {
		err = json.Unmarshal([]byte(outputs.String), &j.Outputs)
	}
	return j, err
}

// InsertJob queues a job and returns its id.
func (q *Queries) InsertJob(ctx context.Context, j Job) (int64, error) {
	state := j.State
	if state == "" {
		state = JobQueued
	}
	id, err := insertID(ctx, q.q, `INSERT INTO ingest_jobs (kind, media_file_id, user_id, state, priority, spec)
		VALUES (?, ?, ?, ?, ?, ?)`, j.Kind, j.MediaFileID, j.UserID, state, j.Priority, j.Spec)
	if err != nil {
		return 0, fmt.Errorf("insert %s job: %w", j.Kind, err)
	}
	return id, nil
}

// GetJob returns one job or ErrNotFound.
func (q *Queries) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(q.q.QueryRowContext(ctx, "SELECT "+jobCols+" FROM ingest_jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job %d: %w", id, err)
	}
	return j, nil
}

// ClaimJob marks the next queued job of one of kinds as running (lowest
// priority value, then oldest) and returns it; ErrNotFound if none waits.
// The single UPDATE makes the claim atomic between workers: on SQLite, one
// writer runs at a time; on PostgreSQL, the sub-select locks the row it
// picks and skips rows other workers hold, and the outer WHERE checks the
// state again.
func (q *Queries) ClaimJob(ctx context.Context, kinds []string) (Job, error) {
	in, args := inClause(kinds)
	args = append([]any{dbTime(time.Now())}, args...)
	j, err := scanJob(q.q.QueryRowContext(ctx, `UPDATE ingest_jobs SET state = 'running', attempts = attempts + 1,
		outputs = NULL, pid = NULL, pid_start = NULL, updated = ?
		WHERE state = 'queued' AND id = (SELECT id FROM ingest_jobs WHERE state = 'queued' AND kind IN (`+in+`)
			ORDER BY priority, id LIMIT 1`+q.d.claimLock+`)
		RETURNING `+jobCols, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("claim job: %w", err)
	}
	return j, nil
}

// SetJobOutputs records the files a running attempt is about to write.
func (q *Queries) SetJobOutputs(ctx context.Context, id int64, outputs []string) error {
	b, err := json.Marshal(outputs)
	if err != nil {
		return err
	}
	return execOne(ctx, q.q, fmt.Sprintf("set outputs of job %d", id),
		"UPDATE ingest_jobs SET outputs = ?, updated = ? WHERE id = ?", string(b), dbTime(time.Now()), id)
}

// SetJobProcess records the process group of a running attempt (nil pid
// clears it).
func (q *Queries) SetJobProcess(ctx context.Context, id int64, pid, pidStart *int64) error {
	return execOne(ctx, q.q, fmt.Sprintf("set process of job %d", id),
		"UPDATE ingest_jobs SET pid = ?, pid_start = ?, updated = ? WHERE id = ?", pid, pidStart, dbTime(time.Now()), id)
}

// SetJobSpec replaces a job's spec (e.g. once the media id is known).
func (q *Queries) SetJobSpec(ctx context.Context, id int64, spec string) error {
	return execOne(ctx, q.q, fmt.Sprintf("set spec of job %d", id),
		"UPDATE ingest_jobs SET spec = ?, updated = ? WHERE id = ?", spec, dbTime(time.Now()), id)
}

// FinishJob ends a job as done or failed, with the tool's log tail and
// the error text.
func (q *Queries) FinishJob(ctx context.Context, id int64, state, log, errText string) error {
	if state != JobDone && state != JobFailed {
		return fmt.Errorf("finish job %d: invalid state %q", id, state)
	}
	return execOne(ctx, q.q, fmt.Sprintf("finish job %d", id), `UPDATE ingest_jobs SET state = ?, log = ?, error = ?,
		outputs = NULL, pid = NULL, pid_start = NULL, updated = ? WHERE id = ?`,
		state, log, errText, dbTime(time.Now()), id)
}

// RequeueJob puts a running job back in the queue (an interrupted
// attempt); ErrNotFound if it is not running. A job that was finished in
// the meantime stays finished: a shutdown that comes just after a job
// recorded its result must not run it again (an ingest run twice would
// find its own media file and reject the upload).
func (q *Queries) RequeueJob(ctx context.Context, id int64) error {
	return execOne(ctx, q.q, fmt.Sprintf("requeue job %d", id), `UPDATE ingest_jobs SET state = 'queued',
		outputs = NULL, pid = NULL, pid_start = NULL, updated = ? WHERE id = ? AND state = 'running'`, dbTime(time.Now()), id)
}

// TouchJob renews a running job's lease (its updated time): while a
// process touches its jobs, no other takes them over.
func (q *Queries) TouchJob(ctx context.Context, id int64, now time.Time) error {
	return execOne(ctx, q.q, fmt.Sprintf("renew the lease of job %d", id),
		"UPDATE ingest_jobs SET updated = ? WHERE id = ? AND state = 'running'", dbTime(now), id)
}

// ReclaimStaleJob takes over one running job whose lease ran out (not
// touched since before cutoff: its process died), renewing the lease for
// the caller, who cleans up after the dead attempt and requeues it;
// ErrNotFound if there is none. One process wins each job, as in ClaimJob.
func (q *Queries) ReclaimStaleJob(ctx context.Context, cutoff, now time.Time) (Job, error) {
	j, err := scanJob(q.q.QueryRowContext(ctx, `UPDATE ingest_jobs SET updated = ?
		WHERE state = 'running' AND updated < ? AND id = (SELECT id FROM ingest_jobs WHERE state = 'running' AND updated < ?
			ORDER BY id LIMIT 1`+q.d.claimLock+`)
		RETURNING `+jobCols, dbTime(now), dbTime(cutoff), dbTime(cutoff)))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("reclaim a stale job: %w", err)
	}
	return j, nil
}

// ListJobs lists jobs in any of states (all jobs if none), oldest first.
func (q *Queries) ListJobs(ctx context.Context, states ...string) ([]Job, error) {
	query := "SELECT " + jobCols + " FROM ingest_jobs"
	var args []any
	if len(states) > 0 {
		var in string
		in, args = inClause(states)
		query += " WHERE state IN (" + in + ")"
	}
	out, err := queryList(ctx, q.q, scanJob, query+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// ListJobsForMedia lists a media file's jobs, oldest first.
func (q *Queries) ListJobsForMedia(ctx context.Context, mediaFileID string) ([]Job, error) {
	out, err := queryList(ctx, q.q, scanJob, "SELECT "+jobCols+" FROM ingest_jobs WHERE media_file_id = ? ORDER BY id", mediaFileID)
	if err != nil {
		return nil, fmt.Errorf("list jobs of %s: %w", mediaFileID, err)
	}
	return out, nil
}

// DeleteFinishedJobs removes done and failed jobs last updated before t.
func (q *Queries) DeleteFinishedJobs(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, "DELETE FROM ingest_jobs WHERE state IN ('done', 'failed') AND updated < ?", dbTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete finished jobs: %w", err)
	}
	return res.RowsAffected()
}

// ListMediaWithoutThumbJob lists media files whose thumbnails were never
// made and that have no thumbnail job at all: files from Clapshot or from
// before this server, for the thumbnail back-fill. Newest first.
func (q *Queries) ListMediaWithoutThumbJob(ctx context.Context) ([]MediaFile, error) {
	out, err := queryList(ctx, q.q, scanMediaFile, "SELECT "+mediaSelect+` FROM media_files m WHERE thumbs_done IS NULL
		AND NOT EXISTS (SELECT 1 FROM ingest_jobs j WHERE j.media_file_id = m.id AND j.kind IN ('thumbs', 'transcode'))`+mediaOrder)
	if err != nil {
		return nil, fmt.Errorf("list media without thumbnails: %w", err)
	}
	return out, nil
}

// CountJobs counts the jobs in ingest_jobs by kind and state (for metrics).
func (q *Queries) CountJobs(ctx context.Context) (map[[2]string]int, error) {
	rows, err := q.q.QueryContext(ctx, "SELECT kind, state, count(*) FROM ingest_jobs GROUP BY kind, state")
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[[2]string{kind, state}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}
