package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/storage"
)

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCompactedTopicOverTheWire produces 50 versions of 20 keys to a
// compacted topic with franz-go, waits for the background cleaner, and
// consumes: every key's latest value is there, older ones are gone,
// offsets only increase. A record without a key is refused with
// INVALID_RECORD.
func TestCompactedTopicOverTheWire(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "log.cleaner.backoff.ms=20")
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "table"
	if err := n.CreateTopic(ctx, topic, 1, map[string]string{
		"cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
	}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	latest := map[string]string{}
	for v := range 50 {
		var recs []*kgo.Record
		for k := range 20 {
			key, val := fmt.Sprintf("key-%02d", k), fmt.Sprintf("value-%d-%d", k, v)
			latest[key] = val
			recs = append(recs, &kgo.Record{Key: []byte(key), Value: []byte(val)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("a record without a key: %v, want INVALID_RECORD", err)
	}
	tp := storage.TopicPartition{Topic: topic, Partition: 0}
	waitFor(t, 20*time.Second, "the cleaner", func() bool {
		cp, ok := n.logs.CleanerCheckpoint(tp)
		return ok && cp > 500
	})

	cons, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]string{}
	count, last := 0, int64(-1)
	end := n.logs.Log(tp).EndOffset()
	for last < end-1 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			seen[string(r.Key)] = string(r.Value)
			count++
		})
	}
	for k, v := range latest {
		if seen[k] != v {
			t.Fatalf("key %s: last value read %q, latest written %q", k, seen[k], v)
		}
	}
	if count >= 1000 {
		t.Fatalf("read %d records of 1000 written: nothing was compacted", count)
	}
	t.Logf("read %d of 1000 records; cleaner %+v", count, n.logs.CleanerStats())
}

// TestConsumerOffsetsCompacted commits a group's offset 400 times, so
// __consumer_offsets (compacted, 4 KiB segments here) rolls several
// segments; the cleaner compacts them, and after a restart the group's
// offsets load from the compacted log with the last commit.
func TestConsumerOffsetsCompacted(t *testing.T) {
	dir := t.TempDir()
	props := []string{"log.cleaner.backoff.ms=20", "offsets.topic.segment.bytes=4096", "offsets.topic.num.partitions=1"}
	n := startNodeWith(t, dir, nil, props...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "events", 2, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	commit := func(off int64) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = "g", -1
		for _, p := range []int32{0, 1} {
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "events"
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, off+int64(p)
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					t.Fatalf("commit %d: %v", off, err)
				}
			}
		}
	}
	for i := range 400 {
		commit(int64(i))
	}
	tp := storage.TopicPartition{Topic: "__consumer_offsets", Partition: 0}
	log := n.logs.Log(tp)
	written := log.EndOffset()
	waitFor(t, 20*time.Second, "the cleaner to compact __consumer_offsets", func() bool {
		cp, ok := n.logs.CleanerCheckpoint(tp)
		return ok && cp > written/2
	})
	stats := n.logs.CleanerStats()
	if stats.RecordsRemoved < written/2 {
		t.Fatalf("cleaner %+v after %d records", stats, written)
	}
	cl.Close()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	n = startNodeWith(t, dir, nil, props...)
	defer n.Shutdown(context.Background())
	cl, err = kgo.NewClient(kgo.SeedBrokers(n.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "g"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "events", []int32{0, 1}
	fetch.Topics = append(fetch.Topics, ft)
	var resp *kmsg.OffsetFetchResponse
	waitFor(t, 20*time.Second, "the group's offsets to load", func() bool {
		resp, err = fetch.RequestWith(ctx, cl)
		return err == nil && resp.ErrorCode == 0 && len(resp.Topics) == 1 && resp.Topics[0].Partitions[0].ErrorCode == 0
	})
	for _, p := range resp.Topics[0].Partitions {
		if want := 399 + int64(p.Partition); p.Offset != want {
			t.Fatalf("partition %d: committed offset %d after the restart, want %d", p.Partition, p.Offset, want)
		}
	}
	t.Logf("__consumer_offsets: %d records written; cleaner %+v", written, stats)
}

// TestCleanupPolicyBecomesCompact turns a delete topic into a compacted
// one with IncrementalAlterConfigs: the cleaner takes it from then on.
func TestCleanupPolicyBecomesCompact(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "log.cleaner.backoff.ms=20")
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.CreateTopic(ctx, "becomes", 1, map[string]string{"segment.bytes": "4096"}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()), kgo.DefaultProduceTopic("becomes"), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 300 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i % 3)), Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	tp := storage.TopicPartition{Topic: "becomes", Partition: 0}
	time.Sleep(100 * time.Millisecond) // several backoffs: a delete topic is not cleaned
	if _, ok := n.logs.CleanerCheckpoint(tp); ok {
		t.Fatal("the cleaner took a topic with cleanup.policy=delete")
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "becomes"
	for k, v := range map[string]string{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"} {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter configs: %v %+v", err, resp)
	}
	waitFor(t, 20*time.Second, "the cleaner", func() bool {
		cp, ok := n.logs.CleanerCheckpoint(tp)
		return ok && cp > 200
	})
}
