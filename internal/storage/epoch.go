package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"sync"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// The leader epoch cache of a partition log (KIP-101, KIP-279): for each
// leader epoch that wrote to the log, the offset of its first batch. It
// answers OffsetsForLeaderEpoch (EndOffsetFor), which followers use to
// truncate exactly to the point where their log diverges from the
// leader's, and is persisted in the partition directory's
// leader-epoch-checkpoint.
//
// The rules are Kafka's (LeaderEpochFileCache); the entry math lives in
// pure functions over a sorted slice (epochAssign, epochEndOffsetFor,
// epochTruncateFromEnd, ...) so it can be tested against an oracle.

// UndefinedEpoch and UndefinedEpochOffset are Kafka's UNDEFINED_EPOCH and
// UNDEFINED_EPOCH_OFFSET, returned by EndOffsetFor when it has no answer.
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

// EpochEntry is one leader epoch and the offset of its first batch.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

func (e EpochEntry) String() string {
	return fmt.Sprintf("(epoch %d, start %d)", e.Epoch, e.StartOffset)
}

// validateEpochEntries checks the invariant of a cache: non-negative
// epochs and offsets, both strictly increasing.
func validateEpochEntries(entries []EpochEntry) error {
	for i, e := range entries {
		if e.Epoch < 0 || e.StartOffset < 0 {
			return fmt.Errorf("negative epoch entry %v", e)
		}
		if i == 0 {
			continue
		}
		prev := entries[i-1]
		if e.Epoch <= prev.Epoch {
			if e.Epoch == prev.Epoch {
				return fmt.Errorf("duplicate epoch %d", e.Epoch)
			}
			return fmt.Errorf("epoch %v after %v: epochs not increasing", e, prev)
		}
		if e.StartOffset <= prev.StartOffset {
			return fmt.Errorf("epoch %v after %v: start offsets not increasing", e, prev)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Pure core. Every function takes a valid entry slice, never modifies it,
// and returns a valid slice (a new one when changed is true, the input
// otherwise), so callers can publish slices copy-on-write.

// epochAssign applies Kafka's assign rule for the entry e (which must have
// a non-negative epoch and start offset):
//
//   - If the cache is empty, e is appended.
//   - If e.Epoch equals the latest epoch and e.StartOffset is at or after
//     the latest entry's start, nothing changes: an epoch's start offset is
//     never moved forward once assigned.
//   - Otherwise e wins: every entry, scanning back from the latest, whose
//     epoch is >= e.Epoch or whose start offset is >= e.StartOffset is
//     removed (they conflict with e, so they describe a history that is
//     being overwritten), and e is appended. This covers a new epoch (no
//     removal unless its start offset does not go past the latest's), the
//     latest epoch re-assigned at a lower offset (it moves back), and an
//     older epoch (every later epoch is dropped).
func epochAssign(entries []EpochEntry, e EpochEntry) ([]EpochEntry, bool) {
	n := len(entries)
	if n > 0 {
		last := entries[n-1]
		if e.Epoch == last.Epoch && e.StartOffset >= last.StartOffset {
			return entries, false
		}
	}
	keep := n
	for keep > 0 && (entries[keep-1].Epoch >= e.Epoch || entries[keep-1].StartOffset >= e.StartOffset) {
		keep--
	}
	out := make([]EpochEntry, keep, keep+1)
	copy(out, entries[:keep])
	return append(out, e), true
}

// epochEndOffsetFor is Kafka's endOffsetFor: the end offset of
// requestedEpoch, for a leader answering OffsetsForLeaderEpoch.
//
//   - requestedEpoch == UndefinedEpoch: (UndefinedEpoch, UndefinedEpochOffset).
//   - requestedEpoch is the latest epoch: (requestedEpoch, logEndOffset);
//     the latest epoch is still being written.
//   - no epoch above requestedEpoch (empty cache, or requestedEpoch above
//     the latest): (UndefinedEpoch, UndefinedEpochOffset).
//   - requestedEpoch below the earliest epoch: (requestedEpoch, start of
//     the earliest entry); the history before it is gone from the log and
//     the follower must truncate to the leader's start.
//   - otherwise: (the largest epoch <= requestedEpoch, start offset of the
//     smallest epoch > requestedEpoch).
func epochEndOffsetFor(entries []EpochEntry, requestedEpoch int32, logEndOffset int64) (int32, int64) {
	if requestedEpoch == UndefinedEpoch {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	n := len(entries)
	if n > 0 && entries[n-1].Epoch == requestedEpoch {
		return requestedEpoch, logEndOffset
	}
	higher := sort.Search(n, func(i int) bool { return entries[i].Epoch > requestedEpoch })
	if higher == n {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if higher == 0 {
		return requestedEpoch, entries[0].StartOffset
	}
	return entries[higher-1].Epoch, entries[higher].StartOffset
}

// epochForOffset returns the epoch of the entry with the largest start
// offset <= offset: the epoch that wrote offset. False if offset is before
// the first entry (or the cache is empty).
func epochForOffset(entries []EpochEntry, offset int64) (int32, bool) {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].StartOffset > offset })
	if i == 0 {
		return UndefinedEpoch, false
	}
	return entries[i-1].Epoch, true
}

// epochTruncateFromEnd removes the entries whose start offset is >=
// endOffset (the log was truncated to endOffset, so those epochs have no
// data left). A negative endOffset (UndefinedEpochOffset) changes nothing.
func epochTruncateFromEnd(entries []EpochEntry, endOffset int64) ([]EpochEntry, bool) {
	if endOffset < 0 {
		return entries, false
	}
	keep := sort.Search(len(entries), func(i int) bool { return entries[i].StartOffset >= endOffset })
	if keep == len(entries) {
		return entries, false
	}
	return slices.Clone(entries[:keep]), true
}

// epochTruncateFromStart is Kafka's truncateFromStart for a log whose start
// moved to startOffset: the entries with start offset <= startOffset are
// removed, and the last of them comes back with its start moved up to
// startOffset (that epoch still owns the data from startOffset on). So an
// entry starting exactly at startOffset is retained, and entries after
// startOffset are untouched. If no entry starts at or before startOffset
// (including a negative startOffset), nothing changes.
func epochTruncateFromStart(entries []EpochEntry, startOffset int64) ([]EpochEntry, bool) {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].StartOffset > startOffset })
	if i == 0 || (i == 1 && entries[0].StartOffset == startOffset) {
		return entries, false
	}
	out := make([]EpochEntry, 0, len(entries)-i+1)
	out = append(out, EpochEntry{Epoch: entries[i-1].Epoch, StartOffset: startOffset})
	return append(out, entries[i:]...), true
}

