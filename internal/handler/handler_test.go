package handler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// fixture is one broker: a single-voter controller, a log directory and a
// replica manager on an in-memory FS, registered with one listener.
type fixture struct {
	h    *Handler
	ctl  *controller.Controller
	reps *replica.Manager
}

func newFixture(t testing.TB, autoCreate bool) *fixture {
	t.Helper()
	fsys := vfs.NewMem()
	ctl, err := controller.Open(controller.Config{NodeID: 1, Voters: []uint64{1}, FS: fsys, Dir: "/data/__cluster_metadata-0", TickInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	logs, err := storage.OpenManager(storage.ManagerOptions{FS: fsys, Dir: "/data", ClusterID: "cluster-x", NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	reps := replica.NewManager(1, logs, nil, nil)
	waitImage := func(ctx context.Context, off int64) error {
		if err := ctl.WaitFor(ctx, off); err != nil {
			return err
		}
		return reps.Apply(ctl.Image())
	}
	ctx := context.Background()
	off, epoch, err := ctl.Submit(ctx, controller.RegisterBroker(controller.BrokerRegistration{ID: 1, IncarnationID: protocol.UUID{7},
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}))
	if err != nil {
		t.Fatal(err)
	}
	if off, _, err = ctl.Submit(ctx, controller.UnfenceBroker(1, epoch.(int64))); err != nil {
		t.Fatal(err)
	}
	if err := waitImage(ctx, off); err != nil {
		t.Fatal(err)
	}
	h := New(Config{NodeID: 1, ClusterID: "cluster-x", ListenerName: "PLAINTEXT", AutoCreateTopics: autoCreate, DefaultPartitions: 2, DefaultReplication: 1, DeleteTopicEnable: true},
		reps, ctl, waitImage, nil)
	return &fixture{h: h, ctl: ctl, reps: reps}
}

func str(s string) *string { return &s }

func TestCreateTopicsAndMetadata(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	resp := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{
		{Name: "orders", NumPartitions: 3, ReplicationFactor: 1, Configs: []protocol.CreateTopicsRequestCreatableTopicConfig{{Name: "retention.ms", Value: str("60000")}}},
		{Name: "bad name!", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "too-replicated", NumPartitions: 1, ReplicationFactor: 3},
		{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1},
	}}, 7)
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrInvalidTopicException, protocol.ErrInvalidReplicationFactor, protocol.ErrNone}
	for i, r := range resp.Topics {
		if protocol.ErrorCode(r.ErrorCode) != want[i] {
			t.Errorf("%s: error %d, want %d (%v)", r.Name, r.ErrorCode, want[i], r.ErrorMessage)
		}
	}
	if resp.Topics[3].NumPartitions != 2 || resp.Topics[0].TopicID == (protocol.UUID{}) {
		t.Fatalf("results %+v", resp.Topics)
	}
	again := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestCreatableTopic{{Name: "orders", NumPartitions: 1, ReplicationFactor: 1}}}, 7)
	if protocol.ErrorCode(again.Topics[0].ErrorCode) != protocol.ErrTopicAlreadyExists {
		t.Fatalf("second create: %d", again.Topics[0].ErrorCode)
	}

	// Metadata: all topics (null), the broker, leaders, and an unknown topic.
	md := f.h.Metadata(ctx, &protocol.MetadataRequest{}, 12)
	if len(md.Brokers) != 1 || md.Brokers[0].Host != "127.0.0.1" || md.Brokers[0].Port != 9092 || *md.ClusterID != "cluster-x" {
		t.Fatalf("brokers %+v", md.Brokers)
	}
	if len(md.Topics) != 2 {
		t.Fatalf("topics %+v", md.Topics)
	}
	for _, tm := range md.Topics {
		for _, p := range tm.Partitions {
			if p.LeaderID != 1 || p.ErrorCode != 0 || len(p.IsrNodes) != 1 {
				t.Fatalf("partition %+v", p)
			}
		}
	}
	md = f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str("nope")}}, AllowAutoTopicCreation: true}, 12)
	if protocol.ErrorCode(md.Topics[0].ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown topic: %+v", md.Topics[0])
	}
	// Metadata v0: an empty list means every topic.
	if md0 := f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{}}, 0); len(md0.Topics) != 2 {
		t.Fatalf("v0 all topics: %d", len(md0.Topics))
	}
	// v1+: an empty list means no topics.
	if md1 := f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{}}, 1); len(md1.Topics) != 0 {
		t.Fatalf("v1 empty list: %d topics", len(md1.Topics))
	}
}

