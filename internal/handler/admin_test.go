package handler

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// adminRoundTrip encodes m at every version of its API and decodes it back,
// failing on an encoding the codec cannot read.
func adminRoundTrip(t *testing.T, m protocol.Message, decoded func() protocol.Message) {
	t.Helper()
	lo, hi := m.Versions()
	for v := lo; v <= hi; v++ {
		if err := decoded().Decode(m.AppendTo(nil, v), v); err != nil {
			t.Fatalf("%T v%d does not decode: %v", m, v, err)
		}
	}
}

func (f *fixture) adminCreateTopic(t *testing.T, name string, partitions int32, configs map[string]string) {
	t.Helper()
	ct := protocol.CreateTopicsRequestCreatableTopic{Name: name, NumPartitions: partitions, ReplicationFactor: 1}
	for k, v := range configs {
		ct.Configs = append(ct.Configs, protocol.CreateTopicsRequestCreatableTopicConfig{Name: k, Value: str(v)})
	}
	resp := f.h.CreateTopics(context.Background(), &protocol.CreateTopicsRequest{TimeoutMs: 5000, Topics: []protocol.CreateTopicsRequestCreatableTopic{ct}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %d %v", name, resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage)
	}
}

func TestCreatePartitions(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.createTopic(t, "grow", 1)
	cp := func(validateOnly bool, topics ...protocol.CreatePartitionsRequestCreatePartitionsTopic) []protocol.CreatePartitionsResponseCreatePartitionsTopicResult {
		t.Helper()
		resp := f.h.CreatePartitions(ctx, &protocol.CreatePartitionsRequest{TimeoutMs: 5000, ValidateOnly: validateOnly, Topics: topics}, 3)
		adminRoundTrip(t, resp, func() protocol.Message { return &protocol.CreatePartitionsResponse{} })
		if len(resp.Results) != len(topics) {
			t.Fatalf("%d results for %d topics", len(resp.Results), len(topics))
		}
		return resp.Results
	}
	numPartitions := func(name string) int {
		md := f.h.Metadata(ctx, &protocol.MetadataRequest{Topics: []protocol.MetadataRequestMetadataRequestTopic{{Name: str(name)}}}, 12)
		for _, p := range md.Topics[0].Partitions {
			if p.ErrorCode != 0 || p.LeaderID != 1 {
				t.Fatalf("partition %+v", p)
			}
		}
		return len(md.Topics[0].Partitions)
	}

	// Up: the new partitions' logs exist once the response is sent.
	if r := cp(false, protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 3}); r[0].ErrorCode != 0 || r[0].Name != "grow" {
		t.Fatalf("grow to 3: %+v", r[0])
	}
	if n := numPartitions("grow"); n != 3 {
		t.Fatalf("metadata shows %d partitions", n)
	}
	for p := range int32(3) {
		if _, err := f.reps.Leading(storage.TopicPartition{Topic: "grow", Partition: p}); err != nil {
			t.Fatalf("partition %d not hosted: %v", p, err)
		}
	}
	if pr := produceResponse(f.produce(t, -1, "grow", 2, batchOf(t, "new"))); pr.ErrorCode != 0 {
		t.Fatalf("produce to a new partition: %d", pr.ErrorCode)
	}

	// Down, same, unknown, a topic named twice, bad assignments.
	r := cp(false,
		protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 2},
		protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "nope", Count: 2})
	if protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidPartitions || r[0].ErrorMessage == nil ||
		protocol.ErrorCode(r[1].ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("down, unknown: %+v", r)
	}
	if r := cp(false, protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 3}); protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidPartitions {
		t.Fatalf("same count: %+v", r[0])
	}
	r = cp(false,
		protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 5},
		protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 6})
	if protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidRequest || protocol.ErrorCode(r[1].ErrorCode) != protocol.ErrInvalidRequest {
		t.Fatalf("duplicate topic: %+v", r)
	}
	// A present but empty assignment list is not "place them for me".
	r = cp(false,
		protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 4, Assignments: []protocol.CreatePartitionsRequestCreatePartitionsAssignment{}})
	if protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidReplicaAssignment {
		t.Fatalf("empty assignments: %+v", r[0])
	}
	if n := numPartitions("grow"); n != 3 {
		t.Fatalf("failed requests changed the count to %d", n)
	}

	// Validate only: success, nothing changes.
	if r := cp(true, protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 5}); r[0].ErrorCode != 0 {
		t.Fatalf("validate only: %+v", r[0])
	}
	if n := numPartitions("grow"); n != 3 {
		t.Fatalf("validate only changed the count to %d", n)
	}
	if _, ok := f.reps.Partition(storage.TopicPartition{Topic: "grow", Partition: 3}); ok {
		t.Fatal("validate only created a log")
	}

	// Explicit assignments.
	r = cp(false, protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 4,
		Assignments: []protocol.CreatePartitionsRequestCreatePartitionsAssignment{{BrokerIDs: []int32{1}}}})
	if r[0].ErrorCode != 0 || numPartitions("grow") != 4 {
		t.Fatalf("with assignments: %+v", r[0])
	}
	if r := cp(false, protocol.CreatePartitionsRequestCreatePartitionsTopic{Name: "grow", Count: 5,
		Assignments: []protocol.CreatePartitionsRequestCreatePartitionsAssignment{{BrokerIDs: []int32{7}}}}); protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidReplicaAssignment {
		t.Fatalf("assignment to an unknown broker: %+v", r[0])
	}

	// No topics: no results, no controller round trip.
	if resp := f.h.CreatePartitions(ctx, &protocol.CreatePartitionsRequest{}, 0); resp.Results == nil || len(resp.Results) != 0 {
		t.Fatalf("empty request: %+v", resp)
	}
}

