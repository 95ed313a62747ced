package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Log is the storage of the __consumer_offsets partitions, given by the
// broker.
type Log interface {
	// Append appends batch (one v2 record batch the coordinator built,
	// offsets from 0) to partition p as its leader and returns once it is
	// durable (acks=all semantics, min.insync.replicas of the partition
	// included) or ctx ends; it returns the offset of the batch's first
	// record. A batch appended before ctx ended stays in the log and may
	// still become durable later. Errors carry Kafka's code of the
	// failure (a protocol.ErrorCode) where one applies.
	Append(ctx context.Context, p int32, batch []byte) (int64, error)
	// Scan calls fn with every batch of partition p, from its log start to
	// its end, in order.
	Scan(p int32, fn func(batch []byte) error) error
}

var (
	// ErrClosed is returned by Load after Close.
	ErrClosed = errors.New("group: coordinator closed")
	// ErrUnloaded is returned by a Load that Unload interrupted.
	ErrUnloaded = errors.New("group: partition unloaded while loading")
)

// Coordinator coordinates the classic groups of the __consumer_offsets
// partitions it has loaded. It is safe for concurrent use.
type Coordinator struct {
	cfg    Config
	log    Log
	logger *slog.Logger
	newID  func() string

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // pokes the timer loop

	mu struct {
		sync.Mutex
		closed bool
		// partitions is the partition count of __consumer_offsets that
		// group ids hash over: the topic's own once the broker has seen it
		// (SetPartitionCount), else Config.Partitions.
		partitions int32
		parts      map[int32]*partition
		waiters    map[uint64]*waiter
		next       uint64
		// rebalances counts the generations the state machines formed
		// over the coordinator's life (Stats). Only formed ones: a load
		// restores generations without forming any.
		rebalances uint64
	}
}

// partition is one __consumer_offsets partition the coordinator loads or
// has loaded.
type partition struct {
	id      int32
	shard   *shard        // nil while loading
	loaded  chan struct{} // closed when the load ends
	loadErr error

	ctx    context.Context // ends at Unload or Close; stops the writer
	cancel context.CancelFunc
	queue  []*write // writes waiting for the writer, in order
	kick   chan struct{}
}

// waiter is a request waiting for a reply from the state machine.
type waiter struct {
	part int32
	ch   chan reply
}

// New returns a Coordinator that has loaded no partition yet; it starts
// one goroutine, the timer loop, which Close stops.
func New(cfg Config, log Log) *Coordinator {
	cfg = cfg.withDefaults()
	c := &Coordinator{cfg: cfg, log: log, logger: cfg.Logger, newID: randomID, wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.parts = map[int32]*partition{}
	c.mu.partitions = cfg.Partitions
	c.mu.waiters = map[uint64]*waiter{}
	c.wg.Add(1)
	go c.timerLoop()
	return c
}

// randomID returns a random UUID (version 4) as text, the suffix Kafka
// gives new member ids.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (c *Coordinator) now() time.Time { return c.cfg.Now() }

// SetPartitionCount sets how many partitions __consumer_offsets has: the
// topic's own count wins over Config.Partitions (offsets.topic.num.
// partitions), as in Kafka, so that a topic created with another count, or
// grown, still maps each group to the partition that holds it.
func (c *Coordinator) SetPartitionCount(n int32) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.partitions = n
}

// Close stops the coordinator: every partition is dropped, waiting
// requests answer COORDINATOR_NOT_AVAILABLE, later ones too. It waits for
// the coordinator's goroutines, including an Append in progress.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return
	}
	c.mu.closed = true
	for id, p := range c.mu.parts {
		if p.cancel != nil {
			p.cancel()
		}
		delete(c.mu.parts, id)
	}
	for id := range c.mu.waiters {
		c.deliverLocked(reply{to: id, code: protocol.ErrCoordinatorNotAvailable})
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.logger.Info("group coordinator closed")
}

