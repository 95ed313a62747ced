package storage

// Time index of a log segment (<base>.timeindex): entries of 12 bytes,
// timestamp int64 then relative offset int32, big-endian (Kafka's format).
// An entry (T, O) says that the largest timestamp seen in the segment up to
// offset O is T, so any record with a timestamp above T is after O.
// Timestamps are strictly increasing, offsets non-decreasing. Storage,
// flushing and concurrency are shared with the offset index (index.go).

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TimeIndexEntrySize is the size of a time index entry: timestamp int64,
// relative offset int32, big-endian.
const TimeIndexEntrySize = 12

// NoTimestamp is Kafka's RecordBatch.NO_TIMESTAMP: what TimeIndex.Lookup and
// LastEntry return as the timestamp when there is no entry.
const NoTimestamp int64 = -1

// TimeIndex maps timestamps to offsets for one segment. See index.go for
// the concurrency rules.
type TimeIndex struct {
	indexFile
}

func newTimeIndex(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*TimeIndex, error) {
	c, err := newIdxCore(fsys, path, baseOffset, maxBytes, TimeIndexEntrySize, 8, checkTimeEntries)
	if err != nil {
		return nil, err
	}
	return &TimeIndex{indexFile{c}}, nil
}

// OpenTimeIndex opens the time index at path, creating it empty if it does
// not exist, loads and validates its entries and keeps the file open. A
// file that fails validation gives an error wrapping ErrCorruptIndex. See
// OpenOffsetIndex.
func OpenTimeIndex(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*TimeIndex, error) {
	x, err := newTimeIndex(fsys, path, baseOffset, maxBytes)
	if err != nil {
		return nil, err
	}
	if err := x.c.openEager(); err != nil {
		return nil, err
	}
	return x, nil
}

// OpenTimeIndexLazy returns a time index that reads its file on first use;
// see OpenOffsetIndexLazy. If that load fails, lookups answer
// (NoTimestamp, baseOffset), which is always correct.
func OpenTimeIndexLazy(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*TimeIndex, error) {
	return newTimeIndex(fsys, path, baseOffset, maxBytes)
}

// NewTimeIndexForRebuild creates an empty time index at path, truncating
// any existing file.
func NewTimeIndexForRebuild(fsys vfs.FS, path string, baseOffset int64, maxBytes int) (*TimeIndex, error) {
	x, err := newTimeIndex(fsys, path, baseOffset, maxBytes)
	if err != nil {
		return nil, err
	}
	if err := x.c.openFresh(); err != nil {
		return nil, err
	}
	return x, nil
}

// checkTimeEntries validates time index entries: timestamps non-negative
// (MaybeAppend never indexes NoTimestamp) and strictly increasing, relative
// offsets non-negative and non-decreasing.
func checkTimeEntries(data []byte) error {
	var prevTS int64
	var prevRel int32
	for i := 0; i+TimeIndexEntrySize <= len(data); i += TimeIndexEntrySize {
		n := i / TimeIndexEntrySize
		ts := int64(binary.BigEndian.Uint64(data[i:]))
		rel := int32(binary.BigEndian.Uint32(data[i+8:]))
		switch {
		case ts < 0:
			return fmt.Errorf("entry %d: negative timestamp %d", n, ts)
		case rel < 0:
			return fmt.Errorf("entry %d: negative relative offset %d", n, rel)
		case n > 0 && ts <= prevTS:
			return fmt.Errorf("entry %d: timestamp %d not above the previous %d", n, ts, prevTS)
		case n > 0 && rel < prevRel:
			return fmt.Errorf("entry %d: relative offset %d below the previous %d", n, rel, prevRel)
		}
		prevTS, prevRel = ts, rel
	}
	return nil
}

// ts returns the timestamp of entry i. mu held.
func (x *TimeIndex) ts(i int) int64 {
	return int64(binary.BigEndian.Uint64(x.c.buf[i*TimeIndexEntrySize:]))
}

