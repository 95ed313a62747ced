package controller

import (
	"slices"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Partition reassignment (KIP-455), as Kafka's controller runs it: a
// reassignment to a target replica set T of a partition with replicas R
// (those of a reassignment under way included, which T replaces) makes
// the replicas T followed by the rest of R, with AddingReplicas T−R and
// RemovingReplicas R−T. The adding replicas fetch from the leader like
// any follower and join the ISR when caught up; the ISR change that makes
// every replica of T in sync completes the reassignment (at once, if T is
// in sync already): the replicas become T, the ISR its members in T, and
// a leader outside T hands over to the first replica of T in the ISR.
// Until then every replica of R stays, in the ISR if it was.

// Reassignment is one partition's target for AlterPartitionReassignments;
// Replicas nil cancels an ongoing reassignment.
type Reassignment struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

// ReassignResult is a partition's outcome.
type ReassignResult struct {
	Topic     string
	Partition int32
	Err       *CommandError
}

// AlterPartitionReassignments starts or cancels reassignments; the reply
// is []ReassignResult, one per request entry.
func AlterPartitionReassignments(reqs []Reassignment) Command {
	return newCommandIn(opAlterReassignments, reqs, func(img *metadata.Image, e env) ([]metadata.Record, any, error) {
		var recs []metadata.Record
		out := make([]ReassignResult, 0, len(reqs))
		for _, r := range reqs {
			res := ReassignResult{Topic: r.Topic, Partition: r.Partition}
			t := img.TopicByName(r.Topic)
			var p metadata.Partition
			ok := t != nil
			if ok {
				p, ok = t.Partition(r.Partition)
			}
			if !ok {
				res.Err = cmdErr(protocol.ErrUnknownTopicOrPartition, "The partition %s-%d does not exist.", r.Topic, r.Partition)
				out = append(out, res)
				continue
			}
			rec, err := reassign(img, e, t, r.Partition, p, r.Replicas)
			if err != nil {
				res.Err = err
			} else if rec != nil {
				recs = append(recs, metadata.NewRecord(rec))
			}
			out = append(out, res)
		}
		return recs, out, nil
	})
}

// reassign returns the change that starts (or cancels, target nil)
// partition p's reassignment, nil if none is needed.
func reassign(img *metadata.Image, e env, t *metadata.TopicImage, pid int32, p metadata.Partition, target []int32) (*protocol.PartitionChangeRecord, *CommandError) {
	topicID := t.ID()
	ongoing := len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
	if target == nil {
		if !ongoing {
			return nil, cmdErr(protocol.ErrNoReassignmentInProgress, "No reassignment is in progress for the partition.")
		}
		// Back to the replicas before it: the current ones without the
		// adding ones.
		orig := slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return slices.Contains(p.AddingReplicas, r) })
		if ch := settle(img, topicID, pid, p, orig); ch != nil {
			return ch, nil
		}
		return uncleanRevert(img, e, t, pid, p, orig)
	}
	if len(target) == 0 {
		return nil, cmdErr(protocol.ErrInvalidReplicaAssignment, "The target replica set is empty.")
	}
	for i, r := range target {
		if slices.Contains(target[:i], r) {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment, "The target replica set %v lists broker %d twice.", target, r)
		}
		if _, ok := img.Broker(r); !ok {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment, "Broker %d is not registered.", r)
		}
	}
	// As Kafka's controller computes it (PartitionReassignmentReplicas),
	// the target is compared with the replicas the partition has now, a
	// reassignment under way included: a new target replaces it, and
	// what that one was adding and the new one leaves out is removed in
	// turn, once the new target is in sync.
	current := p.Replicas
	if slices.Equal(target, current) {
		return nil, nil // nothing to move, or the merged replicas of the reassignment under way
	}
	replicas := slices.Clone(target)
	var adding, removing []int32
	for _, r := range current {
		if !slices.Contains(target, r) {
			replicas = append(replicas, r)
			removing = append(removing, r)
		}
	}
	for _, r := range target {
		if !slices.Contains(current, r) {
			adding = append(adding, r)
		}
	}
	next := p
	next.Replicas, next.AddingReplicas, next.RemovingReplicas = replicas, adding, removing
	if len(adding) == 0 && len(removing) == 0 {
		// A reorder of the replicas.
		if ongoing {
			next.AddingReplicas, next.RemovingReplicas = p.AddingReplicas, p.RemovingReplicas
		} else {
			ch := partitionChange(topicID, pid)
			ch.Replicas = replicas
			return ch, nil
		}
	}
	// Every current replica stays until the reassignment completes, so
	// the ISR and the leader do too; a target already in sync (only
	// removals, or a new target of replicas caught up) completes now.
	if done := completeReassignment(img, topicID, pid, next, p.ISR); done != nil {
		return done, nil
	}
	ch := partitionChange(topicID, pid)
	ch.Replicas, ch.AddingReplicas, ch.RemovingReplicas = replicas, nonNil(next.AddingReplicas), nonNil(next.RemovingReplicas)
	return ch, nil
}

