package interop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// TestKafkaGo drives the broker with segmentio/kafka-go: a Writer with
// RequireAll, the Hash balancer and headers in every codec, a Reader per
// partition (no GroupID) from the first offset, and Conn.ReadOffsets on a
// connection to each partition's leader.
func TestKafkaGo(t *testing.T) {
	const n = 10000
	addr := startNode(t)
	const topic = "kafka-go-interop"
	createTopic(t, addr, topic)
	wants := makeRecords("kafka-go", n, allCodecs, seqHeaders("kafka-go"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	codecOf := map[string]compress.Compression{
		"none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd,
	}
	start := time.Now()
	codecs, runs := byCodec(wants)
	var mu sync.Mutex
	delivered := map[string][2]int64{}
	for ci, codec := range codecs {
		w := &kafka.Writer{
			Addr:         kafka.TCP(addr),
			Topic:        topic,
			Balancer:     &kafka.Hash{},
			RequiredAcks: kafka.RequireAll,
			Compression:  codecOf[codec],
			BatchSize:    500,
			BatchTimeout: 5 * time.Millisecond,
			MaxAttempts:  1,
			Completion: func(msgs []kafka.Message, err error) {
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, m := range msgs {
					delivered[string(m.Value)] = [2]int64{int64(m.Partition), m.Offset}
				}
			},
		}
		msgs := make([]kafka.Message, len(runs[ci]))
		for i, r := range runs[ci] {
			msgs[i] = kafka.Message{Key: []byte(r.Key), Value: []byte(r.Value)}
			for _, h := range r.Headers {
				msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
			}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			var werrs kafka.WriteErrors
			if errors.As(err, &werrs) {
				t.Fatalf("kafka-go produce %s: %d of %d messages failed, e.g. %v", codec, werrs.Count(), len(msgs), firstErr(werrs))
			}
			t.Fatalf("kafka-go produce %s: %v", codec, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	produced := time.Since(start)

	start = time.Now()
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	msgs := make(chan kafka.Message, 1024)
	errs := make(chan error, partitions)
	var wg sync.WaitGroup
	for p := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{addr}, Topic: topic, Partition: p,
			MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 200 * time.Millisecond,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(rctx)
				if err != nil {
					if rctx.Err() == nil {
						errs <- err
					}
					return
				}
				select {
				case msgs <- m:
				case <-rctx.Done():
					return
				}
			}
		}()
	}
	var gots []got
	for len(gots) < n {
		select {
		case m := <-msgs:
			g := got{Partition: int32(m.Partition), Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
			for _, h := range m.Headers {
				g.Headers = append(g.Headers, header{h.Key, string(h.Value)})
			}
			gots = append(gots, g)
		case err := <-errs:
			t.Fatalf("kafka-go Reader: %v", err)
		case <-ctx.Done():
			t.Fatalf("kafka-go consume: %d of %d records: %v", len(gots), n, ctx.Err())
		}
	}
	rcancel()
	wg.Wait()
	consumed := time.Since(start)

	native := map[int32][2]int64{}
	for p := range partitions {
		conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatalf("kafka-go DialLeader partition %d: %v", p, err)
		}
		first, last, err := conn.ReadOffsets()
		conn.Close()
		if err != nil {
			t.Fatalf("kafka-go ReadOffsets partition %d: %v", p, err)
		}
		native[int32(p)] = [2]int64{first, last}
	}
	verify(t, "kafka-go", wants, gots, native, listOffsets(t, addr, topic))
	verifyDelivered(t, "kafka-go", delivered, gots)
	t.Logf("kafka-go: stored batches per codec %v", checkStoredCodecs(t, "kafka-go", addr, topic, codecs, nil))
	t.Logf("kafka-go: %d records, codecs %v, produce %v, consume %v", n, codecs, produced.Round(time.Millisecond), consumed.Round(time.Millisecond))
}

func firstErr(errs kafka.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
