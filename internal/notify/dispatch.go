package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
)

// DispatchStore is what the Dispatcher needs from the database.
type DispatchStore interface {
	// ClaimDeliveries takes due deliveries for one attempt, leased so
	// that no other server instance takes them meanwhile.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error)
	NextDeliveryDue(ctx context.Context) (time.Time, bool, error)
	// ReleaseDelivery makes a claimed delivery that was cut short by a
	// shutdown due again at once.
	ReleaseDelivery(ctx context.Context, id int64, now time.Time) error
	DeliveryDone(ctx context.Context, id int64, at time.Time) error
	DeliveryFailed(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error
	GetNotifySettings(ctx context.Context, userID string) (store.NotifySettings, error)
}

// Dispatcher sends queued deliveries until its context ends.
type Dispatcher struct {
	Store DispatchStore
	// Mailer is nil without an SMTP server: e-mails then fail for good.
	Mailer   *Mailer
	Webhooks *Webhooks
	Log      *slog.Logger
	// MaxAttempts before a delivery is given up (default 12: about a
	// day with the default backoff).
	MaxAttempts int
	// Backoff is the wait after the n-th failed attempt (default: 30 s
	// doubling to at most 4 h, with ±20 % jitter).
	Backoff func(attempt int) time.Duration
	// Parallel deliveries at once (default 4), so one hanging endpoint
	// does not hold up the rest.
	Parallel int
	// Poll is the longest wait between looks at the queue (default 30 s),
	// which also picks up rows queued by another process.
	Poll time.Duration
	// Lease is how long a claimed delivery is kept from the other server
	// instances (default 10 minutes): a dispatcher that dies mid-attempt
	// leaves it to be sent by another after that.
	Lease time.Duration

	wakeOnce sync.Once
	wake     chan struct{}
}

func (d *Dispatcher) wakeCh() chan struct{} {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
	return d.wake
}

// Wake makes Run look at the queue now.
func (d *Dispatcher) Wake() {
	select {
	case d.wakeCh() <- struct{}{}:
	default:
	}
}

// DefaultBackoff is 30 s after the first failure, doubling up to 4 hours,
// with jitter so that many failures do not retry in step.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second << min(max(attempt-1, 0), 9)
	d = min(d, 4*time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Run sends due deliveries until ctx ends. Deliveries in flight when ctx
// ends are cut short and stay queued: they are attempted again later.
func (d *Dispatcher) Run(ctx context.Context) error {
	poll := d.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	wake := d.wakeCh()
	for {
		if err := d.sendDue(ctx); err != nil && ctx.Err() == nil {
			d.log().Error("Notifications: cannot read the queue", "err", err)
		}
		wait := poll
		if next, ok, err := d.Store.NextDeliveryDue(ctx); err == nil && ok {
			wait = min(poll, max(time.Until(next), 10*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// sendDue sends everything due now, Parallel at a time.
func (d *Dispatcher) sendDue(ctx context.Context) error {
	parallel := max(d.Parallel, 1)
	if d.Parallel == 0 {
		parallel = 4
	}
	for ctx.Err() == nil {
		due, err := d.Store.ClaimDeliveries(ctx, time.Now(), d.lease(), 64)
		if err != nil || len(due) == 0 {
			return err
		}
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for _, del := range due {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				d.deliver(ctx, del)
			}()
		}
		wg.Wait()
	}
	return nil
}

// deliver makes one attempt and records its outcome.
func (d *Dispatcher) deliver(ctx context.Context, del store.Delivery) {
	err := d.attempt(ctx, del)
	if ctx.Err() != nil {
		// Shutting down: left queued, due at once for another instance.
		if err := d.Store.ReleaseDelivery(context.WithoutCancel(ctx), del.ID, time.Now()); err != nil {
			d.log().Warn("Notifications: cannot give back a delivery cut short; it is retried when its lease ends", "delivery", del.ID, "err", err)
		}
		return
	}
	// Outcomes are recorded even if the shutdown starts now.
	rec := context.WithoutCancel(ctx)
	log := d.log().With("delivery", del.ID, "user", del.UserID, "channel", del.Channel, "event", del.Event)
	if err == nil {
		if err := d.Store.DeliveryDone(rec, del.ID, time.Now()); err != nil {
			log.Error("Notifications: sent, but cannot record it", "err", err)
		}
		log.Debug("Notification sent")
		return
	}
	attempts := del.Attempts + 1
	maxAttempts := d.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 12
	}
	var perm *PermanentError
	giveUp := errors.As(err, &perm) || attempts >= maxAttempts
	backoff := d.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	next := time.Now().Add(backoff(attempts))
	if err := d.Store.DeliveryFailed(rec, del.ID, err.Error(), next, giveUp); err != nil {
		log.Error("Notifications: cannot record a failed attempt", "err", err)
	}
	if giveUp {
		log.Warn("Notification given up", "attempts", attempts, "err", err)
	} else {
		log.Info("Notification failed; will retry", "attempts", attempts, "retry_at", next.Format(time.RFC3339), "err", err)
	}
}

func (d *Dispatcher) attempt(ctx context.Context, del store.Delivery) error {
	var p Payload
	if err := json.Unmarshal([]byte(del.Payload), &p); err != nil {
		return &PermanentError{fmt.Errorf("unreadable notification: %w", err)}
	}
	switch del.Channel {
	case ChannelEmail:
		if d.Mailer == nil {
			return &PermanentError{errors.New("no SMTP server is configured (--smtp-url)")}
		}
		subject, body := emailText(&p)
		return d.Mailer.Send(ctx, del.Target, subject, body)
	case ChannelWebhook:
		set, err := d.Store.GetNotifySettings(ctx, del.UserID)
		if err != nil {
			return err
		}
		hooks := d.Webhooks
		if hooks == nil {
			hooks = &Webhooks{}
		}
		return hooks.Send(ctx, del.Target, set.WebhookSecret, del.Event, del.ID, []byte(del.Payload))
	}
	return &PermanentError{fmt.Errorf("unknown channel %q", del.Channel)}
}

// lease is how long a claimed delivery is ours: longer than a batch of
// attempts can take (each is bounded by the mailer's and the webhooks'
// timeouts), so that only a dispatcher that died leaves it to another.
func (d *Dispatcher) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return 10 * time.Minute
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}
