package metadata

import (
	"cmp"
	"maps"
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TopicChange is a topic a delta created, or whose partitions it added to
// or changed.
type TopicChange struct {
	Name    string
	ID      protocol.UUID
	Created bool
	// Partitions are the partitions added or changed, ascending.
	Partitions []int32
}

// RemovedTopic is a topic of the base image that a delta removed.
type RemovedTopic struct {
	Name string
	ID   protocol.UUID
}

func compareNameID(an, bn string, aid, bid protocol.UUID) int {
	return cmp.Or(cmp.Compare(an, bn), slices.Compare(aid[:], bid[:]))
}

// ChangedTopics returns the topics the delta created or changed, by name.
// A topic removed and created again under the same name appears both here
// (with its new id) and in RemovedTopics.
func (d *Delta) ChangedTopics() []TopicChange {
	out := make([]TopicChange, 0, len(d.topics))
	for id, tc := range d.topics {
		out = append(out, TopicChange{
			Name:       tc.topic.name,
			ID:         id,
			Created:    tc.created,
			Partitions: slices.Sorted(maps.Keys(tc.changed)),
		})
	}
	slices.SortFunc(out, func(a, b TopicChange) int { return compareNameID(a.Name, b.Name, a.ID, b.ID) })
	return out
}

// RemovedTopics returns the base image's topics the delta removed, by name.
// A topic both created and removed by the delta is in neither list.
func (d *Delta) RemovedTopics() []RemovedTopic {
	out := make([]RemovedTopic, 0, len(d.removed))
	for id, t := range d.removed {
		out = append(out, RemovedTopic{Name: t.name, ID: id})
	}
	slices.SortFunc(out, func(a, b RemovedTopic) int { return compareNameID(a.Name, b.Name, a.ID, b.ID) })
	return out
}

// ChangedBrokers returns, ascending, the ids of the brokers the delta
// registered, changed or unregistered. Fencing a fenced broker, and other
// records that leave a registration as it was, are no change.
func (d *Delta) ChangedBrokers() []int32 { return slices.Sorted(maps.Keys(d.brokers)) }

// ChangedConfigs returns the resources whose configuration records touched,
// by type then name, including the configuration a topic removal cleared.
func (d *Delta) ChangedConfigs() []ConfigResource {
	return slices.SortedFunc(maps.Keys(d.configs), compareResources)
}

// ChangedFeatures returns the features whose level records set, ascending.
func (d *Delta) ChangedFeatures() []string { return slices.Sorted(maps.Keys(d.features)) }

// ProducerIDsChanged reports whether a ProducerIdsRecord was replayed.
func (d *Delta) ProducerIDsChanged() bool { return d.producerIDsChanged }

// LocalChanges is what a delta asks of one broker's replicas (Kafka's
// LocalReplicaChanges, without directory moves).
type LocalChanges struct {
	// Deletes are the partitions the broker was a replica of and no longer
	// is, its topic's removal included: their logs go.
	Deletes []TopicPartition
	// Leaders are the partitions the broker leads that are new or whose
	// partition epoch changed.
	Leaders []LocalPartition
	// Followers are the partitions the broker is a replica of but does not
	// lead that are new or whose partition epoch changed.
	Followers []LocalPartition
}

// LocalPartition is a partition a broker must (re)configure its replica of.
type LocalPartition struct {
	TopicPartition
	State Partition
	// Elected is set for a leader whose leader epoch changed (or a new
	// partition): the broker becomes leader, rather than a leader seeing
	// its ISR or replicas change.
	Elected bool
}

// LocalChanges returns the replica changes the delta makes on broker, as
// Kafka's TopicsDelta.localChanges: sorted by topic, id and partition.
func (d *Delta) LocalChanges(broker int32) LocalChanges {
	var lc LocalChanges
	for id, tc := range d.topics {
		var prevTopic *TopicImage
		if !tc.created {
			prevTopic = d.base.Topics.ByID(id)
		}
		for p := range tc.changed {
			cur := tc.topic.partitions[p]
			var prev *Partition
			if prevTopic != nil {
				prev = prevTopic.partitions[p]
			}
			tp := TopicPartition{Topic: tc.topic.name, TopicID: id, Partition: p}
			switch {
			case !cur.HasReplica(broker):
				if prev != nil && prev.HasReplica(broker) {
					lc.Deletes = append(lc.Deletes, tp)
				}
			case prev != nil && prev.PartitionEpoch == cur.PartitionEpoch:
			case cur.Leader == broker:
				elected := prev == nil || prev.LeaderEpoch != cur.LeaderEpoch
				lc.Leaders = append(lc.Leaders, LocalPartition{TopicPartition: tp, State: *cur, Elected: elected})
			default:
				lc.Followers = append(lc.Followers, LocalPartition{TopicPartition: tp, State: *cur})
			}
		}
	}
	for id, t := range d.removed {
		for p, part := range t.partitions {
			if part.HasReplica(broker) {
				lc.Deletes = append(lc.Deletes, TopicPartition{Topic: t.name, TopicID: id, Partition: p})
			}
		}
	}
	slices.SortFunc(lc.Deletes, compareTopicPartitions)
	byTP := func(a, b LocalPartition) int { return compareTopicPartitions(a.TopicPartition, b.TopicPartition) }
	slices.SortFunc(lc.Leaders, byTP)
	slices.SortFunc(lc.Followers, byTP)
	return lc
}
