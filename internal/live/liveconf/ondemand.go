package liveconf

import (
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
)

// defaults are video-server's (its README's example values).
func (o *OnDemand) defaults() {
	if o.IdleMs <= 0 {
		o.IdleMs = 30000
	}
	if o.HealthIntervalMs <= 0 {
		o.HealthIntervalMs = 30000
	}
	if o.HealthTimeoutMs <= 0 {
		o.HealthTimeoutMs = 3000
	}
}

// options sets the engine's on-demand options.
func (o *OnDemand) options(opt *live.Options) {
	opt.IdleTimeout = time.Duration(o.IdleMs) * time.Millisecond
	opt.HealthCheck = o.HealthCheck
	opt.HealthInterval = time.Duration(o.HealthIntervalMs) * time.Millisecond
	opt.HealthTimeout = time.Duration(o.HealthTimeoutMs) * time.Millisecond
}
