package record

import (
	"context"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These tests check the package against franz-go both ways, with batches
// made and read by franz-go's real client code rather than by us:
//
//   - franz-go -> us: a kgo producer writes to an in-memory kfake cluster;
//     a control function captures the raw records field of every produce
//     request, which we frame, validate and iterate, comparing every
//     record with what was produced.
//   - us -> franz-go: we build a batch per codec, check it with franz-go's
//     own decoding (kmsg.RecordBatch, kgo.DefaultDecompressor and
//     kmsg.Record, via kfake.BatchRecords), then produce it raw through
//     kfake (which checks the CRC and header) and consume it with a kgo
//     consumer, which checks the CRC again, decompresses and parses it.

var kgoCodecs = []struct {
	codec Codec
	kgo   kgo.CompressionCodec
}{
	{CodecNone, kgo.NoCompression()},
	{CodecGzip, kgo.GzipCompression()},
	{CodecSnappy, kgo.SnappyCompression()},
	{CodecLZ4, kgo.Lz4Compression()},
	{CodecZstd, kgo.ZstdCompression()},
}

// kgoRecords makes records covering null/empty keys and values, header
// values, and timestamps out of order. Values compress well so that
// franz-go keeps the compressed form.
func kgoRecords(topic string, n int) []*kgo.Record {
	base := time.UnixMilli(1_700_000_000_000)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		r := &kgo.Record{Topic: topic, Timestamp: base.Add(time.Duration((i*37)%101-50) * time.Millisecond)}
		switch i % 4 {
		case 0:
		case 1:
			r.Key = []byte{}
		default:
			r.Key = fmt.Appendf(nil, "key-%d", i)
		}
		switch i % 7 {
		case 0:
		case 1:
			r.Value = []byte{}
		default:
			r.Value = fmt.Appendf(nil, "value %d %s", i, slices.Repeat([]byte("abcdefgh"), 1+i%50))
		}
		if i%100 == 99 {
			// Big values span codec blocks (xerial 32 KiB, lz4 64 KiB)
			// and fill batches, so requests carry several.
			r.Value = fmt.Appendf(nil, "big %d %s", i, slices.Repeat(fmt.Appendf(nil, "%08d", i), 15<<10))
		}
		for h := range i % 3 {
			hd := kgo.RecordHeader{Key: fmt.Sprintf("h%d", h)}
			if h == 0 {
				hd.Value = fmt.Appendf(nil, "hv-%d", i)
			}
			r.Headers = append(r.Headers, hd)
		}
		recs[i] = r
	}
	return recs
}

func TestFranzGoProducedBatches(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	var mu sync.Mutex
	var captured [][]byte
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				captured = append(captured, slices.Clone(p.Records))
			}
		}
		return nil, nil, false // let kfake answer
	})

	for _, kc := range kgoCodecs {
		t.Run(kc.codec.String(), func(t *testing.T) {
			mu.Lock()
			captured = nil
			mu.Unlock()

			cl, err := kgo.NewClient(
				kgo.SeedBrokers(cluster.ListenAddrs()...),
				kgo.ProducerBatchCompression(kc.kgo),
				kgo.ProducerLinger(20*time.Millisecond),
				kgo.ProducerBatchMaxBytes(160<<10),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			produced := kgoRecords("t", 400)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, produced...).FirstErr(); err != nil {
				t.Fatal(err)
			}

			type got struct {
				seq int32
				idx int
				ts  int64
				rec testRecord
			}
			var all []got
			mu.Lock()
			regions := captured
			mu.Unlock()
			seen := map[int32]bool{}
			var batches, compressed, xerial, rawSnappy int
			for _, region := range regions {
				it := NewBatches(region)
				for it.Next() {
					batch := it.Batch()
					h := it.Header()
					if seen[h.BaseSequence] {
						continue // a retried request
					}
					seen[h.BaseSequence] = true
					batches++
					if c := h.Attributes.Codec(); c != CodecNone {
						if c != kc.codec {
							t.Fatalf("batch compressed with %v, want %v", c, kc.codec)
						}
						compressed++
					}
					if h.Attributes.Codec() == CodecSnappy {
						// franz-go writes a raw block from its
						// one-shot compressor and xerial framing
						// from its streaming one; we read both.
						if string(batch[HeaderSize:HeaderSize+8]) == "\x82SNAPPY\x00" {
							xerial++
						} else {
							rawSnappy++
						}
					}
					// franz-go is idempotent by default.
					if h.ProducerID < 0 || h.ProducerEpoch < 0 || h.BaseSequence < 0 || h.BaseOffset != 0 {
						t.Fatalf("producer fields %+v", h)
					}
					s, err := Validate(batch, Options{ProducerChecks: true})
					if err != nil {
						t.Fatalf("Validate franz-go batch: %v", err)
					}
					var it2 Records
					if err := it2.Reset(batch, Options{ProducerChecks: true}); err != nil {
						t.Fatal(err)
					}
					var maxTS int64 = -1 << 63
					for it2.Next() {
						all = append(all, got{h.BaseSequence, int(it2.Index()), it2.Timestamp(), copyRecord(it2.Record())})
						maxTS = max(maxTS, it2.Timestamp())
					}
					if err := it2.Err(); err != nil {
						t.Fatal(err)
					}
					if maxTS != h.MaxTimestamp || s.MaxTimestamp != maxTS {
						t.Fatalf("MaxTimestamp %d, records' max %d, summary %d", h.MaxTimestamp, maxTS, s.MaxTimestamp)
					}
				}
				if err := it.Err(); err != nil {
					t.Fatalf("framing franz-go's records field: %v", err)
				}
			}
			if kc.codec != CodecNone && compressed == 0 {
				t.Fatalf("no batch used %v", kc.codec)
			}
			slices.SortFunc(all, func(a, b got) int {
				if a.seq != b.seq {
					return int(a.seq - b.seq)
				}
				return a.idx - b.idx
			})
			if len(all) != len(produced) {
				t.Fatalf("read %d records from %d batches, produced %d", len(all), batches, len(produced))
			}
			for i, p := range produced {
				g := all[i]
				if g.ts != p.Timestamp.UnixMilli() {
					t.Fatalf("record %d timestamp %d, want %d", i, g.ts, p.Timestamp.UnixMilli())
				}
				if !sameBytes(g.rec.Key, p.Key) || !sameBytes(g.rec.Value, p.Value) || len(g.rec.Headers) != len(p.Headers) {
					t.Fatalf("record %d: got %v, produced key %q value %q", i, g.rec, p.Key, p.Value)
				}
				for j, h := range p.Headers {
					if string(g.rec.Headers[j].Key) != h.Key || !sameBytes(g.rec.Headers[j].Value, h.Value) {
						t.Fatalf("record %d header %d: got %q=%q", i, j, g.rec.Headers[j].Key, g.rec.Headers[j].Value)
					}
				}
			}
			t.Logf("%v: %d records in %d batches (%d compressed; snappy: %d xerial, %d raw)",
				kc.codec, len(all), batches, compressed, xerial, rawSnappy)
		})
	}
}

