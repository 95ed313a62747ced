package group

import (
	"cmp"
	"slices"
)

// Read-only views of the coordinator for metrics and readiness. Each takes
// the coordinator's lock once, copies what it needs and lets go: no I/O,
// no clock, no timers fired, nothing called out while the lock is held. A
// view is as of the last event the state machines handled (a session past
// its deadline shows until the timer loop has removed it).

// Stats is a snapshot of the coordinator's partitions and groups.
type Stats struct {
	// Loading is the number of __consumer_offsets partitions handed to
	// Load whose load has not finished (and that Unload has not taken
	// back).
	Loading int
	// Loaded is the number of partitions loaded and coordinated here.
	Loaded int
	// GroupsByState counts the groups of the loaded partitions by state,
	// under Kafka's names: "Empty", "PreparingRebalance",
	// "CompletingRebalance", "Stable", "Dead". Every state has an entry,
	// zero included. A Dead group is one whose deletion is being written.
	GroupsByState map[string]int
	// Rebalances counts the generations formed over the coordinator's
	// life: each join phase that completed and incremented a group's
	// generation id, including one that left the group Empty. It never
	// decreases; loading a partition restores generations without
	// counting them.
	Rebalances uint64
	// Members is the number of members of the loaded groups; member ids
	// handed out with MEMBER_ID_REQUIRED and not yet used to join do not
	// count.
	Members int
}

// allStates lists the states in the order of groupState.
var allStates = [...]groupState{stateEmpty, statePreparingRebalance, stateCompletingRebalance, stateStable, stateDead}

// Stats returns a snapshot of the coordinator. It is safe to call from any
// goroutine at any time, also after Close (everything is unloaded then;
// Rebalances keeps its count).
func (c *Coordinator) Stats() Stats {
	var byState [len(allStates)]int
	var st Stats
	c.mu.Lock()
	st.Rebalances = c.mu.rebalances
	for _, p := range c.mu.parts {
		if p.shard == nil {
			st.Loading++
			continue
		}
		st.Loaded++
		for _, g := range p.shard.groups {
			byState[g.state]++
			st.Members += g.size()
		}
	}
	c.mu.Unlock()
	st.GroupsByState = make(map[string]int, len(allStates))
	for _, s := range allStates {
		st.GroupsByState[s.String()] = byState[s]
	}
	return st
}

// committedOffset is one committed offset as Committed copies it.
type committedOffset struct {
	group  string
	tp     topicPartition
	offset int64
}

// Committed calls visit with every committed offset of every group of the
// loaded partitions, ordered by group, topic and partition. The offsets
// are copied under the lock and visited without it, so visit may call the
// coordinator. An offset is committed once its record is durable, and
// stays until its tombstone is (OffsetDelete, DeleteGroups, retention); a
// group being deleted (Dead) shows none, as OffsetFetch answers.
func (c *Coordinator) Committed(visit func(group, topic string, partition int32, offset int64)) {
	c.mu.Lock()
	n := 0
	for _, p := range c.mu.parts {
		if p.shard == nil {
			continue
		}
		for _, g := range p.shard.groups {
			if !g.is(stateDead) {
				n += len(g.offsets)
			}
		}
	}
	out := make([]committedOffset, 0, n)
	for _, p := range c.mu.parts {
		if p.shard == nil {
			continue
		}
		for _, g := range p.shard.groups {
			if g.is(stateDead) {
				continue
			}
			for tp, e := range g.offsets {
				out = append(out, committedOffset{group: g.id, tp: tp, offset: e.offset})
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b committedOffset) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.tp.topic, b.tp.topic), cmp.Compare(a.tp.partition, b.tp.partition))
	})
	for _, o := range out {
		visit(o.group, o.tp.topic, o.tp.partition, o.offset)
	}
}

// Ready reports whether the coordinator answers for every partition handed
// to it: no Load is still in progress (a coordinator with no partition is
// ready), and it is not closed.
func (c *Coordinator) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return false
	}
	for _, p := range c.mu.parts {
		if p.shard == nil {
			return false
		}
	}
	return true
}
