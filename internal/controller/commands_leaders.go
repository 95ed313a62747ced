package controller

import (
	"slices"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Leadership changes that follow a broker's state, as Kafka's controller
// makes them (ReplicationControlManager): they are records of the command
// that changes the broker, committed with it.

// partitionChange is a PartitionChangeRecord with nothing changed yet.
func partitionChange(topicID protocol.UUID, p int32) *protocol.PartitionChangeRecord {
	return &protocol.PartitionChangeRecord{PartitionID: p, TopicID: topicID, Leader: -2, LeaderRecoveryState: -1}
}

// usable reports whether broker id can lead or be in an ISR in img: it is
// registered and unfenced, and not the one leaving.
func usable(img *metadata.Image, id, leaving int32) bool {
	if id == leaving {
		return false
	}
	b, ok := img.Broker(id)
	return ok && !b.Fenced && !b.InControlledShutdown
}

// leaveBroker returns the records that take broker id out of service in
// every partition of img (a broker fenced, shutting down, or registering
// again with a new incarnation):
//   - out of each ISR where it is not the only member;
//   - each partition it leads gets the first replica (in preference
//     order) that is in the ISR and usable as its leader, with a new
//     leader epoch;
//   - a partition whose ISR has no other usable member loses its leader
//     (NoLeader) and keeps the broker in its ISR: with
//     unclean.leader.election.enable false, only an ISR member may lead,
//     and the broker will lead it again when back (see electOffline).
func leaveBroker(img *metadata.Image, id int32) []metadata.Record {
	var recs []metadata.Record
	for t := range img.Topics.All() {
		for pid, p := range t.Partitions() {
			inISR := slices.Contains(p.ISR, id)
			if !inISR && p.Leader != id {
				continue
			}
			ch := partitionChange(t.ID(), pid)
			isr := p.ISR
			if inISR && len(p.ISR) > 1 {
				isr = slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return r == id })
				ch.Isr = isr
			}
			if p.Leader == id {
				ch.Leader = metadata.NoLeader
				for _, r := range p.Replicas {
					if slices.Contains(isr, r) && usable(img, r, id) {
						ch.Leader = r
						break
					}
				}
			}
			if ch.Isr == nil && ch.Leader == -2 {
				continue
			}
			recs = append(recs, metadata.NewRecord(ch))
		}
	}
	return recs
}

// electOffline returns the records that make broker id, back in service,
// the leader of every partition that has none and holds it in its ISR.
func electOffline(img *metadata.Image, id int32) []metadata.Record {
	var recs []metadata.Record
	for t := range img.Topics.All() {
		for pid, p := range t.Partitions() {
			if p.Leader == metadata.NoLeader && slices.Contains(p.ISR, id) {
				ch := partitionChange(t.ID(), pid)
				ch.Leader = id
				recs = append(recs, metadata.NewRecord(ch))
			}
		}
	}
	return recs
}
