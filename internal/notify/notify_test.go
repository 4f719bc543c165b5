package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/events"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/smtpsink"
)

// --- the database and the app's events ---

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.OpenOptions{Path: filepath.Join(t.TempDir(), "clapshot.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range [][2]string{{"alice", "Alice A."}, {"bob", "Bob B."}, {"carol", "Carol"}, {"dave.x", "Dave"}} {
		if err := db.UpsertUser(context.Background(), u[0], u[1]); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

type inbox struct {
	mu  sync.Mutex
	got []events.Message
}

func (i *inbox) Publish(_ context.Context, m events.Message) {
	i.mu.Lock()
	i.got = append(i.got, m)
	i.mu.Unlock()
}

func (i *inbox) to(user string) []events.Message {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []events.Message
	for _, m := range i.got {
		if m.UserID == user {
			out = append(out, m)
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run starts a dispatcher until the test ends.
func run(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("dispatcher stopped with %v", err)
		}
	})
}

func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"@bob look", []string{"bob"}},
		{"hey @bob and @carol, and @bob again", []string{"bob", "carol"}},
		{"mail bob@example.com is not a mention", nil},
		{"(@dave.x) end with a full stop @alice.", []string{"dave.x", "alice"}},
		{"@Ünïcode_name-1", []string{"Ünïcode_name-1"}},
		{"@", nil},
	} {
		if got := Mentions(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Mentions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRecipients: the owner, the parent's author and mentioned users each
// get one notification of the strongest kind, the author none, and each
// user's choices are applied.
func TestRecipients(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	box := &inbox{}
	n := &Notifier{Store: db, Events: box, EmailEnabled: true,
		MediaURL: func(id string) string { return "https://review.example/?vid=" + id }}
	set := store.DefaultNotify("carol")
	set.OnMention = false
	if err := db.PutNotifySettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	set = store.DefaultNotify("bob")
	set.Email, set.EmailEnabled = "bob@example.com", true
	set.WebhookURL = "https://hooks.example/b"
	if err := db.PutNotifySettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	n.CommentAdded(ctx, CommentAdded{MediaFileID: "ab12cd34", MediaTitle: "cut 3", MediaOwnerID: "alice",
		CommentID: 9, Text: "@bob @carol @ALICE @nobody look at this", Timecode: "00:00:01:00",
		AuthorID: "dave.x", AuthorName: "Dave", ParentAuthorID: "bob"})

	if got := box.to("alice"); len(got) != 1 || got[0].Text != `Dave mentioned you in a comment on "cut 3"` ||
		got[0].MediaFileID != "ab12cd34" || *got[0].CommentID != 9 {
		t.Errorf("alice (owner, mentioned) got %+v", got)
	}
	if got := box.to("bob"); len(got) != 1 || !strings.HasPrefix(got[0].Text, "Dave mentioned you") {
		t.Errorf("bob (parent's author, mentioned) got %+v", got)
	}
	if got := box.to("carol"); len(got) != 0 {
		t.Errorf("carol turned mentions off but got %+v", got)
	}
	if got := box.to("dave.x"); len(got) != 0 {
		t.Errorf("the author was told of their own comment: %+v", got)
	}
	dels, err := db.ListDeliveries(ctx, "bob", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != 2 || dels[1].Channel != ChannelEmail || dels[0].Channel != ChannelWebhook {
		t.Fatalf("bob's deliveries: %+v", dels)
	}
	var p Payload
	if err := json.Unmarshal([]byte(dels[0].Payload), &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != EventMention || p.MediaFile.URL != "https://review.example/?vid=ab12cd34" || !p.Comment.IsReply ||
		p.Comment.Timecode != "00:00:01:00" || !strings.Contains(p.Text, "look at this") {
		t.Errorf("payload: %+v", p)
	}
	// A guest's comment (no author id) on alice's media notifies alice.
	n.CommentAdded(ctx, CommentAdded{MediaFileID: "ab12cd34", MediaOwnerID: "alice", CommentID: 10,
		Text: "nice", AuthorName: "Gail (guest)"})
	if got := box.to("alice"); len(got) != 2 || got[1].Text != `Gail (guest) commented on "ab12cd34"` {
		t.Errorf("alice after a guest comment: %+v", got)
	}
}

func TestEmailDelivery(t *testing.T) {
	tlsConf, pool := smtpsink.SelfSigned(t)
	for _, tc := range []struct {
		name     string
		tls      bool
		url      string
		wantTLS  bool
		wantUser string
	}{
		{name: "plain, loopback", url: "smtp://%s"},
		{name: "starttls with login", tls: true, url: "smtp://mailer:s3cret@%s?tls=required", wantTLS: true, wantUser: "mailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &smtpsink.Sink{}
			var conf *tls.Config
			if tc.tls {
				conf, sink.Users = tlsConf, map[string]string{"mailer": "s3cret"}
			}
			addr, _ := smtpsink.Start(t, sink, conf)
			m, err := NewMailer(strings.Replace(tc.url, "%s", addr, 1), "Clapshot <noreply@review.example>")
			if err != nil {
				t.Fatal(err)
			}
			m.TLSConfig = &tls.Config{RootCAs: pool}
			db := openDB(t)
			ctx := context.Background()
			set := store.DefaultNotify("bob")
			set.Email, set.EmailEnabled = "Bob <bob@example.com>", true
			db.PutNotifySettings(ctx, set)
			d := &Dispatcher{Store: db, Mailer: m, Poll: 50 * time.Millisecond}
			n := &Notifier{Store: db, EmailEnabled: true, Wake: d.Wake}
			run(t, d)
			n.CommentAdded(ctx, CommentAdded{MediaFileID: "ab12cd34", MediaTitle: "Ünïcode cut\r\nBcc: x@evil", MediaOwnerID: "bob",
				CommentID: 1, Text: "line one\nline two = ok", AuthorID: "alice", AuthorName: "Alice A."})
			eventually(t, "an e-mail", func() bool { return len(sink.Messages()) == 1 })
			got := sink.Messages()[0]
			if got.From != "noreply@review.example" || !slices.Equal(got.To, []string{"bob@example.com"}) ||
				got.TLS != tc.wantTLS || got.User != tc.wantUser {
				t.Errorf("envelope %+v", got)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(got.Msg.Header.Get("Subject"))
			if err != nil || subject != `[Clapshot] Alice A. commented on "Ünïcode cut Bcc: x@evil"` {
				t.Errorf("subject %q, %v", subject, err)
			}
			if got.Msg.Header.Get("Bcc") != "" {
				t.Error("a header was injected through the title")
			}
			if !strings.Contains(got.Body, "    line one\r\n    line two = ok") {
				t.Errorf("body %q", got.Body)
			}
			eventually(t, "the delivery recorded as done", func() bool {
				ds, _ := db.ListDeliveries(ctx, "bob", store.Page{})
				return len(ds) == 1 && ds[0].State == store.DeliveryDone && ds[0].Attempts == 1
			})
		})
	}
}

// TestEmailFaults: a server that is down, one that says "later", one that
// says "never", and a password over plain text to a remote host.
func TestEmailFaults(t *testing.T) {
	ctx := context.Background()
	queue := func(t *testing.T, db *store.DB) {
		t.Helper()
		set := store.DefaultNotify("bob")
		set.Email, set.EmailEnabled = "bob@example.com", true
		db.PutNotifySettings(ctx, set)
		(&Notifier{Store: db, EmailEnabled: true}).CommentAdded(ctx, CommentAdded{MediaFileID: "m", MediaOwnerID: "bob",
			CommentID: 1, Text: "x", AuthorID: "alice", AuthorName: "alice"})
	}
	fast := func(int) time.Duration { return 50 * time.Millisecond }
	state := func(db *store.DB) store.Delivery {
		ds, _ := db.ListDeliveries(ctx, "bob", store.Page{})
		if len(ds) != 1 {
			return store.Delivery{}
		}
		return ds[0]
	}

	t.Run("down, then up", func(t *testing.T) {
		// Reserve a port, close it: nothing listens there yet.
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		db := openDB(t)
		queue(t, db)
		m, _ := NewMailer("smtp://"+addr, "noreply@x.example")
		d := &Dispatcher{Store: db, Mailer: m, Backoff: fast, Poll: 50 * time.Millisecond}
		run(t, d)
		eventually(t, "failed attempts", func() bool { return state(db).Attempts >= 2 })
		if del := state(db); del.State != store.DeliveryQueued || !strings.Contains(del.LastError, "connection refused") {
			t.Fatalf("while down: %+v", del)
		}
		sink := &smtpsink.Sink{}
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s taken meanwhile: %v", addr, err)
		}
		smtpsink.Serve(t, sink, ln2, nil)
		eventually(t, "delivery after the server came back", func() bool { return len(sink.Messages()) == 1 })
	})

	t.Run("4xx is retried, 5xx is final", func(t *testing.T) {
		sink := &smtpsink.Sink{Refuse: 2}
		addr, _ := smtpsink.Start(t, sink, nil)
		db := openDB(t)
		queue(t, db)
		m, _ := NewMailer("smtp://"+addr, "noreply@x.example")
		d := &Dispatcher{Store: db, Mailer: m, Backoff: fast, Poll: 50 * time.Millisecond}
		run(t, d)
		eventually(t, "delivery on the third attempt", func() bool { return state(db).State == store.DeliveryDone })
		if del := state(db); del.Attempts != 3 {
			t.Errorf("attempts %d, want 3", del.Attempts)
		}

		sink2 := &smtpsink.Sink{Reject: true}
		addr2, _ := smtpsink.Start(t, sink2, nil)
		db2 := openDB(t)
		queue(t, db2)
		m2, _ := NewMailer("smtp://"+addr2, "noreply@x.example")
		run(t, &Dispatcher{Store: db2, Mailer: m2, Backoff: fast, Poll: 50 * time.Millisecond})
		eventually(t, "the delivery given up", func() bool { return state(db2).State == store.DeliveryFailed })
		if del := state(db2); del.Attempts != 1 || !strings.Contains(del.LastError, "550") {
			t.Errorf("after a 550: %+v", del)
		}
	})

	t.Run("bad configuration", func(t *testing.T) {
		for _, bad := range []struct{ url, from, want string }{
			{"http://mail.example", "a@b.example", "smtp:// or smtps://"},
			{"smtp://", "a@b.example", "no host"},
			{"smtp://mail.example?starttls=maybe", "a@b.example", `unknown option "starttls"`},
			{"smtp://mail.example", "", "sender address"},
			{"smtp://mail.example", "not an address", "sender address"},
			{"smtp://u:hunter2@mail.example?x=1", "a@b.example", "unknown option"},
		} {
			_, err := NewMailer(bad.url, bad.from)
			if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("NewMailer(%q, %q) = %v, want an error with %q and no password", bad.url, bad.from, err, bad.want)
			}
		}
	})
}

// TestPasswordNeedsTLS: without TLS a password only goes to a server on
// this machine (a login to the loopback test server works; the rule for
// other hosts is checked on the decision itself, since tests reach only
// loopback).
func TestPasswordNeedsTLS(t *testing.T) {
	sink := &smtpsink.Sink{Users: map[string]string{"u": "p"}}
	addr, _ := smtpsink.Start(t, sink, nil)
	m, _ := NewMailer("smtp://u:p@"+addr, "noreply@x.example")
	if err := m.Send(context.Background(), "bob@example.com", "s", "b"); err != nil {
		t.Fatalf("login over plain text to loopback: %v", err)
	}
	if len(sink.Messages()) != 1 || sink.Messages()[0].User != "u" {
		t.Errorf("received %+v", sink.Messages())
	}
	for _, tc := range []struct {
		host      string
		encrypted bool
		want      bool
	}{
		{"mail.example.com", false, false},
		{"192.0.2.10", false, false},
		{"mail.example.com", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"localhost", false, true},
	} {
		if got := mayLogin(tc.host, tc.encrypted); got != tc.want {
			t.Errorf("mayLogin(%q, %v) = %v", tc.host, tc.encrypted, got)
		}
	}
}

// TestWebhooks: signed calls, a hanging endpoint, retries on 500, final
// on 404, and no calls to internal addresses unless allowed.
func TestWebhooks(t *testing.T) {
	ctx := context.Background()
	type call struct {
		sig, event, delivery string
		body                 []byte
	}
	var mu sync.Mutex
	var calls []call
	status := []int{500, 200}
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{r.Header.Get(HeaderSignature), r.Header.Get(HeaderEvent), r.Header.Get(HeaderDelivery), body})
		code := 404
		if r.URL.Path == "/ok" && len(status) > 0 {
			code, status = status[0], status[1:]
		}
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	defer close(hang)

	setHook := func(db *store.DB, user, url string) string {
		s := store.DefaultNotify(user)
		s.WebhookURL, s.WebhookSecret = url, NewSecret()
		if err := db.PutNotifySettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s.WebhookSecret
	}
	db := openDB(t)
	secret := setHook(db, "bob", srv.URL+"/ok?token=abc")
	setHook(db, "carol", srv.URL+"/hang")
	setHook(db, "alice", srv.URL+"/gone")
	d := &Dispatcher{Store: db, Webhooks: &Webhooks{AllowPrivate: true, Timeout: 300 * time.Millisecond},
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }, Poll: 50 * time.Millisecond, MaxAttempts: 3}
	n := &Notifier{Store: db, Wake: d.Wake}
	run(t, d)
	n.CommentAdded(ctx, CommentAdded{MediaFileID: "m1", MediaOwnerID: "alice", CommentID: 5, Text: "@bob @carol hi",
		AuthorID: "dave.x", AuthorName: "Dave"})

	get := func(user string) store.Delivery {
		ds, _ := db.ListDeliveries(ctx, user, store.Page{})
		if len(ds) == 0 {
			return store.Delivery{}
		}
		return ds[0]
	}
	eventually(t, "bob's webhook delivered after a 500", func() bool { return get("bob").State == store.DeliveryDone })
	eventually(t, "alice's 404 given up", func() bool { return get("alice").State == store.DeliveryFailed })
	eventually(t, "carol's hanging endpoint given up after 3 attempts", func() bool { return get("carol").State == store.DeliveryFailed })
	if del := get("bob"); del.Attempts != 2 {
		t.Errorf("bob: %+v", del)
	}
	if del := get("alice"); del.Attempts != 1 || !strings.Contains(del.LastError, "404") {
		t.Errorf("alice: %+v", del)
	}
	if del := get("carol"); del.Attempts != 3 || !strings.Contains(del.LastError, "deadline") {
		t.Errorf("carol: %+v", del)
	}
	if strings.Contains(get("bob").LastError+get("alice").LastError+get("carol").LastError, "/hang") ||
		strings.Contains(get("bob").LastError, "token=abc") {
		t.Error("a webhook token leaked into an error")
	}
	// The signature verifies with bob's secret, over the exact body.
	mu.Lock()
	defer mu.Unlock()
	var bobs []call
	for _, c := range calls {
		if strings.Contains(string(c.body), `"recipient":"bob"`) {
			bobs = append(bobs, c)
		}
	}
	if len(bobs) != 2 {
		t.Fatalf("%d calls for bob, want 2", len(bobs))
	}
	c := bobs[1]
	ts, mac, _ := strings.Cut(strings.TrimPrefix(c.sig, "t="), ",v1=")
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "."))
	h.Write(c.body)
	if !hmac.Equal([]byte(hex.EncodeToString(h.Sum(nil))), []byte(mac)) {
		t.Errorf("signature %q does not verify", c.sig)
	}
	if c.event != EventMention || c.delivery == "" {
		t.Errorf("headers: event %q delivery %q", c.event, c.delivery)
	}
}

