package storage

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/ctxtime"
)

// CleanerOptions configures the log cleaner: Kafka's log.cleaner.* keys.
// Zero fields take Kafka's defaults.
type CleanerOptions struct {
	// Disabled turns compaction off (log.cleaner.enable=false): compacted
	// logs then grow without bound.
	Disabled bool
	// Threads is the number of cleaner threads (log.cleaner.threads, 1).
	Threads int
	// DedupeBufferSize is the memory of the key → offset maps, divided
	// among the threads (log.cleaner.dedupe.buffer.size, 128 MiB); a log
	// with more distinct keys in its dirty part is cleaned in several
	// passes.
	DedupeBufferSize int64
	// LoadFactor is how full a map may get
	// (log.cleaner.io.buffer.load.factor, 0.9).
	LoadFactor float64
	// IOBufferSize is each thread's initial read buffer; it grows to
	// hold a larger batch (log.cleaner.io.buffer.size, 512 KiB).
	IOBufferSize int
	// MaxIOBytesPerSecond bounds the bytes the threads read and write
	// together (log.cleaner.io.max.bytes.per.second, no bound).
	MaxIOBytesPerSecond float64
	// Backoff is the pause when no log needs cleaning
	// (log.cleaner.backoff.ms, 15 s).
	Backoff time.Duration
}

func (o *CleanerOptions) setDefaults() {
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.DedupeBufferSize <= 0 {
		o.DedupeBufferSize = 128 << 20
	}
	if o.LoadFactor <= 0 || o.LoadFactor > 1 {
		o.LoadFactor = defaultCleanerLoadFactor
	}
	if o.IOBufferSize <= 0 {
		o.IOBufferSize = 512 << 10
	}
	if o.MaxIOBytesPerSecond <= 0 {
		o.MaxIOBytesPerSecond = math.Inf(1)
	}
	if o.Backoff <= 0 {
		o.Backoff = 15 * time.Second
	}
}

// maxMapBytesPerThread is Kafka's bound on one thread's map.
const maxMapBytesPerThread = math.MaxInt32

// CleanerStats are the cleaner's counters since the manager opened.
type CleanerStats struct {
	Passes          int64 // cleaning passes completed
	Aborted         int64 // passes given up because the log changed
	Failed          int64 // passes that failed; the log is then left alone
	SegmentsCleaned int64 // source segments rewritten
	BytesRead       int64 // bytes of batches read while rewriting
	BytesWritten    int64 // bytes of batches written
	RecordsRead     int64
	RecordsRemoved  int64
	// Uncleanable is the number of logs a failure took out of cleaning
	// until restart.
	Uncleanable int
}

// cleaner is a manager's log cleaner: Threads goroutines that each take
// the dirtiest compacted log (Kafka's LogCleanerManager), clean it and
// checkpoint how far they got.
type cleaner struct {
	m        *Manager
	logger   *slog.Logger
	throttle *throttler

	// runMu serializes starting, stopping and reconfiguring the threads.
	runMu  sync.Mutex
	closed bool // stopped for good (the manager closed)
	// optMu guards o and works, which a reconfiguration replaces: a
	// pass keeps the options and the pool it started with.
	optMu sync.Mutex
	o     CleanerOptions
	works chan *cleanWork // each thread's state, allocated on first use

	mu          sync.Mutex
	inProgress  map[*Log]bool
	uncleanable map[TopicPartition]bool
	checkpoints map[TopicPartition]int64
	// writeMu serializes writes of the checkpoint file, newest last.
	writeMu sync.Mutex

	passes, aborted, failed           atomic.Int64
	segments, bytesRead, bytesWritten atomic.Int64
	recordsRead, recordsRemoved       atomic.Int64
	cancel                            context.CancelFunc
	done                              sync.WaitGroup
}

func newCleaner(m *Manager, o CleanerOptions, checkpoints map[TopicPartition]int64) *cleaner {
	o.setDefaults()
	c := &cleaner{
		m: m, logger: m.logger.With("component", "cleaner"),
		throttle:    newThrottler(o.MaxIOBytesPerSecond, m.o.Now),
		inProgress:  map[*Log]bool{},
		uncleanable: map[TopicPartition]bool{},
		checkpoints: checkpoints,
		o:           o,
		works:       newWorkPool(o.Threads),
	}
	return c
}

// newWorkPool returns a pool of n threads' states, each allocated on
// first use.
func newWorkPool(n int) chan *cleanWork {
	works := make(chan *cleanWork, n)
	for range n {
		works <- nil
	}
	return works
}