// ---------------------------------------------------------------------------
// The cache.

// LeaderEpochCache is the leader epoch cache of one partition, backed by
// <dir>/leader-epoch-checkpoint.
//
// Persistence: every mutation (Assign, TruncateFromEnd, TruncateFromStart,
// Clear) that changes the cache writes the checkpoint atomically
// (WriteFileAtomic) before returning, as Kafka does for assign, so the
// checkpoint never misses an epoch that the log holds. Callers that make
// several changes at once (a follower append carrying several epochs, log
// loading) use Batch to pay for one write. If a write fails, the change
// stays applied in memory, the cache stays dirty, and the error is
// returned: the caller must treat the log directory as failed (or retry
// with Flush, which rewrites the whole file). Flush writes the current
// state if it is dirty; call it at close.
//
// Concurrency: all methods are safe for concurrent use. Readers
// (EndOffsetFor, LatestEpoch, ...) never wait for disk I/O: entries are
// immutable slices published under a short lock. Mutators are serialized
// with each other but hold no lock that readers take while writing the
// file, and no lock at all while fsyncing, except the one serializing the
// file writes themselves; each write stores the state current when it
// starts, so the file always ends with the latest flushed state.
type LeaderEpochCache struct {
	fs   vfs.FS
	path string

	wmu sync.Mutex // serializes mutators (computing the next state)

	mu      sync.RWMutex // guards the fields below; never held across I/O
	entries []EpochEntry // immutable once published
	gen     uint64       // bumped on every change
	flushed uint64       // gen of the state last written successfully

	flushMu sync.Mutex // serializes checkpoint writes
}

