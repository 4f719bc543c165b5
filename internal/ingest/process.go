package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// logTail is how much of a tool's stderr is kept in the job row.
const logTail = 16 * 1024

// errJobDeleted stops a job whose media file was deleted while it ran:
// nobody is told, the outputs went to the trash with the directory.
var errJobDeleted = errors.New("stopped: the media file was deleted")

func (p *Pipeline) runTranscode(ctx context.Context, job store.Job, log *slog.Logger) error {
	var spec processSpec
	if err := decodeSpec(job, &spec); err != nil || job.MediaFileID == nil || spec.Info == nil {
		return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "", fmt.Sprintf("invalid transcode job: %v", err))
	}
	id, in, plan := *job.MediaFileID, *spec.Info, spec.Plan
	if err := p.needSource(ctx, job, &spec); err != nil {
		return err
	}
	var out media.Outputs
	uuid := mediadir.NewUUID()
	if plan.Action == media.Remux {
		out.Video = p.l.Remuxed(id, uuid)
	} else {
		out.Video = p.l.Transcoded(id, plan.VideoBitrate, uuid)
	}
	if spec.Thumbs {
		out.Poster = p.l.Poster(id)
		if in.Type == media.Video {
			out.Sheet = p.l.Sheet(id, media.SheetCols, media.SheetRows)
		}
	}
	var argv, env []string
	if p.o.TranscodeScript != "" && plan.Action == media.Transcode {
		var err error
		if env, err = media.ScriptEnv(in, plan, spec.Src, out, p.o.TargetBitrate, "ffmpeg"); err != nil {
			return p.failProcess(ctx, job, spec, out, "", err, log)
		}
		argv = p.o.Tools.Command(p.o.TranscodeScript)
	} else {
		args, err := media.TranscodeArgs(in, plan, spec.Src, out)
		if err != nil {
			return p.failProcess(ctx, job, spec, out, "", err, log)
		}
		argv = p.o.Tools.FFmpegCommand(args)
	}

	total := in.TotalFrames
	switch in.Type {
	case media.Audio:
		total = 0 // the waveform's frame count is the script's business; use time
	case media.Image:
		total = 24
	}
	progress := p.progressReporter(ctx, job.UserID, id, "Transcoding", total, in.Duration)
	started := time.Now()
	tail, err := p.execute(ctx, job, argv, env, out, p.l.MediaDir(id), progress, log)
	if ctx.Err() == nil && !errors.Is(err, errJobDeleted) {
		kind := string(plan.Action)
		if in.Type != media.Video {
			kind = string(in.Type)
		}
		p.o.Metrics.TranscodeFinished(kind, time.Since(started), err)
	}
	if ctx.Err() != nil {
		removeAll(out.Paths())
		return ctx.Err()
	}
	if err == nil {
		if st, serr := os.Stat(out.Video); serr != nil || st.Size() == 0 {
			err = errors.New("the transcode produced no output file")
		}
	}
	if err != nil {
		return p.failProcess(ctx, job, spec, out, tail, err, log)
	}

	// video.mp4 -> the new file, replaced atomically.
	linkErr := relink(p.l.VideoLink(id), filepath.Base(out.Video))
	now := time.Now()
	dbErr := p.recordResult(ctx, log, func(q Queries) error {
		if linkErr == nil {
			if err := q.SetRecompressionDone(ctx, id, &now); err != nil {
				return err
			}
			if err := markVersion(ctx, q, id, store.VersionReady); err != nil {
				return err
			}
		}
		if spec.Thumbs {
			if err := setThumbs(ctx, q, id, in); err != nil {
				return err
			}
		}
		state, errText := store.JobDone, ""
		if linkErr != nil {
			state, errText = store.JobFailed, "link video.mp4: "+linkErr.Error()
		}
		return q.FinishJob(ctx, job.ID, state, tail, errText)
	})
	if errors.Is(dbErr, store.ErrNotFound) {
		log.Info("Media file was deleted while transcoding; output discarded")
		removeAll(out.Paths())
		return nil
	}
	if spec.Thumbs && dbErr == nil {
		p.publish(ctx, events.Message{Kind: events.MediaFileUpdated, UserID: job.UserID, MediaFileID: id, Text: "Media thumbnail generated"})
	}
	one := 1.0
	if linkErr != nil || dbErr != nil {
		log.Error("Transcoded, but linking or recording failed", "link_err", linkErr, "db_err", dbErr)
		p.publish(ctx, events.Message{Kind: events.Error, UserID: job.UserID, MediaFileID: id,
			Text: "Media transcoded. But linking or DB failed.", Progress: &one})
		return errors.Join(linkErr, dbErr)
	}
	log.Info("Media transcoded", "output", filepath.Base(out.Video), "action", plan.Action)
	p.publish(ctx, events.Message{Kind: events.MediaFileUpdated, UserID: job.UserID, MediaFileID: id, Text: "Transcoding done"})
	p.publish(ctx, events.Message{Kind: events.OK, UserID: job.UserID, MediaFileID: id, Text: "Media transcoded.", Progress: &one})
	return nil
}

