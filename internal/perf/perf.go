package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/ctxtime"

	"github.com/sluice-mq/sluice/internal/admin"
)

// Options configure a run.
type Options struct {
	Bootstrap []string
	Topic     string
	// Create creates the topic first (an existing one is used as is)
	// with Partitions, ReplicationFactor (-1: the broker's defaults) and
	// Configs, then waits until each partition has taken a record (Ready)
	// before the measurement starts.
	Create            bool
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string

	RecordSize int
	// Records ends the run after this many records (0: Duration only);
	// Duration after this long (0: Records only).
	Records  int64
	Duration time.Duration
	// Rate is the target records per second over all producers (0: as
	// fast as they go).
	Rate float64
	// Acks is "all", "1" or "0"; Idempotent needs "all".
	Acks        string
	Idempotent  bool
	Compression string // none, gzip, snappy, lz4, zstd
	Linger      time.Duration
	Producers   int
	Consumers   int

	// Progress, when set, gets a line every second.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Mode          string   `json:"mode"`
	Records       int64    `json:"records"`
	Bytes         int64    `json:"bytes"`
	Failed        int64    `json:"failed,omitempty"`
	Seconds       float64  `json:"seconds"`
	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      float64  `json:"mb_per_sec"`
	Latency       *Latency `json:"latency,omitempty"`
	FirstError    string   `json:"first_error,omitempty"`
}

func (o *Options) defaults() error {
	if len(o.Bootstrap) == 0 {
		o.Bootstrap = []string{"127.0.0.1:9092"}
	}
	if o.Topic == "" {
		o.Topic = "sluice-perf"
	}
	if o.RecordSize <= 0 {
		o.RecordSize = 100
	}
	if o.Records <= 0 && o.Duration <= 0 {
		o.Records = 1_000_000
	}
	if o.Acks == "" {
		o.Acks = "all"
	}
	if o.Producers <= 0 {
		o.Producers = 1
	}
	if o.Consumers <= 0 {
		o.Consumers = 1
	}
	if o.Partitions == 0 {
		o.Partitions = -1
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = -1
	}
	if o.Idempotent && o.Acks != "all" {
		return errors.New("idempotence needs acks=all")
	}
	if o.RecordSize < 8 {
		return errors.New("records must be at least 8 bytes (they carry their send time)")
	}
	return nil
}

func (o *Options) producerOpts() ([]kgo.Opt, error) {
	opts, err := admin.ProducerOpts(o.Acks, o.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(o.Bootstrap...), kgo.DefaultProduceTopic(o.Topic), kgo.ProducerLinger(o.Linger))
	if !o.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

// CreateTopic creates o.Topic if o.Create is set; an existing topic is
// kept.
func CreateTopic(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	if !o.Create {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Bootstrap...))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = o.Topic, o.Partitions, o.ReplicationFactor
	for k, v := range o.Configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, c)
	}
	req.Topics, req.TimeoutMillis = append(req.Topics, t), 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", o.Topic, err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 && code != kerr.TopicAlreadyExists.Code {
		return fmt.Errorf("create topic %s: %w", o.Topic, kerr.ErrorForCode(code))
	}
	return nil
}

// Ready waits until every partition of o.Topic takes a record with
// o.Acks, so that a new topic's leaders and followers are in place
// before a measurement starts. It sends one record of o.RecordSize to
// each partition.
func Ready(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	opts, err := o.producerOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(o.Topic)
	req.Topics = append(req.Topics, mt)
	var parts int
	for parts == 0 {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("metadata of %s: %w", o.Topic, err)
		}
		if len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 {
			parts = len(resp.Topics[0].Partitions)
		}
		if parts == 0 {
			if err := ctxtime.Sleep(ctx, 50*time.Millisecond); err != nil {
				return fmt.Errorf("topic %s has no partitions: %w", o.Topic, err)
			}
		}
	}
	recs := make([]*kgo.Record, parts)
	for i := range recs {
		v := make([]byte, o.RecordSize)
		stamp(v, time.Now())
		recs[i] = &kgo.Record{Topic: o.Topic, Partition: int32(i), Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("topic %s not ready: %w", o.Topic, err)
	}
	return nil
}

// pacer hands out send slots at a rate (unlimited when rate is 0).
type pacer struct {
	start time.Time
	rate  float64
	n     atomic.Int64
}