func TestDeleteRecords(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	// The smallest segments: every batch rolls a new one.
	f.adminCreateTopic(t, "trim", 1, map[string]string{"segment.bytes": "14"})
	f.adminCreateTopic(t, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	for i := range 3 {
		if pr := produceResponse(f.produce(t, -1, "trim", 0, batchOf(t, fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)))); pr.ErrorCode != 0 {
			t.Fatalf("produce: %+v", pr)
		}
	}
	part, err := f.reps.Leading(storage.TopicPartition{Topic: "trim", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	if n := part.Log.NumSegments(); n != 3 {
		t.Fatalf("%d segments, want one per batch", n)
	}
	sizeBefore := part.Log.Size()

	del := func(topic string, parts ...protocol.DeleteRecordsRequestDeleteRecordsPartition) []protocol.DeleteRecordsResponseDeleteRecordsPartitionResult {
		t.Helper()
		resp := f.h.DeleteRecords(ctx, &protocol.DeleteRecordsRequest{TimeoutMs: 5000,
			Topics: []protocol.DeleteRecordsRequestDeleteRecordsTopic{{Name: topic, Partitions: parts}}}, 2)
		adminRoundTrip(t, resp, func() protocol.Message { return &protocol.DeleteRecordsResponse{} })
		if resp.Topics[0].Name != topic || len(resp.Topics[0].Partitions) != len(parts) {
			t.Fatalf("response %+v", resp)
		}
		return resp.Topics[0].Partitions
	}
	fetch := func(offset int64) protocol.FetchResponsePartitionData {
		resp, wait := f.h.Fetch(ctx, &protocol.FetchRequest{ReplicaID: -1, MaxBytes: 1 << 20, Topics: []protocol.FetchRequestFetchTopic{{Topic: "trim",
			Partitions: []protocol.FetchRequestFetchPartition{{Partition: 0, FetchOffset: offset, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}}}}}, 11)
		if wait != nil {
			t.Fatal("fetch waited")
		}
		loadFiles(t, resp)
		return resp.Responses[0].Partitions[0]
	}

	// Up to offset 3: the first segment [0, 2) goes whole; [2, 4) stays,
	// partly below the new start.
	r := del("trim", protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: 3})
	if r[0].ErrorCode != 0 || r[0].LowWatermark != 3 || r[0].PartitionIndex != 0 {
		t.Fatalf("delete to 3: %+v", r[0])
	}
	if part.Log.StartOffset() != 3 || part.Log.NumSegments() != 2 || part.Log.Size() >= sizeBefore {
		t.Fatalf("after delete to 3: start %d, %d segments, %d bytes", part.Log.StartOffset(), part.Log.NumSegments(), part.Log.Size())
	}
	if pd := fetch(2); protocol.ErrorCode(pd.ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("fetch below the log start: %+v", pd)
	}
	if pd := fetch(3); pd.ErrorCode != 0 || pd.LogStartOffset != 3 || len(pd.Records) == 0 {
		t.Fatalf("fetch at the log start: %+v", pd)
	}
	lo := f.h.ListOffsets(ctx, &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: "trim",
		Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 0, Timestamp: -2, CurrentLeaderEpoch: -1}}}}}, 8)
	if lo.Topics[0].Partitions[0].Offset != 3 {
		t.Fatalf("earliest offset %d", lo.Topics[0].Partitions[0].Offset)
	}

	// Below the log start: nothing moves, the low watermark is the start.
	if r := del("trim", protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: 1}); r[0].ErrorCode != 0 || r[0].LowWatermark != 3 {
		t.Fatalf("delete below the start: %+v", r[0])
	}

	// Out of range, unknown partitions, several partitions in a request.
	r = del("trim",
		protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: 7},
		protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: -2},
		protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 4, Offset: 0})
	want := []protocol.ErrorCode{protocol.ErrOffsetOutOfRange, protocol.ErrOffsetOutOfRange, protocol.ErrUnknownTopicOrPartition}
	for i, p := range r {
		if protocol.ErrorCode(p.ErrorCode) != want[i] || p.LowWatermark != -1 {
			t.Errorf("partition result %d: %+v, want error %d", i, p, want[i])
		}
	}
	if part.Log.StartOffset() != 3 {
		t.Fatalf("a failed delete moved the start to %d", part.Log.StartOffset())
	}
	if r := del("nope", protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: -1}); protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown topic: %+v", r[0])
	}
	if r := del("compacted", protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: -1}); protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrPolicyViolation {
		t.Fatalf("compacted topic: %+v", r[0])
	}
	// An internal topic whatever its policy: committed offsets are not a
	// client's to delete.
	f.adminCreateTopic(t, OffsetsTopic, 1, map[string]string{"cleanup.policy": "compact,delete"})
	if r := del(OffsetsTopic, protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: -1}); protocol.ErrorCode(r[0].ErrorCode) != protocol.ErrInvalidTopicException {
		t.Fatalf("internal topic: %+v", r[0])
	}

	// -1: up to the high watermark; every segment but the active goes.
	r = del("trim", protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: 0, Offset: -1})
	if r[0].ErrorCode != 0 || r[0].LowWatermark != 6 || part.HighWatermark() != 6 {
		t.Fatalf("delete to the high watermark: %+v", r[0])
	}
	if part.Log.NumSegments() != 1 {
		t.Fatalf("%d segments left", part.Log.NumSegments())
	}
	if pd := fetch(6); pd.ErrorCode != 0 || pd.LogStartOffset != 6 || len(pd.Records) != 0 {
		t.Fatalf("fetch at the end: %+v", pd)
	}
	// Appends continue past the trimmed log.
	if pr := produceResponse(f.produce(t, -1, "trim", 0, batchOf(t, "after"))); pr.ErrorCode != 0 || pr.BaseOffset != 6 || pr.LogStartOffset != 6 {
		t.Fatalf("produce after delete: %+v", pr)
	}
}

