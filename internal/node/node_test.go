package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/config"
)

func startNode(t testing.TB, dir string) *Node {
	t.Helper()
	cfg, err := config.Load(nil, []string{"log.dir=" + dir, "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093"}, config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFranzGoProducesAndConsumes runs a real node and drives it with
// franz-go: create a topic, produce keyed records with acks=all in every
// compression codec, consume them back in order from each partition,
// restart the node from its data directory and read them again.
func TestFranzGoProducesAndConsumes(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	addr := n.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	create := kmsg.NewPtrCreateTopicsRequest()
	create.TimeoutMillis = 5000
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "orders", 3, 1
	create.Topics = append(create.Topics, ct)
	resp, err := create.RequestWith(ctx, admin)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic: %v %+v", err, resp)
	}
	admin.Close()

	const perCodec = 2000 // 10,000 records across the five codecs
	codecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	want := map[int32][]string{}
	for ci, codec := range codecs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(codec), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
		if err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for i := range perCodec {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", i%17), Value: fmt.Appendf(nil, "c%d-v%d", ci, i),
				Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}})
		}
		results := cl.ProduceSync(ctx, recs...)
		if err := results.FirstErr(); err != nil {
			t.Fatalf("produce with %v: %v", codec, err)
		}
		for _, r := range results {
			want[r.Record.Partition] = append(want[r.Record.Partition], string(r.Record.Value))
		}
		cl.Close()
	}

	check := func(label string) {
		t.Helper()
		offsets := map[string]map[int32]kgo.Offset{"orders": {}}
		for p := range int32(3) {
			offsets["orders"][p] = kgo.NewOffset().AtStart()
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(offsets))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		got := map[int32][]string{}
		total := 0
		for total < perCodec*len(codecs) {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("%s: poll: %v", label, err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if int64(len(got[r.Partition])) != r.Offset {
					t.Fatalf("%s: partition %d offset %d after %d records", label, r.Partition, r.Offset, len(got[r.Partition]))
				}
				if len(r.Headers) != 1 || r.Headers[0].Key != "h" {
					t.Fatalf("%s: headers %v", label, r.Headers)
				}
				got[r.Partition] = append(got[r.Partition], string(r.Value))
				total++
			})
		}
		t.Logf("%s: read %d records: partition sizes %d, %d, %d", label, total, len(got[0]), len(got[1]), len(got[2]))
		// franz-go fetches through an incremental fetch session (KIP-227).
		if n.handler.FetchSessionCount() == 0 {
			t.Fatalf("%s: no fetch session was opened", label)
		}
		for p, vals := range want {
			if fmt.Sprint(got[p]) != fmt.Sprint(vals) {
				t.Fatalf("%s: partition %d differs: got %d records, want %d", label, p, len(got[p]), len(vals))
			}
		}
	}
	check("first run")

	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, dir)
	addr = n.Addr().String()
	defer n.Shutdown(context.Background())
	check("after a restart")
}
