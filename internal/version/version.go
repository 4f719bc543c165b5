// Package version holds the build's own version and the Clapshot version
// whose protocol, database and plugin API this server implements.
package version

// Version is this server's own version, set at build time with
// -ldflags "-X github.com/clapshot-go/clapshot/internal/version.Version=...".
var Version = "dev"

// ClapshotCompat is the Clapshot server version we are a drop-in for. The
// original web client refuses to talk to any other serverVersion, so the
// websocket welcome message always reports this, never Version.
const ClapshotCompat = "0.8.2"

// String is the human-readable form printed by --version.
func String() string {
	return "clapshot-server " + Version + " (Clapshot " + ClapshotCompat + " compatible)"
}