// Load makes the coordinator coordinate the groups of partition p: it
// reads the partition (Scan) and rebuilds their metadata and offsets.
// Meanwhile requests for them answer COORDINATOR_LOAD_IN_PROGRESS. A
// second Load of a partition waits for the first and returns its result.
// A Load whose ctx is done by the time the scan ends installs nothing.
func (c *Coordinator) Load(ctx context.Context, p int32) error {
	c.mu.Lock()
	if n := c.mu.partitions; p < 0 || p >= n {
		c.mu.Unlock()
		return fmt.Errorf("group: load partition %d of %d", p, n)
	}
	if c.mu.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if cur := c.mu.parts[p]; cur != nil {
		c.mu.Unlock()
		select {
		case <-cur.loaded:
			return cur.loadErr
		case <-ctx.Done():
			return fmt.Errorf("group: wait for load of partition %d: %w", p, ctx.Err())
		}
	}
	part := &partition{id: p, loaded: make(chan struct{}), kick: make(chan struct{}, 1)}
	c.mu.parts[p] = part
	c.mu.Unlock()

	start := c.now()
	logger := c.logger.With("partition", p)
	l := newLoader()
	err := c.log.Scan(p, func(batch []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.batch(batch, func(msg string, err error) { logger.Warn(msg, "error", err) })
		return nil
	})
	if err != nil {
		err = fmt.Errorf("group: load partition %d: %w", p, err)
	}

	c.mu.Lock()
	switch {
	case c.mu.closed:
		err = ErrClosed
	case c.mu.parts[p] != part:
		if err == nil {
			err = ErrUnloaded
		}
	case err == nil && ctx.Err() != nil:
		// The caller gave up (its partition was unloaded, perhaps
		// before this load registered itself, which Unload cannot see):
		// installing now would serve groups this broker may no longer
		// own, from what may be a stale log.
		err = fmt.Errorf("group: load partition %d: %w", p, ctx.Err())
		delete(c.mu.parts, p)
	case err != nil:
		delete(c.mu.parts, p)
	default:
		now := c.now()
		part.shard = newShard(p, c.cfg, c.newID, now)
		part.shard.install(l, now)
		part.ctx, part.cancel = context.WithCancel(c.ctx)
		c.wg.Add(1)
		go c.writer(part)
		c.applyLocked(part)
	}
	part.loadErr = err
	close(part.loaded)
	groups := 0
	if part.shard != nil {
		groups = len(part.shard.groups)
	}
	c.mu.Unlock()
	if err != nil {
		logger.Warn("group partition load failed", "error", err)
		return err
	}
	logger.Info("loaded group partition", "groups", groups, "records", l.records,
		"skipped", l.skipped, "duration", c.now().Sub(start))
	return nil
}

// Unload stops coordinating the groups of partition p: requests for them
// answer NOT_COORDINATOR, waiting ones included.
func (c *Coordinator) Unload(p int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	part := c.mu.parts[p]
	if part == nil {
		return
	}
	delete(c.mu.parts, p)
	if part.cancel != nil {
		part.cancel()
	}
	for id, w := range c.mu.waiters {
		if w.part == p {
			c.deliverLocked(reply{to: id, code: protocol.ErrNotCoordinator})
		}
	}
	c.logger.Info("unloaded group partition", "partition", p)
}

// Status says whether the coordinator coordinates groupID: ErrNone,
// ErrCoordinatorLoadInProgress while its partition loads, otherwise
// ErrNotCoordinator (also after Close).
func (c *Coordinator) Status(groupID string) protocol.ErrorCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return protocol.ErrNotCoordinator
	}
	_, code := c.partitionLocked(groupID)
	return code
}

// partitionLocked returns the loaded partition of groupID, or the error a
// request for it answers.
func (c *Coordinator) partitionLocked(groupID string) (*partition, protocol.ErrorCode) {
	if c.mu.closed {
		return nil, protocol.ErrCoordinatorNotAvailable
	}
	p := c.mu.parts[PartitionFor(groupID, c.mu.partitions)]
	switch {
	case p == nil:
		return nil, protocol.ErrNotCoordinator
	case p.shard == nil:
		return nil, protocol.ErrCoordinatorLoadInProgress
	}
	return p, protocol.ErrNone
}

// registerLocked registers a waiter for a reply about partition p.
func (c *Coordinator) registerLocked(p int32) (uint64, chan reply) {
	c.mu.next++
	ch := make(chan reply, 1)
	c.mu.waiters[c.mu.next] = &waiter{part: p, ch: ch}
	return c.mu.next, ch
}

// deliverLocked hands r to its waiter, if it still waits.
func (c *Coordinator) deliverLocked(r reply) {
	w, ok := c.mu.waiters[r.to]
	if !ok {
		return
	}
	delete(c.mu.waiters, r.to)
	w.ch <- r
}

