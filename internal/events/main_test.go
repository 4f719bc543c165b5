package events

import (
	"os"
	"testing"

	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
