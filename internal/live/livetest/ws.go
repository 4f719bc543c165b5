package livetest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// WSRefused dials an MSE websocket that must be refused the way a browser
// can read: upgraded, then closed with 1008 and a reason mentioning want.
func WSRefused(t testing.TB, url string, hdr http.Header, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Errorf("%s: not upgraded (%v, %v); a browser would see only 1006", url, err, resp)
		return
	}
	defer c.CloseNow()
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, want) {
		t.Errorf("%s: closed with %v, want 1008 mentioning %q", url, err, want)
	}
}
