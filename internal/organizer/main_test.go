package organizer_test

import (
	"os"
	"testing"
)

// TestMain doubles as the test organizer's main: the integration tests
// start this binary as an organizer subprocess (see orgCmd).
func TestMain(m *testing.M) {
	if mode := os.Getenv(testOrgEnv); mode != "" {
		os.Exit(runTestOrganizer(mode))
	}
	os.Exit(m.Run())
}
