package controller

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TopicDefaults are the broker defaults a CreateTopics request asks for
// with -1 (num.partitions, default.replication.factor). Values below 1
// count as 1.
type TopicDefaults struct {
	NumPartitions     int32
	ReplicationFactor int16
}

// CreateTopic is one topic of a CreateTopics request.
type CreateTopic struct {
	Name string
	// NumPartitions and ReplicationFactor are -1 for the defaults, and
	// must be -1 when Assignments is given.
	NumPartitions     int32
	ReplicationFactor int16
	// Assignments, optional, gives each partition's replicas (the first
	// is the preferred leader); partition ids must be 0..n-1.
	Assignments map[int32][]int32
	// Configs are topic config overrides; a nil value is refused.
	Configs map[string]*string
}

// CreateTopicResult is the outcome for one topic of CreateTopics. On
// success TopicID is the new id (for validateOnly, one drawn as for a
// creation, as Kafka's controller answers), Configs the
// overrides set (not the defaults).
type CreateTopicResult struct {
	Name              string
	TopicID           protocol.UUID
	NumPartitions     int32
	ReplicationFactor int16
	Configs           map[string]string
	Err               *CommandError
}

// CreateTopics creates topics; the reply is []CreateTopicResult, one per
// request entry in order. A name given more than once fails every entry
// naming it with INVALID_REQUEST. validateOnly checks everything and
// writes nothing.
func CreateTopics(reqs []CreateTopic, validateOnly bool, defaults TopicDefaults) Command {
	return newCommand(opCreateTopics, createTopicsArgs{reqs, validateOnly, defaults}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		count := map[string]int{}
		for _, r := range reqs {
			count[r.Name]++
		}
		results := make([]CreateTopicResult, len(reqs))
		var recs []metadata.Record
		created := map[string]bool{} // by this request, for collisions
		budget := maxPartitionsPerCommand
		live := liveBrokerIDs(img)
		for i, r := range reqs {
			res := &results[i]
			res.Name = r.Name
			if count[r.Name] > 1 {
				res.Err = cmdErr(protocol.ErrInvalidRequest, "Duplicate topic name.")
				continue
			}
			topicRecs, err := buildTopic(img, r, defaults, live, created, &budget, res)
			if err != nil {
				res.Err = err
				res.NumPartitions, res.ReplicationFactor, res.Configs = 0, 0, nil
				continue
			}
			created[r.Name] = true
			if validateOnly {
				continue
			}
			recs = append(recs, topicRecs...)
		}
		if validateOnly {
			// As Kafka's: each result keeps the id the topic would have
			// had, though none is created.
			return nil, results, nil
		}
		return recs, results, nil
	})
}

