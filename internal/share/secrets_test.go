package share

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		s := tok.String()
		if len(s) != TokenLen || seen[s] {
			t.Fatalf("token %q (len %d, seen %v)", s, len(s), seen[s])
		}
		seen[s] = true
		back, err := parseToken(s)
		if err != nil || back != tok {
			t.Fatalf("parse %q: %+v %v", s, back, err)
		}
		h := hashSecret(tok.Secret)
		if !secretMatches(tok.Secret, h) || secretMatches(tok.Secret+"x", h) || secretMatches(tok.Secret, h[:62]) || secretMatches(tok.Secret, "zz"+h[2:]) {
			t.Fatal("secretMatches")
		}
	}
	good, _ := newToken()
	for _, bad := range []string{"", good.String()[:35], good.String() + "A", strings.Repeat("=", 36), strings.Repeat("A", 35) + "/", strings.Repeat("A", 35) + "+"} {
		if _, err := parseToken(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
}

func TestPassphrases(t *testing.T) {
	ctx := context.Background()
	h, err := hashPassphrase(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassphrase(ctx, "correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || h == h2 {
		t.Errorf("hashes %q %q (salted, so different)", h, h2)
	}
	for _, c := range []struct {
		p    string
		want bool
	}{{"correct horse", true}, {"correct horse ", false}, {"Correct horse", false}, {"", false}} {
		if ok, err := passphraseMatches(ctx, c.p, h); err != nil || ok != c.want {
			t.Errorf("%q: %v %v", c.p, ok, err)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaA"} {
		if _, err := passphraseMatches(ctx, "x", bad); !errors.Is(err, errBadHash) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, c := range []struct {
		p  string
		ok bool
	}{{"abcdef", true}, {"abcde", false}, {"äöüßéè", true}, {strings.Repeat("x", MaxPassphraseBytes+1), false}, {"abc\xffdef", false}} {
		if err := checkPassphrase(c.p); (err == nil) != c.ok {
			t.Errorf("checkPassphrase(%q): %v", c.p, err)
		}
	}
}

// Only failures take tokens; a bucket that refilled is dropped once the
// map is large, so that memory stays bounded.
func TestLimiter(t *testing.T) {
	l := newLimiter(Limit{Burst: 2, Every: 10 * time.Second})
	now := time.Unix(1000, 0)
	if l.wait("a", now) != 0 {
		t.Fatal("a fresh key waits")
	}
	l.count("a", now)
	l.count("a", now)
	if d := l.wait("a", now); d != 10*time.Second {
		t.Errorf("after the burst: wait %v", d)
	}
	if d := l.wait("a", now.Add(4*time.Second)); d != 6*time.Second {
		t.Errorf("4 s later: wait %v", d)
	}
	if d := l.wait("a", now.Add(10*time.Second)); d != 0 {
		t.Errorf("10 s later: wait %v", d)
	}
	if l.wait("b", now) != 0 {
		t.Error("another key waits")
	}
	for i := range pruneAt {
		l.count(strings.Repeat("k", i+1), now)
	}
	if l.size() < pruneAt {
		t.Fatalf("%d keys kept", l.size())
	}
	l.count("new", now.Add(time.Hour)) // every older bucket has refilled
	if l.size() != 1 {
		t.Errorf("%d keys kept after pruning", l.size())
	}
}
