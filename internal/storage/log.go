package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

var errNotExist = fs.ErrNotExist

// Errors a Log returns; handlers map them to Kafka codes.
var (
	// ErrOffsetOutOfRange: a read below the log start or above the end.
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrStorage wraps a failed write or fsync: the log directory is
	// offline and the log refuses every further append (Kafka's
	// KAFKA_STORAGE_ERROR). It is never retried.
	ErrStorage = errors.New("storage: log directory failed")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("storage: log closed")
)

// CorruptionError reports a batch that fails validation with data after
// it in a segment synced whole (below the recovery point, or after a
// clean shutdown), which recovery refuses to truncate away.
type CorruptionError struct {
	Segment  int64 // base offset of the segment
	Position int64 // byte position of the bad batch
	Err      error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: corrupt batch in segment %d at position %d, followed by valid data: %v", e.Segment, e.Position, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Log is one partition's log: an ordered list of segments, the last one
// active. One writer (Append, Roll, TruncateTo, retention) runs at a time
// under mu; readers run concurrently against an immutable snapshot of the
// segment list and each segment's published size.
//
// Durability: appended bytes become durable when a sync covers them. Sync
// snapshots what was written, fdatasyncs outside mu, then publishes the
// durable offset and wakes every waiter, so one fsync acknowledges every
// append made before it (group commit).
type Log struct {
	fs      vfs.FS
	dir     string
	tp      TopicPartition
	logger  *slog.Logger
	now     func() time.Time
	flusher *Flusher
	cfg     atomic.Pointer[Config]

	// mu serializes writers. syncMu serializes syncs and operations that
	// close or remove segment files. structMu serializes the operations
	// that replace segments other than the active one (truncation,
	// deletion, a cleaned segment's swap, closing), so that a swap's
	// directory syncs hold up no sync. Order: structMu, syncMu, mu.
	structMu sync.Mutex
	mu       sync.Mutex
	syncMu   sync.Mutex

	segs          atomic.Pointer[[]*segment]
	endOffset     atomic.Int64
	startOffset   atomic.Int64
	recoveryPoint atomic.Int64
	durable       atomic.Int64 // offsets below are synced
	notify        atomic.Pointer[chan struct{}]
	failure       atomic.Pointer[error]
	syncPending   atomic.Bool
	closed        atomic.Bool
	waiters       atomic.Int64 // goroutines in WaitDurable
	// endNotify is closed and replaced when the log end moves (an append
	// or a truncation) while endWaiters > 0: replica fetches long-poll on
	// it, since followers read past the durable end.
	endNotify  atomic.Pointer[chan struct{}]
	endWaiters atomic.Int64
	// gen changes (under mu) whenever segments other than the active one
	// change: truncation, deletion, a cleaned segment swapped in. A
	// cleaning pass swaps its result in only if gen is what it started with.
	gen atomic.Int64
	// truncatedTo is the lowest offset a truncation cut the log to since
	// the cleaner last looked (math.MaxInt64 for none): the cleaner's
	// checkpoint must not stay above it, or data appended there would
	// never be indexed.
	truncatedTo atomic.Int64

	// Guarded by mu.
	dirDirty          bool  // a segment file was created or removed since the last SyncDir
	rpLowered         bool  // a truncation lowered the recovery point since the last Sync
	unflushedMessages int64 // messages appended since the last sync (page-cache mode)
	lastSync          time.Time
	lastAppend        time.Time
	epochs            *LeaderEpochCache
	deleting          []*segment     // renamed to .deleted, removed after FileDeleteDelay
	producers         *producerState // idempotent producers' last batches
	unsyncedSnapshots []int64        // producer snapshots written since the last Sync

	duplicates atomic.Uint64       // retried batches recognised
	dupCounter *atomic.Uint64      // the manager's total, or nil
	onSync     func(time.Duration) // told each Sync's fdatasync time, or nil
	persistRP  func() error        // writes the recovery points (OpenOptions.PersistRecoveryPoint), or nil
	dropCache  atomic.Bool         // see SetDropCache
}

// noteTruncation lowers truncatedTo to offset.
func (l *Log) noteTruncation(offset int64) {
	for {
		cur := l.truncatedTo.Load()
		if offset >= cur || l.truncatedTo.CompareAndSwap(cur, offset) {
			return
		}
	}
}

// TopicPartition returns the partition this log holds.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// Config returns the current configuration.
func (l *Log) Config() Config { return *l.cfg.Load() }

// SetConfig replaces the configuration; it applies to the next append,
// roll and retention pass.
func (l *Log) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	l.cfg.Store(&c)
	return nil
}

// EndOffset is the log end offset: the offset the next append gets.
func (l *Log) EndOffset() int64 { return l.endOffset.Load() }

// StartOffset is the log start offset: the first offset readable.
func (l *Log) StartOffset() int64 { return l.startOffset.Load() }