// applyLocked carries out what p's state machine produced: replies to
// waiters, writes to the writer.
func (c *Coordinator) applyLocked(p *partition) {
	e := p.shard.drain()
	c.mu.rebalances += e.rebalances
	for _, r := range e.replies {
		c.deliverLocked(r)
	}
	if len(e.writes) > 0 {
		p.queue = append(p.queue, e.writes...)
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// await waits for the reply to waiter id. When ctx ends first the waiter
// is dropped and the reply carries the error to answer.
func (c *Coordinator) await(ctx context.Context, id uint64, ch chan reply) reply {
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
	}
	c.mu.Lock()
	delete(c.mu.waiters, id)
	c.mu.Unlock()
	select {
	case r := <-ch:
		return r
	default:
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return reply{to: id, code: protocol.ErrRequestTimedOut}
	}
	return reply{to: id, code: protocol.ErrCoordinatorNotAvailable}
}

// TopicsDeleted removes the committed offsets of the named topics, which
// the metadata no longer has, from every group of the loaded partitions.
func (c *Coordinator) TopicsDeleted(topics []string) {
	if len(topics) == 0 {
		return
	}
	set := make(map[string]bool, len(topics))
	for _, t := range topics {
		set[t] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eachShardLocked(func(s *shard) { s.deleteTopics(set) })
}

// eachShardLocked runs fn on the shard of every loaded partition and
// carries out what it did.
func (c *Coordinator) eachShardLocked(fn func(s *shard)) {
	for _, p := range c.mu.parts {
		if p.shard != nil {
			fn(p.shard)
			c.applyLocked(p)
		}
	}
}

// tick fires the timers due at now in every loaded partition. The timer
// loop calls it; tests call it with their own clock.
func (c *Coordinator) tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eachShardLocked(func(s *shard) { s.tick(now) })
}

// nextDeadlineLocked is the earliest timer of any loaded partition.
func (c *Coordinator) nextDeadlineLocked() time.Time {
	var next time.Time
	for _, p := range c.mu.parts {
		if p.shard == nil {
			continue
		}
		if t := p.shard.nextDeadline(); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// timerLoop calls tick when the earliest timer is due.
func (c *Coordinator) timerLoop() {
	defer c.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.mu.Lock()
		next := c.nextDeadlineLocked()
		c.mu.Unlock()
		d := time.Hour
		if !next.IsZero() {
			d = min(max(next.Sub(c.now()), time.Millisecond), time.Hour)
		}
		t.Reset(d)
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		case <-t.C:
			c.tick(c.now())
		}
	}
}

// writer appends the writes of partition p in order, coalescing the ones
// queued together into one batch, and reports each outcome to the state
// machine.
func (c *Coordinator) writer(p *partition) {
	defer c.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
		}
		for {
			c.mu.Lock()
			n, size := 0, 0
			for n < len(p.queue) && (n == 0 || size+p.queue[n].size() <= maxWriteBatchBytes) {
				size += p.queue[n].size()
				n++
			}
			batch := p.queue[:n:n]
			p.queue = p.queue[n:]
			c.mu.Unlock()
			if n == 0 {
				break
			}
			c.flush(p, batch)
		}
	}
}

// flush appends one batch of writes and completes them.
func (c *Coordinator) flush(p *partition, ws []*write) {
	var records []kv
	for _, w := range ws {
		records = append(records, w.records...)
	}
	code := protocol.ErrNone
	data, err := buildBatch(records, c.now().UnixMilli())
	if err != nil {
		c.logger.Error("group records not appended", "partition", p.id, "error", err)
		code = protocol.ErrUnknownServerError
	} else {
		// offsets.commit.timeout.ms bounds this batch's wait for the
		// in-sync replicas, counted from its append as in Kafka (the
		// local append's own time included), not the time its writes
		// spent queued behind earlier batches (each under the same
		// bound). A timed-out write fails as any failed write
		// does, although its records stay in the log and may become
		// durable later; a load reads them then.
		ctx, cancel := context.WithTimeout(p.ctx, c.cfg.CommitTimeout)
		_, err = c.log.Append(ctx, p.id, data)
		cancel()
		if err != nil && len(ws) > 1 && appendCode(err) == protocol.ErrMessageTooLarge {
			// The writes merged past the partition's max.message.bytes;
			// each alone may fit, and is answered on its own.
			for _, w := range ws {
				c.flush(p, []*write{w})
			}
			return
		}
		if err != nil {
			c.logger.Warn("group records not appended", "partition", p.id, "records", len(records), "error", err)
			code = appendCode(err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.parts[p.id] != p {
		// Unloaded meanwhile: Unload has answered the waiters.
		return
	}
	now := c.now()
	for _, w := range ws {
		p.shard.writeDone(w, code, now)
	}
	c.applyLocked(p)
}

// appendCode maps an Append error to a Kafka error code: a code the log
// returns as such, a timeout, a cancellation (the partition is going
// away), or anything else as COORDINATOR_NOT_AVAILABLE.
func appendCode(err error) protocol.ErrorCode {
	var code protocol.ErrorCode
	switch {
	case err == nil:
		return protocol.ErrNone
	case errors.As(err, &code) && code != protocol.ErrNone:
		return code
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.ErrRequestTimedOut
	case errors.Is(err, context.Canceled):
		return protocol.ErrNotCoordinator
	}
	return protocol.ErrCoordinatorNotAvailable
}