// OpenLeaderEpochCache loads the cache of the partition directory dir from
// its leader-epoch-checkpoint. A missing file gives an empty cache (a new
// partition, or a log that predates epochs); a zero-length file too. A
// corrupt file returns an error wrapping ErrCorruptCheckpoint: the caller
// may then start from an empty cache (NewLeaderEpochCache) and rebuild it
// from the log's batches, after deciding that is safe.
func OpenLeaderEpochCache(fsys vfs.FS, dir string) (*LeaderEpochCache, error) {
	c := &LeaderEpochCache{fs: fsys, path: fsys.PathJoin(dir, LeaderEpochCheckpointFile)}
	entries, err := ReadLeaderEpochCheckpoint(fsys, c.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	c.entries = entries
	return c, nil
}

// NewLeaderEpochCache returns a cache for the partition directory dir
// holding entries (which must be valid: non-negative, strictly increasing
// epochs and start offsets), without reading or writing the checkpoint. It
// starts dirty, so the first Flush (or change) writes it.
func NewLeaderEpochCache(fsys vfs.FS, dir string, entries []EpochEntry) (*LeaderEpochCache, error) {
	if err := validateEpochEntries(entries); err != nil {
		return nil, fmt.Errorf("storage: leader epoch cache: %w", err)
	}
	return &LeaderEpochCache{
		fs:      fsys,
		path:    fsys.PathJoin(dir, LeaderEpochCheckpointFile),
		entries: slices.Clone(entries),
		gen:     1,
	}, nil
}

// Path returns the checkpoint file's name.
func (c *LeaderEpochCache) Path() string { return c.path }

func (c *LeaderEpochCache) snapshot() []EpochEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries
}

// EpochBatch edits a private copy of a cache's entries inside Batch.
type EpochBatch struct {
	entries []EpochEntry
	changed bool
}

// Assign is LeaderEpochCache.Assign on the batch.
func (b *EpochBatch) Assign(epoch int32, startOffset int64) error {
	if epoch < 0 || startOffset < 0 {
		return fmt.Errorf("storage: invalid leader epoch entry (epoch %d, start %d)", epoch, startOffset)
	}
	b.apply(epochAssign(b.entries, EpochEntry{Epoch: epoch, StartOffset: startOffset}))
	return nil
}

// TruncateFromEnd is LeaderEpochCache.TruncateFromEnd on the batch.
func (b *EpochBatch) TruncateFromEnd(endOffset int64) {
	b.apply(epochTruncateFromEnd(b.entries, endOffset))
}

// TruncateFromStart is LeaderEpochCache.TruncateFromStart on the batch.
func (b *EpochBatch) TruncateFromStart(startOffset int64) {
	b.apply(epochTruncateFromStart(b.entries, startOffset))
}

// Clear removes every entry of the batch.
func (b *EpochBatch) Clear() { b.apply(nil, len(b.entries) > 0) }

// Entries returns a copy of the batch's current entries.
func (b *EpochBatch) Entries() []EpochEntry { return slices.Clone(b.entries) }

func (b *EpochBatch) apply(next []EpochEntry, changed bool) {
	if changed {
		b.entries = next
		b.changed = true
	}
}

// Batch applies the edits fn makes to its EpochBatch as one change:
// readers see all of them at once, and the checkpoint is written once if
// anything changed. If fn returns an error, nothing is applied and the
// error is returned. fn must not call methods of c.
func (c *LeaderEpochCache) Batch(fn func(b *EpochBatch) error) error {
	c.wmu.Lock()
	b := EpochBatch{entries: c.snapshot()}
	if err := fn(&b); err != nil {
		c.wmu.Unlock()
		return err
	}
	if !b.changed {
		c.wmu.Unlock()
		return nil
	}
	c.mu.Lock()
	c.entries = b.entries
	c.gen++
	c.mu.Unlock()
	c.wmu.Unlock()
	return c.Flush()
}

// Assign records that epoch starts at startOffset, with Kafka's rules (see
// epochAssign): a new epoch is appended; the latest epoch assigned again
// at the same or a later offset is ignored (its start never moves
// forward); anything else (the latest epoch at a lower offset, an older
// epoch, a newer epoch whose start does not go past existing entries)
// removes the conflicting later entries and appends the new one. If the
// cache changed, the checkpoint is written before Assign returns. A
// negative epoch or offset is an error and changes nothing.
func (c *LeaderEpochCache) Assign(epoch int32, startOffset int64) error {
	return c.Batch(func(b *EpochBatch) error { return b.Assign(epoch, startOffset) })
}

