package node

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDynamicBrokerConfigs changes broker configs at runtime over the
// wire, as kafka-configs.sh --entity-type brokers does: the cluster-wide
// default log.retention.ms deletes old segments of a topic without its
// own retention; this broker's min.insync.replicas=2 refuses acks=all
// produces; DescribeConfigs reports each value with its source and
// synonyms; a restart keeps them (they live in the metadata log).
func TestDynamicBrokerConfigs(t *testing.T) {
	dir := t.TempDir()
	start := func() *Node { return startNodeWith(t, dir, nil, "log.retention.check.interval.ms=100") }
	n := start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "dyn", 1, map[string]string{"segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("dyn"), kgo.MaxBufferedRecords(1),
		kgo.RequestRetries(0), kgo.RecordRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 400)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	alter := func(broker, key string, value *string) (int16, string) {
		t.Helper()
		return alterBrokerConfig(ctx, t, cl, broker, key, value)
	}
	if code, msg := alter("", "log.dirs", kmsg.StringPtr("/elsewhere")); code != 42 || msg != "Cannot update these configs dynamically: Set(log.dirs)" {
		t.Fatalf("static key: %d %q", code, msg)
	}
	if code, msg := alter("", "log.retention.ms", kmsg.StringPtr("1")); code != 0 {
		t.Fatalf("cluster default log.retention.ms: %d %s", code, msg)
	}
	if code, msg := alter("1", "min.insync.replicas", kmsg.StringPtr("2")); code != 0 {
		t.Fatalf("broker min.insync.replicas: %d %s", code, msg)
	}

	// Retention follows the dynamic default.
	deadline := time.Now().Add(10 * time.Second)
	for n.logStart(t, "dyn") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a dynamic log.retention.ms deleted nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// acks=all needs 2 in-sync replicas now; there is one.
	err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with min.insync.replicas=2 dynamic: %v", err)
	}

	describe := func(typ kmsg.ConfigResourceType, name, key string) kmsg.DescribeConfigsResponseResourceConfig {
		t.Helper()
		return describeConfig(ctx, t, cl, typ, name, key)
	}
	check := func(when string) {
		t.Helper()
		c := describe(kmsg.ConfigResourceTypeTopic, "dyn", "retention.ms")
		if c.Value == nil || *c.Value != "1" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig ||
			len(c.ConfigSynonyms) == 0 || c.ConfigSynonyms[0].Name != "log.retention.ms" {
			t.Errorf("%s: topic retention.ms %+v", when, c)
		}
		c = describe(kmsg.ConfigResourceTypeBroker, "1", "min.insync.replicas")
		if c.Value == nil || *c.Value != "2" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig || c.ReadOnly ||
			len(c.ConfigSynonyms) != 2 || c.ConfigSynonyms[1].Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("%s: broker min.insync.replicas %+v", when, c)
		}
		c = describe(kmsg.ConfigResourceTypeBroker, "", "log.retention.ms")
		if c.Value == nil || *c.Value != "1" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
			t.Errorf("%s: default resource log.retention.ms %+v", when, c)
		}
		if c := describe(kmsg.ConfigResourceTypeBroker, "1", "log.dirs"); !c.ReadOnly {
			t.Errorf("%s: log.dirs not read-only", when)
		}
	}
	check("before restart")

	cl.Close()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n = start()
	defer n.Shutdown(context.Background())
	cl, err = kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("dyn"), kgo.RequestRetries(0), kgo.RecordRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	check("after restart")
	// Deleting the broker's override restores acks=all.
	if code, msg := alter("1", "min.insync.replicas", nil); code != 0 {
		t.Fatalf("delete min.insync.replicas: %d %s", code, msg)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatalf("produce after deleting the override: %v", err)
	}
}

// logStart returns the log start offset of partition 0 of topic.
func (n *Node) logStart(t *testing.T, topic string) int64 {
	t.Helper()
	for _, p := range n.replicas.Partitions() {
		if p.TP.Topic == topic && p.TP.Partition == 0 {
			return p.Log.StartOffset()
		}
	}
	t.Fatalf("%s-0 not hosted", topic)
	return 0
}

// alterBrokerConfig sets key on the broker resource name ("" for the
// cluster-wide default), or deletes it when value is nil, through r (a
// client sends a named resource to that broker), and returns the
// resource's error code and message.
func alterBrokerConfig(ctx context.Context, t *testing.T, r kmsg.Requestor, name, key string, value *string) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, name
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = key, value
	if value == nil {
		c.Op = kmsg.IncrementalAlterConfigOpDelete
	}
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	msg := ""
	if m := resp.Resources[0].ErrorMessage; m != nil {
		msg = *m
	}
	return resp.Resources[0].ErrorCode, msg
}

// TestDynamicConnectionAndProducerLimits changes max.connections and
// producer.id.expiration.ms at runtime, as Kafka allows: a connection
// beyond the new bound is closed at once, and an idempotent producer
// idle for longer than the new expiration is forgotten.
func TestDynamicConnectionAndProducerLimits(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "producer.id.expiration.check.interval.ms=50")
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "pids", 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("pids"), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// accepted reports whether a new connection is kept open: a rejected
	// one is closed at once, before any request.
	accepted := func() bool {
		t.Helper()
		c, err := net.Dial("tcp", n.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	if !accepted() {
		t.Fatal("a connection refused before any limit was set")
	}
	if code, msg := alterBrokerConfig(ctx, t, cl, "", "max.connections", kmsg.StringPtr("1")); code != 0 {
		t.Fatalf("max.connections: %d %s", code, msg)
	}
	if accepted() {
		t.Fatal("a connection accepted beyond a dynamic max.connections of 1 (the client holds one already)")
	}
	if code, msg := alterBrokerConfig(ctx, t, cl, "", "max.connections", nil); code != 0 {
		t.Fatalf("delete max.connections: %d %s", code, msg)
	}
	if !accepted() {
		t.Fatal("a connection refused once max.connections was deleted")
	}

	producers := func() int {
		t.Helper()
		req := kmsg.NewPtrDescribeProducersRequest()
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = "pids", []int32{0}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("describe producers: %v %+v", err, resp)
		}
		return len(resp.Topics[0].Partitions[0].ActiveProducers)
	}
	time.Sleep(300 * time.Millisecond) // several expiry checks at the static day
	if got := producers(); got != 1 {
		t.Fatalf("%d producers before the change, want 1", got)
	}
	if code, msg := alterBrokerConfig(ctx, t, cl, "1", "producer.id.expiration.ms", kmsg.StringPtr("100")); code != 0 {
		t.Fatalf("producer.id.expiration.ms: %d %s", code, msg)
	}
	waitFor(t, 10*time.Second, "the idle producer expired", func() bool { return producers() == 0 })
}

// describeConfig describes one key of a resource, with its synonyms.
func describeConfig(ctx context.Context, t *testing.T, cl *kgo.Client, typ kmsg.ConfigResourceType, name, key string) kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = typ, name, []string{key}
	req.Resources, req.IncludeSynonyms = append(req.Resources, res), true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) != 1 {
		t.Fatalf("describe %s %q %s: %v %+v", typ, name, key, err, resp)
	}
	return resp.Resources[0].Configs[0]
}
