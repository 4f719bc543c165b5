package organizer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/clapshot-go/clapshot/internal/organizer"
)

// The manager's lifetime is the context given to New: when it ends, the
// plugin process, the connections, the OrganizerOutbound server and every
// goroutine of theirs stop, without Run or Close being called.
func TestManagerEndsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := dataDir(t)
	o := organizer.Options{Cmd: orgCmd(modeNormal), DataDir: dir, DBPath: filepath.Join(dir, "clapshot.sqlite")}
	fastTimings(&o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := organizer.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Launch(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Status()["state"]; st != organizer.StateConnected {
		t.Fatalf("state %v: %v", st, m.Status())
	}
	b, err := os.ReadFile(filepath.Join(dir, "testorg.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))

	cancel()
	eventually(t, "the plugin process to exit", func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) })
	eventually(t, "the sockets to be removed", func() bool {
		for _, s := range []string{organizer.InSocketName, organizer.OutSocketName} {
			if _, err := os.Stat(filepath.Join(dir, s)); err == nil {
				return false
			}
		}
		return true
	})
	m.Close() // waits for the Close the context's end started
}
