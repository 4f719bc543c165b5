package packaging_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs on the build machines, so the Dockerfile and the
// compose file cannot be built here. This checks what can go stale without
// anyone noticing: the make targets, paths and command they rely on.
func TestDockerFilesMatchTheRest(t *testing.T) {
	root := repoRoot(t)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile := read("packaging/docker/Dockerfile")
	compose := read("packaging/docker/compose.yaml")
	makefile := read("Makefile")
	unit := read("packaging/debian/clapshot-server.service")
	conf := read("packaging/debian/clapshot-server.conf")
	example := read("packaging/nginx/clapshot+basic-auth.nginx.conf")

	for _, m := range regexp.MustCompile(`\bmake ([a-z-]+)`).FindAllStringSubmatch(dockerfile, -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `:`).MatchString(makefile) {
			t.Errorf("Dockerfile runs `make %s`, which the Makefile does not have", m[1])
		}
	}
	// The container runs what the systemd unit runs.
	exec := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(unit)[1]
	cmd := regexp.MustCompile(`(?m)^CMD \[(.*)\]$`).FindStringSubmatch(dockerfile)
	if cmd == nil || strings.Join(strings.Fields(strings.NewReplacer(`"`, "", ",", "").Replace(cmd[1])), " ") != exec {
		t.Errorf("Dockerfile CMD %q differs from the unit's ExecStart %q", cmd, exec)
	}
	// One data directory everywhere: config file, image volume, compose
	// mounts, and the path nginx's example serves /videos from.
	dataDir := regexp.MustCompile(`(?m)^data-dir = (.*)$`).FindStringSubmatch(conf)[1]
	if !strings.Contains(dockerfile, "VOLUME "+dataDir+"\n") {
		t.Errorf("Dockerfile VOLUME is not the config file's data-dir %s", dataDir)
	}
	if !strings.Contains(example, "alias "+dataDir+"/videos/;") {
		t.Errorf("the nginx example does not serve /videos from %s/videos", dataDir)
	}
	if n := strings.Count(compose, "clapshot-data:"+dataDir); n != 2 {
		t.Errorf("compose mounts the data volume at %s %d times, want 2 (server and nginx)", dataDir, n)
	}
	// Files the compose file mounts from the repository exist.
	for _, m := range regexp.MustCompile(`- (\.\.?/[^:]+):`).FindAllStringSubmatch(compose, -1) {
		if m[1] == "./htpasswd" {
			continue // made by the operator
		}
		if _, err := os.Stat(filepath.Join(root, "packaging/docker", m[1])); err != nil {
			t.Errorf("compose mounts %s: %v", m[1], err)
		}
	}
}
