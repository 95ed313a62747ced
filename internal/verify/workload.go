package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Workload is what runs against the broker: producers and consumers that
// record every send and poll into a History.
type Workload struct {
	Addr string
	// Seeds, when set, are the bootstrap brokers instead of Addr (a
	// cluster).
	Seeds []string
	// Replication is the topic's replication factor (0: the broker's
	// default) and MinInsync its min.insync.replicas (0: the default).
	Replication int16
	MinInsync   int
	Topic       string
	Partitions  int32
	Producers   int
	Consumers   int
	// GroupConsumers subscribe to the topic as members of one consumer
	// group (auto-commit), numbered after the Consumers.
	GroupConsumers int
	// InFlight bounds each producer's records awaiting an answer.
	InFlight int
	// DeliveryTimeout bounds a send: past it the send is indeterminate.
	DeliveryTimeout time.Duration
	Logger          *slog.Logger
}

func (w *Workload) seeds() []string {
	if len(w.Seeds) > 0 {
		return w.Seeds
	}
	return []string{w.Addr}
}

// recorder collects a run's history from many goroutines.
type recorder struct {
	mu sync.Mutex
	h  History
}

func (r *recorder) send(s Send) {
	r.mu.Lock()
	r.h.Sends = append(r.h.Sends, s)
	r.mu.Unlock()
}

func (r *recorder) poll(p Poll) {
	r.mu.Lock()
	r.h.Polls = append(r.h.Polls, p)
	r.mu.Unlock()
}

func (r *recorder) assign(a Assignment) {
	r.mu.Lock()
	r.h.Assignments = append(r.h.Assignments, a)
	r.mu.Unlock()
}

// createTopic creates the workload's topic (an existing one is fine).
func (w *Workload) createTopic(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = w.Topic, w.Partitions, -1
	if w.Replication > 0 {
		t.ReplicationFactor = w.Replication
	}
	if w.MinInsync > 0 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr(strconv.Itoa(w.MinInsync))
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 30000
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			code := resp.Topics[0].ErrorCode
			if code == 0 || code == kerr.TopicAlreadyExists.Code {
				return nil
			}
			err = kerr.ErrorForCode(code)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("create topic %s: %w", w.Topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// produce runs producer id until ctx ends, then waits for its sends to
// finish.
func (w *Workload) produce(ctx context.Context, id int, rec *recorder) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...), kgo.DefaultProduceTopic(w.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(w.InFlight), kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(w.DeliveryTimeout),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		return err
	}
	defer cl.Close()
	for seq := 0; ctx.Err() == nil; seq++ {
		s := Send{Producer: id, Seq: seq, Partition: int32((id + seq) % int(w.Partitions)),
			Value: fmt.Sprintf("p%d-%d", id, seq), Sent: time.Now()}
		r := &kgo.Record{Partition: s.Partition, Value: []byte(s.Value)}
		// Produce blocks while InFlight records await an answer; a
		// context ending while it blocks fails the record at once.
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			s.Done = time.Now()
			switch {
			case err == nil:
				s.Status, s.Offset = SendOK, r.Offset
			case definiteFailure(err):
				s.Status, s.Err = SendFailed, err.Error()
			default:
				s.Status, s.Err = SendIndeterminate, err.Error()
			}
			rec.send(s)
		})
	}
	// Every send gets its answer (bounded by DeliveryTimeout).
	fctx, cancel := context.WithTimeout(context.Background(), w.DeliveryTimeout+30*time.Second)
	defer cancel()
	return cl.Flush(fctx)
}

