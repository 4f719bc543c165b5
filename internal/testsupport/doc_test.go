package testsupport

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped binaries do not depend on test support.
func TestNotInBinaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/clapshot-go/clapshot/cmd/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list gave %v", deps)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/clapshot-go/clapshot/internal/testsupport") {
			t.Errorf("a binary depends on %s", d)
		}
	}
}
