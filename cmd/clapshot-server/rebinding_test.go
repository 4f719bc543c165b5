package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// rebound is an HTTP client whose every connection goes to 127.0.0.1:port,
// whatever host name the URL has: what a browser does once an attacker's
// DNS answers 127.0.0.1 for the attacker's own name (DNS rebinding). The
// page is then same-origin with the server, so it sets any header it
// likes, and its requests come from loopback, a trusted proxy address.
func rebound(port int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
	}}
}

// A page on a rebound host name can neither open a review session (as an
// administrator, through the identity headers loopback is trusted for) nor
// upload: only the health checks answer it. The same requests by the
// server's own names still work.
func TestDNSRebindingRefused(t *testing.T) {
	dir := t.TempDir()
	p := start(t, nil, "-D", dir)
	p.waitHealthy(t)
	client := rebound(p.port)
	identity := http.Header{
		"X-Remote-User-Id":       {"admin"},
		"X-Remote-User-Name":     {"Admin"},
		"X-Remote-User-Is-Admin": {"true"},
	}

	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{fmt.Sprintf("rebound.attacker.example:%d", p.port), false},
		{fmt.Sprintf("127.0.0.1:%d", p.port), true},
		{fmt.Sprintf("localhost:%d", p.port), true},
	} {
		origin := "http://" + tc.host
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h := identity.Clone()
		h.Set("Origin", origin)
		conn, resp, err := websocket.Dial(ctx, "ws://"+tc.host+"/api/ws", &websocket.DialOptions{HTTPClient: client, HTTPHeader: h})
		if tc.ok {
			if err != nil {
				t.Fatalf("websocket as %s: %v", tc.host, err)
			}
			_, b, err := conn.Read(ctx)
			var msg pb.ServerToClientCmd
			if err != nil || protojson.Unmarshal(b, &msg) != nil || msg.GetWelcome().GetUser().GetId() != "admin" {
				t.Errorf("websocket as %s: first message %s (%v), want a welcome for admin", tc.host, b, err)
			}
			conn.Close(websocket.StatusNormalClosure, "")
		} else {
			if err == nil {
				_, b, _ := conn.Read(ctx)
				conn.Close(websocket.StatusNormalClosure, "")
				t.Errorf("websocket from the rebound host %s was accepted; first message: %s", tc.host, b)
			} else if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("websocket from the rebound host %s: %v, want 403", tc.host, err)
			}
		}
		cancel()

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("fileupload", "x.mp4")
		fw.Write([]byte("not really a video"))
		mw.Close()
		req, _ := http.NewRequest("POST", "http://"+tc.host+"/api/upload", &body)
		req.Header = identity.Clone()
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		up, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(up.Body)
		up.Body.Close()
		if got := up.StatusCode == 200; got != tc.ok {
			t.Errorf("upload as %s: %d %q", tc.host, up.StatusCode, msg)
		}
		if !tc.ok && !strings.Contains(string(msg), "--allowed-hosts") {
			t.Errorf("upload as %s: refusal %q does not say what to configure", tc.host, msg)
		}

		hr, err := client.Get("http://" + tc.host + "/api/health")
		if err != nil {
			t.Fatal(err)
		}
		hr.Body.Close()
		if hr.StatusCode != 200 {
			t.Errorf("health as %s: %d", tc.host, hr.StatusCode)
		}
	}
	if !strings.Contains(p.out.String(), "rebound.attacker.example") {
		t.Errorf("the refused host is not in the log:\n%s", p.out)
	}
}
