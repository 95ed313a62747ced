package storage

import (
	"errors"
	"fmt"
	"time"
)

// TruncateTo removes every record at or after offset, as a follower does
// when its log diverges from the leader's. Later segments are removed; the
// segment holding offset is cut before the batch that reaches it, so a
// batch holding offset goes whole and the log ends at its base. The log
// start drops to offset if it was above (the end never goes below it). Truncating below the first segment empties the log and starts it
// at offset. The cut is durable once the next Sync returns.
func (l *Log) TruncateTo(offset int64) error { return l.truncate(offset, false) }

// TruncateFullyAndStartAt removes every record and starts the log, empty,
// at offset: a follower's answer to a leader whose log starts past its
// own end. The cut is durable once the next Sync returns.
func (l *Log) TruncateFullyAndStartAt(offset int64) error { return l.truncate(offset, true) }

// truncate is TruncateTo, or with fully TruncateFullyAndStartAt.
func (l *Log) truncate(offset int64, fully bool) error {
	l.structMu.Lock()
	defer l.structMu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}
	if !fully && offset >= l.endOffset.Load() {
		// Nothing to cut, but an epoch that starts at the log end goes:
		// one this broker began as leader (BeginLeaderEpoch) and wrote
		// nothing in before another leader took over, which would
		// otherwise stay its latest and be sent as its last fetched
		// epoch, diverging again at every fetch (as in Kafka's truncateTo).
		if l.epochs != nil {
			if err := l.epochs.TruncateFromEnd(l.endOffset.Load()); err != nil {
				return l.fail(err)
			}
		}
		return nil
	}
	l.gen.Add(1)
	l.noteTruncation(offset)
	if fully || offset < l.segments()[0].base {
		return l.truncateFullyLocked(offset)
	}
	return l.truncateLocked(offset)
}

// truncateLocked cuts the log at offset, inside its segments. Called with
// every lock held.
func (l *Log) truncateLocked(offset int64) error {
	segs := l.segments()
	newStart := min(l.startOffset.Load(), offset)
	i, s := segmentFor(segs, offset)
	if i < 0 {
		i, s = 0, segs[0]
	}
	for _, later := range segs[i+1:] {
		if err := l.dropSegmentLocked(later); err != nil {
			return err
		}
	}
	segs = segs[:i+1]
	s.retired = false
	if s.file == nil {
		// A retired segment becomes active again; its indexes reopen
		// their files on the next write.
		f, err := l.fs.OpenReadWrite(s.path(logSuffix))
		if err != nil {
			return l.fail(err)
		}
		s.file = f
	}
	cut, err := s.positionOf(s.file, offset, s.size.Load())
	if err != nil {
		return l.fail(fmt.Errorf("truncate segment %d: %w", s.base, err))
	}
	pos := cut.pos
	// Index entries go from the first removed batch's base on: when offset
	// falls inside a batch, that batch starts below offset.
	indexCut := offset
	if pos < s.size.Load() {
		indexCut = min(offset, cut.base)
		if err := s.file.Truncate(pos); err != nil {
			return l.fail(fmt.Errorf("truncate segment %d: %w", s.base, err))
		}
		s.size.Store(pos)
		s.syncedSize.Store(min(s.syncedSize.Load(), pos))
		s.dirty.Store(true)
	}
	if err := s.index.TruncateTo(indexCut); err != nil {
		return l.fail(err)
	}
	if err := s.timeIndex.TruncateTo(indexCut); err != nil {
		return l.fail(err)
	}
	if err := s.loadTail(s.file); err != nil {
		return l.fail(fmt.Errorf("truncate segment %d: %w", s.base, err))
	}
	if s.size.Load() == 0 {
		s.createdAt = l.now()
	}
	// The log ends where the first removed batch began (offset itself when
	// it was a batch boundary), never below the log start. Kafka ends it
	// at offset even inside a batch; that gap would not survive a restart,
	// which recomputes the end from the data, and replication only
	// truncates at batch boundaries, where the two agree.
	end := max(indexCut, newStart)
	s.nextOffset.Store(end)
	l.setSegments(segs)
	l.startOffset.Store(newStart)
	l.setEndAfterTruncateLocked(end, s.base)
	if err := l.loadProducersLocked(); err != nil {
		return l.fail(fmt.Errorf("producer state after truncation: %w", err))
	}
	return nil
}