func TestMetadataAutoCreate(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	md := f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str("fresh")}}, AllowAutoTopicCreation: true}, 9)
	if md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 2 {
		t.Fatalf("auto-created topic: %+v", md.Topics[0])
	}
	if _, err := f.reps.Leading(storage.TopicPartition{Topic: "fresh", Partition: 1}); err != nil {
		t.Fatalf("partition not hosted: %v", err)
	}
	// A request that forbids creation gets UNKNOWN_TOPIC_OR_PARTITION.
	md = f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str("other")}}, AllowAutoTopicCreation: false}, 9)
	if protocol.ErrorCode(md.Topics[0].ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("creation not allowed: %+v", md.Topics[0])
	}
}

// TestMetadataAutoCreatesOffsetsTopicAsItself: a client's Metadata request
// naming __consumer_offsets before any group exists (a console consumer
// of it, partitionsFor) creates it as FindCoordinator would, with the
// offsets.topic.* settings, compacted, not as an ordinary topic.
func TestMetadataAutoCreatesOffsetsTopicAsItself(t *testing.T) {
	f := newFixture(t, true)
	f.h.cfg.OffsetsTopicPartitions, f.h.cfg.OffsetsTopicReplicationFactor, f.h.cfg.OffsetsTopicSegmentBytes = 5, 1, 1<<20
	md := f.h.Metadata(context.Background(), &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str(OffsetsTopic)}},
		AllowAutoTopicCreation: true}, 9)
	if md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 5 {
		t.Fatalf("auto-created %s: code %d, %d partitions, want 5", OffsetsTopic, md.Topics[0].ErrorCode, len(md.Topics[0].Partitions))
	}
	cfg := f.ctl.Image().TopicConfigs(OffsetsTopic)
	if cfg["cleanup.policy"] != "compact" || cfg["segment.bytes"] != "1048576" {
		t.Fatalf("%s configs %v, want compacted with the offsets segment size", OffsetsTopic, cfg)
	}
	if !md.Topics[0].IsInternal {
		t.Fatalf("%s is not marked internal", OffsetsTopic)
	}
	// Transactions are not served: their internal topic is never made
	// with a plain topic's settings.
	md = f.h.Metadata(context.Background(), &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str(transactionStateTopic)}},
		AllowAutoTopicCreation: true}, 9)
	if protocol.ErrorCode(md.Topics[0].ErrorCode) != protocol.ErrUnknownTopicOrPartition || f.ctl.Image().TopicByName(transactionStateTopic) != nil {
		t.Fatalf("%s auto-created: %+v", transactionStateTopic, md.Topics[0])
	}
}

// TestFindCoordinatorRefusesTransactions: a transactional producer looking
// for its coordinator gets the code InitProducerId and Produce give a
// transactional id; an unknown key type is an invalid request.
func TestFindCoordinatorRefusesTransactions(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		keyType int8
		want    protocol.ErrorCode
	}{{1, protocol.ErrTransactionalIDAuthorizationFailed}, {7, protocol.ErrInvalidRequest}} {
		resp := f.h.FindCoordinator(context.Background(), &protocol.FindCoordinatorRequest{KeyType: tc.keyType, CoordinatorKeys: []string{"tx"}}, 4)
		if got := protocol.ErrorCode(resp.Coordinators[0].ErrorCode); got != tc.want {
			t.Fatalf("key type %d: %s, want %s", tc.keyType, got.Name(), tc.want.Name())
		}
	}
}

func TestApiVersionsListsServedRanges(t *testing.T) {
	resp := ApiVersionsResponse(protocol.ErrNone)
	seen := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		seen[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	// No finalized features are reported, so their epoch is the
	// tagged field's default, -1, which is not sent (was 0).
	if resp.FinalizedFeaturesEpoch != -1 {
		t.Fatalf("finalized features epoch %d with no finalized features", resp.FinalizedFeaturesEpoch)
	}
	if seen[int16(protocol.KeyApiVersions)] != [2]int16{0, 4} || seen[int16(protocol.KeyMetadata)] != [2]int16{0, 12} {
		t.Fatalf("ranges %v", seen)
	}
	// ListGroups v5: the Java admin client builds a request filtered by
	// group type only at v5 (kafka-consumer-groups.sh --list --type).
	if seen[int16(protocol.KeyListGroups)] != [2]int16{0, 5} {
		t.Fatalf("ListGroups %v, want 0-5", seen[int16(protocol.KeyListGroups)])
	}
	if _, ok := seen[int16(protocol.KeyShareFetch)]; ok {
		t.Fatal("an unimplemented API is advertised")
	}
}

// TestMetadataClusterOperationsToV10: Metadata v8-10 answers the cluster's
// authorized operations when asked (every one: there is no authorizer).
func TestMetadataClusterOperationsToV10(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		version int16
		want    int32
	}{{8, clusterOps}, {10, clusterOps}, {11, authorizedOpsNone}} {
		md := f.h.Metadata(context.Background(), &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{}, IncludeClusterAuthorizedOperations: true}, tc.version)
		if md.ClusterAuthorizedOperations != tc.want {
			t.Errorf("v%d: cluster operations %d, want %d", tc.version, md.ClusterAuthorizedOperations, tc.want)
		}
	}
}

