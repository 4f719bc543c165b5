package testkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ToolPath finds a program the Makefile builds into bin/tools: the
// environment variable env if set, else bin/tools/<dir>/<name> in the
// repository above the working directory (built by `make <target>`).
func ToolPath(env, dir, name, target string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(wd, "go.mod")); err == nil {
			p := filepath.Join(wd, "bin", "tools", dir, name)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%s: %w (build it with `make %s`)", p, err, target)
			}
			return p, nil
		}
		parent := filepath.Dir(wd)
		if parent == wd {
			return "", errors.New("no go.mod above the working directory")
		}
		wd = parent
	}
}