// start runs the threads until stop.
func (c *cleaner) start() {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if !c.closed {
		c.startLocked()
	}
}

func (c *cleaner) startLocked() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.optMu.Lock()
	threads, backoff := c.o.Threads, c.o.Backoff
	c.optMu.Unlock()
	for range threads {
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			for ctx.Err() == nil {
				did, err := c.cleanOne(ctx)
				if err != nil && ctx.Err() == nil {
					c.logger.Error("cleaning failed", "err", err)
				}
				if !did {
					if ctxtime.Sleep(ctx, backoff) != nil {
						return
					}
				}
			}
		}()
	}
}

// stop ends the threads for good, interrupting passes under way (their
// cleaned files are discarded, or completed by the next open if
// committed).
func (c *cleaner) stop() {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	c.closed = true
	c.stopLocked()
}

func (c *cleaner) stopLocked() {
	if c.cancel != nil {
		c.cancel()
		c.done.Wait()
		c.cancel = nil
	}
}

// reconfigure takes new options, as Kafka's LogCleaner.reconfigure does:
// the I/O bound changes at once, and the threads are stopped (passes
// under way are given up) and started again with the new count, maps,
// buffers and backoff. It does nothing once the cleaner is stopped for
// good, and starts no thread for a cleaner that never ran (compaction
// turned off statically).
func (c *cleaner) reconfigure(o CleanerOptions) {
	o.setDefaults()
	c.runMu.Lock()
	defer c.runMu.Unlock()
	running := c.cancel != nil
	c.stopLocked()
	c.optMu.Lock()
	c.o, c.works = o, newWorkPool(o.Threads)
	c.optMu.Unlock()
	c.throttle.setRate(o.MaxIOBytesPerSecond)
	if running && !c.closed {
		c.startLocked()
	}
}

// work takes a thread's state from the current pool, allocating it on
// first use, and returns the pool to give it back to.
func (c *cleaner) work() (*cleanWork, chan *cleanWork) {
	c.optMu.Lock()
	o, works := c.o, c.works
	c.optMu.Unlock()
	w := <-works
	if w == nil {
		mapBytes := min(o.DedupeBufferSize/int64(o.Threads), maxMapBytesPerThread)
		w = newCleanWork(int(mapBytes), o.LoadFactor, o.IOBufferSize, c.throttle)
	}
	return w, works
}

// bound is the offset below which l may be cleaned.
func (c *cleaner) bound(l *Log) int64 {
	if c.m.o.RetentionBound != nil {
		return c.m.o.RetentionBound(l)
	}
	return l.DurableEnd()
}

// pick chooses the dirtiest compacted log that is eligible and marks it in
// progress.
func (c *cleaner) pick(now time.Time) (*Log, cleanState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Log
	var bestSt cleanState
	for _, l := range c.m.Logs() {
		if c.inProgress[l] {
			continue
		}
		cp, ok := c.checkpoints[l.tp]
		if to := l.truncatedTo.Swap(math.MaxInt64); ok && to < cp {
			// Kafka's maybeTruncateCheckpoint. The file catches up at
			// the next write; until then a restart reopens the log,
			// which notes its end as a truncation again.
			cp = to
			c.checkpoints[l.tp] = to
		}
		cfg := l.cfg.Load()
		if !cfg.Compact || c.uncleanable[l.tp] || l.Err() != nil || l.closed.Load() {
			continue
		}
		if !ok {
			cp = -1
		}
		st := l.cleanState(cp, c.bound(l), now)
		if !st.eligible(cfg.MinCleanableRatio) {
			continue
		}
		if best == nil || (st.overdue && !bestSt.overdue) || (st.overdue == bestSt.overdue && st.ratio > bestSt.ratio) {
			best, bestSt = l, st
		}
	}
	if best != nil {
		c.inProgress[best] = true
	}
	return best, bestSt
}