// wait blocks until slot n is due; false when ctx ends first.
func (p *pacer) wait(ctx context.Context) bool {
	if p.rate <= 0 {
		return ctx.Err() == nil
	}
	n := p.n.Add(1) - 1
	due := p.start.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 && ctxtime.Sleep(ctx, d) != nil {
		return false
	}
	return ctx.Err() == nil
}

// counters are a run's running totals.
type counters struct {
	records, bytes, failed atomic.Int64
	firstErr               atomic.Pointer[error]
}

func (c *counters) fail(err error) {
	c.failed.Add(1)
	c.firstErr.CompareAndSwap(nil, &err)
}

// progress prints a line every second until ctx ends.
func progress(ctx context.Context, w io.Writer, mode string, c *counters, h *Histogram) {
	if w == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastRec, lastBytes int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rec, b := c.records.Load(), c.bytes.Load()
		line := fmt.Sprintf("%s: %d records, %.0f records/s, %.2f MB/s", mode, rec, float64(rec-lastRec), float64(b-lastBytes)/1e6)
		if h != nil && h.Count() > 0 {
			line += fmt.Sprintf(", p99 %.2f ms", float64(h.Quantile(0.99))/float64(time.Millisecond))
		}
		if f := c.failed.Load(); f > 0 {
			line += fmt.Sprintf(", %d failed", f)
		}
		fmt.Fprintln(w, line)
		lastRec, lastBytes = rec, b
	}
}

func result(mode string, c *counters, h *Histogram, elapsed time.Duration) *Result {
	r := &Result{Mode: mode, Records: c.records.Load(), Bytes: c.bytes.Load(), Failed: c.failed.Load(), Seconds: elapsed.Seconds()}
	if s := elapsed.Seconds(); s > 0 {
		r.RecordsPerSec, r.MBPerSec = float64(r.Records)/s, float64(r.Bytes)/1e6/s
	}
	if h != nil {
		l := h.Summary()
		r.Latency = &l
	}
	if e := c.firstErr.Load(); e != nil {
		r.FirstError = (*e).Error()
	}
	return r
}

// stamp writes the send time into a record's first 8 bytes.
func stamp(v []byte, t time.Time) { binary.BigEndian.PutUint64(v, uint64(t.UnixNano())) }

func stamped(v []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(v))) }