// RecoveryPoint is the offset below which every segment and index is
// synced; recovery after a crash starts there.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// SyncedOffset is the offset below which every record is fsynced.
func (l *Log) SyncedOffset() int64 { return l.durable.Load() }

// DurableEnd is the offset below which appends may be acknowledged under
// the log's durability setting: the synced offset in the durable mode,
// the log end offset in page-cache mode.
func (l *Log) DurableEnd() int64 {
	if l.cfg.Load().Durable() {
		return l.durable.Load()
	}
	return l.endOffset.Load()
}

// Epochs returns the leader epoch cache.
func (l *Log) Epochs() *LeaderEpochCache { return l.epochs }

// Err returns the error that took the log offline, or nil.
func (l *Log) Err() error {
	if p := l.failure.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) segments() []*segment { return *l.segs.Load() }

func (l *Log) setSegments(s []*segment) { l.segs.Store(&s) }

func (l *Log) active() *segment {
	s := l.segments()
	return s[len(s)-1]
}

// segmentFor returns the segment that holds offset: the last one whose
// base is at most offset.
func segmentFor(segs []*segment, offset int64) (int, *segment) {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
	if i < 0 {
		return -1, nil
	}
	return i, segs[i]
}

// Size returns the total size in bytes of the log's segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segments() {
		n += s.size.Load()
	}
	return n
}

// NumSegments returns the number of segments.
func (l *Log) NumSegments() int { return len(l.segments()) }

// fail takes the log offline with err, wakes waiters and returns the
// wrapped error.
func (l *Log) fail(err error) error {
	err = fmt.Errorf("%w: %s: %w", ErrStorage, l.dir, err)
	if l.failure.CompareAndSwap(nil, &err) {
		l.logger.Error("log directory failed", "err", err)
		l.wake()
	}
	return *l.failure.Load()
}

// wakeIfWaiting wakes durability waiters, if there are any: in page-cache
// mode every append makes itself acknowledgeable, and most have nobody
// waiting.
func (l *Log) wakeIfWaiting() {
	if l.waiters.Load() > 0 {
		l.wake()
	}
}

// wake broadcasts to every durability waiter, and to end watchers.
func (l *Log) wake() {
	ch := make(chan struct{})
	old := l.notify.Swap(&ch)
	close(*old)
	l.wakeEnd()
}

// Wake wakes every Watch and WatchEnd waiter without anything having
// moved: the replica layer calls it when a partition's high watermark or
// leadership changes, so delayed produces and fetches look again.
func (l *Log) Wake() { l.wake() }

// WakeWatchers is Wake when a Watch waiter is there, and nothing
// otherwise: a follower calls it when its high watermark moves, for the
// consumers reading it (KIP-392), without allocating when none waits.
func (l *Log) WakeWatchers() { l.wakeIfWaiting() }

// wakeEnd wakes end watchers, if any.
func (l *Log) wakeEnd() {
	if l.endWaiters.Load() == 0 {
		return
	}
	ch := make(chan struct{})
	old := l.endNotify.Swap(&ch)
	close(*old)
}

// WatchEnd returns a channel closed when the log end next moves (or the
// log fails, closes or is woken) and a function to call once done
// watching. Check EndOffset after calling WatchEnd, not before.
func (l *Log) WatchEnd() (<-chan struct{}, func()) {
	l.endWaiters.Add(1)
	return *l.endNotify.Load(), func() { l.endWaiters.Add(-1) }
}

// Watch returns a channel closed when the log's durable end next moves
// (or the log fails or closes) and a function to call once done watching.
// Watching counts as waiting, so page-cache appends wake the watcher too.
// Check DurableEnd after calling Watch, not before, to miss nothing.
func (l *Log) Watch() (<-chan struct{}, func()) {
	l.waiters.Add(1)
	return *l.notify.Load(), func() { l.waiters.Add(-1) }
}