func (p *Pipeline) runThumbs(ctx context.Context, job store.Job, log *slog.Logger) error {
	var spec processSpec
	if err := decodeSpec(job, &spec); err != nil || job.MediaFileID == nil {
		return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "", fmt.Sprintf("invalid thumbnail job: %v", err))
	}
	id := *job.MediaFileID
	if err := p.needSource(ctx, job, &spec); err != nil {
		return err
	}
	var in media.Info
	if spec.Info != nil {
		in = *spec.Info
	} else {
		// A back-fill job: learn about the file now.
		var err error
		if _, in, err = p.o.Tools.Inspect(ctx, spec.Src); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return p.failThumbs(ctx, job, spec, media.Outputs{}, "", err, log)
		}
	}
	if in.Type == media.Audio {
		err := p.recordResult(ctx, log, func(q Queries) error {
			if err := q.SetThumbsDone(ctx, id, time.Now()); err != nil {
				return err
			}
			return q.FinishJob(ctx, job.ID, store.JobDone, "", "")
		})
		return ignoreDeleted(err)
	}
	out := media.Outputs{Poster: p.l.Poster(id)}
	if in.Type == media.Video {
		out.Sheet = p.l.Sheet(id, media.SheetCols, media.SheetRows)
	}
	args, err := media.ThumbnailArgs(in, spec.Src, out)
	if err != nil {
		return p.failThumbs(ctx, job, spec, out, "", err, log)
	}
	started := time.Now()
	tail, err := p.execute(ctx, job, p.o.Tools.FFmpegCommand(args), nil, out, p.l.ThumbsDir(id), nil, log)
	if ctx.Err() == nil && !errors.Is(err, errJobDeleted) {
		p.o.Metrics.TranscodeFinished("thumbs", time.Since(started), err)
	}
	if ctx.Err() != nil {
		removeAll(out.Paths())
		return ctx.Err()
	}
	if err != nil {
		return p.failThumbs(ctx, job, spec, out, tail, err, log)
	}
	err = p.recordResult(ctx, log, func(q Queries) error {
		if err := setThumbs(ctx, q, id, in); err != nil {
			return err
		}
		return q.FinishJob(ctx, job.ID, store.JobDone, tail, "")
	})
	if errors.Is(err, store.ErrNotFound) {
		removeAll(out.Paths())
		return nil
	}
	if err != nil {
		return err
	}
	p.publish(ctx, events.Message{Kind: events.MediaFileUpdated, UserID: job.UserID, MediaFileID: id, Text: "Media thumbnail generated"})
	return nil
}

// needSource finds a job's source file in this process's data directory
// (see jobPath) and fetches it from the media store if it is not on the
// disk; when the store fails, the job goes back in the queue.
func (p *Pipeline) needSource(ctx context.Context, job store.Job, spec *processSpec) error {
	spec.Src = p.jobPath(*job.MediaFileID, spec.Src)
	err := p.localSource(ctx, spec.Src)
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	if rerr := p.db.RequeueJob(context.WithoutCancel(ctx), job.ID); rerr != nil {
		return errors.Join(err, rerr)
	}
	return fmt.Errorf("fetch %s from the media store (the job is retried): %w", filepath.Base(spec.Src), err)
}

// recordResult writes a finished job's result (fn, in one transaction), again
// and again while the database does not answer (PostgreSQL restarting):
// for up to the job's lease, after which another process may take the
// job over, or a minute without one. A transcode that ends during the
// outage is kept, not run again.
func (p *Pipeline) recordResult(ctx context.Context, log *slog.Logger, fn func(q Queries) error) error {
	limit := time.Minute
	if p.o.Lease > 0 {
		limit = p.o.Lease
	}
	deadline := time.Now().Add(limit)
	delay := 250 * time.Millisecond
	for {
		err := p.db.InTx(ctx, fn)
		if !store.Unavailable(err) || ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return err
		}
		log.Warn("Cannot record a finished job: the database does not answer; retrying", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 4*time.Second)
	}
}