func TestWebhookRefusesInternalAddresses(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer srv.Close()
	w := &Webhooks{}
	err := w.Send(context.Background(), srv.URL, "s", EventComment, 1, []byte("{}"))
	var perm *PermanentError
	if err == nil || !errors.As(err, &perm) || !strings.Contains(err.Error(), "not public") || hit {
		t.Errorf("a call to %s: %v (reached: %v)", srv.URL, err, hit)
	}
	for _, bad := range []string{"ftp://x.example/", "file:///etc/passwd", "http://", "::"} {
		if err := CheckURL(bad); err == nil {
			t.Errorf("CheckURL(%q) accepted it", bad)
		}
	}
}

// TestRestartLosesNothing: deliveries queued before a restart go out from
// the next process's dispatcher.
func TestRestartLosesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clapshot.sqlite")
	db, err := store.Open(ctx, store.OpenOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	db.UpsertUser(ctx, "bob", "bob")
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	s := store.DefaultNotify("bob")
	s.WebhookURL = srv.URL
	db.PutNotifySettings(ctx, s)
	n := &Notifier{Store: db}
	for i := range 3 {
		n.CommentAdded(ctx, CommentAdded{MediaFileID: "m", MediaOwnerID: "bob", CommentID: int64(i), Text: "x", AuthorID: "a", AuthorName: "a"})
	}
	db.Close() // the server stops before sending anything

	db2, err := store.Open(ctx, store.OpenOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	run(t, &Dispatcher{Store: db2, Webhooks: &Webhooks{AllowPrivate: true}, Poll: 50 * time.Millisecond})
	eventually(t, "3 deliveries after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })
}

// TestInstancesDeliverEachOnce: two server instances on one PostgreSQL
// database (two pools, two dispatchers) share the outbox; every delivery
// is sent once, by one of them, none twice.
func TestInstancesDeliverEachOnce(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, store.OpenOptions{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // an endpoint that takes a moment: the instances overlap
		mu.Lock()
		got[r.Header.Get(HeaderDelivery)]++
		mu.Unlock()
	}))
	defer srv.Close()
	if err := db1.UpsertUser(ctx, "bob", "Bob"); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for range n {
		if _, err := db1.QueueDelivery(ctx, store.Delivery{UserID: "bob", Channel: ChannelWebhook, Target: srv.URL + "/hook",
			Event: "comment", Payload: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []*store.DB{db1, db2} {
		run(t, &Dispatcher{Store: db, Webhooks: &Webhooks{AllowPrivate: true}, Poll: 20 * time.Millisecond})
	}
	eventually(t, "every delivery done", func() bool {
		ds, _ := db2.ListDeliveries(ctx, "bob", store.Page{})
		done := 0
		for _, d := range ds {
			if d.State == store.DeliveryDone {
				done++
			}
		}
		return done == n
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Errorf("%d distinct deliveries received, want %d", len(got), n)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("delivery %s sent %d times", id, c)
		}
	}
}
