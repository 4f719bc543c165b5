package share

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a rate limit on wrong passphrases: Burst attempts at once, then
// one per Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Default limits on wrong passphrases. Per client: 5, then one a minute.
// Per link, from all clients together: 10, then one every 30 seconds
// (2 880 guesses a day, each an argon2id run), so that many addresses
// cannot guess faster either. A link under attack also keeps its real
// guests out until the guessing stops; revoke it and make another.
var (
	DefaultClientLimit = Limit{Burst: 5, Every: time.Minute}
	DefaultLinkLimit   = Limit{Burst: 10, Every: 30 * time.Second}
	// DefaultJoinLimit bounds the guests one client can become (each is a
	// row): 20, then one every 30 seconds.
	DefaultJoinLimit = Limit{Burst: 20, Every: 30 * time.Second}
)

// limiter keeps a token bucket per key (client address, link id). Only
// what is limited takes a token (a wrong passphrase, a guest made); a
// request is refused while its bucket is empty, the right passphrase
// included (or guessing would go on). A bucket that
// has filled up again is the same as a new one, so it is dropped when the
// map grows: memory stays bounded by the keys that failed recently.
type limiter struct {
	limit Limit
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// pruneAt is the map size from which full buckets are dropped.
const pruneAt = 1024

func newLimiter(l Limit) *limiter {
	return &limiter{limit: l, m: map[string]*rate.Limiter{}}
}

// wait is how long key must wait before its next attempt (0: it may try
// now). It takes nothing.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(l.limit.Every)))
}

// count takes a token from key's bucket.
func (l *limiter) count(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= pruneAt {
			for k, v := range l.m {
				if v.TokensAt(now) >= float64(l.limit.Burst) {
					delete(l.m, k)
				}
			}
		}
		b = rate.NewLimiter(rate.Every(l.limit.Every), l.limit.Burst)
		l.m[key] = b
	}
	b.AllowN(now, 1)
}

// size is the number of buckets kept (for tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
