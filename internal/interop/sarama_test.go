package interop

import (
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSarama drives the broker with sarama: a SyncProducer with
// acks=all, idempotence off and headers in every codec, a partition
// consumer per partition from the oldest offset, and the client's
// GetOffset. It runs at the oldest Kafka version with record batches v2
// (2.1, the first with zstd) and at 3.9, whose request versions Sluice's
// specs come from.
func TestSarama(t *testing.T) {
	captureSaramaLog(t)
	for _, v := range []sarama.KafkaVersion{sarama.V2_1_0_0, sarama.V3_9_0_0} {
		t.Run("kafka-"+v.String(), func(t *testing.T) { testSarama(t, v, 10000) })
	}
}

// captureSaramaLog collects sarama's own log (why it closed a broker
// connection, say) for the test's duration and prints it if the test fails.
func captureSaramaLog(t *testing.T) {
	var mu sync.Mutex
	var sb strings.Builder
	prev := sarama.Logger
	sarama.Logger = log.New(lockedBuilder{&mu, &sb}, "sarama: ", log.Lmicroseconds)
	t.Cleanup(func() {
		sarama.Logger = prev
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Log("sarama's log:\n" + sb.String())
		}
	})
}

type lockedBuilder struct {
	mu *sync.Mutex
	sb *strings.Builder
}

func (l lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

var saramaCodecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

func testSarama(t *testing.T, version sarama.KafkaVersion, n int) {
	addr := startNode(t)
	const topic = "sarama-interop"
	createTopic(t, addr, topic)
	wants := makeRecords("sarama", n, allCodecs, seqHeaders("sarama"))

	start := time.Now()
	codecs, runs := byCodec(wants)
	delivered := map[string][2]int64{}
	for ci, codec := range codecs {
		cfg := sarama.NewConfig()
		cfg.Version = version
		cfg.ClientID = "sluice-interop"
		cfg.Producer.Idempotent = false
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Return.Successes = true
		cfg.Producer.Compression = saramaCodecs[codec]
		cfg.Producer.Partitioner = sarama.NewHashPartitioner
		cfg.Producer.Flush.Frequency = 5 * time.Millisecond
		cfg.Producer.Flush.Messages = 500
		cfg.Producer.Retry.Max = 0
		pcl := connectedClient(t, addr, topic, cfg)
		p, err := sarama.NewSyncProducerFromClient(pcl)
		if err != nil {
			t.Fatalf("sarama %v: NewSyncProducerFromClient: %v", version, err)
		}
		msgs := make([]*sarama.ProducerMessage, len(runs[ci]))
		for i, w := range runs[ci] {
			m := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(w.Key), Value: sarama.StringEncoder(w.Value)}
			for _, h := range w.Headers {
				m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
			}
			msgs[i] = m
		}
		if err := p.SendMessages(msgs); err != nil {
			if perrs, ok := err.(sarama.ProducerErrors); ok && len(perrs) > 0 {
				t.Fatalf("sarama %v produce %s: %d errors, first: %v", version, codec, len(perrs), perrs[0].Err)
			}
			t.Fatalf("sarama %v produce %s: %v", version, codec, err)
		}
		for i, m := range msgs {
			delivered[runs[ci][i].Value] = [2]int64{int64(m.Partition), m.Offset}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := pcl.Close(); err != nil {
			t.Fatal(err)
		}
	}
	produced := time.Since(start)

	start = time.Now()
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "sluice-interop"
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	client := connectedClient(t, addr, topic, cfg)
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	msgs := make(chan *sarama.ConsumerMessage, 1024)
	errs := make(chan error, 16)
	for p := range int32(partitions) {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama %v: ConsumePartition %d: %v", version, p, err)
		}
		defer pc.AsyncClose()
		go func() {
			for m := range pc.Messages() {
				msgs <- m
			}
		}()
		go func() {
			for e := range pc.Errors() {
				errs <- e
			}
		}()
	}
	var gots []got
	timeout := time.After(60 * time.Second)
	for len(gots) < n {
		select {
		case m := <-msgs:
			g := got{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
			for _, h := range m.Headers {
				g.Headers = append(g.Headers, header{string(h.Key), string(h.Value)})
			}
			gots = append(gots, g)
		case err := <-errs:
			t.Fatalf("sarama %v consume: %v", version, err)
		case <-timeout:
			t.Fatalf("sarama %v consume: %d of %d records after 60s", version, len(gots), n)
		}
	}
	consumed := time.Since(start)

	native := map[int32][2]int64{}
	for p := range int32(partitions) {
		lo, err1 := client.GetOffset(topic, p, sarama.OffsetOldest)
		hi, err2 := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err1 != nil || err2 != nil {
			t.Fatalf("sarama %v GetOffset partition %d: %v, %v", version, p, err1, err2)
		}
		native[p] = [2]int64{lo, hi}
	}
	label := fmt.Sprintf("sarama %v", version)
	verify(t, label, wants, gots, native, listOffsets(t, addr, topic))
	verifyDelivered(t, label, delivered, gots)
	t.Logf("%s: stored batches per codec %v", label, checkStoredCodecs(t, label, addr, topic, codecs, nil))
	t.Logf("%s: %d records, codecs %v, produce %v, consume %v", label, n, codecs, produced.Round(time.Millisecond), consumed.Round(time.Millisecond))
}

// connectedClient returns a sarama client whose connection to each of
// topic's partition leaders is open. sarama's Broker.Open marks a broker
// opened before it takes the lock that requests wait on, so when two of
// its goroutines ask for the same new leader at once, the second can send
// on a connection not yet dialled and fail with "broker not connected",
// a request that never left the client (seen under load; with
// Producer.Retry.Max = 0 it failed the produce). Opening the leaders here,
// one at a time, leaves no broker for them to race on.
func connectedClient(t *testing.T, addr, topic string, cfg *sarama.Config) sarama.Client {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama %v: NewClient: %v", cfg.Version, err)
	}
	for p := range int32(partitions) {
		b, err := client.Leader(topic, p)
		if err != nil {
			client.Close()
			t.Fatalf("sarama %v: Leader of partition %d: %v", cfg.Version, p, err)
		}
		if ok, err := b.Connected(); !ok {
			client.Close()
			t.Fatalf("sarama %v: connecting to broker %d: %v", cfg.Version, b.ID(), err)
		}
	}
	return client
}
