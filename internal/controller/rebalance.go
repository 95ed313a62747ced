package controller

import "time"

// maybeRebalance runs, on the active controller, the preferred-leader
// rebalance of auto.leader.rebalance.enable every
// leader.imbalance.check.interval.seconds. Loop goroutine only, on each
// tick.
func (c *Controller) maybeRebalance() {
	if c.cfg.LeaderImbalanceCheckInterval <= 0 || c.leaderTerm > 0 || c.leader.Load() != c.cfg.NodeID {
		c.lastRebalance = time.Time{}
		return
	}
	now := time.Now()
	if c.lastRebalance.IsZero() {
		c.lastRebalance = now // the first check comes one interval after taking over
		return
	}
	if now.Sub(c.lastRebalance) < c.cfg.LeaderImbalanceCheckInterval {
		return
	}
	c.lastRebalance = now
	reply, err := c.proposeOwn(rebalanceLeaders(c.cfg.LeaderImbalancePercent))
	if err != nil {
		c.logger.Warn("leader rebalance failed", "err", err)
	} else if n, _ := reply.(int); n > 0 {
		c.logger.Info("moving leaders back to their preferred replicas", "partitions", n)
	}
}
