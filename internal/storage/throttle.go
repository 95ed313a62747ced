package storage

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/ctxtime"
)

// throttler bounds the rate of the cleaner's I/O
// (log.cleaner.io.max.bytes.per.second), shared by every cleaner thread.
// Callers report the bytes they read or wrote; once per check interval
// the throttler compares the bytes since the last check with the time
// since, and sleeps long enough to bring the rate back to the bound. The
// sleep happens under its lock, so the threads wait together and the
// bound holds for their sum.
type throttler struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu          sync.Mutex
	rate        float64 // bytes per second; +Inf or ≤ 0 means no bound
	periodStart time.Time
	bytes       int64
}

// throttleCheckInterval is how often the rate is measured.
const throttleCheckInterval = 300 * time.Millisecond

func newThrottler(rate float64, now func() time.Time) *throttler {
	if now == nil {
		now = time.Now
	}
	return &throttler{rate: rate, now: now, sleep: ctxtime.Sleep, periodStart: now()}
}

// wait accounts n bytes and sleeps if the rate is above the bound. It
// returns ctx's error if ctx ends while it sleeps.
func (t *throttler) wait(ctx context.Context, n int64) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 || math.IsInf(t.rate, 1) {
		return nil
	}
	t.bytes += n
	now := t.now()
	elapsed := now.Sub(t.periodStart)
	if elapsed < throttleCheckInterval {
		return nil
	}
	var err error
	if float64(t.bytes)/elapsed.Seconds() > t.rate {
		d := time.Duration(float64(t.bytes)/t.rate*float64(time.Second)) - elapsed
		if d > 0 {
			err = t.sleep(ctx, d)
			now = now.Add(d)
		}
	}
	t.periodStart, t.bytes = now, 0
	return err
}

// setRate changes the bound (Kafka's Throttler.updateDesiredRatePerSec);
// the bytes counted so far are measured against the new one.
func (t *throttler) setRate(rate float64) {
	t.mu.Lock()
	t.rate = rate
	t.mu.Unlock()
}
