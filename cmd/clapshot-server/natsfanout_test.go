package main

import (
	"strings"
	"testing"
	"time"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/natstest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
)

// Two instances and a worker with --fanout-url nats://: a comment made on
// one reaches the other's session through NATS, and so do a collab
// drawing far over PostgreSQL's notification limit and the worker's
// transcode result for the uploader, who watches on the other instance.
func TestInstancesOverNATS(t *testing.T) {
	nats := natstest.Start(t)
	in := startInstancesWith(t, clusterOptions{servers: 2, workers: 1,
		serverArgs: []string{"--remote-workers"}, commonArgs: []string{"--fanout-url", nats.URL}})
	for i := range in.procs {
		if h := in.health(t, i); h.Instances.Transport != "nats" {
			t.Errorf("server %d fans out over %q, not NATS", i, h.Instances.Transport)
		}
	}
	onA := in.watch(t, 0, "alice")
	onB := in.watch(t, 1, "bob")

	sent := time.Now()
	in.send(t, onB, wsclient.AddComment(in.mediaID, "through NATS"))
	in.expect(t, onA, "B's comment on A", commentIs("through NATS"))
	if took := time.Since(sent); took > time.Second {
		t.Errorf("a comment made on B took %v to reach A", took)
	} else {
		t.Logf("a comment sent to B reached the session on A in %v", took)
	}

	const room = "nats-room"
	in.joinCollab(t, onA, room, in.mediaID)
	in.expect(t, onA, "alice joined", wsclient.Message("'alice' joined collab"))
	in.joinCollab(t, onB, room, in.mediaID)
	in.expect(t, onA, "bob's join seen on A", wsclient.Message("'bob' joined collab"))
	drawing := "data:image/webp;base64," + strings.Repeat("QUJD", 400_000) // 1.6 MB: over one NATS message
	in.collabReport(t, onB, &pb.ClientToServerCmd_CollabReport{Paused: true, SeekTimeSec: 0.75, Drawing: &drawing})
	in.expect(t, onA, "bob's drawing on A", collabEvent("bob", 0.75, drawing))

	// alice uploads through A a file that needs a transcode (the worker's
	// job) and watches on B: the worker's result reaches her there.
	onB2 := in.dial(t, 1, "alice")
	if code, body := uploadMultipart(t, in.url(0)+"/", "alice", "needs-work.mkv",
		clipBytes(t, "hevc_mkv", mediatest.Options{Seconds: 2, Width: 320, Height: 240, FPS: 25})); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	if _, all, err := onB2.Wait(in.ctx, 2*time.Minute, func(m *pb.ServerToClientCmd) bool {
		for _, msg := range m.GetShowMessages().GetMsgs() {
			if msg.GetMessage() == "Media transcoded." {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the worker's result on B: %v (%s)", err, wsclient.Describe(all))
	}
	if h := in.health(t, 1); !h.Instances.Listening {
		t.Errorf("B's health: %+v", h)
	}
}
