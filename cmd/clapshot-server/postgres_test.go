package main

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

// runCopy runs clapshot-server --migrate-to and returns its exit status
// and output.
func runCopy(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, serverBin, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("--migrate-to did not finish: %s", out)
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// An old Clapshot database moves into PostgreSQL from the command line:
// the report lists every table with equal counts and hides the password;
// the copy is refused into a database that is not empty.
func TestMigrateToPostgres(t *testing.T) {
	dir := t.TempDir()
	oldDatabase(t, dir, 500)
	u := pgtest.NewDatabase(t)
	withPassword := strings.Replace(u, "postgres@", "postgres:hunter2@", 1) // trust auth ignores it
	rc, out := runCopy(t, "-D", dir, "--migrate-to", withPassword)
	if rc != 0 {
		t.Fatalf("exit %d:\n%s", rc, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^comments\s+500\s+500$`),
		regexp.MustCompile(`(?m)^media_files\s+20\s+20$`),
		regexp.MustCompile(`upgraded first`),
		regexp.MustCompile(`Done: 11 tables copied, every row count matches`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "MISMATCH") {
		t.Errorf("output:\n%s", out)
	}
	rc, out = runCopy(t, "-D", dir, "--migrate-to", u)
	if rc != 1 || !strings.Contains(out, "is not empty") {
		t.Errorf("second copy: exit %d\n%s", rc, out)
	}
	if rc, out = runCopy(t, "-D", t.TempDir(), "--migrate-to", u); rc != 1 || !strings.Contains(out, "no database there") {
		t.Errorf("no source: exit %d\n%s", rc, out)
	}
}