// definiteFailure reports errors for which the broker answered that the
// record was not written.
func definiteFailure(err error) bool {
	for _, e := range []error{kerr.InvalidRecord, kerr.CorruptMessage, kerr.MessageTooLarge,
		kerr.RecordListTooLarge, kerr.InvalidTopicException, kerr.InvalidRequiredAcks,
		kerr.OutOfOrderSequenceNumber, kerr.InvalidProducerEpoch, kerr.TopicAuthorizationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// consume runs consumer id until ctx ends: it assigns every partition
// from the log start and records each poll.
func (w *Workload) consume(ctx context.Context, id int, rec *recorder) error {
	parts := map[int32]kgo.Offset{}
	start := map[int32]int64{}
	for p := range w.Partitions {
		parts[p] = kgo.NewOffset().AtStart()
		start[p] = -1
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.Topic: parts}),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	rec.assign(Assignment{Consumer: id, Session: 0, Partitions: start})
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return nil
		}
		p := Poll{Consumer: id, Session: 0, At: time.Now()}
		fs.EachRecord(func(r *kgo.Record) {
			p.Records = append(p.Records, Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
		if len(p.Records) > 0 {
			rec.poll(p)
		}
	}
	return nil
}

// consumeGroup runs consumer id as a member of the workload's group until
// ctx ends. Each assignment starts a new session: a partition handed over
// is read from its committed offset, which the member cannot know, so
// sessions of group members carry no Assignment (the checker then skips
// the first-record check) and offsets are compared within a session.
// Rebalances wait for the member's poll to be recorded
// (BlockRebalanceOnPoll), so a poll belongs to one session.
func (w *Workload) consumeGroup(ctx context.Context, id int, rec *recorder) error {
	var session atomic.Int64
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...),
		kgo.ConsumerGroup(w.Topic+"-group"), kgo.ConsumeTopics(w.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond), kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { session.Add(1) }),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { session.Add(1) }),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { session.Add(1) }))
	if err != nil {
		return err
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return nil
		}
		p := Poll{Consumer: id, Session: int(session.Load()), At: time.Now()}
		fs.EachRecord(func(r *kgo.Record) {
			p.Records = append(p.Records, Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
		if len(p.Records) > 0 {
			rec.poll(p)
		}
		cl.AllowRebalance()
	}
	return nil
}

// finalRead reads every partition from its log start to its end.
func (w *Workload) finalRead(ctx context.Context, rec *recorder) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	starts, ends, err := w.listOffsets(ctx, cl)
	if err != nil {
		return err
	}
	parts := map[int32]kgo.Offset{}
	for p := range w.Partitions {
		parts[p] = kgo.NewOffset().At(starts[p])
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(w.seeds()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.Topic: parts}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer rd.Close()
	next := map[int32]int64{}
	for p := range w.Partitions {
		next[p] = starts[p]
	}
	var final []Record
	done := func() bool {
		for p := range w.Partitions {
			if next[p] < ends[p] {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("final read: %w", ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Partition] {
				final = append(final, Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			}
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		})
	}
	rec.mu.Lock()
	rec.h.Final, rec.h.FinalStart, rec.h.FinalEnd = final, starts, ends
	rec.mu.Unlock()
	return nil
}

// listOffsets returns each partition's log start and end offsets.
func (w *Workload) listOffsets(ctx context.Context, cl *kgo.Client) (starts, ends map[int32]int64, err error) {
	get := func(ts int64) (map[int32]int64, error) {
		req := kmsg.NewPtrListOffsetsRequest()
		t := kmsg.NewListOffsetsRequestTopic()
		t.Topic = w.Topic
		for p := range w.Partitions {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition, lp.Timestamp = p, ts
			t.Partitions = append(t.Partitions, lp)
		}
		req.Topics = append(req.Topics, t)
		for {
			resp, err := req.RequestWith(ctx, cl)
			if err == nil {
				out := map[int32]int64{}
				for _, rt := range resp.Topics {
					for _, rp := range rt.Partitions {
						if rp.ErrorCode != 0 {
							err = kerr.ErrorForCode(rp.ErrorCode)
							break
						}
						out[rp.Partition] = rp.Offset
					}
				}
				if err == nil && len(out) == int(w.Partitions) {
					return out, nil
				}
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("list offsets: %w", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if starts, err = get(-2); err != nil {
		return nil, nil, err
	}
	ends, err = get(-1)
	return starts, ends, err
}
