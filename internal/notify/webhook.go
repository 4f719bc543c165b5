package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Webhook headers. The signature is "t=<unix seconds>,v1=<hex HMAC-SHA256
// of "<t>.<body>" keyed with the user's webhook secret>": the receiver
// recomputes it, compares in constant time and refuses old timestamps,
// so a captured call cannot be replayed later.
const (
	HeaderSignature = "X-Clapshot-Signature"
	HeaderEvent     = "X-Clapshot-Event"
	HeaderDelivery  = "X-Clapshot-Delivery"
)

// Sign computes the signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// NewSecret makes a webhook secret (256 random bits, hex).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Webhooks calls users' webhook URLs.
type Webhooks struct {
	// AllowPrivate lets webhooks reach loopback, private and link-local
	// addresses. Off by default: a user could otherwise make the server
	// call services on its own network (SSRF).
	AllowPrivate bool
	Timeout      time.Duration

	once   sync.Once
	client *http.Client
}

// CheckURL refuses what a webhook URL may not be, before it is stored.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook URL %q: must be http:// or https://", u.Redacted())
	}
	if u.Hostname() == "" {
		return fmt.Errorf("webhook URL %q has no host", u.Redacted())
	}
	return nil
}

func (w *Webhooks) httpClient() *http.Client {
	w.once.Do(w.newClient)
	return w.client
}

func (w *Webhooks) newClient() {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !w.AllowPrivate {
		// Checked on the address actually dialled, after DNS, so a name
		// that resolves (or rebinds) to an internal address is refused too.
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !publicIP(ip) {
				return &PermanentError{fmt.Errorf("webhook address %s is not public (set --webhook-allow-private to allow it)", host)}
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, MaxIdleConns: 16, IdleConnTimeout: 90 * time.Second}
	w.client = &http.Client{Transport: tr,
		// A redirect could lead anywhere; the user should give the final URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// Send posts body to target, signed with secret.
func (w *Webhooks) Send(ctx context.Context, target, secret, event string, delivery int64, body []byte) error {
	if err := CheckURL(target); err != nil {
		return &PermanentError{err}
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{fmt.Errorf("webhook %s: %w", redact(target), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clapshot-server webhook")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(delivery, 10))
	if secret != "" {
		req.Header.Set(HeaderSignature, Sign(secret, time.Now(), body))
	}
	res, err := w.httpClient().Do(req)
	if err != nil {
		// url.Error repeats the whole URL, token included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var pe *PermanentError
		if errors.As(err, &pe) {
			return &PermanentError{fmt.Errorf("webhook %s: %w", redact(target), pe.Err)}
		}
		return fmt.Errorf("webhook %s: %w", redact(target), err)
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook %s answered %s: %s", redact(target), res.Status, bytes.TrimSpace(snippet))
	switch {
	case res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooEarly,
		res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return err // worth another try
	}
	return &PermanentError{err}
}

// redact shows only the scheme and host of a webhook URL in errors and
// logs: chat webhooks carry their token in the path or query.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	s := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		s += "/…"
	}
	return s
}
