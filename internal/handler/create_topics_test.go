package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestCreateTopicsResultConfigs: a created topic's result lists its whole
// configuration (v5+), the override with the topic's own source and the
// rest with their defaults' sources, as Kafka's does; a validate-only
// request answers the same.
func TestCreateTopicsResultConfigs(t *testing.T) {
	f := newFixture(t, false)
	retention := "60000"
	for _, validateOnly := range []bool{true, false} {
		resp := f.h.CreateTopics(context.Background(), &protocol.CreateTopicsRequest{TimeoutMs: 5000, ValidateOnly: validateOnly,
			Topics: []protocol.CreateTopicsRequestCreatableTopic{{Name: "c", NumPartitions: 1, ReplicationFactor: 1,
				Configs: []protocol.CreateTopicsRequestCreatableTopicConfig{{Name: "retention.ms", Value: &retention}}}}}, 7)
		r := resp.Topics[0]
		if r.ErrorCode != 0 {
			t.Fatalf("validate only %t: %d", validateOnly, r.ErrorCode)
		}
		got := map[string]protocol.CreateTopicsResponseCreatableTopicConfigs{}
		for _, c := range r.Configs {
			got[c.Name] = c
		}
		if c := got["retention.ms"]; c.Value == nil || *c.Value != retention || c.ConfigSource != 1 {
			t.Fatalf("validate only %t: retention.ms %+v, want 60000 from the topic (1)", validateOnly, c)
		}
		if c := got["segment.bytes"]; c.Value == nil || *c.Value != "1073741824" || c.ConfigSource == 1 {
			t.Fatalf("validate only %t: segment.bytes %+v, want the default", validateOnly, c)
		}
		if len(r.Configs) < 20 {
			t.Fatalf("validate only %t: %d configs, want every topic key", validateOnly, len(r.Configs))
		}
	}
}

// TestCreateTopicsDuplicateAssignment: two manual assignments of one
// partition are INVALID_REPLICA_ASSIGNMENT, as in Kafka, where a map
// silently kept the last; the other topics of the request are created.
func TestCreateTopicsDuplicateAssignment(t *testing.T) {
	f := newFixture(t, false)
	resp := f.h.CreateTopics(context.Background(), &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{
		{Name: "dup", NumPartitions: -1, ReplicationFactor: -1, Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{
			{PartitionIndex: 0, BrokerIDs: []int32{1}}, {PartitionIndex: 0, BrokerIDs: []int32{1}}, {PartitionIndex: 1, BrokerIDs: []int32{1}}}},
		{Name: "fine", NumPartitions: 1, ReplicationFactor: 1},
	}}, 7)
	if len(resp.Topics) != 2 || resp.Topics[0].Name != "dup" || resp.Topics[1].Name != "fine" {
		t.Fatalf("results %+v", resp.Topics)
	}
	if code := protocol.ErrorCode(resp.Topics[0].ErrorCode); code != protocol.ErrInvalidReplicaAssignment {
		t.Fatalf("dup: %s, want INVALID_REPLICA_ASSIGNMENT", code.Name())
	}
	if resp.Topics[1].ErrorCode != 0 {
		t.Fatalf("fine: %d", resp.Topics[1].ErrorCode)
	}
	if f.ctl.Image().TopicByName("dup") != nil {
		t.Fatal("the topic with a duplicate assignment was created")
	}
}