func TestDescribeCluster(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	for _, v := range []int16{0, 1} {
		resp := f.h.DescribeCluster(ctx, &protocol.DescribeClusterRequest{EndpointType: 1}, v)
		adminRoundTrip(t, resp, func() protocol.Message { return &protocol.DescribeClusterResponse{} })
		if resp.ErrorCode != 0 || resp.ClusterID != "cluster-x" || resp.ControllerID != 1 || resp.EndpointType != 1 ||
			resp.ClusterAuthorizedOperations != math.MinInt32 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].BrokerID != 1 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != 9092 || resp.Brokers[0].Rack != nil {
			t.Fatalf("v%d brokers: %+v", v, resp.Brokers)
		}
	}
	// v0 has no endpoint type: brokers whatever the field holds.
	if resp := f.h.DescribeCluster(ctx, &protocol.DescribeClusterRequest{}, 0); resp.ErrorCode != 0 || len(resp.Brokers) != 1 {
		t.Fatalf("v0: %+v", resp)
	}
	if resp := f.h.DescribeCluster(ctx, &protocol.DescribeClusterRequest{EndpointType: 2}, 1); protocol.ErrorCode(resp.ErrorCode) != protocol.ErrMismatchedEndpointType || len(resp.Brokers) != 0 {
		t.Fatalf("controllers: %+v", resp)
	}
	if resp := f.h.DescribeCluster(ctx, &protocol.DescribeClusterRequest{EndpointType: 9}, 1); protocol.ErrorCode(resp.ErrorCode) != protocol.ErrUnsupportedEndpointType {
		t.Fatalf("unknown endpoint type: %+v", resp)
	}
	// A broker without the client listener is left out.
	f.h.cfg.ListenerName = "OTHER"
	if resp := f.h.DescribeCluster(ctx, &protocol.DescribeClusterRequest{EndpointType: 1}, 1); resp.ErrorCode != 0 || len(resp.Brokers) != 0 {
		t.Fatalf("other listener: %+v", resp.Brokers)
	}
}

