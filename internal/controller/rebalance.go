package controller

import "time"

// due reports whether a periodic task of the active controller, run
// every interval and last at *last, is to run now, and if so sets *last.
// A controller that is not the ready active one, or an interval of 0,
// resets *last; the first run comes one interval after taking over, as
// Kafka schedules its periodic tasks. Loop goroutine only.
func (c *Controller) due(interval time.Duration, last *time.Time) bool {
	if interval <= 0 || c.leaderTerm > 0 || c.leader.Load() != c.cfg.NodeID {
		*last = time.Time{}
		return false
	}
	now := time.Now()
	if last.IsZero() {
		*last = now
		return false
	}
	if now.Sub(*last) < interval {
		return false
	}
	*last = now
	return true
}

// maybeRebalance runs, on the active controller, the preferred-leader
// rebalance of auto.leader.rebalance.enable every
// leader.imbalance.check.interval.seconds. Loop goroutine only, on each
// tick.
func (c *Controller) maybeRebalance() {
	if !c.due(c.cfg.LeaderImbalanceCheckInterval, &c.lastRebalance) {
		return
	}
	reply, err := c.proposeOwn(rebalanceLeaders(c.cfg.LeaderImbalancePercent))
	if err != nil {
		c.logger.Warn("leader rebalance failed", "err", err)
	} else if n, _ := reply.(int); n > 0 {
		c.logger.Info("moving leaders back to their preferred replicas", "partitions", n)
	}
}
