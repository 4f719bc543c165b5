package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the tests run this binary's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("VIDEO_SERVER_MAIN") == "1" {
		os.Args = append([]string{"video_server"}, strings.Fields(os.Getenv("VIDEO_SERVER_ARGS"))...)
		os.Exit(run())
	}
	os.Exit(m.Run())
}

func runSelf(t *testing.T, args string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIDEO_SERVER_MAIN=1", "VIDEO_SERVER_ARGS="+args)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// A config the server cannot use stops it at once with the reason.
func TestBadConfigExits(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "my.conf.v2.toml")
	_ = os.WriteFile(typo, []byte("[api]\nenabeld = true\n"), 0o644)
	for _, tc := range []struct{ args, want string }{
		{"-conf " + typo, `unknown key "api.enabeld" (did you mean "enabled"?)`},
		{"-conf " + filepath.Join(dir, "missing.json"), "no such file"},
		{"-conf " + filepath.Join(dir, "conf.ini"), ".toml or .json"},
	} {
		code, out := runSelf(t, tc.args)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, output %s; want exit 2 mentioning %q", tc.args, code, out, tc.want)
		}
	}
}
