package replica

import "time"

// PreferredReadReplica is the replica a consumer in clientRack should
// read partition p from instead of this broker, its leader, as Kafka's
// RackAwareReplicaSelector picks it (KIP-392). The candidates are the
// leader and the in-sync followers whose log holds offset or ends at it,
// those in the client's rack. It returns none (-1) when the leader is one
// of them or none is, else the one with the furthest log end, then the
// one caught up most recently, then the highest id. rackOf gives a
// broker's rack ("" for none, or for a broker the client cannot reach).
// It returns -1 as well when this broker does not lead p or clientRack is
// empty.
func (p *Partition) PreferredReadReplica(offset int64, clientRack string, rackOf func(int32) string, now time.Time) int32 {
	if clientRack == "" {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.ls
	if s == nil || rackOf(s.leader) == clientRack {
		return -1
	}
	best := int32(-1)
	var bestEnd int64
	var bestSince time.Duration
	for _, id := range s.isr {
		f, ok := s.followers[id]
		if !ok || f.end < offset || f.logStart > offset || rackOf(id) != clientRack {
			continue
		}
		since := now.Sub(f.lastCaughtUp)
		if best < 0 || f.end > bestEnd || f.end == bestEnd && (since < bestSince || since == bestSince && id > best) {
			best, bestEnd, bestSince = id, f.end, since
		}
	}
	return best
}