// produce runs o.Producers producer clients until Records are
// acknowledged (or failed), Duration passes or ctx ends. Each send
// records its acknowledgement latency in h.
func produce(ctx context.Context, o Options, c *counters, h *Histogram) error {
	opts, err := o.producerOpts()
	if err != nil {
		return err
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	p := &pacer{start: time.Now(), rate: o.Rate}
	clients, err := newClients(o.Producers, opts)
	if err != nil {
		return err
	}
	var issued atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, o.Producers)
	for i, cl := range clients {
		wg.Go(func() {
			defer cl.Close()
			// Records are pooled with their values: a record is reused
			// once acknowledged, so a send allocates nothing. Its
			// timestamp is its send time (set here, the client keeps
			// it), which the one promise measures from. Times are
			// taken as the monotonic clock's time since start, a
			// single clock read; the wall time is start's plus that.
			// The client calls promises serially, so the promise
			// gathers latencies into lat and hands them to h a batch
			// at a time.
			pool := sync.Pool{New: func() any { return &kgo.Record{Value: make([]byte, o.RecordSize)} }}
			start := time.Now()
			lat := make([]time.Duration, 0, 256)
			promise := func(r *kgo.Record, err error) {
				if err != nil {
					c.fail(err)
				} else {
					if lat = append(lat, time.Since(start)-r.Timestamp.Sub(start)); len(lat) == cap(lat) {
						h.RecordAll(lat)
						lat = lat[:0]
					}
					c.records.Add(1)
					c.bytes.Add(int64(len(r.Value)))
				}
				pool.Put(r)
			}
			for {
				if o.Records > 0 && issued.Add(1) > o.Records {
					break
				}
				if !p.wait(ctx) {
					break
				}
				r := pool.Get().(*kgo.Record)
				sent := start.Add(time.Since(start))
				*r = kgo.Record{Value: r.Value, Timestamp: sent}
				stamp(r.Value, sent)
				cl.Produce(context.Background(), r, promise)
			}
			if err := cl.Flush(context.Background()); err != nil {
				errs[i] = err
			}
			h.RecordAll(lat) // Flush returns once every promise was called
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createReady creates the topic when asked and then waits until it is
// Ready, outside the measured time.
func createReady(ctx context.Context, o Options) error {
	if err := CreateTopic(ctx, o); err != nil {
		return err
	}
	if o.Create {
		return Ready(ctx, o)
	}
	return nil
}

// Produce measures producing.
func Produce(ctx context.Context, o Options) (*Result, error) {
	if err := createReady(ctx, o); err != nil {
		return nil, err
	}
	_ = o.defaults()
	c, h := &counters{}, NewHistogram()
	pctx, stop := context.WithCancel(ctx)
	go progress(pctx, o.Progress, "produce", c, h)
	start := time.Now()
	err := produce(ctx, o, c, h)
	elapsed := time.Since(start)
	stop()
	return result("produce", c, h, elapsed), err
}

// newClients makes n clients from opts, one after another: franz-go's
// NewClient deduplicates the codec list a compression option carries in
// place, so clients that share one set of options must not be made at
// once. On an error it closes those already made.
func newClients(n int, opts []kgo.Opt) ([]*kgo.Client, error) {
	clients := make([]*kgo.Client, 0, n)
	for range n {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			for _, made := range clients {
				made.Close()
			}
			return nil, err
		}
		clients = append(clients, cl)
	}
	return clients, nil
}

// consume runs o.Consumers consumer clients, each reading every
// partition of the topic from its start, until they have read Records
// between them, Duration passes or ctx ends; onRecord, when set, sees
// every record.
func consume(ctx context.Context, o Options, c *counters, onRecord func(*kgo.Record), ready chan<- struct{}) error {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clients, err := newClients(o.Consumers, []kgo.Opt{kgo.SeedBrokers(o.Bootstrap...), kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100 * time.Millisecond)})
	if ready != nil {
		close(ready) // the clients exist, or none will
	}
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() {
			defer cl.Close()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				fs.EachError(func(_ string, _ int32, err error) {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						c.fail(err)
					}
				})
				fs.EachRecord(func(r *kgo.Record) {
					if onRecord != nil {
						onRecord(r)
					}
					c.bytes.Add(int64(len(r.Value)))
					if n := c.records.Add(1); o.Records > 0 && n >= o.Records {
						cancel()
					}
				})
			}
		})
	}
	wg.Wait()
	return nil
}

// Consume measures consuming: the topic should hold Records records.
func Consume(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := &counters{}
	pctx, stop := context.WithCancel(ctx)
	go progress(pctx, o.Progress, "consume", c, nil)
	start := time.Now()
	err := consume(ctx, o, c, nil, nil)
	elapsed := time.Since(start)
	stop()
	return result("consume", c, nil, elapsed), err
}

// E2E produces and consumes at once and measures each record's latency
// from its send to its delivery to a consumer. Records and the
// consumers' count are those produced; the consumers stop once they have
// them all or a second after the producers are done.
func E2E(ctx context.Context, o Options) (*Result, error) {
	if err := createReady(ctx, o); err != nil {
		return nil, err
	}
	_ = o.defaults()
	pc, cc, h := &counters{}, &counters{}, NewHistogram()
	pctx, stop := context.WithCancel(ctx)
	go progress(pctx, o.Progress, "e2e", cc, h)
	start := time.Now()
	cctx, cancelConsumers := context.WithCancel(ctx)
	defer cancelConsumers()
	co := o
	co.Duration, co.Records = 0, 0
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- consume(cctx, co, cc, func(r *kgo.Record) {
			if len(r.Value) >= 8 {
				if st := stamped(r.Value); st.After(start) {
					h.Record(time.Since(st))
				}
			}
		}, ready)
	}()
	<-ready
	perr := produce(ctx, o, pc, NewHistogram())
	// Let the consumers catch up with what was acknowledged.
	deadline := time.Now().Add(10 * time.Second)
	for cc.records.Load() < pc.records.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancelConsumers()
	cerr := <-done
	elapsed := time.Since(start)
	stop()
	r := result("e2e", cc, h, elapsed)
	r.Failed += pc.failed.Load()
	if r.FirstError == "" {
		if e := pc.firstErr.Load(); e != nil {
			r.FirstError = (*e).Error()
		}
	}
	return r, errors.Join(perr, cerr)
}
