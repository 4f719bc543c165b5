package logging

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logrotate renames the file, then sends SIGUSR1: new lines must go to a
// newly created file at the original path, none may be lost.
func TestReopenOnSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "clapshot.log")
	log, out, err := New(Options{File: p})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { out.WatchSIGUSR1(ctx, log); close(done) }()
	time.Sleep(50 * time.Millisecond) // let signal.Notify register

	log.Info("before rotation")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	log.Info("after rename, before signal")
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !fileExists(p) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	log.Info("after rotation")

	old, _ := os.ReadFile(p + ".1")
	cur, _ := os.ReadFile(p)
	if !strings.Contains(string(old), "before rotation") || !strings.Contains(string(old), "after rename, before signal") {
		t.Errorf("rotated file: %s", old)
	}
	if !strings.Contains(string(cur), "after rotation") || strings.Contains(string(cur), "before rotation") {
		t.Errorf("new file: %s", cur)
	}
	cancel()
	<-done
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestLevelsAndFormats(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		opts               Options
		wantDebug, wantTrc bool
		wantSub            string
	}{
		{Options{}, false, false, `msg=info`},
		{Options{Debug: 1}, true, false, `level=DEBUG`},
		{Options{Debug: 2}, true, true, `level=TRACE`},
		{Options{JSON: true, Debug: 1}, true, false, `"msg":"info"`},
	}
	for i, tc := range cases {
		tc.opts.File = filepath.Join(dir, "l"+string(rune('a'+i)))
		log, out, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("info")
		log.Debug("debug")
		log.Log(context.Background(), LevelTrace, "trace")
		out.Close()
		b, _ := os.ReadFile(tc.opts.File)
		s := string(b)
		if strings.Contains(s, "debug") != tc.wantDebug || strings.Contains(s, "trace") != tc.wantTrc || !strings.Contains(s, tc.wantSub) {
			t.Errorf("%+v: %s", tc.opts, s)
		}
		if !tc.opts.JSON && !strings.Contains(s, "time="+time.Now().Format("2006-01-02T")) {
			t.Errorf("text log time is not local ISO-8601: %s", s)
		}
	}
}
