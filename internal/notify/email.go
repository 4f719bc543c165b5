package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	// Addr is host:port.
	Addr string
	// ImplicitTLS is smtps:// (TLS from the first byte, port 465);
	// otherwise STARTTLS is used whenever the server offers it.
	ImplicitTLS bool
	// RequireTLS refuses to send over a connection that is not encrypted
	// (smtp://...?tls=required).
	RequireTLS     bool
	User, Password string
	From           *mail.Address
	// TLSConfig verifies the server (nil: the system's roots, the host
	// name of Addr).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// NewMailer reads an SMTP URL: smtp://[user:password@]host[:port][?tls=required]
// (STARTTLS when offered; port 587 by default) or
// smtps://[user:password@]host[:port] (port 465). from is the sender,
// e.g. "Clapshot <clapshot@example.com>".
func NewMailer(rawURL, from string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL: %w", err)
	}
	m := &Mailer{Timeout: 30 * time.Second}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "587"
	case "smtps":
		port, m.ImplicitTLS = "465", true
	default:
		return nil, fmt.Errorf("SMTP URL %q: the scheme must be smtp:// or smtps://", redactURL(u))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("SMTP URL %q has no host", redactURL(u))
	}
	if u.Port() != "" {
		port = u.Port()
	}
	m.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		m.User = u.User.Username()
		m.Password, _ = u.User.Password()
	}
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && v[0] == "required":
			m.RequireTLS = true
		default:
			return nil, fmt.Errorf("SMTP URL %q: unknown option %q (known: tls=required)", redactURL(u), k)
		}
	}
	if from == "" {
		return nil, errors.New("an SMTP server needs a sender address (--smtp-from)")
	}
	if m.From, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("sender address %q: %w", from, err)
	}
	return m, nil
}

// redactURL shows a URL without its password, for errors and logs.
func redactURL(u *url.URL) string { return u.Redacted() }

// String describes the server without credentials.
func (m *Mailer) String() string {
	scheme := "smtp"
	if m.ImplicitTLS {
		scheme = "smtps"
	}
	if m.User != "" {
		return scheme + "://" + m.User + "@" + m.Addr
	}
	return scheme + "://" + m.Addr
}

// PermanentError is a failure that retrying will not mend (a rejected
// address, a 4xx from a webhook): the delivery is given up at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Send sends one plain-text message.
func (m *Mailer) Send(ctx context.Context, to, subject, body string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return &PermanentError{fmt.Errorf("recipient %q: %w", to, err)}
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(m.Addr)
	tlsConf := m.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	tlsConf = tlsConf.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("SMTP server %s: %w", m, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if m.ImplicitTLS {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP server %s: %w", m, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("SMTP server %s: %w", m, err)
	}
	encrypted := m.ImplicitTLS
	if !encrypted {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("SMTP server %s: STARTTLS: %w", m, err)
			}
			encrypted = true
		}
	}
	if !encrypted && m.RequireTLS {
		return fmt.Errorf("SMTP server %s offers no STARTTLS, and tls=required is set", m)
	}
	if m.User != "" {
		// Never send a password in the clear, but to a server on this
		// machine (a local relay).
		if !mayLogin(host, encrypted) {
			return &PermanentError{fmt.Errorf("SMTP server %s: refusing to send the password without TLS", m)}
		}
		if err := c.Auth(plainAuth{m.User, m.Password}); err != nil {
			return classifySMTP(fmt.Errorf("SMTP server %s: login as %s: %w", m, m.User, err), err)
		}
	}
	fail := func(err error) error {
		return classifySMTP(fmt.Errorf("SMTP server %s: send to %s: %w", m, rcpt.Address, err), err)
	}
	if err := c.Mail(m.From.Address); err != nil {
		return fail(err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fail(err)
	}
	wc, err := c.Data()
	if err != nil {
		return fail(err)
	}
	if _, err := wc.Write(m.message(rcpt, subject, body)); err != nil {
		return fail(err)
	}
	if err := wc.Close(); err != nil {
		return fail(err)
	}
	_ = c.Quit()
	return nil
}

// plainAuth is SASL PLAIN. (net/smtp's PlainAuth refuses unencrypted
// connections to anything but "localhost" by name; Send has already
// applied the same rule, loopback addresses included.)
type plainAuth struct{ user, password string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge during PLAIN login")
	}
	return nil, nil
}

// classifySMTP makes 5xx replies permanent (the server said never).
func classifySMTP(wrapped, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &PermanentError{wrapped}
	}
	return wrapped
}

// mayLogin is the rule for sending credentials.
func mayLogin(host string, encrypted bool) bool { return encrypted || isLoopbackHost(host) }

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// message builds an RFC 5322 message: UTF-8 text, quoted-printable, with
// headers that user text cannot break out of.
func (m *Mailer) message(to *mail.Address, subject, body string) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	_, domain, _ := strings.Cut(m.From.Address, "@")
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.From.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(subject), " ")))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// Tells mail systems not to auto-reply (RFC 3834).
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// emailText is the subject and body of a notification e-mail.
func emailText(p *Payload) (subject, body string) {
	var b strings.Builder
	b.WriteString(p.Summary() + ":\n\n")
	for _, line := range strings.Split(p.Comment.Text, "\n") {
		b.WriteString("    " + line + "\n")
	}
	if p.Comment.Timecode != "" {
		b.WriteString("\nAt " + p.Comment.Timecode + ".\n")
	}
	if p.MediaFile.URL != "" {
		b.WriteString("\nOpen it: " + p.MediaFile.URL + "\n")
	}
	b.WriteString("\n-- \nYou get this because of your notification settings in Clapshot.\n")
	return "[Clapshot] " + p.Summary(), b.String()
}
