package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
)

// Load produces numbered records (values "0", "1", …, keyed by
// themselves) with acks=all and idempotence, as fast as up to 64
// records in flight allow, until Stop; it remembers where each
// acknowledged record went.
type Load struct {
	c     *Cluster
	topic string
	cl    *kgo.Client

	mu    sync.Mutex
	acked map[string]Position
	sent  int
	fails int

	stop chan struct{}
	done chan struct{}
}

// Position is where a record was acknowledged.
type Position struct {
	Partition int32
	Offset    int64
}

// StartLoad starts producing to topic through the running members.
func (c *Cluster) StartLoad(topic string) *Load {
	c.t.Helper()
	var seeds []string
	for _, m := range c.Up() {
		seeds = append(seeds, m.Node.Addr().String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(15*time.Second),
		kgo.ProduceRequestTimeout(3*time.Second), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		c.t.Fatalf("seed %d: %v", c.Seed, err)
	}
	l := &Load{c: c, topic: topic, cl: cl, acked: map[string]Position{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *Load) run() {
	defer close(l.done)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case sem <- struct{}{}:
		}
		v := []byte(strconv.Itoa(i))
		l.mu.Lock()
		l.sent++
		l.mu.Unlock()
		wg.Add(1)
		l.cl.Produce(context.Background(), &kgo.Record{Key: v, Value: v}, func(r *kgo.Record, err error) {
			defer wg.Done()
			<-sem
			l.mu.Lock()
			defer l.mu.Unlock()
			if err != nil {
				l.fails++
				return
			}
			l.acked[string(r.Value)] = Position{r.Partition, r.Offset}
		})
	}
}

// Acked returns how many records were acknowledged so far.
func (l *Load) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// Snapshot returns the records acknowledged so far.
func (l *Load) Snapshot() map[string]Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Position, len(l.acked))
	for k, v := range l.acked {
		out[k] = v
	}
	return out
}

// Stop ends the load once every record in flight is answered and returns
// the acknowledged records, the records sent and the failures.
func (l *Load) Stop() (map[string]Position, int, int) {
	return l.stopWithin(20 * time.Second)
}

// Abort ends the load at once: records in flight fail.
func (l *Load) Abort() (map[string]Position, int, int) { return l.stopWithin(0) }

// stopWithin waits up to d for the records in flight, then closes the
// client, which fails those still buffered (a record with no broker to
// go to is never timed out otherwise).
func (l *Load) stopWithin(d time.Duration) (map[string]Position, int, int) {
	close(l.stop)
	select {
	case <-l.done:
	case <-time.After(d):
	}
	l.cl.Close()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.sent, l.fails
}

// WaitAcked waits until n more records than now are acknowledged.
func (l *Load) WaitAcked(n int, within time.Duration) {
	l.c.t.Helper()
	target := l.Acked() + n
	l.c.WaitFor(within, fmt.Sprintf("%d acknowledged records", target), func() bool { return l.Acked() >= target })
}

// Entry is one record read from a replica's log.
type Entry struct {
	Offset int64
	Epoch  int32
	Value  string
}

// ReadReplica reads member m's replica of tp from its start up to end,
// returning its records and its raw batches.
func ReadReplica(m *Member, tp storage.TopicPartition, end int64) ([]Entry, []byte, error) {
	p, ok := m.Node.Replicas().Partition(tp)
	if !ok {
		return nil, nil, fmt.Errorf("node %d has no replica of %s", m.ID, tp)
	}
	var out []Entry
	var raw []byte
	var it record.Records
	defer it.Close()
	for off := p.Log.StartOffset(); off < end; {
		res, err := p.Log.Read(off, 1<<20, end, true)
		if err != nil {
			return nil, nil, err
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			return nil, nil, err
		}
		if len(data) == 0 {
			break
		}
		raw = append(raw, data...)
		batches := record.NewBatches(data)
		for batches.Next() {
			h := batches.Header()
			if err := it.Reset(batches.Batch(), record.Options{}); err != nil {
				return nil, nil, err
			}
			for it.Next() {
				out = append(out, Entry{Offset: it.Offset(), Epoch: h.PartitionLeaderEpoch, Value: string(it.Record().Value)})
			}
			if err := it.Err(); err != nil {
				return nil, nil, err
			}
			off = h.NextOffset()
		}
	}
	return out, raw, nil
}