func TestDescribeLogDirs(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	describe := func(topics []protocol.DescribeLogDirsRequestDescribableLogDirTopic, version int16) protocol.DescribeLogDirsResponseDescribeLogDirsResult {
		t.Helper()
		resp := f.h.DescribeLogDirs(ctx, &protocol.DescribeLogDirsRequest{Topics: topics}, version)
		adminRoundTrip(t, resp, func() protocol.Message { return &protocol.DescribeLogDirsResponse{} })
		if resp.ErrorCode != 0 || len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 {
			t.Fatalf("response %+v", resp)
		}
		return resp.Results[0]
	}
	// No log dir set and no partitions: nothing to describe.
	if resp := f.h.DescribeLogDirs(ctx, &protocol.DescribeLogDirsRequest{}, 4); len(resp.Results) != 0 {
		t.Fatalf("unknown log dir: %+v", resp)
	}

	f.createTopic(t, "alpha", 2)
	f.createTopic(t, "beta", 1)
	produceResponse(f.produce(t, -1, "alpha", 1, batchOf(t, "x", "y")))
	produceResponse(f.produce(t, -1, "beta", 0, batchOf(t, "z")))

	// Without SetLogDir the directory is the logs' parent; sizes unknown.
	res := describe(nil, 4)
	if res.LogDir != "/data" || res.TotalBytes != -1 || res.UsableBytes != -1 {
		t.Fatalf("inferred dir: %+v", res)
	}

	// A relative directory is answered absolute, as Kafka answers it.
	f.h.SetLogDir("sluice-data", nil)
	if wd, _ := os.Getwd(); describe(nil, 4).LogDir != filepath.Join(wd, "sluice-data") {
		t.Fatalf("relative dir answered as %q", describe(nil, 4).LogDir)
	}
	f.h.SetLogDir("/data", func() (int64, int64) { return 1000, 400 })
	// Null topics: every partition hosted, grouped by topic, sorted.
	res = describe(nil, 4)
	if res.LogDir != "/data" || res.TotalBytes != 1000 || res.UsableBytes != 400 {
		t.Fatalf("log dir: %+v", res)
	}
	got := map[string]int64{}
	var order []string
	for _, tp := range res.Topics {
		for _, p := range tp.Partitions {
			key := fmt.Sprintf("%s-%d", tp.Name, p.PartitionIndex)
			order = append(order, key)
			got[key] = p.PartitionSize
			if p.OffsetLag != 0 || p.IsFutureKey {
				t.Fatalf("partition %s: %+v", key, p)
			}
		}
	}
	if fmt.Sprint(order) != "[alpha-0 alpha-1 beta-0]" || len(res.Topics) != 2 {
		t.Fatalf("partitions %v", order)
	}
	if got["alpha-0"] != 0 || got["alpha-1"] <= 0 || got["beta-0"] <= 0 || got["alpha-1"] <= got["beta-0"] {
		t.Fatalf("sizes %v", got)
	}
	part, _ := f.reps.Partition(storage.TopicPartition{Topic: "alpha", Partition: 1})
	if got["alpha-1"] != part.Log.Size() {
		t.Fatalf("alpha-1 size %d, log holds %d", got["alpha-1"], part.Log.Size())
	}

	// Requested partitions only; unknown ones are left out.
	res = describe([]protocol.DescribeLogDirsRequestDescribableLogDirTopic{
		{Topic: "alpha", Partitions: []int32{1, 7}}, {Topic: "missing", Partitions: []int32{0}}}, 1)
	if len(res.Topics) != 1 || res.Topics[0].Name != "alpha" || len(res.Topics[0].Partitions) != 1 || res.Topics[0].Partitions[0].PartitionIndex != 1 {
		t.Fatalf("requested partitions: %+v", res.Topics)
	}
	// An empty list asks for nothing.
	if res = describe([]protocol.DescribeLogDirsRequestDescribableLogDirTopic{}, 4); len(res.Topics) != 0 {
		t.Fatalf("empty request: %+v", res.Topics)
	}
}