// settle returns the change that makes replicas final: the ISR keeps its
// members among them, the reassignment lists are cleared, and a leader
// outside them (or none) hands over to the first of them in the ISR
// that is usable.
func settle(img *metadata.Image, topicID protocol.UUID, pid int32, p metadata.Partition, replicas []int32) *protocol.PartitionChangeRecord {
	ch := partitionChange(topicID, pid)
	ch.Replicas = slices.Clone(replicas)
	ch.AddingReplicas, ch.RemovingReplicas = []int32{}, []int32{}
	isr := slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return !slices.Contains(replicas, r) })
	if len(isr) == 0 {
		// No member of the ISR stays: keep the ISR as it is rather than
		// empty it (the partition keeps its data on the old replicas).
		return nil
	}
	ch.Isr = isr
	if !slices.Contains(isr, p.Leader) {
		ch.Leader = metadata.NoLeader
		for _, r := range replicas {
			if slices.Contains(isr, r) && usable(img, r, -1) {
				ch.Leader = r
				break
			}
		}
	}
	return ch
}

// uncleanRevert is the cancellation of a reassignment whose ISR holds
// only adding replicas: as Kafka's, allowed only where the topic elects
// uncleanly, it makes the first original replica the ISR, and its leader
// if it is usable. Otherwise, in the same record, the first usable
// original replica leads, alone in the ISR and RECOVERING (an unclean
// election); with none usable the partition is left without a leader.
func uncleanRevert(img *metadata.Image, e env, t *metadata.TopicImage, pid int32, p metadata.Partition, orig []int32) (*protocol.PartitionChangeRecord, *CommandError) {
	if len(orig) == 0 || !uncleanEnabled(img, t.Name(), e.uncleanLeaderElection, e.nodeID) {
		return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
			"Unable to revert the assignment of %s-%d: no in-sync replica is among the original replicas %v, and it would need an unclean leader election.", t.Name(), pid, orig)
	}
	ch := partitionChange(t.ID(), pid)
	ch.Replicas, ch.AddingReplicas, ch.RemovingReplicas = slices.Clone(orig), []int32{}, []int32{}
	ch.Isr, ch.Leader = []int32{orig[0]}, metadata.NoLeader
	for i, r := range orig {
		if !usable(img, r, -1) {
			continue
		}
		ch.Isr, ch.Leader = []int32{r}, r
		if i > 0 {
			markRecovering(ch, p)
		}
		break
	}
	return ch, nil
}

// completeReassignment returns the change that completes p's
// reassignment once isr holds every replica of its target (the replicas
// less the removing ones), as Kafka's maybeCompleteReassignment, or nil.
func completeReassignment(img *metadata.Image, topicID protocol.UUID, pid int32, p metadata.Partition, isr []int32) *protocol.PartitionChangeRecord {
	if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
		return nil
	}
	target := slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return slices.Contains(p.RemovingReplicas, r) })
	for _, r := range target {
		if !slices.Contains(isr, r) {
			return nil
		}
	}
	q := p
	q.ISR = isr
	return settle(img, topicID, pid, q, target)
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// OngoingReassignment is a partition being reassigned.
type OngoingReassignment struct {
	Topic            string
	Partition        int32
	Replicas         []int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// ListReassignments returns the ongoing reassignments of img, of the
// named partitions only when topics is not nil.
func ListReassignments(img *metadata.Image, topics map[string][]int32) []OngoingReassignment {
	var out []OngoingReassignment
	for _, name := range img.Topics.Names() {
		want, named := topics[name]
		if topics != nil && !named {
			continue
		}
		t := img.TopicByName(name)
		for pid, p := range t.Partitions() {
			if topics != nil && !slices.Contains(want, pid) {
				continue
			}
			if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
				continue
			}
			out = append(out, OngoingReassignment{Topic: name, Partition: pid, Replicas: slices.Clone(p.Replicas),
				AddingReplicas: slices.Clone(p.AddingReplicas), RemovingReplicas: slices.Clone(p.RemovingReplicas)})
		}
	}
	slices.SortFunc(out, func(a, b OngoingReassignment) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out
}