// cleanOne cleans the dirtiest eligible log, if any, and reports whether
// it found one.
func (c *cleaner) cleanOne(ctx context.Context) (bool, error) {
	now := c.m.o.Now()
	l, st := c.pick(now)
	if l == nil {
		return false, nil
	}
	defer func() {
		c.mu.Lock()
		delete(c.inProgress, l)
		c.mu.Unlock()
	}()
	w, pool := c.work()
	defer func() { pool <- w }()
	start := time.Now()
	res, err := l.clean(ctx, w, st, now)
	c.segments.Add(int64(res.segments))
	c.bytesRead.Add(res.stats.bytesRead)
	c.bytesWritten.Add(res.stats.bytesWritten)
	c.recordsRead.Add(res.stats.recordsRead)
	c.recordsRemoved.Add(res.stats.recordsRead - res.stats.recordsKept)
	switch {
	case err == nil:
	case errors.Is(err, errCleanAborted) || ctx.Err() != nil || l.closed.Load():
		c.aborted.Add(1)
		c.logger.Debug("cleaning given up", "partition", l.tp.String(), "err", err)
		return true, nil
	default:
		c.failed.Add(1)
		c.mu.Lock()
		c.uncleanable[l.tp] = true
		c.mu.Unlock()
		return true, err
	}
	c.passes.Add(1)
	c.mu.Lock()
	// A log deleted (or reopened) meanwhile keeps no checkpoint: a new
	// partition of that name must start from its beginning.
	current := c.m.Log(l.tp) == l && !l.closed.Load()
	if current {
		c.checkpoints[l.tp] = res.end
	}
	c.mu.Unlock()
	if err := c.writeCheckpoint(); err != nil {
		c.logger.Error("writing the cleaner checkpoint failed", "err", err)
	}
	elapsed := time.Since(start)
	c.logger.Info("cleaned log", "partition", l.tp.String(), "first_dirty_offset", st.firstDirty,
		"cleaned_up_to", res.end, "segments", res.segments,
		"bytes_read", res.stats.bytesRead, "bytes_written", res.stats.bytesWritten,
		"records_removed", res.stats.recordsRead-res.stats.recordsKept, "elapsed", elapsed)
	return true, nil
}

// writeCheckpoint writes cleaner-offset-checkpoint with the current
// offsets.
func (c *cleaner) writeCheckpoint() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	cp := make(map[TopicPartition]int64, len(c.checkpoints))
	for tp, off := range c.checkpoints {
		cp[tp] = off
	}
	c.mu.Unlock()
	return WriteOffsetCheckpoint(c.m.fs, c.m.fs.PathJoin(c.m.dir, CleanerOffsetCheckpointFile), cp)
}

// forget drops a deleted partition's state, on disk too, so that a
// partition created again under its name starts with no checkpoint.
func (c *cleaner) forget(tp TopicPartition) {
	c.mu.Lock()
	_, had := c.checkpoints[tp]
	delete(c.checkpoints, tp)
	delete(c.uncleanable, tp)
	c.mu.Unlock()
	if had {
		if err := c.writeCheckpoint(); err != nil {
			c.logger.Error("writing the cleaner checkpoint failed", "err", err)
		}
	}
}

func (c *cleaner) stats() CleanerStats {
	c.mu.Lock()
	unc := len(c.uncleanable)
	c.mu.Unlock()
	return CleanerStats{
		Passes: c.passes.Load(), Aborted: c.aborted.Load(), Failed: c.failed.Load(),
		SegmentsCleaned: c.segments.Load(), BytesRead: c.bytesRead.Load(), BytesWritten: c.bytesWritten.Load(),
		RecordsRead: c.recordsRead.Load(), RecordsRemoved: c.recordsRemoved.Load(), Uncleanable: unc,
	}
}

// ReconfigureCleaner applies new log cleaner options at runtime (Kafka's
// dynamic log.cleaner.* keys): see cleaner.reconfigure. Disabled is
// ignored; whether compaction runs is fixed when the manager opens.
func (m *Manager) ReconfigureCleaner(o CleanerOptions) { m.cleaner.reconfigure(o) }

// CleanerStats returns the log cleaner's counters.
func (m *Manager) CleanerStats() CleanerStats { return m.cleaner.stats() }

// CleanerCheckpoint returns tp's first dirty offset as the cleaner last
// checkpointed it, and whether it has one.
func (m *Manager) CleanerCheckpoint(tp TopicPartition) (int64, bool) {
	m.cleaner.mu.Lock()
	defer m.cleaner.mu.Unlock()
	off, ok := m.cleaner.checkpoints[tp]
	return off, ok
}

// Clean runs cleaning passes in the caller's goroutine until no compacted
// log is eligible or ctx ends, and returns the number of passes and the
// first error. The background threads keep running; both take logs one
// at a time, so they never clean the same log at once.
func (m *Manager) Clean(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		did, err := m.cleaner.cleanOne(ctx)
		if err != nil {
			return n, err
		}
		if !did {
			return n, nil
		}
		n++
	}
	return n, ctx.Err()
}

// CleanerOptions returns the log cleaner's options in force, Kafka's
// defaults filled in.
func (m *Manager) CleanerOptions() CleanerOptions {
	m.cleaner.optMu.Lock()
	defer m.cleaner.optMu.Unlock()
	return m.cleaner.o
}