// WaitDurable blocks until every offset below end is durable under the
// log's durability setting (see DurableEnd), the log fails, or ctx ends.
func (l *Log) WaitDurable(ctx context.Context, end int64) error {
	if l.Err() == nil && l.DurableEnd() >= end {
		return nil
	}
	// Announce the wait before reading the notification channel and the
	// durable offset; wakeIfWaiting reads the count after publishing the
	// offset, so one of the two sees the other.
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		ch := *l.notify.Load()
		if err := l.Err(); err != nil {
			return err
		}
		if l.DurableEnd() >= end {
			return nil
		}
		if l.closed.Load() {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SetDropCache makes every Sync, while on, drop the pages it synced from
// the page cache (posix_fadvise DONTNEED), for a log nothing reads soon:
// a follower's copy. Reads still work, from the disk.
func (l *Log) SetDropCache(on bool) { l.dropCache.Store(on) }

// Sync makes every append made before the call durable: it syncs the
// directory if segments were created or removed, fdatasyncs the segments
// written since the last sync, then advances the synced offset and wakes
// waiters.
// Segments that are no longer active get their indexes synced too, and the
// recovery point moves past them.
func (l *Log) Sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}

	type pending struct {
		s    *segment
		size int64
	}
	l.mu.Lock()
	target := l.endOffset.Load()
	segs := l.segments()
	var dirty []pending
	for _, s := range segs {
		if sz := s.size.Load(); sz > s.syncedSize.Load() || s.dirty.Swap(false) || (s != segs[len(segs)-1] && !s.retired) {
			dirty = append(dirty, pending{s, sz})
		}
	}
	needDir := l.dirDirty
	l.dirDirty = false
	rpLowered := l.rpLowered
	l.rpLowered = false
	snapshots := l.unsyncedSnapshots
	l.unsyncedSnapshots = nil
	l.unflushedMessages = 0
	l.lastSync = l.now()
	l.mu.Unlock()

	if len(dirty) == 0 && !needDir && len(snapshots) == 0 && target <= l.durable.Load() {
		return nil
	}
	// The directory first: a truncation's removed segments (and
	// snapshots) must be gone for good before data written after the
	// truncation is durable, or a crash could bring them back beside it.
	// New files' entries and contents are both synced before the synced
	// offset moves, in either order.
	if needDir {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("sync directory: %w", err))
		}
	}
	// A truncation lowered the recovery point: it is persisted before
	// anything appended after the truncation counts as durable, or a
	// crash would find the old, higher one on disk, and recovery would
	// trust segments written since (not necessarily synced) as synced
	// whole.
	if rpLowered && l.persistRP != nil {
		if err := l.persistRP(); err != nil {
			l.mu.Lock()
			l.rpLowered = true
			l.mu.Unlock()
			return fmt.Errorf("persist recovery point: %w", err)
		}
	}
	syncStart := time.Now()
	for _, p := range dirty {
		if p.s.file == nil {
			continue
		}
		if err := p.s.file.Sync(); err != nil {
			return l.fail(fmt.Errorf("sync segment %d: %w", p.s.base, err))
		}
	}
	if l.onSync != nil && len(dirty) > 0 {
		l.onSync(time.Since(syncStart))
	}
	if l.dropCache.Load() {
		for _, p := range dirty {
			if p.s.file != nil {
				dropCached(p.s.file, p.s.syncedSize.Load(), p.size)
			}
		}
	}
	// Producer snapshots after the segments below them: a synced snapshot
	// never describes batches a crash could still take away.
	if err := l.syncSnapshots(snapshots); err != nil {
		// Only the snapshot is in doubt: recovery replays the log instead.
		l.logger.Warn("producer snapshot not synced", "err", err)
	}
	for _, p := range dirty {
		p.s.syncedSize.Store(p.size)
	}

	// Retire rolled segments: sync their indexes and close the writer's
	// handles; the recovery point moves to the first segment still open.
	l.mu.Lock()
	segs = l.segments()
	active := segs[len(segs)-1]
	var retire []*segment
	for _, s := range segs[:len(segs)-1] {
		if !s.retired && s.syncedSize.Load() == s.size.Load() {
			retire = append(retire, s)
		}
	}
	l.mu.Unlock()
	for _, s := range retire {
		if err := s.retire(); err != nil {
			return l.fail(fmt.Errorf("retire segment %d: %w", s.base, err))
		}
	}
	if l.epochs != nil && l.epochs.Dirty() {
		if err := l.epochs.Flush(); err != nil {
			return l.fail(fmt.Errorf("write leader epoch checkpoint: %w", err))
		}
	}
	l.mu.Lock()
	rp := active.base
	for _, s := range l.segments() {
		if !s.retired && s != active {
			rp = s.base
			break
		}
	}
	l.mu.Unlock()
	if rp > l.recoveryPoint.Load() {
		l.recoveryPoint.Store(rp)
	}

	if target > l.durable.Load() {
		l.durable.Store(target)
		l.wake()
	}
	return nil
}

// requestSync asks the flusher to sync the log soon; without a flusher the
// caller's goroutine syncs.
func (l *Log) requestSync() {
	if l.flusher == nil {
		l.Sync()
		return
	}
	l.flusher.request(l)
}

// maybeFlush requests a sync when the durability policy calls for one:
// always in the durable mode, otherwise every FlushMessages messages or
// FlushInterval. Called with mu held.
func (l *Log) maybeFlushLocked(cfg *Config) bool {
	if cfg.Durable() {
		return true
	}
	return l.unflushedMessages >= cfg.FlushMessages ||
		(cfg.FlushInterval != Forever && l.now().Sub(l.lastSync) >= cfg.FlushInterval)
}

// FlushIfDue syncs the log if its page-cache flush interval has passed.
func (l *Log) FlushIfDue() {
	l.mu.Lock()
	cfg := l.cfg.Load()
	due := !cfg.Durable() && l.unflushedMessages > 0 && l.maybeFlushLocked(cfg)
	l.mu.Unlock()
	if due {
		l.requestSync()
	}
}
