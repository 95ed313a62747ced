package node

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
)

// TestAdminAPIsOverTheWire drives the admin APIs through the listener
// with franz-go's request types.
func TestAdminAPIsOverTheWire(t *testing.T) {
	n := startNode(t, t.TempDir())
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "adm", 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("adm"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "adm"
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "retention.ms", kmsg.StringPtr("3600000")
	res.Configs = append(res.Configs, c)
	alter.Resources = append(alter.Resources, res)
	if ar, err := alter.RequestWith(ctx, cl); err != nil || ar.Resources[0].ErrorCode != 0 {
		t.Fatalf("incremental alter: %v %+v", err, ar)
	}
	if cfg := describeConfig(ctx, t, cl, kmsg.ConfigResourceTypeTopic, "adm", "retention.ms"); cfg.Value == nil ||
		*cfg.Value != "3600000" || cfg.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms described as %+v", cfg)
	}

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cpt := kmsg.NewCreatePartitionsRequestTopic()
	cpt.Topic, cpt.Count = "adm", 3
	cp.Topics, cp.TimeoutMillis = append(cp.Topics, cpt), 5000
	if cr, err := cp.RequestWith(ctx, cl); err != nil || cr.Topics[0].ErrorCode != 0 {
		t.Fatalf("create partitions: %v %+v", err, cr)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil || len(dc.Brokers) != 1 || dc.ClusterID == "" {
		t.Fatalf("describe cluster: %v %+v", err, dc)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 2, Value: []byte("x")}, &kgo.Record{Partition: 2, Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ld, err := kmsg.NewPtrDescribeLogDirsRequest().RequestWith(ctx, cl)
	if err != nil || len(ld.Dirs) != 1 || len(ld.Dirs[0].Topics) != 1 || len(ld.Dirs[0].Topics[0].Partitions) != 3 {
		t.Fatalf("describe log dirs: %v %+v", err, ld)
	}
	if dres, err := deleteRecordsRequest("adm", 2, 1, 5*time.Second).RequestWith(ctx, cl); err != nil || dres.Topics[0].Partitions[0].ErrorCode != 0 || dres.Topics[0].Partitions[0].LowWatermark != 1 {
		t.Fatalf("delete records: %v %+v", err, dres)
	}
}

// nodeWithTopic starts a node with a one-partition topic and a franz-go
// client of it; both stop when the test ends.
func nodeWithTopic(t *testing.T, topic string) (context.Context, *kgo.Client) {
	t.Helper()
	n := startNode(t, t.TempDir())
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := n.CreateTopic(ctx, topic, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return ctx, cl
}

// commitZero commits offset 0 of topic's partition 0 for group, outside
// any generation.
func commitZero(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string) {
	t.Helper()
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = group, -1
	oct := kmsg.NewOffsetCommitRequestTopic()
	oct.Topic = topic
	oct.Partitions = append(oct.Partitions, kmsg.NewOffsetCommitRequestTopicPartition())
	oc.Topics = append(oc.Topics, oct)
	if r, err := oc.RequestWith(ctx, cl); err != nil || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset commit: %v %+v", err, r)
	}
}

// TestAuthorizedOperations: there is no authorizer, so a client that
// asks what it may do is told every operation of the resource type, as
// Kafka without an authorizer answers (the Java admin client's
// includeAuthorizedOperations); unasked, nothing.
func TestAuthorizedOperations(t *testing.T) {
	ctx, cl := nodeWithTopic(t, "ops")
	const (
		topicOps   = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11 // read write create delete alter describe describe/alter configs
		clusterOps = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12       // create alter describe cluster-action describe/alter configs idempotent-write
		groupOps   = 1<<3 | 1<<6 | 1<<8                                      // read delete describe
	)
	// Metadata carries cluster operations only to v10 (then
	// DescribeCluster does); franz-go asks at v12.
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("ops")
	md.Topics = append(md.Topics, mt)
	md.IncludeClusterAuthorizedOperations, md.IncludeTopicAuthorizedOperations = true, true
	mr, err := md.RequestWith(ctx, cl)
	if err != nil || mr.AuthorizedOperations != math.MinInt32 || len(mr.Topics) != 1 || mr.Topics[0].AuthorizedOperations != topicOps {
		t.Fatalf("metadata asked for operations: %v %+v", err, mr)
	}
	md.IncludeClusterAuthorizedOperations, md.IncludeTopicAuthorizedOperations = false, false
	if mr, err = md.RequestWith(ctx, cl); err != nil || mr.AuthorizedOperations != math.MinInt32 || mr.Topics[0].AuthorizedOperations != math.MinInt32 {
		t.Fatalf("metadata not asked: %v %+v", err, mr)
	}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeClusterAuthorizedOperations = true
	if dr, err := dc.RequestWith(ctx, cl); err != nil || dr.ClusterAuthorizedOperations != clusterOps {
		t.Fatalf("describe cluster: %v %+v", err, dr)
	}
	// A group with a commit, described.
	commitZero(ctx, t, cl, "ops-group", "ops")
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups, dg.IncludeAuthorizedOperations = []string{"ops-group"}, true
	if r, err := dg.RequestWith(ctx, cl); err != nil || len(r.Groups) != 1 || r.Groups[0].ErrorCode != 0 || r.Groups[0].AuthorizedOperations != groupOps {
		t.Fatalf("describe groups: %v %+v", err, r)
	}
}

// TestLoweringRetentionDeletesSegments: a topic config change takes effect
// on the log at once — lowering retention.ms lets the next retention pass
// delete the old segments and move the log start.
func TestLoweringRetentionDeletesSegments(t *testing.T) {
	cfg, err := config.Load(nil, []string{"log.dir=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093",
		"log.retention.check.interval.ms=100"}, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "ret", 1, map[string]string{"segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("ret"), kgo.MaxBufferedRecords(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 20 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 400)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	earliest := func() int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		tp := kmsg.NewListOffsetsRequestTopic()
		tp.Topic = "ret"
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Timestamp = -2
		tp.Partitions = append(tp.Partitions, p)
		req.Topics = append(req.Topics, tp)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].Offset
	}
	if e := earliest(); e != 0 {
		t.Fatalf("earliest %d before the change", e)
	}
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "ret"
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "retention.ms", kmsg.StringPtr("1")
	res.Configs = append(res.Configs, c)
	alter.Resources = append(alter.Resources, res)
	if ar, err := alter.RequestWith(ctx, cl); err != nil || ar.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter: %v %+v", err, ar)
	}
	deadline := time.Now().Add(10 * time.Second)
	for earliest() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("lowering retention.ms deleted nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("log start moved to %d", earliest())
}

// TestOffsetDeleteUnknownPartitions: OffsetDelete answers a partition
// the metadata does not have UNKNOWN_TOPIC_OR_PARTITION, as Kafka does,
// and deletes the known one's commit beside it.
func TestOffsetDeleteUnknownPartitions(t *testing.T) {
	ctx, cl := nodeWithTopic(t, "od")
	commitZero(ctx, t, cl, "od-group", "od")
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "od-group"
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{"od", []int32{0, 5}}, {"nope", []int32{0}}} {
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = tp.topic
		for _, p := range tp.parts {
			rp := kmsg.NewOffsetDeleteRequestTopicPartition()
			rp.Partition = p
			rt.Partitions = append(rt.Partitions, rp)
		}
		od.Topics = append(od.Topics, rt)
	}
	r, err := od.RequestWith(ctx, cl)
	if err != nil || r.ErrorCode != 0 {
		t.Fatalf("offset delete: %v %+v", err, r)
	}
	codes := map[string]int16{}
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			codes[rt.Topic+"-"+strconv.Itoa(int(rp.Partition))] = rp.ErrorCode
		}
	}
	unknown := int16(3) // UNKNOWN_TOPIC_OR_PARTITION
	if len(codes) != 3 || codes["od-0"] != 0 || codes["od-5"] != unknown || codes["nope-0"] != unknown || len(r.Topics) != 2 {
		t.Fatalf("offset delete results %v in %d topics", codes, len(r.Topics))
	}
}
