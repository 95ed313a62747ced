package controller

import (
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
)

// Broker sessions, kept by the active controller only (Kafka's
// BrokerHeartbeatManager): every unfenced broker must send a heartbeat
// (BrokerHeartbeat, or its registration or unfencing) within
// broker.session.timeout.ms, or the controller fences it, which moves its
// leaderships. Sessions live in memory: a controller that takes over
// starts every broker's session afresh, so a failover fences no one
// early.

// brokerSession is what the active controller knows of one broker's
// liveness.
type brokerSession struct {
	epoch   int64
	last    time.Time
	fencing bool // a FenceBroker for this epoch is proposed
}

// HeartbeatReply is BrokerHeartbeat's reply.
type HeartbeatReply struct {
	// Fenced tells the broker it must catch up and ask to be unfenced.
	Fenced bool
	// MetadataOffset is the active controller's metadata offset: a broker
	// whose image has reached it has caught up.
	MetadataOffset int64
}

// BrokerHeartbeat keeps broker id's session at epoch alive; the reply is
// a HeartbeatReply. It writes nothing. BROKER_ID_NOT_REGISTERED for an
// unknown broker, STALE_BROKER_EPOCH for another epoch: the broker must
// register again.
func BrokerHeartbeat(id int32, epoch int64) Command {
	return newCommand(opBrokerHeartbeat, brokerEpochArgs{id, epoch}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		b, err := brokerAt(img, id, epoch)
		if err != nil {
			return nil, nil, err
		}
		return nil, HeartbeatReply{Fenced: b.Fenced, MetadataOffset: img.Offset}, nil
	})
}

// proposeOwn proposes a command of the active controller's own (a
// fencing, a rebalance): it reports the reply if it was proposed, or why
// not. It commits later; nobody waits for it. Loop goroutine only.
func (c *Controller) proposeOwn(cmd Command) (any, error) {
	p := &proposal{cmd: cmd, done: make(chan result, 1)}
	c.propose(p)
	select {
	case r := <-p.done:
		return r.reply, r.err
	default:
		return p.reply, nil
	}
}

// noteSession records the heartbeat that a command just run (on the
// leader) stands for, and returns its reply: a heartbeat's carries the
// committed metadata offset, which the broker can wait for (the
// uncommitted image's offset is provisional). Loop goroutine only.
func (c *Controller) noteSession(cmd Command, reply any) any {
	if r, ok := reply.(HeartbeatReply); ok {
		r.MetadataOffset = c.image.Load().Offset
		reply = r
	}
	var id int32
	var epoch int64
	switch cmd.op {
	case opBrokerHeartbeat, opUnfenceBroker:
		a := cmd.args.(brokerEpochArgs)
		id, epoch = a.ID, a.Epoch
	case opRegisterBroker:
		id, epoch = cmd.args.(BrokerRegistration).ID, reply.(int64)
	default:
		return reply
	}
	s := c.sessions[id]
	if s == nil || s.epoch != epoch {
		s = &brokerSession{epoch: epoch}
		c.sessions[id] = s
	}
	s.last = time.Now()
	return reply
}

// checkSessions fences, on the active controller, every unfenced broker
// whose session expired. Loop goroutine only, on each tick.
func (c *Controller) checkSessions() {
	if c.cfg.SessionTimeout <= 0 {
		return
	}
	now := time.Now()
	prev := c.lastSessionCheck
	c.lastSessionCheck = now
	if c.leaderTerm > 0 || c.leader.Load() != c.cfg.NodeID {
		return
	}
	if stalled := now.Sub(prev); !prev.IsZero() && stalled > c.cfg.SessionTimeout/2 {
		// This controller itself did not run for a while (the process was
		// paused or starved): the brokers' silence may be its own. Give
		// every session a fresh start rather than fence them all.
		c.logger.Warn("controller stalled; restarting broker sessions", "stalled_for", stalled.Round(time.Millisecond))
		for _, s := range c.sessions {
			s.last = now
		}
	}
	for _, b := range c.uncommitted.Brokers() {
		s := c.sessions[b.ID]
		if b.Fenced {
			if s != nil {
				s.fencing = false
			}
			continue
		}
		if s == nil || s.epoch != b.Epoch {
			start := now
			if s == nil && !c.sessionsFrom.IsZero() {
				start = c.sessionsFrom
			}
			c.sessions[b.ID] = &brokerSession{epoch: b.Epoch, last: start}
			continue
		}
		if s.fencing || now.Sub(s.last) <= c.cfg.SessionTimeout {
			continue
		}
		s.fencing = true
		c.logger.Warn("fencing broker: no heartbeat within the session timeout", "broker_id", b.ID, "broker_epoch", b.Epoch,
			"silent_for", now.Sub(s.last).Round(time.Millisecond))
		if _, err := c.proposeOwn(FenceBroker(b.ID, b.Epoch)); err != nil {
			s.fencing = false // not proposed: try again at the next tick
		}
	}
}

// resetSessions forgets every session: called when leadership changes
// hands. A new active controller starts every broker's session when it
// last heard from the previous leader — until then brokers had a leader
// to send heartbeats to — so that a broker that died with the old
// controller is fenced a session timeout after it died, not after the
// election that followed. A live broker must find the new controller,
// though: every session lasts at least a quarter of the timeout past the
// election (at most a session if the last contact is unknown).
func (c *Controller) resetSessions() {
	clear(c.sessions)
	now := time.Now()
	c.sessionsFrom = now
	if c.lastLeaderContact.IsZero() {
		return
	}
	earliest := now.Add(-c.cfg.SessionTimeout + c.cfg.SessionTimeout/4)
	from := c.lastLeaderContact
	if from.Before(earliest) {
		from = earliest
	}
	if from.Before(now) {
		c.sessionsFrom = from
	}
}
