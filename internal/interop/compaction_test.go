package interop

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// compactedRec is one record of the compacted topic as a client reads it.
type compactedRec struct {
	Offset int64
	Key    string
	Null   bool
	TS     int64
}

// TestTombstoneHorizonClients cleans a compacted topic whose tombstones
// carry timestamps long past delete.retention.ms, so that the cleaner
// keeps them in batches that now hold a delete horizon in their base
// timestamp (KIP-534), and reads it with kcat, kafka-python and
// confluent-kafka: each must see what franz-go sees — every record with
// its own timestamp, every tombstone with a null value.
func TestTombstoneHorizonClients(t *testing.T) {
	addr := startNode(t, "log.cleaner.backoff.ms=20")
	const topic = "horizon-interop"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Uncompressed: kafka-python has no snappy here, franz-go's default.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, 1, 1
	for k, v := range map[string]string{"cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01"} {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		ct.Configs = append(ct.Configs, c)
	}
	req.Topics = append(req.Topics, ct)
	if resp, err := req.RequestWith(ctx, cl); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics: %v %+v", err, resp)
	}

	old := time.UnixMilli(1_000_000_000_000)
	var recs []*kgo.Record
	for k := range 5 {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "gone-%d", k), Value: []byte("v")})
	}
	for k := range 5 {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "gone-%d", k), Timestamp: old})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // roll segments past the tombstones
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%10), Value: bytes.Repeat([]byte("x"), 200)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// franz-go's reading, once the cleaner has removed the deleted keys'
	// values (offsets 0-4) and then left the log as it is (no writes
	// follow), is the reference.
	var want, prev []compactedRec
	deadline := time.Now().Add(20 * time.Second)
	for {
		want = readFranz(t, ctx, addr, topic)
		if len(want) > 0 && want[0].Offset >= 5 && slices.Equal(want, prev) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cleaner did not settle after removing the deleted keys' values: %v", want[:min(len(want), 8)])
		}
		prev = want
		time.Sleep(300 * time.Millisecond)
	}
	tombstones := 0
	for _, r := range want {
		if strings.HasPrefix(r.Key, "gone-") {
			if !r.Null || r.TS != old.UnixMilli() {
				t.Fatalf("franz-go reads %+v, want a tombstone at %d", r, old.UnixMilli())
			}
			tombstones++
		}
	}
	if tombstones != 5 {
		t.Fatalf("franz-go reads %d tombstones, want 5", tombstones)
	}

	t.Run("kcat", func(t *testing.T) {
		kcat, err := exec.LookPath("kcat")
		needTool(t, "kcat (Debian package kcat)", err)
		out := runTool(t, 60*time.Second, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q",
			"-f", `%o %k %S %T\n`)
		var got []compactedRec
		for line := range strings.Lines(string(out)) {
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("kcat printed %q", line)
			}
			off, _ := strconv.ParseInt(f[0], 10, 64)
			size, _ := strconv.Atoi(f[2])
			ts, _ := strconv.ParseInt(f[3], 10, 64)
			got = append(got, compactedRec{Offset: off, Key: f[1], Null: size == -1, TS: ts})
		}
		sameCompacted(t, "kcat", got, want)
	})
	for _, c := range []struct{ client, pkg, module, script string }{
		{"kafka-python", "python3-kafka", "kafka", "kafka_python_client.py"},
		{"confluent-kafka", "python3-confluent-kafka", "confluent_kafka", "confluent_kafka_client.py"},
	} {
		t.Run(c.client, func(t *testing.T) {
			needPythonModule(t, c.pkg, c.module)
			script, err := filepath.Abs(filepath.Join("testdata", c.script))
			if err != nil {
				t.Fatal(err)
			}
			out := runTool(t, 60*time.Second, systemPython, script, "consume", addr, topic, "1", strconv.Itoa(len(want)), "30")
			var got []compactedRec
			for _, r := range parsePy(t, out) {
				if r.Offsets == nil {
					got = append(got, compactedRec{Offset: r.O, Key: r.K, Null: r.Null, TS: r.T})
				}
			}
			sameCompacted(t, c.client, got, want)
		})
	}
}

// readFranz reads the whole topic's single partition with franz-go.
func readFranz(t *testing.T, ctx context.Context, addr, topic string) []compactedRec {
	t.Helper()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	lreq := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	lreq.Topics = append(lreq.Topics, lt)
	lresp, err := lreq.RequestWith(ctx, adm)
	if err != nil || lresp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("ListOffsets: %v %+v", err, lresp)
	}
	end := lresp.Topics[0].Partitions[0].Offset

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var out []compactedRec
	for last := int64(-1); last < end-1; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			last = r.Offset
			out = append(out, compactedRec{Offset: r.Offset, Key: string(r.Key), Null: r.Value == nil, TS: r.Timestamp.UnixMilli()})
		})
	}
	return out
}

func sameCompacted(t *testing.T, client string, got, want []compactedRec) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s reads %d records, franz-go %d\n%s: %v\nfranz-go: %v", client, len(got), len(want), client, got, want)
	}
}