// buildTopic validates one topic and returns its records, filling res.
func buildTopic(img *metadata.Image, r CreateTopic, defaults TopicDefaults, live []int32,
	created map[string]bool, budget *int, res *CreateTopicResult) ([]metadata.Record, *CommandError) {
	if err := validateTopicName(r.Name); err != nil {
		return nil, err
	}
	if r.Name == storage.MetadataTopic {
		// Its partition directory would be the metadata log's own.
		return nil, cmdErr(protocol.ErrInvalidRequest, "Creation of internal topic %s is prohibited.", storage.MetadataTopic)
	}
	if img.TopicByName(r.Name) != nil {
		return nil, cmdErr(protocol.ErrTopicAlreadyExists, "Topic '%s' already exists.", r.Name)
	}
	if other, ok := topicCollision(img, created, r.Name); ok {
		return nil, cmdErr(protocol.ErrInvalidTopicException, "Topic '%s' collides with existing topic: %s", r.Name, other)
	}

	var assignment [][]int32 // by partition
	var isrs [][]int32
	if len(r.Assignments) > 0 {
		if r.NumPartitions != -1 {
			return nil, cmdErr(protocol.ErrInvalidRequest,
				"A manual partition assignment was specified, but numPartitions was not set to -1.")
		}
		if r.ReplicationFactor != -1 {
			return nil, cmdErr(protocol.ErrInvalidRequest,
				"A manual partition assignment was specified, but replicationFactor was not set to -1.")
		}
		ids := slices.Sorted(maps.Keys(r.Assignments))
		for i, p := range ids {
			if p != int32(i) {
				return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
					"Partitions should be a consecutive 0-based integer sequence, but partition %d is missing.", i)
			}
		}
		if len(ids) > *budget {
			return nil, cmdErr(protocol.ErrInvalidPartitions,
				"Unable to create %d partition(s): a request may create at most %d.", len(ids), maxPartitionsPerCommand)
		}
		rf := len(r.Assignments[0])
		for _, p := range ids {
			isr, err := checkAssignment(img, p, r.Assignments[p], rf)
			if err != nil {
				return nil, err
			}
			assignment = append(assignment, slices.Clone(r.Assignments[p]))
			isrs = append(isrs, isr)
		}
		if rf > 32767 {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment, "Replication factor %d is too large.", rf)
		}
	} else {
		n := r.NumPartitions
		if n == -1 {
			n = max(defaults.NumPartitions, 1)
		}
		if n <= 0 {
			return nil, cmdErr(protocol.ErrInvalidPartitions,
				"Number of partitions was set to an invalid non-positive value.")
		}
		rf := r.ReplicationFactor
		if rf == -1 {
			rf = max(defaults.ReplicationFactor, 1)
		}
		if rf <= 0 {
			return nil, cmdErr(protocol.ErrInvalidReplicationFactor,
				"Replication factor must be larger than 0, or -1 to use the default value.")
		}
		if int(n) > *budget {
			return nil, cmdErr(protocol.ErrInvalidPartitions,
				"Unable to create %d partition(s): a request may create at most %d.", n, maxPartitionsPerCommand)
		}
		if err := checkReplicationFactor(live, int(rf)); err != nil {
			return nil, err
		}
		// The start rotates per topic, so that leaders of single-partition
		// topics spread over the brokers.
		start := (img.Topics.Len() + len(created)) % len(live)
		assignment = placeOn(img, live, start, 0, int(n), int(rf))
		isrs = assignment
	}

	configs, err := checkTopicConfigs(r.Configs)
	if err != nil {
		return nil, err
	}
	if err := checkCompactionLags(img, configs); err != nil {
		return nil, err
	}

	*budget -= len(assignment)
	id := newTopicID(img)
	res.TopicID = id
	res.NumPartitions = int32(len(assignment))
	res.ReplicationFactor = int16(len(assignment[0]))
	res.Configs = configs

	recs := make([]metadata.Record, 0, 1+len(assignment)+len(configs))
	recs = append(recs, metadata.NewRecord(&protocol.TopicRecord{Name: r.Name, TopicID: id}))
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		v := configs[k]
		recs = append(recs, metadata.NewRecord(&protocol.ConfigRecord{
			ResourceType: int8(metadata.ResourceTopic), ResourceName: r.Name, Name: k, Value: &v,
		}))
	}
	for p, replicas := range assignment {
		recs = append(recs, partitionRecord(id, int32(p), replicas, isrs[p]))
	}
	return recs, nil
}

// checkTopicConfigs validates a new topic's configs and returns them set.
func checkTopicConfigs(cfgs map[string]*string) (map[string]string, *CommandError) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(cfgs))
	for _, k := range slices.Sorted(maps.Keys(cfgs)) {
		v := cfgs[k]
		if v == nil {
			return nil, cmdErr(protocol.ErrInvalidConfig, "Null value not supported for topic configs: %s", k)
		}
		if err := config.ValidateTopicConfig(k, *v); err != nil {
			return nil, cmdErr(protocol.ErrInvalidConfig, "%v", err)
		}
		out[k] = *v
	}
	return out, nil
}

// checkCompactionLags refuses a topic configuration whose
// min.compaction.lag.ms exceeds its max.compaction.lag.ms, each the
// topic's own, else the cluster-wide dynamic default (log.cleaner.*), else
// Kafka's default, as Kafka's LogConfig validation does: no broker could
// open the topic's logs with it.
func checkCompactionLags(img *metadata.Image, topic map[string]string) *CommandError {
	cluster := img.BrokerDefaultConfigs()
	lag := func(key, brokerKey string, def int64) int64 {
		v, ok := topic[key]
		if !ok {
			v, ok = cluster[brokerKey]
		}
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			return n
		}
		return def
	}
	minLag := lag("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", 0)
	maxLag := lag("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", math.MaxInt64)
	if minLag > maxLag {
		return cmdErr(protocol.ErrInvalidConfig, "conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)", minLag, maxLag)
	}
	return nil
}

// DeleteTopicResult is the outcome for one topic of DeleteTopics: Name
// and TopicID are both set when the topic was found.
type DeleteTopicResult struct {
	Name    string
	TopicID protocol.UUID
	Err     *CommandError
}