func TestFranzGoReadsOurBatches(t *testing.T) {
	const topic = "r"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	metaResp, err := meta.RequestWith(ctx, cl)
	if err != nil || len(metaResp.Topics) != 1 {
		t.Fatalf("metadata: %v", err)
	}
	topicID := metaResp.Topics[0].TopicID

	crcTable := crc32.MakeTable(crc32.Castagnoli)
	var want []testRecord
	var wantTS []int64
	for i, kc := range kgoCodecs {
		// About 60 KiB of records: several xerial blocks for snappy.
		recs := genRecords(randFor(i), 40, 3000)
		b := NewBuilder(kc.codec)
		b.BaseTimestamp = 1_700_000_000_000 + int64(i)*1000
		batch := buildBatch(t, b, recs)

		// franz-go's decoding, directly.
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(batch); err != nil {
			t.Fatalf("%v: kmsg.RecordBatch: %v", kc.codec, err)
		}
		if uint32(rb.CRC) != crc32.Checksum(batch[21:], crcTable) || rb.Magic != 2 || int(rb.Length) != len(batch)-12 ||
			rb.NumRecords != int32(len(recs)) || rb.LastOffsetDelta != int32(len(recs)-1) || rb.Attributes&7 != int16(kc.codec) {
			t.Fatalf("%v: franz-go sees header %+v", kc.codec, rb)
		}
		krecs, err := kfake.BatchRecords(rb)
		if err != nil {
			t.Fatalf("%v: franz-go cannot decode our batch: %v", kc.codec, err)
		}
		var decoded []testRecord
		for _, kr := range krecs {
			r := testRecord{OffsetDelta: kr.OffsetDelta, TimestampDelta: kr.TimestampDelta64, Key: kr.Key, Value: kr.Value}
			for _, h := range kr.Headers {
				r.Headers = append(r.Headers, RecordHeader{Key: []byte(h.Key), Value: h.Value})
			}
			decoded = append(decoded, r)
		}
		equalRecords(t, decoded, recs)

		// Through kfake to a kgo consumer.
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("%v: kfake rejected our batch: error code %d %v", kc.codec, code, resp.Topics[0].Partitions[0].ErrorMessage)
		}
		want = append(want, recs...)
		for _, r := range recs {
			wantTS = append(wantTS, b.BaseTimestamp+r.TimestampDelta)
		}
	}

	var got []*kgo.Record
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), len(want), err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch error: %v", err) })
		got = append(got, fs.Records()...)
	}
	if len(got) != len(want) {
		t.Fatalf("consumed %d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Offset != int64(i) || g.Timestamp.UnixMilli() != wantTS[i] || !sameBytes(g.Key, w.Key) ||
			!sameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("consumed record %d: offset %d ts %d key %q value %d bytes; want %v ts %d",
				i, g.Offset, g.Timestamp.UnixMilli(), g.Key, len(g.Value), w, wantTS[i])
		}
		for j, h := range w.Headers {
			if g.Headers[j].Key != string(h.Key) || !sameBytes(g.Headers[j].Value, h.Value) {
				t.Fatalf("consumed record %d header %d: %q=%q", i, j, g.Headers[j].Key, g.Headers[j].Value)
			}
		}
	}
}
