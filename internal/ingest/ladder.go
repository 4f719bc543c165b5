package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// ladderPriority runs ladders after the transcodes and thumbnails of new
// uploads (priority 0): a file becomes playable first, adaptive later.
const ladderPriority = 1

// ladderJob is the job that makes the adaptive HLS ladder of a video, or
// false when it gets none (no --hls-ladder, not a video, no picture).
func (p *Pipeline) ladderJob(orig, name string, info media.Info) (store.Job, bool) {
	if len(p.o.Ladder) == 0 || info.Type != media.Video {
		return store.Job{}, false
	}
	rends := media.PlanLadder(info, p.o.Ladder)
	if len(rends) == 0 {
		return store.Job{}, false
	}
	in := info
	return store.Job{Kind: KindLadder, Priority: ladderPriority,
		Spec: encodeSpec(processSpec{Src: orig, Name: name, Info: &in, Ladder: rends})}, true
}

// runLadder makes a video's adaptive ladder in one ffmpeg run (one decode,
// every rendition) into a new hls_<uuid>/ directory, and points the hls
// link at it once it is complete: a player never sees half a ladder, and
// an interrupted attempt (a restart, kill -9) leaves only a directory the
// next attempt's recovery removes. The progressive MP4 is not touched, so
// a failure (a full disk) costs only the ladder.
func (p *Pipeline) runLadder(ctx context.Context, job store.Job, log *slog.Logger) error {
	var spec processSpec
	if err := decodeSpec(job, &spec); err != nil || job.MediaFileID == nil || spec.Info == nil || len(spec.Ladder) == 0 {
		return p.db.FinishJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "", fmt.Sprintf("invalid ladder job: %v", err))
	}
	id, in := *job.MediaFileID, *spec.Info
	if err := p.needSource(ctx, job, &spec); err != nil {
		return err
	}
	out := media.Outputs{HLSDir: p.l.HLSDir(id, mediadir.NewUUID())}
	// The heavy workers may all make ladders at once: share the CPUs.
	threads := media.LadderThreads(spec.Ladder, max(1, runtime.NumCPU()/p.o.Workers))
	args, err := media.LadderArgs(in, spec.Ladder, spec.Src, out.HLSDir, mediadir.HLSMaster, threads)
	if err != nil {
		return p.failLadder(ctx, job, spec, out, "", err, log)
	}
	progress := p.progressReporter(ctx, job.UserID, id, "Making the adaptive stream", in.TotalFrames, in.Duration)
	started := time.Now()
	tail, err := p.execute(ctx, job, p.o.Tools.FFmpegCommand(args), nil, out, out.HLSDir, progress, log)
	if ctx.Err() == nil && !errors.Is(err, errJobDeleted) {
		p.o.Metrics.TranscodeFinished(KindLadder, time.Since(started), err)
	}
	if ctx.Err() != nil {
		removeAll(out.Paths())
		return ctx.Err()
	}
	if err == nil {
		if err = media.FinishLadder(out.HLSDir, mediadir.HLSMaster); err != nil {
			err = selfExplained{explainIncomplete(err, out.HLSDir)}
		}
	}
	if err != nil {
		return p.failLadder(ctx, job, spec, out, tail, err, log)
	}
	link := p.l.HLSLink(id)
	previous, _ := os.Readlink(link)
	if err := relink(link, filepath.Base(out.HLSDir)); err != nil {
		return p.failLadder(ctx, job, spec, out, tail, fmt.Errorf("link %s: %w", filepath.Base(link), err), log)
	}
	rends, _ := json.Marshal(spec.Ladder) // plain structs
	err = p.recordResult(ctx, log, func(q Queries) error {
		if _, err := q.GetMediaFile(ctx, id); err != nil {
			return err
		}
		if err := q.SetHLSLadder(ctx, store.HLSLadder{MediaFileID: id, Renditions: string(rends), Done: time.Now()}); err != nil {
			return err
		}
		return q.FinishJob(ctx, job.ID, store.JobDone, tail, "")
	})
	if errors.Is(err, store.ErrNotFound) {
		log.Info("Media file was deleted while making its ladder; output discarded")
		removeAll(out.Paths())
		return nil
	}
	if err != nil {
		// Back to the ladder there was (if any), which the row describes.
		if previous != "" {
			_ = relink(link, previous)
		} else {
			os.Remove(link)
		}
		return p.failLadder(ctx, job, spec, out, tail, fmt.Errorf("record the ladder: %w", err), log)
	}
	if previous != "" && previous == filepath.Base(previous) && previous != filepath.Base(out.HLSDir) {
		os.RemoveAll(filepath.Join(p.l.MediaDir(id), previous)) // an older ladder, replaced
	}
	log.Info("Adaptive stream made", "renditions", len(spec.Ladder), "dir", filepath.Base(out.HLSDir))
	one := 1.0
	p.publish(ctx, events.Message{Kind: events.Progress, UserID: job.UserID, MediaFileID: id, Text: "Adaptive stream ready.", Progress: &one})
	p.publish(ctx, events.Message{Kind: events.MediaFileUpdated, UserID: job.UserID, MediaFileID: id, Text: "Adaptive stream ready"})
	return nil
}

// failLadder ends a failed ladder: its directory is removed, the user is
// told why; the media file plays from its MP4 as before.
func (p *Pipeline) failLadder(ctx context.Context, job store.Job, spec processSpec, out media.Outputs, tail string, err error, log *slog.Logger) error {
	return p.fail(ctx, job, spec, out, tail, err, "Adaptive stream failed", log)
}

// lowSpace is the free space below which an incomplete ladder is put down
// to a full disk.
const lowSpace = 4 << 20

// explainIncomplete says why ffmpeg, which exits 0 when its HLS writes
// fail, left a ladder incomplete: nearly always a full disk.
func explainIncomplete(err error, dir string) error {
	var st syscall.Statfs_t
	if serr := syscall.Statfs(filepath.Dir(dir), &st); serr == nil {
		free := int64(st.Bavail) * int64(st.Bsize)
		if free < lowSpace {
			return fmt.Errorf("%w: No space left on device (%d KiB free)", err, free>>10)
		}
		return fmt.Errorf("%w (%d MiB free on the disk)", err, free>>20)
	}
	return err
}
