package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/testproc"
)

// startNodeWith starts a node on dir with extra properties and a hook to
// adjust the loaded config (nil for none).
func startNodeWith(t testing.TB, dir string, adjust func(*config.Broker), props ...string) *Node {
	t.Helper()
	cfg, err := config.Load(nil, append([]string{"log.dir=" + dir, "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093"}, props...), config.ProfileSingleNode)
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	n, err := Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fill creates topic on n and produces count records of size bytes
// round-robin over its partitions, uncompressed, each value starting
// with its number.
func fill(t testing.TB, ctx context.Context, n *Node, topic string, partitions int32, count, size int) {
	t.Helper()
	if err := n.CreateTopic(ctx, topic, partitions, nil); err != nil {
		t.Fatal(err)
	}
	addr := n.Addr().String()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.DisableIdempotentWrite(),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, size)
	errs := make(chan error, 1)
	for i := range count {
		copy(value, fmt.Sprintf("%09d", i))
		cl.Produce(ctx, &kgo.Record{Value: append([]byte(nil), value...)}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// consumeAll reads count records of topic from the start and returns the
// values' bytes.
func consumeAll(t testing.TB, ctx context.Context, addr, topic string, count int) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(50<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	var bytes int64
	seen := make(map[string]bool, count)
	for got < count {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := string(r.Value[:9])
			if seen[k] {
				t.Fatalf("record %s consumed twice", k)
			}
			seen[k] = true
			bytes += int64(len(r.Value))
		})
		got += fs.NumRecords()
	}
	return bytes
}

// TestFetchUsesSendfile consumes with franz-go from a node and checks
// that the records travelled by sendfile (at least their values' bytes
// were sent that way), and by the copy path on a node without it.
func TestFetchUsesSendfile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, noSendfile := range []bool{false, true} {
		n := startNodeWith(t, t.TempDir(), func(c *config.Broker) { c.NoSendfile = noSendfile })
		addr := n.Addr().String()
		fill(t, ctx, n, "sf", 4, 2000, 1024)
		before := n.ServerStats().BytesSendfile
		values := consumeAll(t, ctx, addr, "sf", 2000)
		sent := n.ServerStats().BytesSendfile - before
		if noSendfile && sent != 0 {
			t.Errorf("copy path: %d bytes sent with sendfile", sent)
		}
		if !noSendfile && sent < uint64(values) {
			t.Errorf("sendfile path: %d bytes sent with sendfile for %d bytes of values", sent, values)
		}
		if err := n.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkConsume measures consume throughput from one node with
// sendfile and with the copy path, in the same run: b.N records of 1 KiB
// over 16 partitions, produced before the timer starts (so read from the
// page cache), consumed by one franz-go client.
//
//	go test ./internal/node -run '^$' -bench Consume -benchtime 400000x
func BenchmarkConsume(b *testing.B) {
	benchConsumeModes(b, func(b *testing.B, ctx context.Context, n *Node) {
		start := time.Now()
		consumeAll(b, ctx, n.Addr().String(), "bench", b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rec/s")
	})
}

// benchConsumeModes runs consume with sendfile and with the copy path,
// each on a node holding b.N records of 1 KiB over 16 partitions, timing
// consume alone.
func benchConsumeModes(b *testing.B, consume func(b *testing.B, ctx context.Context, n *Node)) {
	for _, mode := range []struct {
		name       string
		noSendfile bool
	}{{"sendfile", false}, {"copy", true}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			n := startNodeWith(b, b.TempDir(), func(c *config.Broker) { c.NoSendfile = mode.noSendfile })
			defer n.Shutdown(context.Background())
			fill(b, ctx, n, "bench", 16, b.N, 1024)
			b.SetBytes(1024)
			b.ResetTimer()
			consume(b, ctx, n)
			b.StopTimer()
			st := n.ServerStats()
			b.ReportMetric(float64(st.BytesSendfile)/float64(st.BytesOut), "sendfile-share")
		})
	}
}

// BenchmarkConsumeRaw is BenchmarkConsume with a consumer that costs
// next to nothing: one connection sending Fetch v12 for the 16 partitions
// and reading each response into a reused buffer, finding the next
// offsets from the batch headers without decoding records. Its figure is
// the broker's serving rate rather than a client's decoding rate.
//
//	go test ./internal/node -run '^$' -bench ConsumeRaw -benchtime 400000x
func BenchmarkConsumeRaw(b *testing.B) {
	benchConsumeModes(b, func(b *testing.B, ctx context.Context, n *Node) {
		const partitions = 16
		nc, err := net.Dial("tcp", n.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		start, cpu0 := time.Now(), testproc.CPUTime(b)
		next := make([]int64, partitions)
		var got, respBytes int64
		var frame, req []byte
		for corr := int32(0); got < int64(b.N); corr++ {
			fr := &protocol.FetchRequest{ReplicaID: -1, MaxWaitMs: 500, MinBytes: 1, MaxBytes: 50 << 20, IsolationLevel: 0,
				SessionEpoch: -1, Topics: []protocol.FetchRequestFetchTopic{{Topic: "bench"}}}
			for p := range next {
				fr.Topics[0].Partitions = append(fr.Topics[0].Partitions, protocol.FetchRequestFetchPartition{
					Partition: int32(p), FetchOffset: next[p], CurrentLeaderEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20})
			}
			req = protocol.AppendRequest(req[:0], fr, 12, corr, nil)
			if _, err := nc.Write(req); err != nil {
				b.Fatal(err)
			}
			var size [4]byte
			if _, err := io.ReadFull(nc, size[:]); err != nil {
				b.Fatal(err)
			}
			sz := int(binary.BigEndian.Uint32(size[:]))
			if cap(frame) < sz {
				frame = make([]byte, sz)
			}
			frame = frame[:sz]
			if _, err := io.ReadFull(nc, frame); err != nil {
				b.Fatal(err)
			}
			respBytes += int64(sz) + 4
			_, body, err := protocol.ParseResponseHeader(frame, protocol.ResponseHeaderVersion(protocol.KeyFetch, 12))
			if err != nil {
				b.Fatal(err)
			}
			var resp protocol.FetchResponse
			if err := resp.Decode(body, 12); err != nil {
				b.Fatal(err)
			}
			for _, pd := range resp.Responses[0].Partitions {
				if pd.ErrorCode != 0 {
					b.Fatalf("partition %d: error %d", pd.PartitionIndex, pd.ErrorCode)
				}
				it := record.NewBatches(pd.Records)
				for it.Next() {
					h := it.Header()
					got += int64(h.NumRecords)
					next[pd.PartitionIndex] = h.LastOffset() + 1
				}
			}
		}
		el, cpu := time.Since(start), testproc.CPUTime(b)-cpu0
		b.ReportMetric(float64(got)/el.Seconds(), "rec/s")
		b.ReportMetric(float64(respBytes)/el.Seconds()/1e6, "resp-MB/s")
		b.ReportMetric(cpu.Seconds()*1e3/(float64(respBytes)/1e9), "cpu-ms/GB")
	})
}
