package organizer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// MaxMessageBytes bounds one gRPC message either way. A folder page with
// a thousand media files, each with its raw metadata, is a few MB; gRPC's
// default of 4 MB is too small for that.
const MaxMessageBytes = 256 << 20

// maxSocketPath is the longest Unix socket path Linux accepts
// (sizeof(sun_path) - 1).
const maxSocketPath = 107

// endpoint is where one side of the plugin API listens.
type endpoint struct {
	unix string // socket path, or
	host string // host:port
	tls  bool
}

func (e endpoint) String() string {
	switch {
	case e.unix != "":
		return "unix:" + e.unix
	case e.tls:
		return "https://" + e.host
	}
	return "http://" + e.host
}

// parseEndpoint reads --org-in-uri: a bare path, unix:// or file:// (a
// Unix socket), or http(s)://host:port.
func parseEndpoint(uri string) (endpoint, error) {
	if !strings.Contains(uri, "://") {
		return endpoint{unix: uri}, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return endpoint{}, fmt.Errorf("organizer URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "unix", "file":
		p := u.Host + u.Path
		if p == "" {
			return endpoint{}, fmt.Errorf("organizer URI %q names no socket path", uri)
		}
		return endpoint{unix: p}, nil
	case "http", "https":
		if u.Host == "" {
			return endpoint{}, fmt.Errorf("organizer URI %q names no host", uri)
		}
		host := u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
		return endpoint{host: host, tls: u.Scheme == "https"}, nil
	}
	return endpoint{}, fmt.Errorf("organizer URI %q: unsupported scheme %q (use unix://, http:// or https://)", uri, u.Scheme)
}

func checkSocketPath(p string) error {
	if len(p) > maxSocketPath {
		return fmt.Errorf("socket path %s is %d bytes long, more than the %d a Unix socket allows: use a shorter --data-dir", p, len(p), maxSocketPath)
	}
	return nil
}

// removeStaleSocket deletes an old socket file at p, as Clapshot does, and
// refuses to delete anything that is not a socket.
func removeStaleSocket(p string) error {
	st, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("socket %s: %w", p, err)
	case st.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s exists and is not a socket; move it away (the organizer's socket goes there)", p)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove old socket %s: %w", p, err)
	}
	return nil
}

// dial prepares a connection to the organizer. For a Unix socket it first
// waits up to wait for the socket file to appear (the organizer creates it
// when it is ready), giving up early if gone is closed (the organizer
// process exited).
func dial(ctx context.Context, e endpoint, wait time.Duration, gone <-chan struct{}) (*grpc.ClientConn, error) {
	target := e.host
	creds := insecure.NewCredentials()
	if e.tls {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	if e.unix != "" {
		if err := waitForSocket(ctx, e.unix, wait, gone); err != nil {
			return nil, err
		}
		target = "unix://" + e.unix
		if !strings.HasPrefix(e.unix, "/") {
			target = "unix:" + e.unix
		}
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		// An idle channel would look like a lost plugin (see watch).
		grpc.WithIdleTimeout(0),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	)
	if err != nil {
		return nil, fmt.Errorf("organizer at %s: %w", e, err)
	}
	return conn, nil
}

func waitForSocket(ctx context.Context, p string, wait time.Duration, gone <-chan struct{}) error {
	deadline := time.Now().Add(wait)
	for {
		st, err := os.Stat(p)
		if err == nil && st.Mode().Type() == fs.ModeSocket {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the organizer did not create its socket %s within %s", p, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-gone:
			return errProcessExited
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var errProcessExited = errors.New("the organizer process exited")