// CheckReplicas waits until every running replica of each partition of
// topic has the same log end and high watermark, then checks that their
// logs are byte for byte the same up to it and that every acknowledged
// record is there once, at the offset it was acknowledged with, in
// production order within its partition. It returns the records read.
func (c *Cluster) CheckReplicas(topic string, partitions int32, acked map[string]Position, within time.Duration) int {
	c.t.Helper()
	ends := make([]int64, partitions)
	c.WaitFor(within, "the replicas of "+topic+" to agree", func() bool {
		img := c.Up()[0].Node.Metadata()
		t := img.TopicByName(topic)
		if t == nil {
			return false
		}
		for pid := range partitions {
			part, _ := t.Partition(pid)
			if part.Leader == metadata.NoLeader {
				return false
			}
			var end, hw int64 = -1, -1
			for _, m := range c.Up() {
				if !part.HasReplica(m.ID) {
					continue
				}
				p, ok := m.Node.Replicas().Partition(storage.TopicPartition{Topic: topic, Partition: pid})
				if !ok {
					return false
				}
				e, h := p.Log.EndOffset(), p.HighWatermark()
				if (end >= 0 && (e != end || h != hw)) || e != h {
					return false
				}
				end, hw = e, h
			}
			ends[pid] = end
		}
		return true
	})
	byValue := map[string]Position{}
	total := 0
	for pid := range partitions {
		tp := storage.TopicPartition{Topic: topic, Partition: pid}
		var first []byte
		var entries []Entry
		for _, m := range c.Up() {
			es, raw, err := ReadReplica(m, tp, ends[pid])
			if err != nil {
				continue // not a replica
			}
			if first == nil {
				first, entries = raw, es
			} else if !bytes.Equal(first, raw) {
				c.t.Fatalf("seed %d: %s: node %d's log differs from another replica's below the high watermark %d", c.Seed, tp, m.ID, ends[pid])
			}
		}
		last := -1
		for _, e := range entries {
			if prev, dup := byValue[e.Value]; dup {
				c.t.Fatalf("seed %d: value %s at %s@%d and %d@%d", c.Seed, e.Value, tp, e.Offset, prev.Partition, prev.Offset)
			}
			byValue[e.Value] = Position{pid, e.Offset}
			v, _ := strconv.Atoi(e.Value)
			if v <= last {
				c.t.Fatalf("seed %d: %s: value %d at offset %d after %d", c.Seed, tp, v, e.Offset, last)
			}
			last = v
			total++
		}
	}
	for v, pos := range acked {
		if got, ok := byValue[v]; !ok || got != pos {
			c.t.Fatalf("seed %d: acknowledged record %s at %d@%d: found %v (present %v)", c.Seed, v, pos.Partition, pos.Offset, got, ok)
		}
	}
	return total
}

// EpochWatch samples every running member's metadata and fails the test
// if two leaders ever appear for one partition and leader epoch.
type EpochWatch struct {
	c    *Cluster
	mu   sync.Mutex
	seen map[string]int32
	bad  string
	stop chan struct{}
	done chan struct{}
}

// WatchEpochs starts sampling.
func (c *Cluster) WatchEpochs() *EpochWatch {
	w := &EpochWatch{c: c, seen: map[string]int32{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			c.mu.Lock()
			var imgs []*metadata.Image
			for _, m := range c.Members {
				if m.Node != nil {
					imgs = append(imgs, m.Node.Metadata())
				}
			}
			c.mu.Unlock()
			for _, img := range imgs {
				for t := range img.Topics.All() {
					for pid, p := range t.Partitions() {
						if p.Leader == metadata.NoLeader {
							continue
						}
						k := fmt.Sprintf("%s-%d@%d", t.Name(), pid, p.LeaderEpoch)
						w.mu.Lock()
						if l, ok := w.seen[k]; ok && l != p.Leader && w.bad == "" {
							w.bad = fmt.Sprintf("%s led by %d and %d", k, l, p.Leader)
						}
						w.seen[k] = p.Leader
						w.mu.Unlock()
					}
				}
			}
		}
	}()
	return w
}

// Check stops sampling and fails the test if an epoch had two leaders.
func (w *EpochWatch) Check() {
	w.c.t.Helper()
	close(w.stop)
	<-w.done
	if w.bad != "" {
		w.c.t.Fatalf("seed %d: %s", w.c.Seed, w.bad)
	}
}
