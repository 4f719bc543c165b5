package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every server option is documented in docs/deployment.md's table of
// config keys and appears in the shipped config file (set or commented out),
// so operators find all of them in both places.
func TestEveryOptionDocumented(t *testing.T) {
	d := buildDebs(t)
	help, err := exec.Command(filepath.Join(d.bin, "clapshot-server"), "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs/deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging/debian/clapshot-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// Commands, not settings: they never go in the config file.
	notKeys := map[string]bool{"config": true, "help": true, "version": true, "org-test": true, "migrate-to": true}
	options := regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1)
	if len(options) < 10 {
		t.Fatalf("could not read the options from --help:\n%s", help)
	}
	for _, m := range options {
		key := m[1]
		if notKeys[key] {
			continue
		}
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("option --%s is missing from the config key table in docs/deployment.md", key)
		}
		if !regexp.MustCompile(`(?m)^#?` + regexp.QuoteMeta(key) + ` = `).Match(conf) {
			t.Errorf("option --%s is missing from packaging/debian/clapshot-server.conf (add it, commented out with its default)", key)
		}
	}
}
