package controller

import (
	"strconv"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Automatic unclean leader election (unclean.leader.election.enable=true),
// as Kafka's controller makes it: a partition left without a leader, whose
// in-sync replicas are all out of service, takes its first usable replica
// as leader, alone in the ISR. What the old ISR acknowledged and the new
// leader lacks is lost; the old members truncate to the new leader's log
// when they come back.
//
// The active controller makes these elections in the same entry as the
// change that calls for them (a broker fenced, unfenced or registered, a
// partition left leaderless, the key set; Kafka waits for its next check
// for the key), and checks every unclean.leader.election.interval.ms
// besides, the first check one interval after it takes over, as Kafka's.

const uncleanKey = "unclean.leader.election.enable"

// uncleanEnabled reports whether topic elects uncleanly in img: its own
// unclean.leader.election.enable, else the active controller's dynamic
// broker config, else the cluster-wide default, else the controller's
// static configuration (Kafka's order for the controller's view of a
// topic's configuration).
func uncleanEnabled(img *metadata.Image, topic string, static bool, controller int32) bool {
	for _, kv := range []map[string]string{img.TopicConfigs(topic), img.BrokerConfigs(controller), img.BrokerDefaultConfigs()} {
		if v, ok := kv[uncleanKey]; ok {
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
	}
	return static
}

// uncleanElections returns the elections automatic unclean leader election
// makes in img: every leaderless partition of a topic that elects
// uncleanly gets an in-sync replica if one is usable, else its first
// usable replica alone in the ISR (see electOne). Partitions no replica
// of which is usable stay leaderless.
func uncleanElections(img *metadata.Image, static bool, controller int32) []metadata.Record {
	var recs []metadata.Record
	for t := range img.Topics.All() {
		checked, enabled := false, false
		for pid, p := range t.Partitions() {
			if p.Leader != metadata.NoLeader {
				continue
			}
			if !checked {
				checked, enabled = true, uncleanEnabled(img, t.Name(), static, controller)
			}
			if !enabled {
				break
			}
			if rec, err := electOne(img, t, pid, p, ElectUnclean); err == nil {
				recs = append(recs, metadata.NewRecord(rec))
			}
		}
	}
	return recs
}

// mayCallForUnclean reports whether recs may leave a partition that an
// unclean election could give a leader: a broker's state changes, a
// partition loses its leader, or the key is set somewhere.
func mayCallForUnclean(recs []metadata.Record) bool {
	for _, r := range recs {
		switch m := r.Message.(type) {
		case *protocol.FenceBrokerRecord, *protocol.UnfenceBrokerRecord, *protocol.RegisterBrokerRecord, *protocol.BrokerRegistrationChangeRecord:
			return true
		case *protocol.PartitionChangeRecord:
			if m.Leader == metadata.NoLeader {
				return true
			}
		case *protocol.ConfigRecord:
			if m.Name == uncleanKey {
				return true
			}
		}
	}
	return false
}

// withUncleanElections returns recs, and next (the image they make),
// with the unclean elections they call for appended. Loop goroutine
// only, on the active controller.
func (c *Controller) withUncleanElections(recs []metadata.Record, next *metadata.Image) ([]metadata.Record, *metadata.Image, error) {
	if !mayCallForUnclean(recs) {
		return recs, next, nil
	}
	more := uncleanElections(next, c.cfg.UncleanLeaderElection, int32(c.cfg.NodeID))
	if len(more) == 0 {
		return recs, next, nil
	}
	c.logUnclean(more)
	recs = append(recs[:len(recs):len(recs)], more...)
	next, err := c.uncommitted.Apply(c.uncommitted.Offset+1, recs)
	return recs, next, err
}

// maybeElectUnclean runs the unclean elections every
// UncleanElectionCheckInterval on the active controller. Loop goroutine
// only, on each tick.
func (c *Controller) maybeElectUnclean() {
	if !c.due(c.cfg.UncleanElectionCheckInterval, &c.lastUncleanCheck) {
		return
	}
	static, node := c.cfg.UncleanLeaderElection, int32(c.cfg.NodeID)
	var made []metadata.Record
	_, err := c.proposeOwn(CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		made = uncleanElections(img, static, node)
		return made, nil, nil
	}))
	if err != nil {
		c.logger.Warn("unclean leader election failed", "err", err)
		return
	}
	c.logUnclean(made)
}

// logUnclean logs each election of recs that took a leader from outside
// the ISR (the others elected an in-sync replica). Loop goroutine only.
func (c *Controller) logUnclean(recs []metadata.Record) {
	for _, r := range recs {
		if ch, ok := r.Message.(*protocol.PartitionChangeRecord); ok && ch.Isr != nil {
			name := ""
			if t := c.uncommitted.TopicByID(ch.TopicID); t != nil {
				name = t.Name()
			}
			c.logger.Error("elected a leader uncleanly: records the old in-sync replicas acknowledged may be lost",
				"topic", name, "partition", ch.PartitionID, "leader", ch.Leader)
		}
	}
}