// truncateFullyLocked removes every segment and starts an empty log at
// offset (Kafka's truncateFullyAndStartAt).
func (l *Log) truncateFullyLocked(offset int64) error {
	for _, s := range l.segments() {
		if err := l.dropSegmentLocked(s); err != nil {
			return err
		}
	}
	s, err := createSegment(l.fs, l.dir, offset, l.cfg.Load())
	if err != nil {
		return l.fail(err)
	}
	s.createdAt = l.now()
	l.setSegments([]*segment{s})
	l.startOffset.Store(offset)
	if l.epochs != nil {
		if err := l.epochs.Clear(); err != nil {
			return l.fail(err)
		}
	}
	l.setEndAfterTruncateLocked(offset, offset)
	// Nothing is left of any producer (Kafka's truncateFullyAndStartAt).
	l.producers = newProducerState()
	offs, err := listSnapshots(l.fs, l.dir)
	if err != nil {
		return l.fail(err)
	}
	for _, off := range offs {
		if err := l.fs.Remove(snapshotName(l.fs, l.dir, off)); err != nil && !errors.Is(err, errNotExist) {
			return l.fail(err)
		}
	}
	return nil
}

// dropSegmentLocked closes and removes a segment's files at once (a
// truncation, unlike retention, keeps no .deleted copies).
func (l *Log) dropSegmentLocked(s *segment) error {
	if err := s.closeFiles(); err != nil {
		return l.fail(err)
	}
	s.markDeleted()
	if err := l.removeSegmentFiles(s.base); err != nil {
		return l.fail(err)
	}
	return nil
}

func (l *Log) setEndAfterTruncateLocked(end, segBase int64) {
	l.endOffset.Store(end)
	l.durable.Store(min(l.durable.Load(), end))
	if segBase < l.recoveryPoint.Load() {
		l.recoveryPoint.Store(segBase)
		l.rpLowered = true
	}
	l.dirDirty = true
	if l.epochs != nil {
		if err := l.epochs.TruncateFromEnd(end); err != nil {
			l.fail(err)
		}
	}
}

// SetStartOffset moves the log start offset forward (DeleteRecords) and
// deletes the segments entirely below it. The new start must not pass
// the log end.
func (l *Log) SetStartOffset(offset int64) error {
	// The structure lock spans the move and the deletion, so that no
	// truncation cuts the log below offset in between (the deletion
	// would then start the log past its end).
	l.structMu.Lock()
	defer l.structMu.Unlock()
	l.mu.Lock()
	if offset > l.endOffset.Load() {
		l.mu.Unlock()
		return fmt.Errorf("%w: start offset %d beyond the log end %d", ErrOffsetOutOfRange, offset, l.endOffset.Load())
	}
	if offset > l.startOffset.Load() {
		l.startOffset.Store(offset)
		if l.epochs != nil {
			if err := l.epochs.TruncateFromStart(offset); err != nil {
				l.mu.Unlock()
				return l.fail(err)
			}
		}
	}
	l.mu.Unlock()
	_, err := l.deleteSegmentsStructLocked(func(s *segment, _ int64) bool { return s.nextOffset.Load() <= offset }, offset)
	return err
}

// EnforceRetention deletes the oldest segments that break retention.ms or
// retention.bytes, never past upTo (the high watermark: unreplicated data
// is not deleted), and never the active segment unless it is empty of
// unexpired data — an expired active segment is rolled first. It returns
// the number of segments deleted.
func (l *Log) EnforceRetention(upTo int64) (int, error) {
	cfg := l.cfg.Load()
	if !cfg.Delete {
		return 0, nil
	}
	now := l.now().UnixMilli()
	total := l.Size()
	excess := int64(-1)
	if cfg.RetentionBytes >= 0 {
		excess = total - cfg.RetentionBytes
	}
	expired := func(s *segment) bool {
		return cfg.RetentionAge >= 0 && cfg.RetentionAge != Forever &&
			s.maxTimestamp.Load() >= 0 && now-s.maxTimestamp.Load() > cfg.RetentionAge.Milliseconds()
	}
	// An expired active segment is rolled so it can go.
	if act := l.active(); act.size.Load() > 0 && expired(act) && act.nextOffset.Load() <= upTo {
		if err := l.Roll(); err != nil {
			return 0, err
		}
	}
	var freed int64
	n, err := l.deleteSegments(func(s *segment, _ int64) bool {
		if s.nextOffset.Load() > upTo {
			return false
		}
		if expired(s) || (excess > 0 && freed+s.size.Load() <= excess) {
			freed += s.size.Load()
			return true
		}
		return false
	}, -1)
	return n, err
}

// deleteSegments removes the oldest segments while pred holds, never the
// active one; the log start moves to the first remaining segment (or to
// minStart if larger). Files are renamed to .deleted and removed after
// file.delete.delay.ms by ReapDeleted.
func (l *Log) deleteSegments(pred func(*segment, int64) bool, minStart int64) (int, error) {
	l.structMu.Lock()
	defer l.structMu.Unlock()
	return l.deleteSegmentsStructLocked(pred, minStart)
}

