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

// markRecovering makes ch leave p RECOVERING, as an election from outside
// the ISR does (see AlterPartition for its end); a change of a partition
// already recovering leaves the state alone.
func markRecovering(ch *protocol.PartitionChangeRecord, p metadata.Partition) {
	if p.LeaderRecoveryState != metadata.Recovering {
		ch.LeaderRecoveryState = int8(metadata.Recovering)
	}
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
//     and the broker will lead it again when back (see electOffline);
//     with it true, the active controller elects another replica in the
//     same commit (see unclean.go).
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

// Election types of ElectLeaders.
const (
	ElectPreferred int8 = 0
	ElectUnclean   int8 = 1
)

// ElectTarget names partitions of one topic for ElectLeaders.
type ElectTarget struct {
	Topic      string
	Partitions []int32
}

// ElectResult is ElectLeaders' outcome for one partition.
type ElectResult struct {
	Topic     string
	Partition int32
	Err       *CommandError
}

// ElectLeaders elects leaders (the ElectLeaders API); the reply is
// []ElectResult. With targets nil it considers every partition and
// reports only those where an election was needed. A preferred election
// makes each partition's first replica its leader if it is in the ISR
// and unfenced (PREFERRED_LEADER_NOT_AVAILABLE otherwise,
// ELECTION_NOT_NEEDED if it leads already). An unclean election elects
// only where a partition has no leader: an in-sync replica if one is
// usable, else, as Kafka's, the first usable replica, which becomes the
// only member of the ISR (ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica
// is usable). As Kafka's, a leader from outside the ISR leaves the
// partition RECOVERING until the leader's next AlterPartition says it has
// recovered (see AlterPartition).
func ElectLeaders(electionType int8, targets []ElectTarget) Command {
	return newCommand(opElectLeaders, electLeadersArgs{electionType, targets}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		if electionType != ElectPreferred && electionType != ElectUnclean {
			return nil, nil, cmdErr(protocol.ErrInvalidRequest, "Unknown election type %d.", electionType)
		}
		var recs []metadata.Record
		var out []ElectResult
		elect := func(t *metadata.TopicImage, pid int32, p metadata.Partition, all bool) {
			rec, err := electOne(img, t, pid, p, electionType)
			if rec != nil {
				recs = append(recs, metadata.NewRecord(rec))
			}
			if all && err != nil && err.Code == protocol.ErrElectionNotNeeded {
				return
			}
			out = append(out, ElectResult{Topic: t.Name(), Partition: pid, Err: err})
		}
		if targets == nil {
			for t := range img.Topics.All() {
				for pid, p := range t.Partitions() {
					elect(t, pid, p, true)
				}
			}
			return recs, out, nil
		}
		for _, tg := range targets {
			t := img.TopicByName(tg.Topic)
			for _, pid := range tg.Partitions {
				var p metadata.Partition
				ok := t != nil
				if ok {
					p, ok = t.Partition(pid)
				}
				if !ok {
					out = append(out, ElectResult{Topic: tg.Topic, Partition: pid,
						Err: cmdErr(protocol.ErrUnknownTopicOrPartition, "The partition %s-%d does not exist.", tg.Topic, pid)})
					continue
				}
				elect(t, pid, p, false)
			}
		}
		return recs, out, nil
	})
}

// electOne decides one partition's election.
func electOne(img *metadata.Image, t *metadata.TopicImage, pid int32, p metadata.Partition, electionType int8) (*protocol.PartitionChangeRecord, *CommandError) {
	if electionType == ElectUnclean {
		if p.Leader != metadata.NoLeader {
			return nil, cmdErr(protocol.ErrElectionNotNeeded, "Leader election not needed for topic partition.")
		}
		for _, r := range p.Replicas {
			if slices.Contains(p.ISR, r) && usable(img, r, -1) {
				ch := partitionChange(t.ID(), pid)
				ch.Leader = r
				return ch, nil
			}
		}
		// No in-sync replica can lead: the first usable replica does,
		// alone in the ISR, whatever it lacks of the log (records the
		// old ISR acknowledged may be lost; the old members truncate to
		// the new leader's log when they come back).
		for _, r := range p.Replicas {
			if usable(img, r, -1) {
				ch := partitionChange(t.ID(), pid)
				ch.Leader, ch.Isr = r, []int32{r}
				markRecovering(ch, p)
				return ch, nil
			}
		}
		return nil, cmdErr(protocol.ErrEligibleLeadersNotAvailable,
			"No replica of %s-%d is available to lead.", t.Name(), pid)
	}
	if len(p.Replicas) == 0 {
		return nil, cmdErr(protocol.ErrPreferredLeaderNotAvailable, "The partition %s-%d has no replicas.", t.Name(), pid)
	}
	preferred := p.Replicas[0]
	if p.Leader == preferred {
		return nil, cmdErr(protocol.ErrElectionNotNeeded, "Leader election not needed for topic partition.")
	}
	if !slices.Contains(p.ISR, preferred) || !usable(img, preferred, -1) {
		return nil, cmdErr(protocol.ErrPreferredLeaderNotAvailable,
			"Failed to elect leader for partition %s-%d under strategy PreferredReplicaPartitionLeaderElectionStrategy", t.Name(), pid)
	}
	ch := partitionChange(t.ID(), pid)
	ch.Leader = preferred
	return ch, nil
}

// rebalanceLeaders is auto.leader.rebalance.enable's periodic check on
// the active controller: for every broker whose share of the partitions
// it prefers but does not lead is above imbalancePercent, it runs a
// preferred election on those partitions (where the preferred replica is
// in the ISR and unfenced). The reply is the number of elections.
func rebalanceLeaders(imbalancePercent int) Command {
	return CommandFunc(func(img *metadata.Image) ([]metadata.Record, any, error) {
		type share struct{ preferred, notLeading int }
		shares := map[int32]*share{}
		for t := range img.Topics.All() {
			for _, p := range t.Partitions() {
				if len(p.Replicas) == 0 {
					continue
				}
				s := shares[p.Replicas[0]]
				if s == nil {
					s = &share{}
					shares[p.Replicas[0]] = s
				}
				s.preferred++
				if p.Leader != p.Replicas[0] {
					s.notLeading++
				}
			}
		}
		var recs []metadata.Record
		for t := range img.Topics.All() {
			for pid, p := range t.Partitions() {
				if len(p.Replicas) == 0 || p.Leader == p.Replicas[0] {
					continue
				}
				s := shares[p.Replicas[0]]
				if s.notLeading*100 <= imbalancePercent*s.preferred {
					continue
				}
				if rec, err := electOne(img, t, pid, p, ElectPreferred); err == nil {
					recs = append(recs, metadata.NewRecord(rec))
				}
			}
		}
		return recs, len(recs), nil
	})
}