// setThumbs records the thumbnails made for in: a poster, and for video
// the sprite sheet's dimensions.
func setThumbs(ctx context.Context, q Queries, id string, in media.Info) error {
	if in.Type != media.Video {
		return q.SetThumbnails(ctx, id, true, nil, nil, time.Now())
	}
	c, r := int64(media.SheetCols), int64(media.SheetRows)
	return q.SetThumbnails(ctx, id, true, &c, &r, time.Now())
}

func ignoreDeleted(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// execute runs one tool process for a job: its outputs are recorded first
// (so an interrupted attempt's files can be removed), its process group
// is recorded while it runs (so a later start can kill it if this server
// dies), stdout and stderr go to stdout.txt and stderr.txt in logDir, and
// it is stopped if the job disappears (the media file was deleted). When
// the run made a sprite sheet's frames, they are tiled into the sheet. It
// returns the tail of stderr.
func (p *Pipeline) execute(ctx context.Context, job store.Job, argv, env []string, out media.Outputs, logDir string,
	progress func(media.Progress), log *slog.Logger) (string, error) {
	for _, f := range out.Paths() {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
	}
	if err := p.db.SetJobOutputs(ctx, job.ID, out.Paths()); err != nil {
		return "", err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", err
	}
	stdout, err := os.Create(filepath.Join(logDir, "stdout.txt"))
	if err != nil {
		return "", err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(logDir, "stderr.txt"))
	if err != nil {
		return "", err
	}
	defer stderr.Close()
	tail := &media.Tail{Max: logTail}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deleted atomic.Bool
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(idlePoll)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if _, err := p.db.GetJob(runCtx, job.ID); errors.Is(err, store.ErrNotFound) {
					log.Info("Job deleted (media file deleted); stopping it")
					deleted.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	log.Debug("Running", "cmd", media.ShellQuote(argv))
	err = p.o.Tools.Run(runCtx, argv, media.RunOptions{
		Env:      env,
		Stdout:   &bestEffort{w: stdout},
		Stderr:   io.MultiWriter(&bestEffort{w: stderr}, tail),
		Progress: progress,
		Started: func(pid int) {
			pid64, start := int64(pid), processStartTime(pid)
			if err := p.db.SetJobProcess(ctx, job.ID, &pid64, start); err != nil {
				log.Warn("Cannot record the job's process", "err", err)
			}
		},
	})
	cancel()
	<-watchDone
	if err != nil && deleted.Load() {
		err = errJobDeleted
	}
	if err == nil && out.Sheet != "" {
		// The run wrote the sheet's frames; tile them. On failure, this
		// step's stderr is the one that explains.
		if sheetTail, terr := p.o.Tools.TileSheet(ctx, out); terr != nil {
			return sheetTail, terr
		}
	}
	return tail.WithCause(), err
}

// bestEffort writes to w until a write fails, then drops the rest: the
// log files are on the disk the tool writes to, and when that fills up,
// the tool's own message (in the tail) must say so, not a failed copy to
// stderr.txt that would end the run.
type bestEffort struct {
	w      io.Writer
	failed bool
}

func (b *bestEffort) Write(p []byte) (int, error) {
	if !b.failed {
		if _, err := b.w.Write(p); err != nil {
			b.failed = true
		}
	}
	return len(p), nil
}

// failProcess ends a failed transcode: partial outputs are removed (the
// original is untouched and stays playable from orig/ if it can be), the
// stderr tail is kept in the job and shown to the user.
func (p *Pipeline) failProcess(ctx context.Context, job store.Job, spec processSpec, out media.Outputs, tail string, err error, log *slog.Logger) error {
	if job.MediaFileID != nil && !errors.Is(err, errJobDeleted) {
		p.markVersionFailed(ctx, *job.MediaFileID, log) // the stack keeps its last good version
	}
	return p.fail(ctx, job, spec, out, tail, err, "Media transcoding failed", log)
}

func (p *Pipeline) failThumbs(ctx context.Context, job store.Job, spec processSpec, out media.Outputs, tail string, err error, log *slog.Logger) error {
	return p.fail(ctx, job, spec, out, tail, err, "Media thumbnailing failed", log)
}

func (p *Pipeline) fail(ctx context.Context, job store.Job, spec processSpec, out media.Outputs, tail string, err error, text string, log *slog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	if errors.Is(err, errJobDeleted) {
		removeAll(out.Paths())
		log.Info("Media file deleted while it was being processed; stopped")
		return nil
	}
	// Free the space first: the failure may be a full disk, and the
	// database needs room to record it.
	removeAll(out.Paths())
	reason := failureReason(err, tail)
	log.Error(text, "reason", reason)
	if ferr := p.recordResult(ctx, log, func(q Queries) error {
		return q.FinishJob(ctx, job.ID, store.JobFailed, tail, reason)
	}); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		log.Error("Cannot record the job's failure", "err", ferr)
	}
	id := ""
	if job.MediaFileID != nil {
		id = *job.MediaFileID
	}
	if !spec.Backfill {
		p.publish(ctx, events.Message{Kind: events.Error, UserID: job.UserID, MediaFileID: id, Text: text,
			Details: fmt.Sprintf("'%s': %s", spec.Name, reason)})
	}
	return fmt.Errorf("%s: %s", text, reason)
}

// failureReason names what went wrong: the tool and its exit status, and
// the last lines of its stderr, which say why.
func failureReason(err error, tail string) string {
	var ee *media.ExitError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = fmt.Sprintf("%s failed (%s)", ee.Cmd, ee.Status)
	}
	if errors.As(err, new(selfExplained)) {
		return msg
	}
	if last := (&media.Tail{Max: len(tail) + 1}); tail != "" {
		_, _ = last.Write([]byte(tail)) // a Tail is memory: it cannot fail
		lines := last.LastLines(3)
		if cause := systemErrorLine(tail); cause != "" && !strings.Contains(lines, cause) {
			lines = cause + "; " + last.LastLines(2)
		}
		msg += ": " + lines
	}
	return msg
}