// entryAt decodes entry i. mu held.
func (x *TimeIndex) entryAt(i int) (timestamp, offset int64) {
	return x.ts(i), x.c.base + int64(x.c.rel(i))
}

// MaybeAppend adds the entry (timestamp, offset) if timestamp is above the
// last entry's (above NoTimestamp for an empty index); otherwise it does
// nothing and returns nil. offset is the offset of the record carrying the
// segment's largest timestamp so far. An indexed offset must fit the
// segment and not be below the last entry's (ErrInvalidIndexEntry).
//
// A smaller or equal timestamp is ignored rather than an error (Kafka
// throws for a smaller one): callers pass the segment's running maximum,
// and NoTimestamp for batches without timestamps. As for OffsetIndex.Append,
// Full is not enforced here; in particular the final entry appended when
// the segment rolls (Kafka's skipFullCheck) goes into the slot Full keeps.
func (x *TimeIndex) MaybeAppend(timestamp, offset int64) error {
	c := x.c
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("index %s: %w", c.path, ErrIndexClosed)
	}
	n := c.n()
	lastTS := NoTimestamp
	var lastRel int32
	if n > 0 {
		lastTS, lastRel = x.ts(n-1), c.rel(n-1)
	}
	if timestamp <= lastTS {
		return nil
	}
	rel, ok := c.relative(offset)
	if !ok {
		return fmt.Errorf("%w: %s: offset %d outside segment with base %d", ErrInvalidIndexEntry, c.path, offset, c.base)
	}
	if n > 0 && rel < lastRel {
		return fmt.Errorf("%w: %s: offset %d below the last indexed offset %d", ErrInvalidIndexEntry, c.path, offset, c.base+int64(lastRel))
	}
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(timestamp))
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(rel))
	return nil
}

// Lookup returns the entry with the largest timestamp at most target, or
// (NoTimestamp, baseOffset) if there is none (or the lazy load failed), as
// Kafka's TimeIndex.lookup. It does not allocate.
func (x *TimeIndex) Lookup(target int64) (timestamp, offset int64) {
	c := x.c
	if c.rlock() != nil {
		return NoTimestamp, c.base
	}
	defer c.mu.RUnlock()
	i := sort.Search(c.n(), func(i int) bool { return x.ts(i) > target }) - 1
	if i < 0 {
		return NoTimestamp, c.base
	}
	return x.entryAt(i)
}

// LastEntry returns the last entry, or (NoTimestamp, baseOffset) if the
// index is empty.
func (x *TimeIndex) LastEntry() (timestamp, offset int64) {
	c := x.c
	if c.rlock() != nil {
		return NoTimestamp, c.base
	}
	defer c.mu.RUnlock()
	if n := c.n(); n > 0 {
		return x.entryAt(n - 1)
	}
	return NoTimestamp, c.base
}

// Entry returns entry i (0 ≤ i < Entries()), or ok false.
func (x *TimeIndex) Entry(i int) (timestamp, offset int64, ok bool) {
	c := x.c
	if c.rlock() != nil {
		return 0, 0, false
	}
	defer c.mu.RUnlock()
	if i < 0 || i >= c.n() {
		return 0, 0, false
	}
	timestamp, offset = x.entryAt(i)
	return timestamp, offset, true
}

// fullLocked keeps the last slot for the entry appended on roll, as Kafka's
// TimeIndex.isFull does, so the file stays within segment.index.bytes.
func (x *TimeIndex) fullLocked() bool { return x.c.n() >= x.c.maxEntries-1 }

// Full reports whether the index holds MaxEntries()-1 entries: the segment
// must roll, and the roll's final MaybeAppend fills the last slot of
// segment.index.bytes (rounded down to a multiple of 12). This reserved
// slot is Kafka's TimeIndex.isFull; the offset index has none.
func (x *TimeIndex) Full() bool {
	c := x.c
	if c.rlock() != nil {
		return false
	}
	defer c.mu.RUnlock()
	return x.fullLocked()
}
