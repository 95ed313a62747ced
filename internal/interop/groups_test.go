package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupRun consumes n records of topic as a member of group and returns
// their values.
type groupRun func(t *testing.T, addr, topic, group string, n int) []string

// testGroupConsumer checks a client's group consumer: it reads every
// record of a 3-partition topic once, its commits reach the log end, and
// a second run of the same group after more records arrive resumes at the
// committed position (only the new records, none again).
func testGroupConsumer(t *testing.T, label string, run groupRun) {
	addr := startNode(t)
	topic, group := label+"-grp", label+"-group"
	createTopic(t, addr, topic)
	produceValues(t, addr, topic, "a", 300)
	checkValues(t, label+" first run", run(t, addr, topic, group, 300), "a", 300)

	ends := listOffsets(t, addr, topic)
	committed := fetchCommitted(t, addr, group, topic)
	for p := range int32(partitions) {
		if committed[p] != ends[p][1] {
			t.Fatalf("%s: partition %d committed at %d, log end %d", label, p, committed[p], ends[p][1])
		}
	}
	produceValues(t, addr, topic, "b", 100)
	checkValues(t, label+" resumed run", run(t, addr, topic, group, 100), "b", 100)
}

// produceValues writes n values "<prefix><i>" round-robin.
func produceValues(t *testing.T, addr, topic, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // kafka-python may lack snappy
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Value: []byte(prefix + strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// checkValues requires exactly the values <prefix>0..<prefix>n-1, once each.
func checkValues(t *testing.T, label string, got []string, prefix string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, v := range got {
		seen[v]++
	}
	for i := range n {
		v := prefix + strconv.Itoa(i)
		if seen[v] != 1 {
			t.Fatalf("%s: %q consumed %d times (%d records in all)", label, v, seen[v], len(got))
		}
		delete(seen, v)
	}
	if len(seen) > 0 {
		t.Fatalf("%s: unexpected records %v", label, seen)
	}
}

// fetchCommitted returns the group's committed offset per partition.
func fetchCommitted(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range int32(partitions) {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("OffsetFetch: %v %+v", err, resp)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

// TestKcatGroupConsumer: kcat's balanced consumer (-G) reads every record
// once and commits; a second run resumes where it stopped.
func TestKcatGroupConsumer(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	needTool(t, "kcat (Debian package kcat)", err)
	testGroupConsumer(t, "kcat", func(t *testing.T, addr, topic, group string, n int) []string {
		out := runTool(t, 60*time.Second, kcat, "-b", addr, "-G", group, "-X", "auto.offset.reset=earliest",
			"-e", "-q", "-f", "%s\n", topic)
		return strings.Fields(string(out))
	})
}

// TestKafkaPythonGroupConsumer: kafka-python's KafkaConsumer with a group
// and auto-commit.
func TestKafkaPythonGroupConsumer(t *testing.T) {
	needPythonModule(t, "kafka-python (Debian package python3-kafka)", "kafka")
	testGroupConsumer(t, "kafka-python", pythonGroup("kafka_python_client.py"))
}

// TestConfluentKafkaPythonGroupConsumer: confluent-kafka's Consumer with a
// group and manual synchronous commits.
func TestConfluentKafkaPythonGroupConsumer(t *testing.T) {
	needPythonModule(t, "confluent-kafka-python (Debian package python3-confluent-kafka)", "confluent_kafka")
	testGroupConsumer(t, "confluent-kafka", pythonGroup("confluent_kafka_client.py"))
}

// TestFranzGoGroupConsumer: franz-go with manual commits of what it read.
func TestFranzGoGroupConsumer(t *testing.T) {
	testGroupConsumer(t, "franz-go", func(t *testing.T, addr, topic, group string, n int) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var vals []string
		for len(vals) < n {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("poll: %v", err)
			}
			fs.EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
		}
		return vals
	})
}

func pythonGroup(script string) groupRun {
	return func(t *testing.T, addr, topic, group string, n int) []string {
		path, err := filepath.Abs(filepath.Join("testdata", script))
		if err != nil {
			t.Fatal(err)
		}
		out := runTool(t, 90*time.Second, systemPython, path, "group", addr, topic, group, strconv.Itoa(n), "60")
		var vals []string
		for line := range strings.Lines(string(out)) {
			var r struct {
				V string `json:"v"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %q: %v", script, line, err)
			}
			vals = append(vals, r.V)
		}
		if len(vals) < n {
			t.Fatalf("%s: %d of %d records within the time limit", script, len(vals), n)
		}
		return vals
	}
}

// TestConfluentKafkaAssignCommitsWithInstanceID: a librdkafka consumer
// with group.instance.id set that assigns its partitions (no
// subscription) commits at generation -1 with its instance id; Kafka
// stores such commits to an Empty or new group, and so must Sluice.
func TestConfluentKafkaAssignCommitsWithInstanceID(t *testing.T) {
	needPythonModule(t, "confluent-kafka-python (Debian package python3-confluent-kafka)", "confluent_kafka")
	addr := startNode(t)
	topic, group := "assign-commit", "assign-commit-group"
	createTopic(t, addr, topic)
	produceValues(t, addr, topic, "a", 30) // round-robin: 10 on partition 0
	path, err := filepath.Abs(filepath.Join("testdata", "confluent_kafka_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	out := runTool(t, 60*time.Second, systemPython, path, "assigncommit", addr, topic, group, "static-1", "10", "30")
	var r struct {
		Committed int64 `json:"committed"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Committed != 10 {
		t.Fatalf("assigncommit printed %q (%v), want committed 10", out, err)
	}
	if c := fetchCommitted(t, addr, group, topic); c[0] != 10 {
		t.Fatalf("committed offsets %v, want 10 on partition 0", c)
	}
}
