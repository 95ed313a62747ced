package controller

// Commands of the active controller: each returns a Command that
// validates a request against the latest image (uncommitted changes
// included) and computes its records, following Kafka's
// ReplicationControlManager, ConfigurationControlManager,
// ProducerIdControlManager and ClusterControlManager.
//
// Requests that name several resources (CreateTopics, DeleteTopics,
// CreatePartitions, AlterConfigs) answer per resource, as Kafka does: one
// resource's failure is its result's Err and does not fail the others;
// the records of every resource that succeeded commit together. Requests
// about one thing (broker registration, producer ids) fail the command
// with a *CommandError.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// CommandError is a refusal with the Kafka error code a handler answers
// and a message for the client. It unwraps to its code, so
// errors.Is(err, protocol.ErrTopicAlreadyExists) works.
type CommandError struct {
	Code    protocol.ErrorCode
	Message string
}

func (e *CommandError) Error() string {
	if e.Message == "" {
		return e.Code.Name()
	}
	return e.Code.Name() + ": " + e.Message
}

// Unwrap returns the error code.
func (e *CommandError) Unwrap() error { return e.Code }

func cmdErr(code protocol.ErrorCode, format string, args ...any) *CommandError {
	return &CommandError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// maxPartitionsPerCommand bounds the partitions one command may create, so
// that a request cannot build an entry of unbounded size (Kafka bounds a
// user operation at 10000 records).
const maxPartitionsPerCommand = 10000

// maxTopicNameLength is Kafka's Topic.MAX_NAME_LENGTH.
const maxTopicNameLength = 249

// ValidTopicName reports whether name is a legal topic name under
// Kafka's rules; the error is a *CommandError with INVALID_TOPIC_EXCEPTION.
func ValidTopicName(name string) error {
	if err := validateTopicName(name); err != nil {
		return err
	}
	return nil
}

// validateTopicName applies Kafka's Topic.validate rules.
func validateTopicName(name string) *CommandError {
	switch {
	case name == "":
		return cmdErr(protocol.ErrInvalidTopicException, "Topic name is illegal, it can't be empty.")
	case name == "." || name == "..":
		return cmdErr(protocol.ErrInvalidTopicException, "Topic name cannot be \".\" or \"..\".")
	case len(name) > maxTopicNameLength:
		return cmdErr(protocol.ErrInvalidTopicException,
			"Topic name is illegal, it can't be longer than %d characters, topic name: %s", maxTopicNameLength, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return cmdErr(protocol.ErrInvalidTopicException,
				"Topic name %q is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

// collisionKey is the name with '.' and '_' unified: two topics whose keys
// are equal would collide in metric names (Kafka's Topic.unifyCollisionChars).
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// topicCollision returns the existing topic name colliding with name, if
// any. Only names with '.' or '_' can collide; the scan over every topic
// runs only for those.
func topicCollision(img *metadata.Image, extra map[string]bool, name string) (string, bool) {
	if !strings.ContainsAny(name, "._") {
		return "", false
	}
	key := collisionKey(name)
	for _, other := range img.Topics.Names() {
		if other != name && collisionKey(other) == key {
			return other, true
		}
	}
	for other := range extra {
		if other != name && collisionKey(other) == key {
			return other, true
		}
	}
	return "", false
}

// newTopicID returns a random topic id (never the zero or reserved ids)
// not used by any topic.
func newTopicID(img *metadata.Image) protocol.UUID {
	for {
		id := protocol.UUID(storage.RandomUUID())
		if img.TopicByID(id) == nil {
			return id
		}
	}
}

// liveBrokerIDs returns the unfenced brokers' ids, ascending.
func liveBrokerIDs(img *metadata.Image) []int32 {
	live := img.LiveBrokers()
	ids := make([]int32, len(live))
	for i, b := range live {
		ids[i] = b.ID
	}
	return ids
}

// placeOn assigns replicas to partitions first..first+count-1 over the
// brokers of img listed in live (ascending ids): rack-aware placement
// when the brokers name more than one rack (a broker without a rack is a
// rack of its own kind, ""), placeReplicas otherwise.
func placeOn(img *metadata.Image, live []int32, start, first, count, rf int) [][]int32 {
	racks := make(map[int32]string, len(live))
	distinct := map[string]bool{}
	for _, id := range live {
		if b, ok := img.Broker(id); ok && b.Rack != nil {
			racks[id] = *b.Rack
		}
		distinct[racks[id]] = true
	}
	if len(distinct) < 2 {
		return placeReplicas(live, start, first, count, rf)
	}
	return placeReplicasByRack(live, racks, start, first, count, rf)
}

// placeReplicasByRack is rack-aware placement. The brokers are put in an
// order that alternates racks (the first broker of each rack, in rack
// order, then the second of each, …); leaders rotate over that order as
// in placeReplicas, so they spread over racks too. A partition's
// followers are taken from the brokers after its leader in that order, at
// a shift that changes every n partitions, skipping brokers whose rack
// already holds a replica until every rack holds one.
func placeReplicasByRack(brokers []int32, racks map[int32]string, start, first, count, rf int) [][]int32 {
	byRack := map[string][]int32{}
	var names []string
	for _, b := range brokers {
		r := racks[b]
		if byRack[r] == nil {
			names = append(names, r)
		}
		byRack[r] = append(byRack[r], b)
	}
	slices.Sort(names)
	var order []int32
	for i := 0; len(order) < len(brokers); i++ {
		for _, r := range names {
			if i < len(byRack[r]) {
				order = append(order, byRack[r][i])
			}
		}
	}
	n := len(order)
	out := make([][]int32, count)
	for i := range count {
		p := first + i
		leader := (start + p) % n
		replicas := []int32{order[leader]}
		used := map[string]bool{racks[order[leader]]: true}
		if n > 1 {
			shift := (start + p/n) % (n - 1)
			// Two sweeps over the other brokers: the first takes only
			// racks without a replica, the second whatever is left.
			for sweep := 0; sweep < 2 && len(replicas) < rf; sweep++ {
				for k := 0; k < n-1 && len(replicas) < rf; k++ {
					b := order[(leader+1+(shift+k)%(n-1))%n]
					if slices.Contains(replicas, b) || sweep == 0 && used[racks[b]] && len(used) < len(byRack) {
						continue
					}
					replicas = append(replicas, b)
					used[racks[b]] = true
				}
			}
		}
		out[i] = replicas
	}
	return out
}

// placeReplicas assigns replicas to partitions first..first+count-1 over
// brokers (ascending ids), as Kafka's rack-unaware assignment does: the
// leader of partition p is brokers[(start+p) mod n], and followers follow it
// at a shift that changes every n partitions, so that follower sets vary.
// Replicas of a partition are distinct. rf must be in 1..len(brokers).
func placeReplicas(brokers []int32, start, first, count, rf int) [][]int32 {
	n := len(brokers)
	out := make([][]int32, count)
	for i := range count {
		p := first + i
		leader := (start + p) % n
		replicas := make([]int32, rf)
		replicas[0] = brokers[leader]
		if n > 1 {
			shift := (start + p/n) % (n - 1)
			for j := 1; j < rf; j++ {
				replicas[j] = brokers[(leader+1+(shift+j-1)%(n-1))%n]
			}
		}
		out[i] = replicas
	}
	return out
}

// checkReplicationFactor reports whether rf replicas can be placed on the
// live brokers.
func checkReplicationFactor(live []int32, rf int) *CommandError {
	if rf > len(live) {
		return cmdErr(protocol.ErrInvalidReplicationFactor,
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered and unfenced.",
			rf, rf, len(live))
	}
	return nil
}

// checkAssignment validates one partition's manual replica list: not
// empty, no broker twice, every broker registered, and rf replicas when
// rf > 0. It returns the replicas that are unfenced, in order.
func checkAssignment(img *metadata.Image, partition int32, replicas []int32, rf int) ([]int32, *CommandError) {
	if len(replicas) == 0 {
		return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
			"The manual partition assignment includes an empty replica list.")
	}
	if rf > 0 && len(replicas) != rf {
		return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
			"The manual partition assignment includes a partition with %d replica(s), but this is inconsistent with previous partitions, which have %d replica(s).",
			len(replicas), rf)
	}
	var live []int32
	seen := make(map[int32]bool, len(replicas))
	for _, b := range replicas {
		if seen[b] {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
				"The manual partition assignment includes the broker %d more than once.", b)
		}
		seen[b] = true
		reg, ok := img.Broker(b)
		if !ok {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
				"The manual partition assignment includes broker %d, but no such broker is registered.", b)
		}
		if !reg.Fenced {
			live = append(live, b)
		}
	}
	if len(live) == 0 {
		return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
			"All brokers specified in the manual partition assignment for partition %d are fenced.", partition)
	}
	return live, nil
}

// partitionRecord is a new partition's record: leader the first
// replica in the ISR, epochs 0.
func partitionRecord(topicID protocol.UUID, p int32, replicas, isr []int32) metadata.Record {
	return metadata.NewRecord(&protocol.PartitionRecord{
		PartitionID:    p,
		TopicID:        topicID,
		Replicas:       replicas,
		Isr:            isr,
		Leader:         isr[0],
		LeaderEpoch:    0,
		PartitionEpoch: 0,
	})
}
