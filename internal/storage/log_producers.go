package storage

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// DuplicateBatches returns how many retried batches this log recognised
// and answered with their original offsets.
func (l *Log) DuplicateBatches() uint64 { return l.duplicates.Load() }

// checkProducersLocked applies the idempotent producer rules to a leader's
// append of infos (validate allows one batch when it is idempotent): it
// returns the batch this one retries, if any. Called with mu held.
func (l *Log) checkProducersLocked(infos []batchInfo) (*producerBatch, error) {
	if len(infos) != 1 || !idempotent(&infos[0].header) {
		return nil, nil
	}
	return l.producers.check(&infos[0].header)
}

// updateProducersLocked records the idempotent batches just appended.
// Called with mu held.
func (l *Log) updateProducersLocked(infos []batchInfo, now time.Time) {
	for i := range infos {
		if h := &infos[i].header; idempotent(h) {
			l.producers.update(h, infos[i].baseOffset, infos[i].nextOffset-1, now.UnixMilli())
		}
	}
}

// writeSnapshotLocked writes the producer state as of offset (a new
// segment's base) to <offset>.snapshot, one per segment as in Kafka. It
// does not sync: the next Sync does, after the data below it (a snapshot
// only saves replaying the log; one that outlived a lost segment tail is
// skipped on load, see holdsBelow). Snapshots below the log start are
// removed but for the newest of them. Called with mu held.
func (l *Log) writeSnapshotLocked(offset int64) error {
	name := snapshotName(l.fs, l.dir, offset)
	if err := writeFile(l.fs, name, encodeSnapshot(l.producers)); err != nil {
		return fmt.Errorf("write producer snapshot %d: %w", offset, err)
	}
	l.dirDirty = true
	l.unsyncedSnapshots = append(l.unsyncedSnapshots, offset)
	return l.pruneSnapshotsLocked()
}

// pruneSnapshotsLocked removes the snapshots below the log start but the
// newest of them (the state of batches retention deleted is still the
// base of a replay). Called with mu held.
func (l *Log) pruneSnapshotsLocked() error {
	offs, err := listSnapshots(l.fs, l.dir)
	if err != nil {
		return err
	}
	start := l.startOffset.Load()
	for i := 0; i+1 < len(offs) && offs[i+1] <= start; i++ {
		if err := l.fs.Remove(snapshotName(l.fs, l.dir, offs[i])); err != nil && !errors.Is(err, errNotExist) {
			return err
		}
		l.dirDirty = true
	}
	return nil
}

// syncSnapshots fsyncs the snapshots written before the Sync that calls
// it, once the data below them is synced. A snapshot removed meanwhile
// is skipped.
func (l *Log) syncSnapshots(offs []int64) error {
	for _, off := range offs {
		f, err := l.fs.OpenReadWrite(snapshotName(l.fs, l.dir, off))
		if err != nil {
			if errors.Is(err, errNotExist) {
				continue
			}
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("sync producer snapshot %d: %w", off, err)
		}
	}
	return nil
}

// loadProducersLocked rebuilds the producer state for the log as it is:
// from the newest snapshot at or below the log end that decodes (newer
// ones, left by a crash that lost the tail or by a truncation, are
// removed), then the batches from its offset to the end. Without a usable
// snapshot every batch of the log is replayed. Only batch headers are
// read. Called with mu held (or before the log is shared).
func (l *Log) loadProducersLocked() error {
	end := l.endOffset.Load()
	offs, err := listSnapshots(l.fs, l.dir)
	if err != nil {
		return err
	}
	state, from := newProducerState(), int64(0)
	for i := len(offs) - 1; i >= 0; i-- {
		off := offs[i]
		name := snapshotName(l.fs, l.dir, off)
		if off > end {
			if err := l.fs.Remove(name); err != nil && !errors.Is(err, errNotExist) {
				return err
			}
			continue
		}
		if !l.holdsBelow(off) {
			// A crash kept this snapshot (written at a roll, not synced)
			// but lost the tail of the segment below it: its state counts
			// batches the log no longer has, and a retry of one of them
			// would be answered as written.
			l.logger.Warn("skipping producer snapshot beyond a lost segment tail", "snapshot_offset", off)
			continue
		}
		b, err := readFileBounded(l.fs, name, maxSnapshotBytes)
		if err == nil {
			var ps *producerState
			if ps, err = decodeSnapshot(b); err == nil {
				state, from = ps, off
				break
			}
		}
		l.logger.Warn("skipping unreadable producer snapshot", "snapshot_offset", off, "err", err)
	}
	if err := l.replayProducers(state, from, end); err != nil {
		return err
	}
	l.producers = state
	return nil
}

// holdsBelow reports whether the log holds its data up to off: off is at
// or below the first segment's base, or a segment reaches off.
func (l *Log) holdsBelow(off int64) bool {
	segs := l.segments()
	if off <= segs[0].base {
		return true
	}
	for _, s := range segs {
		if s.base < off && s.nextOffset.Load() >= off {
			return true
		}
	}
	return false
}

// replayProducers applies the idempotent batches of [from, end) to ps.
func (l *Log) replayProducers(ps *producerState, from, end int64) error {
	for _, s := range l.segments() {
		if s.nextOffset.Load() <= from || s.base >= end {
			continue
		}
		f, release, err := s.acquire(l.now().UnixNano())
		if err != nil {
			return fmt.Errorf("replay producers of segment %d: %w", s.base, err)
		}
		pos := int64(0)
		if from > s.base {
			first, err := s.positionOf(f, from, s.size.Load())
			if err != nil {
				release()
				return fmt.Errorf("replay producers of segment %d: %w", s.base, err)
			}
			pos = first.pos
		}
		// A replayed producer counts as appending now: its expiry starts
		// at the load, on the broker's clock like live appends.
		now := l.now().UnixMilli()
		var rerr error
		err = scanHeaders(f, pos, s.size.Load(), func(b batchPos) bool {
			if b.last < from || b.base >= end {
				return b.base < end
			}
			h, err := record.ParseHeader(b.header)
			if err != nil {
				rerr = fmt.Errorf("batch header at %d: %w", b.pos, err)
				return false
			}
			if idempotent(&h) {
				ps.update(&h, b.base, b.last, now)
			}
			return true
		})
		release()
		if err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("replay producers of segment %d: %w", s.base, err)
		}
	}
	return nil
}

// ExpireProducers forgets the producers that have not appended for
// expiration (producer.id.expiration.ms) and returns how many.
func (l *Log) ExpireProducers(expiration time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.producers.expire(l.now().Add(-expiration).UnixMilli())
}

// ActiveProducer is what a partition knows of one idempotent producer
// (DescribeProducers).
type ActiveProducer struct {
	ID            int64
	Epoch         int16
	LastSequence  int32 // of its last batch's last record
	LastTimestamp int64 // its last batch's max timestamp
}

// ActiveProducers returns the producers the partition remembers, by id.
func (l *Log) ActiveProducers() []ActiveProducer {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ActiveProducer, 0, len(l.producers.producers))
	for id, e := range l.producers.producers {
		if e.n == 0 {
			continue
		}
		last := e.last()
		out = append(out, ActiveProducer{ID: id, Epoch: e.epoch, LastSequence: last.lastSeq, LastTimestamp: last.timestamp})
	}
	slices.SortFunc(out, func(a, b ActiveProducer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// writeFile writes data to name (replacing it), without syncing.
func writeFile(fsys vfs.FS, name string, data []byte) error {
	f, err := fsys.Create(name)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
