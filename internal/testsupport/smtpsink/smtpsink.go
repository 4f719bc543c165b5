// Package smtpsink is a real SMTP server on loopback (go-smtp) for tests:
// it keeps the messages it receives, can refuse or reject them, require a
// login, and offer STARTTLS with a self-signed certificate.
package smtpsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the sink accepted.
type Received struct {
	From string
	To   []string
	Msg  *mail.Message
	Body string
	TLS  bool
	User string
}

// Sink is an SMTP server backend that keeps what it receives.
type Sink struct {
	// Refuse answers 4xx (try again later) to this many messages, then accepts.
	Refuse int
	// Reject answers 550 to every recipient.
	Reject bool
	// Users, when set, requires AUTH PLAIN with one of these user/passwords.
	Users map[string]string

	mu  sync.Mutex
	got []Received
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &sinkSession{sink: s, conn: c}, nil
}

type sinkSession struct {
	sink *Sink
	conn *smtp.Conn
	cur  Received
}

func (s *sinkSession) AuthMechanisms() []string { return []string{"PLAIN"} }

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if s.sink.Users[user] != pass {
			return errors.New("bad credentials")
		}
		s.cur.User = user
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.Users != nil && s.cur.User == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.cur.From = from
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.Reject {
		return &smtp.SMTPError{Code: 550, Message: "no such user"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	if s.sink.Refuse > 0 {
		s.sink.Refuse--
		_, _ = io.Copy(io.Discard, r)
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	s.cur.Msg, s.cur.Body = msg, string(body)
	s.sink.got = append(s.sink.got, s.cur)
	return nil
}

func (s *sinkSession) Reset()        { s.cur = Received{User: s.cur.User} }
func (s *sinkSession) Logout() error { return nil }

// Messages are the messages received so far.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// Start serves sink on a loopback port until the test ends; with tlsConf
// it offers STARTTLS. It returns the address.
func Start(t testing.TB, sink *Sink, tlsConf *tls.Config) (string, *smtp.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), Serve(t, sink, ln, tlsConf)
}

// Serve serves sink on ln until the test ends (a server that comes back
// on the address a client was given).
func Serve(t testing.TB, sink *Sink, ln net.Listener, tlsConf *tls.Config) *smtp.Server {
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.TLSConfig = tlsConf
	srv.AllowInsecureAuth = tlsConf == nil
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return srv
}

// SelfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func SelfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