// TestMetadataAsKafkaAnswers: each topic named twice is answered once, an
// empty name is INVALID_TOPIC_EXCEPTION, a leader without the request's
// listener is answered as leader -1 with LISTENER_NOT_FOUND (v6+; before,
// LEADER_NOT_AVAILABLE) and that replica listed offline; a topic id or a
// null name before v12 refuses the request whole, and from v12 a request
// with ids is answered for them alone; the controller id is a broker the
// client can reach.
func TestMetadataAsKafkaAnswers(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	// Broker 3 registers without the client listener.
	_, epoch, err := f.ctl.Submit(ctx, controller.RegisterBroker(controller.BrokerRegistration{ID: 3, IncarnationID: protocol.UUID{3}}))
	if err != nil {
		t.Fatal(err)
	}
	off, _, err := f.ctl.Submit(ctx, controller.UnfenceBroker(3, epoch.(int64)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.waitImage(ctx, off); err != nil {
		t.Fatal(err)
	}
	resp := f.h.CreateTopics(ctx, &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{{
		Name: "deaf", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []protocol.CreateTopicsRequestCreatableReplicaAssignment{{PartitionIndex: 0, BrokerIDs: []int32{3, 1}}}}}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %+v", resp.Topics[0])
	}
	md := func(version int16, names ...string) *protocol.MetadataResponse {
		req := &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{}}
		for _, n := range names {
			req.Topics = append(req.Topics, protocol.MetadataRequestMetadataRequestTopic{Name: str(n)})
		}
		return f.h.Metadata(ctx, req, version)
	}
	r := md(12, "deaf", "deaf", "")
	if len(r.Topics) != 2 {
		t.Fatalf("%d topics answered, want deaf once and the empty name", len(r.Topics))
	}
	if code := protocol.ErrorCode(r.Topics[1].ErrorCode); code != protocol.ErrInvalidTopicException {
		t.Fatalf("empty name: %s", code.Name())
	}
	p := r.Topics[0].Partitions[0]
	if protocol.ErrorCode(p.ErrorCode) != protocol.ErrListenerNotFound || p.LeaderID != -1 || !slices.Equal(p.OfflineReplicas, []int32{3}) {
		t.Fatalf("leader without the listener at v12: %+v", p)
	}
	if p := md(5, "deaf").Topics[0].Partitions[0]; protocol.ErrorCode(p.ErrorCode) != protocol.ErrLeaderNotAvailable || p.LeaderID != -1 {
		t.Fatalf("leader without the listener at v5: %+v", p)
	}
	if r.ControllerID != 1 {
		t.Fatalf("controller id %d, want this broker", r.ControllerID)
	}
	// Ids: refused whole before v12, answered alone from v12.
	id := resp.Topics[0].TopicID
	for _, topics := range [][]protocol.MetadataRequestMetadataRequestTopic{
		{{Name: str("deaf")}, {TopicID: id}},
		{{Name: str("deaf")}, {Name: nil}},
	} {
		r := f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: topics}, 11)
		if len(r.Topics) != 2 || len(r.Brokers) != 0 || r.ClusterID != nil {
			t.Fatalf("v11 with an id or a null name: %+v", r)
		}
		for i, tm := range r.Topics {
			if protocol.ErrorCode(tm.ErrorCode) != protocol.ErrInvalidRequest || tm.TopicID != topics[i].TopicID || tm.Name == nil {
				t.Fatalf("v11 with an id or a null name, topic %d: %+v", i, tm)
			}
		}
	}
	r = f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{
		{Name: str("other")}, {TopicID: id}, {Name: str("deaf"), TopicID: id}}}, 12)
	if len(r.Topics) != 1 || r.Topics[0].Name == nil || *r.Topics[0].Name != "deaf" || r.Topics[0].TopicID != id || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("v12 with ids beside a name: %+v", r.Topics)
	}

	f.h.cfg.ListenerName = "OTHER" // no broker has it
	if r := md(12); r.ControllerID != -1 || len(r.Brokers) != 0 {
		t.Fatalf("no reachable broker: controller %d, brokers %+v", r.ControllerID, r.Brokers)
	}
}
