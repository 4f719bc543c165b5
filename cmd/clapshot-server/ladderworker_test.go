package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// The adaptive ladder made by a clapshot-worker with its own data
// directory and the media in an object store: the server files the upload
// and queues the ladder (--hls-ladder), the worker makes it, the ladder's
// playlists and segments go into the bucket under videos/<id>/hls/, and
// the server streams them to players from there with their types.
func TestLadderOnWorkerInObjectStore(t *testing.T) {
	mediatest.Require(t)
	pgtest.Require(t)
	clip := clipBytes(t, "h264_mp4", mediatest.Options{Seconds: 4, Width: 320, Height: 240, FPS: 24})
	_, st, mediaURL := s3Server(t)
	c := startCluster(t, clusterOptions{servers: 1, workers: 1, mediaURL: mediaURL,
		serverArgs: []string{"--remote-workers", "--hls-ladder", "--hls-ladder-rungs", "240:0.3,144:0.15"}})
	if code, body := uploadMultipart(t, c.url(0)+"/", "alice", "clip.mp4", clip); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var id string
	waitFor(t, 2*time.Minute, "the ladder to be made", func() bool {
		return c.pg.QueryRow(`SELECT media_file_id FROM media_hls`).Scan(&id) == nil
	})
	ladderRun := regexp.MustCompile(`msg="Job started" .*kind=ladder`)
	if !ladderRun.MatchString(c.workers[0].out.String()) || ladderRun.MatchString(c.procs[0].out.String()) {
		t.Error("the ladder was not made by the worker (a --remote-workers server runs no ffmpeg jobs)")
	}
	media := "videos/" + id + "/hls/"
	waitObjects(t, st, media+"master.m3u8", media+"240p/index.m3u8", media+"144p/index.m3u8", media+"144p/seg_00000.m4s")

	base := c.url(0) + "/" + media
	get := func(rel, wantType string) string { t.Helper(); return getTyped(t, base+rel, wantType) }
	master := get("master.m3u8", "application/vnd.apple.mpegurl")
	if !strings.Contains(master, "240p/index.m3u8") || !strings.Contains(master, "144p/index.m3u8") {
		t.Errorf("master playlist:\n%s", master)
	}
	playlist := get("144p/index.m3u8", "application/vnd.apple.mpegurl")
	seg := get("144p/seg_00000.m4s", "video/iso.segment")
	if want, err := st.Read(c.ctx, media+"144p/seg_00000.m4s"); err != nil || string(want) != seg {
		t.Errorf("the segment served differs from the stored one (%v)", err)
	}
	if m := regexp.MustCompile(`URI="([^"]+)"`).FindStringSubmatch(playlist); m != nil {
		get("144p/"+m[1], "video/mp4")
	} else {
		t.Errorf("no init section in\n%s", playlist)
	}
}