// TruncateFromEnd removes every entry whose start offset is >= endOffset,
// after the log was truncated to endOffset; a negative endOffset is a
// no-op. If the cache changed, the checkpoint is written before it
// returns.
func (c *LeaderEpochCache) TruncateFromEnd(endOffset int64) error {
	return c.Batch(func(b *EpochBatch) error { b.TruncateFromEnd(endOffset); return nil })
}

// TruncateFromStart adjusts the cache to a log start moved up to
// startOffset: entries starting at or before startOffset are removed
// except the last of them, whose start becomes startOffset (see
// epochTruncateFromStart). If the cache changed, the checkpoint is written
// before it returns.
func (c *LeaderEpochCache) TruncateFromStart(startOffset int64) error {
	return c.Batch(func(b *EpochBatch) error { b.TruncateFromStart(startOffset); return nil })
}

// Clear removes every entry and writes the (empty) checkpoint if the cache
// was not empty.
func (c *LeaderEpochCache) Clear() error {
	return c.Batch(func(b *EpochBatch) error { b.Clear(); return nil })
}

// Flush writes the entries to the checkpoint file atomically if they
// changed since the last successful write (or were never written, for a
// cache from NewLeaderEpochCache). After an error the cache stays dirty
// and a later Flush writes it again in full.
func (c *LeaderEpochCache) Flush() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.RLock()
	entries, gen, flushed := c.entries, c.gen, c.flushed
	c.mu.RUnlock()
	if gen == flushed {
		return nil
	}
	if err := WriteLeaderEpochCheckpoint(c.fs, c.path, entries); err != nil {
		return err
	}
	c.mu.Lock()
	c.flushed = gen
	c.mu.Unlock()
	return nil
}

// Dirty reports whether the cache has changes Flush has not written.
func (c *LeaderEpochCache) Dirty() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen != c.flushed
}

// Entries returns a copy of the entries, in increasing epoch order.
func (c *LeaderEpochCache) Entries() []EpochEntry {
	return slices.Clone(c.snapshot())
}

// Len returns the number of entries.
func (c *LeaderEpochCache) Len() int { return len(c.snapshot()) }

// LatestEntry returns the entry of the latest epoch, if any.
func (c *LeaderEpochCache) LatestEntry() (EpochEntry, bool) {
	s := c.snapshot()
	if len(s) == 0 {
		return EpochEntry{}, false
	}
	return s[len(s)-1], true
}

// EarliestEntry returns the entry of the earliest epoch, if any.
func (c *LeaderEpochCache) EarliestEntry() (EpochEntry, bool) {
	s := c.snapshot()
	if len(s) == 0 {
		return EpochEntry{}, false
	}
	return s[0], true
}

// LatestEpoch returns the latest epoch, if any.
func (c *LeaderEpochCache) LatestEpoch() (int32, bool) {
	e, ok := c.LatestEntry()
	return e.Epoch, ok
}

// EpochForOffset returns the epoch that wrote offset: that of the entry
// with the largest start offset <= offset. False if offset precedes the
// earliest entry or the cache is empty.
func (c *LeaderEpochCache) EpochForOffset(offset int64) (int32, bool) {
	return epochForOffset(c.snapshot(), offset)
}

// EndOffsetFor answers OffsetsForLeaderEpoch exactly as Kafka's
// endOffsetFor (see epochEndOffsetFor): the largest epoch <=
// requestedEpoch and the start offset of the next higher epoch, or
// logEndOffset when requestedEpoch is the latest epoch; (requestedEpoch,
// earliest start) when requestedEpoch is below the earliest epoch; and
// (UndefinedEpoch, UndefinedEpochOffset) for UndefinedEpoch, an empty
// cache or a requestedEpoch above the latest.
func (c *LeaderEpochCache) EndOffsetFor(requestedEpoch int32, logEndOffset int64) (epoch int32, endOffset int64) {
	return epochEndOffsetFor(c.snapshot(), requestedEpoch, logEndOffset)
}
