package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// cluster is clapshot-server instances and clapshot-worker processes on
// one PostgreSQL database. The servers share one data directory (tus
// uploads and incoming/ are received on the local disk). With an object
// store each worker has a data directory of its own, as on a machine of
// its own: all it shares with the servers is the database and the
// bucket; without one, workers share the servers' directory.
type cluster struct {
	dbURL   string
	pg      *sql.DB
	dir     string   // the servers' data directory
	common  []string // the options of servers and workers alike
	procs   []*proc  // the servers
	workers []*proc
	ctx     context.Context
	// ownSpools: each worker has a data directory of its own.
	ownSpools bool
}

type clusterOptions struct {
	servers, workers int
	dbURL            string   // "": a new database on the package's PostgreSQL
	mediaURL         string   // --media-url, if any
	serverArgs       []string // more options of the servers (--remote-workers)
	commonArgs       []string // more options of servers and workers (--fanout-url)
	lease            string   // --job-lease, if not the default
}

// startCluster starts the servers (healthy) and then the workers (their
// pipelines started); every process's output is shown if t fails.
func startCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	c := &cluster{dbURL: o.dbURL, dir: t.TempDir(), ownSpools: o.mediaURL != ""}
	if c.dbURL == "" {
		c.dbURL = pgtest.NewDatabase(t)
	}
	c.common = []string{"--db-url", c.dbURL}
	if o.mediaURL != "" {
		c.common = append(c.common, "--media-url", o.mediaURL)
	}
	if o.lease != "" {
		c.common = append(c.common, "--job-lease", o.lease)
	}
	c.common = append(c.common, o.commonArgs...)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, p := range c.procs {
			t.Logf("server %d output:\n%s", i, p.out)
		}
		for i, p := range c.workers {
			t.Logf("worker %d output:\n%s", i, p.out)
		}
	})
	for range o.servers {
		p := start(t, nil, append(append([]string{"-D", c.dir, "-P", "0.1", "-w", "1"}, c.common...), o.serverArgs...)...)
		p.waitHealthy(t)
		c.procs = append(c.procs, p)
	}
	for range o.workers {
		c.startWorker(t)
	}
	var err error
	if c.pg, err = sql.Open("pgx", c.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.pg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c.ctx = ctx
	return c
}

// startWorker starts one more clapshot-worker and waits until it takes
// jobs.
func (c *cluster) startWorker(t *testing.T) *proc {
	t.Helper()
	dir := c.dir
	if c.ownSpools {
		dir = filepath.Join(t.TempDir(), "worker")
	}
	p := startCmd(t, []string{buildWorker(t)}, append([]string{"-D", dir, "-w", "1", "-d"}, c.common...)...)
	waitFor(t, 30*time.Second, "the worker's pipeline to start", func() bool {
		select {
		case <-p.done:
			t.Fatalf("worker exited (rc %d):\n%s", p.exitRC, p.out)
		default:
		}
		return strings.Contains(p.out.String(), "Media pipeline started")
	})
	c.workers = append(c.workers, p)
	return p
}

func (c *cluster) url(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", c.procs[i].port) }

// dial connects user to server i.
func (c *cluster) dial(t *testing.T, i int, user string) *wsclient.Client {
	t.Helper()
	cl, err := wsclient.Dial(c.ctx, c.url(i), wsclient.User{ID: user, Name: user})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// open opens media file id in cl's player.
func (c *cluster) open(t *testing.T, cl *wsclient.Client, id string) *wsclient.Client {
	t.Helper()
	if err := cl.Send(c.ctx, wsclient.OpenMediaFile(id)); err != nil {
		t.Fatal(err)
	}
	c.expect(t, cl, "open "+id, func(m *pb.ServerToClientCmd) bool { return m.GetOpenMediaFile() != nil })
	return cl
}

// expect waits for a message matching match and returns how long it took.
func (c *cluster) expect(t *testing.T, cl *wsclient.Client, what string, match func(*pb.ServerToClientCmd) bool) time.Duration {
	t.Helper()
	start := time.Now()
	if _, all, err := cl.Wait(c.ctx, 15*time.Second, match); err != nil {
		t.Fatalf("%s: %v (%s)", what, err, wsclient.Describe(all))
	}
	return time.Since(start)
}

func (c *cluster) send(t *testing.T, cl *wsclient.Client, cmd *pb.ClientToServerCmd) {
	t.Helper()
	if err := cl.Send(c.ctx, cmd); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) joinCollab(t *testing.T, cl *wsclient.Client, room, mediaID string) {
	t.Helper()
	c.send(t, cl, wsclient.JoinCollab(room, mediaID))
}

func (c *cluster) collabReport(t *testing.T, cl *wsclient.Client, r *pb.ClientToServerCmd_CollabReport) {
	t.Helper()
	c.send(t, cl, &pb.ClientToServerCmd{Cmd: &pb.ClientToServerCmd_CollabReport_{CollabReport: r}})
}

// collabEvent matches a collab event from user from at seek with drawing.
func collabEvent(from string, seek float64, drawing string) func(*pb.ServerToClientCmd) bool {
	return func(m *pb.ServerToClientCmd) bool {
		ev := m.GetCollabEvent()
		return ev != nil && ev.GetFromUser() == from && ev.GetSeekTimeSec() == seek && ev.GetDrawing() == drawing
	}
}

// health is server i's /api/health?details=1.
func (c *cluster) health(t *testing.T, i int) (h struct {
	Status    string
	Database  struct{ OK bool }
	Instances struct {
		Transport string
		Listening bool
		Listens   int
	}
}) {
	t.Helper()
	resp, err := http.Get(c.url(i) + "/api/health?details=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// transcodedBy maps the id of each transcode job a process's log says it
// finished to that process (its index in procs).
func transcodedBy(procs []*proc) map[int64]int {
	re := regexp.MustCompile(`msg="Media transcoded"[^\n]* job=(\d+) `)
	by := map[int64]int{}
	for i, p := range procs {
		for _, m := range re.FindAllStringSubmatch(p.out.String(), -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			by[id] = i
		}
	}
	return by
}

// parentPID is the parent of process pid (0 if it is gone).
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// clipBytes is a clip of a mediatest family.
func clipBytes(t *testing.T, family string, o mediatest.Options) []byte {
	t.Helper()
	b, err := os.ReadFile(mediatest.Make(t, t.TempDir(), mediatest.Families[family], o))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kill9 kills a process's group at once and waits for it.
func kill9(t *testing.T, p *proc) {
	t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}
