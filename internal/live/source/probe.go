package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
)

// Probe checks that a camera answers: a bare RTSP DESCRIBE with the URL's
// credentials (Basic or Digest, as the camera asks), and a video track
// the engine plays in its description. It never sends SETUP or PLAY, so
// the camera sends no media. It gives up after timeout (default 3 s).
//
// The error names the cause, as Run's do: ErrUnreachable, ErrAuth,
// ErrNotFound, ErrNoVideo, ErrTimeout (no answer in time). If ctx ends
// first, Probe returns ctx's error.
func Probe(ctx context.Context, rawURL string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	// The client's own timeout is longer, so that the probe's decides
	// (and says so), not a read deadline a moment before it.
	c, u, err := newClient(rawURL, timeout+time.Second)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	failed := func(err error) error {
		var nerr net.Error
		var rto liberrors.ErrClientRequestTimedOut
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(pctx.Err(), context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout(), errors.As(err, &rto):
			return fmt.Errorf("%w: no answer to DESCRIBE within %s", ErrTimeout, timeout)
		}
		return classify(err)
	}
	if err := c.Start(); err != nil {
		return failed(err)
	}
	defer c.Close()
	// Close unblocks Describe when the time is up (not before Start
	// returned: the client's Close must not race with its Start).
	stop := context.AfterFunc(pctx, c.Close)
	defer stop()
	desc, _, err := c.Describe(u)
	if err != nil {
		return failed(err)
	}
	_, _, err = findVideo(desc)
	return err
}
