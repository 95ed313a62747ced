package metadata

import (
	"cmp"
	"iter"
	"maps"
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// NoLeader is a partition's leader when it has none.
const NoLeader int32 = -1

// noLeaderChange is PartitionChangeRecord.Leader when the leader is unchanged.
const noLeaderChange int32 = -2

// LeaderRecoveryState says whether a partition's leader was elected
// uncleanly and is still recovering (KIP-704).
type LeaderRecoveryState int8

const (
	// Recovered: the leader came from the ISR, or finished recovering from
	// an unclean election.
	Recovered LeaderRecoveryState = 0
	// Recovering: the leader was elected uncleanly and is recovering.
	Recovering LeaderRecoveryState = 1
)

// noRecoveryChange is PartitionChangeRecord.LeaderRecoveryState when the
// state is unchanged.
const noRecoveryChange int8 = -1

func (s LeaderRecoveryState) String() string {
	switch s {
	case Recovered:
		return "recovered"
	case Recovering:
		return "recovering"
	}
	return "invalid"
}

// Partition is a partition's registration, Kafka's PartitionRegistration.
//
// The slices are shared by every image holding the partition: they are
// never modified once in an image, and readers must not modify them
// either. Empty lists are nil.
type Partition struct {
	// Replicas is the replica set in preference order; Replicas[0] is the
	// preferred leader.
	Replicas []int32
	// Directories is the log directory of each replica, in the order of
	// Replicas, or nil when no replica has one assigned. The zero UUID is
	// Kafka's DirectoryId.MIGRATING: not yet known.
	Directories []protocol.UUID
	ISR         []int32
	// RemovingReplicas and AddingReplicas are set during a reassignment.
	RemovingReplicas []int32
	AddingReplicas   []int32
	// ELR and LastKnownELR are the eligible leader replicas and the last
	// known ones (KIP-966).
	ELR          []int32
	LastKnownELR []int32
	// Leader is the leader's broker id, or NoLeader.
	Leader              int32
	LeaderRecoveryState LeaderRecoveryState
	// LeaderEpoch is bumped by every leader election; PartitionEpoch by
	// every change of any field.
	LeaderEpoch    int32
	PartitionEpoch int32
}

// HasReplica reports whether broker is one of the partition's replicas.
func (p *Partition) HasReplica(broker int32) bool { return slices.Contains(p.Replicas, broker) }

// Directory returns the log directory of broker's replica: the zero UUID
// (migrating) when none is assigned, and false when broker is no replica.
func (p *Partition) Directory(broker int32) (protocol.UUID, bool) {
	i := slices.Index(p.Replicas, broker)
	if i < 0 {
		return protocol.UUID{}, false
	}
	if p.Directories == nil {
		return protocol.UUID{}, true
	}
	return p.Directories[i], true
}

// TopicImage is one topic: its name, id and partitions. It is immutable;
// an image that changes a topic holds a new TopicImage sharing the
// unchanged partitions.
type TopicImage struct {
	name       string
	id         protocol.UUID
	partitions map[int32]*Partition
}

// Name returns the topic's name.
func (t *TopicImage) Name() string { return t.name }

// ID returns the topic's id.
func (t *TopicImage) ID() protocol.UUID { return t.id }

// NumPartitions returns how many partitions the topic has.
func (t *TopicImage) NumPartitions() int { return len(t.partitions) }

// Partition returns partition p.
func (t *TopicImage) Partition(p int32) (Partition, bool) {
	if part, ok := t.partitions[p]; ok {
		return *part, true
	}
	return Partition{}, false
}

// PartitionIDs returns the topic's partition indexes in ascending order.
func (t *TopicImage) PartitionIDs() []int32 {
	return slices.Sorted(maps.Keys(t.partitions))
}

// Partitions yields the topic's partitions in ascending index order.
func (t *TopicImage) Partitions() iter.Seq2[int32, Partition] {
	return func(yield func(int32, Partition) bool) {
		for _, p := range t.PartitionIDs() {
			if !yield(p, *t.partitions[p]) {
				return
			}
		}
	}
}

// clone returns a copy of t whose partitions map may be modified.
func (t *TopicImage) clone() *TopicImage {
	c := *t
	c.partitions = maps.Clone(t.partitions)
	if c.partitions == nil {
		c.partitions = make(map[int32]*Partition)
	}
	return &c
}

// TopicsImage holds every topic, by name and by id. A nil *TopicsImage is
// empty.
type TopicsImage struct {
	byID   map[protocol.UUID]*TopicImage
	byName map[string]*TopicImage
}

// Len returns the number of topics.
func (t *TopicsImage) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byID)
}

// ByName returns the topic named name, or nil.
func (t *TopicsImage) ByName(name string) *TopicImage {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

// ByID returns the topic with id, or nil.
func (t *TopicsImage) ByID(id protocol.UUID) *TopicImage {
	if t == nil {
		return nil
	}
	return t.byID[id]
}

// Names returns the topic names in ascending order.
func (t *TopicsImage) Names() []string {
	if t == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(t.byName))
}