// DeleteTopics deletes topics by name and by id; the reply is
// []DeleteTopicResult, the names' results then the ids', in request
// order. A topic named more than once (by name, id or both) is not
// deleted and each of its entries fails with INVALID_REQUEST.
func DeleteTopics(names []string, ids []protocol.UUID) Command {
	return newCommand(opDeleteTopics, deleteTopicsArgs{names, ids}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		results := make([]DeleteTopicResult, 0, len(names)+len(ids))
		refs := map[protocol.UUID]int{}
		for _, name := range names {
			res := DeleteTopicResult{Name: name}
			if t := img.TopicByName(name); t != nil {
				res.TopicID = t.ID()
				refs[t.ID()]++
			} else {
				res.Err = cmdErr(protocol.ErrUnknownTopicOrPartition, "This server does not host this topic-partition.")
			}
			results = append(results, res)
		}
		for _, id := range ids {
			res := DeleteTopicResult{TopicID: id}
			switch t := img.TopicByID(id); {
			case id == protocol.UUID{}:
				res.Err = cmdErr(protocol.ErrInvalidRequest, "Neither topic name nor id were specified.")
			case t == nil:
				res.Err = cmdErr(protocol.ErrUnknownTopicID, "This server does not host this topic ID.")
			default:
				res.Name = t.Name()
				refs[id]++
			}
			results = append(results, res)
		}
		var recs []metadata.Record
		for i := range results {
			res := &results[i]
			if res.Err != nil {
				continue
			}
			if refs[res.TopicID] > 1 {
				what := "name"
				if i >= len(names) {
					what = "id"
				}
				res.Err = cmdErr(protocol.ErrInvalidRequest, "Duplicate topic %s.", what)
				continue
			}
			recs = append(recs, metadata.NewRecord(&protocol.RemoveTopicRecord{TopicID: res.TopicID}))
		}
		return recs, results, nil
	})
}

// CreatePartitionsRequest asks for a topic to have Count partitions.
// Assignments, optional, gives the replicas of each new partition.
type CreatePartitionsRequest struct {
	Name        string
	Count       int32
	Assignments [][]int32
}

// CreatePartitionsResult is the outcome for one topic of CreatePartitions.
type CreatePartitionsResult struct {
	Name string
	Err  *CommandError
}

// CreatePartitions adds partitions to existing topics; partitions can
// only be added. The reply is []CreatePartitionsResult in request order.
// Without assignments, new partitions get the topic's replication factor
// (that of its partition 0) and continue its leader rotation.
func CreatePartitions(reqs []CreatePartitionsRequest, validateOnly bool) Command {
	return newCommand(opCreatePartitions, createPartitionsArgs{reqs, validateOnly}, func(img *metadata.Image) ([]metadata.Record, any, error) {
		count := map[string]int{}
		for _, r := range reqs {
			count[r.Name]++
		}
		results := make([]CreatePartitionsResult, len(reqs))
		var recs []metadata.Record
		budget := maxPartitionsPerCommand
		live := liveBrokerIDs(img)
		for i, r := range reqs {
			results[i].Name = r.Name
			if count[r.Name] > 1 {
				results[i].Err = cmdErr(protocol.ErrInvalidRequest, "Duplicate topic name.")
				continue
			}
			rs, err := createPartitions(img, r, live, &budget)
			if err != nil {
				results[i].Err = err
				continue
			}
			if !validateOnly {
				recs = append(recs, rs...)
			}
		}
		return recs, results, nil
	})
}

func createPartitions(img *metadata.Image, r CreatePartitionsRequest, live []int32, budget *int) ([]metadata.Record, *CommandError) {
	t := img.TopicByName(r.Name)
	if t == nil {
		return nil, cmdErr(protocol.ErrUnknownTopicOrPartition, "This server does not host this topic-partition.")
	}
	current := int32(t.NumPartitions())
	switch {
	case r.Count < current:
		return nil, cmdErr(protocol.ErrInvalidPartitions,
			"The topic %s currently has %d partition(s); %d would not be an increase.", r.Name, current, r.Count)
	case r.Count == current:
		return nil, cmdErr(protocol.ErrInvalidPartitions, "Topic already has %d partition(s).", current)
	}
	add := int(r.Count - current)
	if add > *budget {
		return nil, cmdErr(protocol.ErrInvalidPartitions,
			"Unable to create %d partition(s): a request may create at most %d.", add, maxPartitionsPerCommand)
	}
	first, _ := t.Partition(0)
	rf := len(first.Replicas)
	var assignment, isrs [][]int32
	if r.Assignments != nil {
		if len(r.Assignments) != add {
			return nil, cmdErr(protocol.ErrInvalidReplicaAssignment,
				"Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", add, len(r.Assignments))
		}
		for i, replicas := range r.Assignments {
			isr, err := checkAssignment(img, current+int32(i), replicas, rf)
			if err != nil {
				return nil, err
			}
			assignment = append(assignment, slices.Clone(replicas))
			isrs = append(isrs, isr)
		}
	} else {
		if rf == 0 {
			return nil, cmdErr(protocol.ErrInvalidReplicationFactor, "Topic %s has no replicas to copy the replication factor of.", r.Name)
		}
		if err := checkReplicationFactor(live, rf); err != nil {
			return nil, err
		}
		// Continue the rotation from partition 0's leader.
		start := max(slices.Index(live, first.Replicas[0]), 0)
		assignment = placeOn(img, live, start, int(current), add, rf)
		isrs = assignment
	}
	*budget -= add
	recs := make([]metadata.Record, add)
	for i := range add {
		recs[i] = partitionRecord(t.ID(), current+int32(i), assignment[i], isrs[i])
	}
	return recs, nil
}