// deleteSegmentsStructLocked is deleteSegments with structMu held.
func (l *Log) deleteSegmentsStructLocked(pred func(*segment, int64) bool, minStart int64) (int, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	segs := l.segments()
	n := 0
	for n < len(segs)-1 && pred(segs[n], l.startOffset.Load()) {
		n++
	}
	if n == 0 {
		return 0, nil
	}
	gone := segs[:n]
	l.gen.Add(1)
	l.setSegments(append([]*segment(nil), segs[n:]...))
	newStart := max(l.startOffset.Load(), segs[n].base, minStart)
	l.startOffset.Store(newStart)
	if l.epochs != nil {
		if err := l.epochs.TruncateFromStart(newStart); err != nil {
			return 0, l.fail(err)
		}
	}
	for _, s := range gone {
		if err := s.closeFiles(); err != nil {
			return 0, l.fail(err)
		}
		s.markDeleted()
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			p := s.path(suffix)
			if err := l.fs.Rename(p, p+deletedSuffix); err != nil && !errors.Is(err, errNotExist) {
				return 0, l.fail(fmt.Errorf("rename segment %d for deletion: %w", s.base, err))
			}
		}
		s.deletedAt = l.now()
		l.deleting = append(l.deleting, s)
	}
	l.dirDirty = true
	l.logger.Info("deleted segments", "count", n, "log_start_offset", newStart)
	return n, nil
}

// ReapDeleted removes the files of segments deleted more than
// file.delete.delay.ms ago.
func (l *Log) ReapDeleted() error {
	l.mu.Lock()
	delay := l.cfg.Load().FileDeleteDelay
	now := l.now()
	var due, keep []*segment
	for _, s := range l.deleting {
		if now.Sub(s.deletedAt) >= delay {
			due = append(due, s)
		} else {
			keep = append(keep, s)
		}
	}
	l.deleting = keep
	l.mu.Unlock()
	var errs []error
	for _, s := range due {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := l.fs.Remove(s.path(suffix) + deletedSuffix); err != nil && !errors.Is(err, errNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// CloseIdle closes the file handles of a log that has been idle for
// longer than idle: read handles nobody used since, and, if nothing was
// appended since and everything is synced, the active segment's writer
// handle and index files. The next append or read reopens them, so a
// thousand quiet partitions hold no descriptors.
func (l *Log) CloseIdle(idle time.Duration) error {
	cutoff := l.now().Add(-idle)
	for _, s := range l.segments() {
		s.closeIdleReader(cutoff.UnixNano())
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	act := l.active()
	if act.file == nil || l.lastAppend.After(cutoff) || act.syncedSize.Load() != act.size.Load() || l.dirDirty {
		return nil
	}
	for _, s := range l.segments() {
		if s != act && !s.retired {
			return nil // a rolled segment still awaits its sync
		}
	}
	err := errors.Join(act.index.ReleaseFile(), act.timeIndex.ReleaseFile(), act.file.Close())
	act.file = nil
	if err != nil {
		return l.fail(fmt.Errorf("close idle segment %d: %w", act.base, err))
	}
	return nil
}

// Close syncs the log, flushes its indexes and closes its files. Pending
// WaitDurable calls return. Deleted segments' files are removed.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.structMu.Lock()
	defer l.structMu.Unlock()
	err := l.Sync()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if err != nil && !errors.Is(err, ErrStorage) {
		errs = append(errs, err)
	}
	if err == nil && l.Err() == nil {
		// A clean shutdown keeps the producer state: no replay on open.
		end := l.endOffset.Load()
		if werr := WriteFileAtomic(l.fs, snapshotName(l.fs, l.dir, end), encodeSnapshot(l.producers)); werr != nil {
			errs = append(errs, fmt.Errorf("write producer snapshot %d: %w", end, werr))
		}
	}
	for _, s := range l.segments() {
		if s.index != nil {
			if s.file != nil {
				errs = append(errs, s.sealTimeIndex())
			}
			if err := s.index.Sync(); err != nil {
				errs = append(errs, err)
			}
			if err := s.timeIndex.Sync(); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, s.closeFiles())
		s.markDeleted()
	}
	if err == nil && errors.Join(errs...) == nil {
		l.recoveryPoint.Store(l.endOffset.Load())
	}
	if l.epochs != nil {
		errs = append(errs, l.epochs.Flush())
	}
	for _, s := range l.deleting {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := l.fs.Remove(s.path(suffix) + deletedSuffix); err != nil && !errors.Is(err, errNotExist) {
				errs = append(errs, err)
			}
		}
	}
	l.deleting = nil
	l.wake()
	return errors.Join(errs...)
}