// All yields the topics in ascending name order.
func (t *TopicsImage) All() iter.Seq[*TopicImage] {
	return func(yield func(*TopicImage) bool) {
		for _, name := range t.Names() {
			if !yield(t.byName[name]) {
				return
			}
		}
	}
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	TopicID   protocol.UUID
	Partition int32
}

func compareTopicPartitions(a, b TopicPartition) int {
	return cmp.Or(
		cmp.Compare(a.Topic, b.Topic),
		slices.Compare(a.TopicID[:], b.TopicID[:]),
		cmp.Compare(a.Partition, b.Partition),
	)
}

// newPartition builds the registration a PartitionRecord describes, as
// Kafka's PartitionRegistration(PartitionRecord) does. The record's slices
// are copied: the caller keeps ownership of the record.
func newPartition(r *protocol.PartitionRecord) (*Partition, error) {
	if r.PartitionID < 0 {
		return nil, invalid(r, "negative partition id %d", r.PartitionID)
	}
	if r.LeaderRecoveryState != int8(Recovered) && r.LeaderRecoveryState != int8(Recovering) {
		return nil, invalid(r, "leader recovery state %d", r.LeaderRecoveryState)
	}
	p := &Partition{
		Replicas:            cloneInts(r.Replicas),
		ISR:                 cloneInts(r.Isr),
		RemovingReplicas:    cloneInts(r.RemovingReplicas),
		AddingReplicas:      cloneInts(r.AddingReplicas),
		ELR:                 cloneInts(r.EligibleLeaderReplicas),
		LastKnownELR:        cloneInts(r.LastKnownElr),
		Leader:              r.Leader,
		LeaderRecoveryState: LeaderRecoveryState(r.LeaderRecoveryState),
		LeaderEpoch:         r.LeaderEpoch,
		PartitionEpoch:      r.PartitionEpoch,
	}
	dirs, err := directories(r, r.Directories, len(p.Replicas))
	if err != nil {
		return nil, err
	}
	p.Directories = dirs
	return p, nil
}

// merge returns p changed by a PartitionChangeRecord, following Kafka's
// PartitionRegistration.merge: a null list leaves the field unchanged;
// Leader -2 leaves the leader and its epoch unchanged while any other value
// (-1 included, and the current leader too) sets it and bumps the leader
// epoch; LeaderRecoveryState -1 leaves it unchanged; and every change bumps
// the partition epoch.
func (p *Partition) merge(r *protocol.PartitionChangeRecord) (*Partition, error) {
	n := *p
	if r.Replicas != nil {
		n.Replicas = cloneInts(r.Replicas)
	}
	if r.Isr != nil {
		n.ISR = cloneInts(r.Isr)
	}
	if r.RemovingReplicas != nil {
		n.RemovingReplicas = cloneInts(r.RemovingReplicas)
	}
	if r.AddingReplicas != nil {
		n.AddingReplicas = cloneInts(r.AddingReplicas)
	}
	if r.EligibleLeaderReplicas != nil {
		n.ELR = cloneInts(r.EligibleLeaderReplicas)
	}
	if r.LastKnownElr != nil {
		n.LastKnownELR = cloneInts(r.LastKnownElr)
	}
	if r.Leader != noLeaderChange {
		n.Leader = r.Leader
		n.LeaderEpoch++
	}
	switch r.LeaderRecoveryState {
	case noRecoveryChange:
	case int8(Recovered), int8(Recovering):
		n.LeaderRecoveryState = LeaderRecoveryState(r.LeaderRecoveryState)
	default:
		return nil, invalid(r, "leader recovery state %d", r.LeaderRecoveryState)
	}
	if r.Directories != nil {
		dirs, err := directories(r, r.Directories, len(n.Replicas))
		if err != nil {
			return nil, err
		}
		n.Directories = dirs
	} else if n.Directories != nil && len(n.Directories) != len(n.Replicas) {
		// Kafka keeps the old directories, which no longer match.
		return nil, invalid(r, "%d replicas but the partition has %d directories",
			len(n.Replicas), len(n.Directories))
	}
	n.PartitionEpoch++
	return &n, nil
}

// directories returns the directories a record sets for n replicas: nil when
// it lists none or only the zero UUID (Kafka's defaultToMigrating), else a
// copy; a non-empty list must have one entry per replica.
func directories(r protocol.MetadataRecord, dirs []protocol.UUID, n int) ([]protocol.UUID, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	if len(dirs) != n {
		return nil, invalid(r, "%d directories for %d replicas", len(dirs), n)
	}
	if !slices.ContainsFunc(dirs, func(u protocol.UUID) bool { return u != protocol.UUID{} }) {
		return nil, nil
	}
	return slices.Clone(dirs), nil
}

// cloneInts copies a list, normalizing empty to nil.
func cloneInts(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