// selfExplained is a failure found after the tool succeeded: the tool's
// last lines (statistics) do not explain it, so they are left out of the
// message (the job keeps them).
type selfExplained struct{ error }

func (e selfExplained) Unwrap() error { return e.error }

// progressReporter sends a run's -progress reports to the user as
// progress messages about media file id, at most one a second.
func (p *Pipeline) progressReporter(ctx context.Context, userID, id, verb string, totalFrames int64, duration float64) func(media.Progress) {
	var lastSent time.Time
	return func(pr media.Progress) {
		if !pr.End && time.Since(lastSent) < time.Second {
			return
		}
		lastSent = time.Now()
		text, ratio := progressText(verb, pr, totalFrames, duration)
		p.publish(ctx, events.Message{Kind: events.Progress, UserID: userID, MediaFileID: id, Text: text, Progress: ratio})
	}
}

// progressText is Clapshot's progress message and ratio for a report
// ("Transcoding... 42% done (speed: 2.1x)"; verb is the first word).
// The ratio comes from frames when the total is known, else from time.
func progressText(verb string, pr media.Progress, totalFrames int64, duration float64) (string, *float64) {
	if pr.End {
		one := 1.0
		return verb + " done.", &one
	}
	speed := ""
	switch {
	case pr.Speed != "":
		speed = " (speed: " + pr.Speed + ")"
	case pr.FPS > 0:
		speed = fmt.Sprintf(" (speed: %.1f fps)", pr.FPS)
	}
	var ratio float64
	switch {
	case totalFrames > 0 && pr.Frame > 0:
		ratio = float64(pr.Frame) / float64(totalFrames)
	case duration > 0 && pr.OutTime > 0:
		ratio = pr.OutTime.Seconds() / duration
	default:
		return verb + "..." + speed, nil
	}
	ratio = math.Min(ratio, 1)
	return fmt.Sprintf("%s... %d%% done%s", verb, int(ratio*100), speed), &ratio
}

// systemErrorLine is the last line of tail that names a system error, or "".
func systemErrorLine(tail string) string {
	lines := strings.Split(tail, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		for _, e := range media.SystemErrors {
			if strings.Contains(lines[i], e) {
				return strings.TrimSpace(lines[i])
			}
		}
	}
	return ""
}

// relink points link at target (relative), replacing any old link.
func relink(link, target string) error {
	tmp := link + ".tmp-" + mediadir.NewUUID()
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeAll removes a job's outputs: files, and the directory of a ladder.
func removeAll(paths []string) {
	for _, p := range paths {
		os.RemoveAll(p)
	}
}
