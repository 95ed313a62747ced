package storage

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// Append errors. Each wraps the record error that caused it, if any.
var (
	// ErrCorruptMessage: a batch fails its CRC, framing or record checks
	// (CORRUPT_MESSAGE).
	ErrCorruptMessage = errors.New("storage: corrupt message")
	// ErrInvalidRecord: a record breaks a rule of the topic or of
	// producer batches (INVALID_RECORD); RecordErrors says which.
	ErrInvalidRecord = errors.New("storage: invalid record")
	// ErrInvalidTimestamp: a record's timestamp is further from the
	// broker's clock than the topic allows (INVALID_TIMESTAMP).
	ErrInvalidTimestamp = errors.New("storage: invalid timestamp")
	// ErrBatchTooLarge: a batch exceeds max.message.bytes
	// (MESSAGE_TOO_LARGE).
	ErrBatchTooLarge = errors.New("storage: batch larger than max.message.bytes")
	// ErrLegacyFormat: message format v0 or v1, which Sluice does not
	// store (UNSUPPORTED_FOR_MESSAGE_FORMAT).
	ErrLegacyFormat = record.ErrLegacyFormat
	// ErrUnsupportedBatch: a transactional or control batch from a
	// producer; transactions are not supported.
	ErrUnsupportedBatch = errors.New("storage: transactional and control batches are not supported")
	// ErrOffsetsOutOfOrder: a follower append whose first offset is below
	// the log end (the follower must truncate first).
	ErrOffsetsOutOfOrder = errors.New("storage: appended offsets are below the log end")
)

// RecordError points at one record of a rejected batch set.
type RecordError struct {
	BatchIndex int   // index of the batch in the appended records
	Index      int32 // index of the record within its batch
	Message    string
}

// AppendError carries per-record errors of an INVALID_RECORD rejection.
type AppendError struct {
	Err     error
	Records []RecordError
}

func (e *AppendError) Error() string {
	if len(e.Records) > 0 {
		return fmt.Sprintf("%v: record %d of batch %d: %s", e.Err, e.Records[0].Index, e.Records[0].BatchIndex, e.Records[0].Message)
	}
	return e.Err.Error()
}

func (e *AppendError) Unwrap() error { return e.Err }

// AppendOptions says who appends.
type AppendOptions struct {
	// LeaderEpoch is stamped on every batch a leader appends.
	LeaderEpoch int32
	// Follower appends batches that already carry offsets and epochs, as a
	// replica copies them from its leader: no offsets are assigned and no
	// producer rules are checked.
	Follower bool
}

// AppendResult describes a successful append.
type AppendResult struct {
	FirstOffset int64 // offset of the first record
	LastOffset  int64 // offset of the last record
	// EndOffset is the log end offset after the append: wait for it with
	// WaitDurable before acknowledging.
	EndOffset      int64
	LogStartOffset int64
	Batches        int
	Records        int64
	Bytes          int
	// Duplicate: the batch retried one already appended (same producer,
	// epoch and sequences); the offsets are the original's and nothing
	// was written.
	Duplicate bool
	// LogAppendTime is the time the batches were stamped with on a
	// LogAppendTime topic (Unix milliseconds), -1 otherwise and for a
	// duplicate, as Kafka's Produce response reports it.
	LogAppendTime int64

	written writtenRange
}

// maxDecompressed bounds the decompressed size of one batch during
// validation.
func maxDecompressed(cfg *Config) int64 {
	return max(64<<20, 16*int64(cfg.MaxMessageBytes))
}

// Append validates records (one or more v2 batches, back to back, as a
// Produce request carries them), assigns their offsets and writes them to
// the active segment, rolling it first if needed. records is modified in
// place (base offsets, leader epochs, a corrected max timestamp) and
// written as is. The append is durable once WaitDurable(res.EndOffset)
// returns; Append itself never waits for an fsync.
func (l *Log) Append(records []byte, opts AppendOptions) (AppendResult, error) {
	cfg := l.cfg.Load()
	now := l.now()
	var stack [8]batchInfo // most appends carry a batch or a few
	infos, nrec, err := l.validate(stack[:0], records, cfg, opts, now)
	if err != nil {
		return AppendResult{}, err
	}

	l.mu.Lock()
	res, err := l.appendLocked(records, infos, cfg, opts, now)
	if res.Duplicate {
		nrec = 0
	}
	l.unflushedMessages += nrec
	flush := err == nil && l.maybeFlushLocked(cfg)
	l.mu.Unlock()
	if err != nil {
		return AppendResult{}, err
	}
	res.LogAppendTime = -1
	if cfg.LogAppendTime && !res.Duplicate {
		res.LogAppendTime = infos[0].maxTimestamp
	}
	res.Records = nrec
	if flush {
		if res.written.file != nil && res.written.n >= writebackKickBytes && cfg.Durable() {
			kickWriteback(res.written)
		}
		l.requestSync()
	}
	return res, nil
}

// writebackKickBytes is the smallest durable append whose writeback the
// appender starts itself (startWriteback). The fdatasync of a smaller one
// costs its journal commit more than its transfer, and the extra system
// call is not worth making.
const writebackKickBytes = 32 << 10

// writtenRange is where an append's bytes went.
type writtenRange struct {
	file   vfs.File
	off, n int64
}

// kickWriteback starts the writeback of w; tests replace it to see the
// calls.
var kickWriteback = func(w writtenRange) { startWriteback(w.file, w.off, w.n) }

// validate checks every batch of records and summarizes it. It runs
// before the writer lock: validation decompresses and is the costly part.
func (l *Log) validate(infos []batchInfo, records []byte, cfg *Config, opts AppendOptions, now time.Time) ([]batchInfo, int64, error) {
	if len(records) == 0 {
		return nil, 0, &AppendError{Err: fmt.Errorf("%w: no batches", ErrInvalidRecord)}
	}
	if opts.Follower {
		return validateReplicated(infos, records)
	}
	// ProducerChecks: at least one record, offsets 0, 1, 2, … matching
	// the header (classifyProducedError: INVALID_RECORD otherwise).
	ropts := record.Options{MaxDecompressedBytes: maxDecompressed(cfg), ProducerChecks: true}
	var nrec int64
	it := record.NewBatches(records)
	for it.Next() {
		b := it.Batch()
		idx := len(infos)
		if len(b) > int(cfg.MaxMessageBytes) {
			return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrBatchTooLarge, len(b), cfg.MaxMessageBytes)
		}
		sum, err := record.Validate(b, ropts)
		if err != nil {
			return nil, 0, classifyProducedError(err, idx)
		}
		h := sum.Header
		if h.Attributes.IsTransactional() || h.Attributes.IsControl() {
			return nil, 0, ErrUnsupportedBatch
		}
		if h.BaseOffset != 0 {
			return nil, 0, &AppendError{Err: ErrInvalidRecord, Records: []RecordError{{BatchIndex: idx,
				Message: fmt.Sprintf("the base offset of a produced batch must be 0, not %d", h.BaseOffset)}}}
		}
		if h.ProducerID >= 0 && h.BaseSequence < 0 {
			return nil, 0, &AppendError{Err: ErrInvalidRecord, Records: []RecordError{{BatchIndex: idx,
				Message: fmt.Sprintf("invalid sequence number %d for producer %d", h.BaseSequence, h.ProducerID)}}}
		}
		if cfg.Compact && sum.NullKeys > 0 {
			errs := recordErrors(b, idx, ropts, func(it *record.Records) string {
				if it.Record().Key == nil {
					return "compacted topic received a record without a key"
				}
				return ""
			})
			return nil, 0, &AppendError{Err: ErrInvalidRecord, Records: errs}
		}
		if cfg.LogAppendTime {
			// As Kafka's LogValidator: the batch takes the broker's
			// clock, in place (a compressed batch is not rewritten), and
			// the producer's timestamps are not checked.
			sum.MaxTimestamp = now.UnixMilli()
			if err := record.SetMaxTimestamp(b, record.LogAppendTime, sum.MaxTimestamp); err != nil {
				return nil, 0, classifyRecordError(err)
			}
		} else {
			if err := checkTimestamps(b, idx, ropts, &sum, cfg, now); err != nil {
				return nil, 0, err
			}
			if sum.MaxTimestamp != h.MaxTimestamp || h.Attributes.TimestampType() == record.LogAppendTime {
				// Kafka corrects the batch's max timestamp, and stores it
				// as CreateTime whatever type the producer set on a
				// CreateTime topic.
				if err := record.SetMaxTimestamp(b, record.CreateTime, sum.MaxTimestamp); err != nil {
					return nil, 0, classifyRecordError(err)
				}
			}
		}
		if idx > 0 && (idempotent(&h) || idempotent(&infos[0].header)) {
			return nil, 0, &AppendError{Err: ErrInvalidRecord, Records: []RecordError{{BatchIndex: idx,
				Message: "a produce with an idempotent batch must carry exactly one batch per partition"}}}
		}
		infos = append(infos, batchInfo{
			baseOffset:   h.BaseOffset,
			nextOffset:   h.NextOffset(),
			maxTimestamp: sum.MaxTimestamp,
			size:         len(b),
			header:       h,
		})
		nrec += int64(h.NumRecords)
	}
	if err := it.Err(); err != nil {
		return nil, 0, classifyRecordError(err)
	}
	return infos, nrec, nil
}

// validateReplicated summarizes batches a follower fetched. Their leader
// validated the records before storing them; like Kafka's follower, this
// checks each batch's framing, CRC and header, and neither walks nor
// decompresses the records (a compressed batch costs a CRC, not a
// decompression). The max timestamp is the header's, which the leader
// corrected.
func validateReplicated(infos []batchInfo, records []byte) ([]batchInfo, int64, error) {
	var nrec int64
	it := record.NewBatches(records)
	for it.Next() {
		b := it.Batch()
		h, err := record.CheckReplicated(b)
		if err != nil {
			return nil, 0, classifyRecordError(err)
		}
		maxTS := int64(-1) // Kafka's "no timestamp", as for a batch without records
		if h.NumRecords > 0 {
			maxTS = h.MaxTimestamp
		}
		infos = append(infos, batchInfo{baseOffset: h.BaseOffset, nextOffset: h.NextOffset(), maxTimestamp: maxTS, size: len(b), header: h})
		nrec += int64(h.NumRecords)
	}
	if err := it.Err(); err != nil {
		return nil, 0, classifyRecordError(err)
	}
	return infos, nrec, nil
}

// classifyProducedError maps the failure to validate produced batch idx
// to Kafka's classes. Framing or a checksum that fails, or a body that
// does not decompress, is CORRUPT_MESSAGE, which clients retry: the
// bytes may have been damaged on the way. A sound batch whose header or
// records contradict each other, or one that decompresses past the
// bound, is INVALID_RECORD, which they do not retry: a retry sends the
// same batch.
func classifyProducedError(err error, idx int) error {
	var ce *record.CorruptError
	switch {
	case errors.As(err, &ce) && (ce.Kind == record.KindHeader || ce.Kind == record.KindRecord):
		return &AppendError{Err: fmt.Errorf("%w: %w", ErrInvalidRecord, err), Records: []RecordError{{BatchIndex: idx, Message: ce.Reason}}}
	case errors.Is(err, record.ErrDecompressLimit):
		return &AppendError{Err: fmt.Errorf("%w: %w", ErrInvalidRecord, err), Records: []RecordError{{BatchIndex: idx, Message: err.Error()}}}
	}
	return classifyRecordError(err)
}

func classifyRecordError(err error) error {
	if errors.Is(err, record.ErrLegacyFormat) {
		return err
	}
	return &AppendError{Err: fmt.Errorf("%w: %w", ErrCorruptMessage, err)}
}

// checkTimestamps refuses batch b (number idx) when a record's timestamp
// is further from now than the topic's bounds allow, naming each such
// record (INVALID_TIMESTAMP with record errors, as Kafka answers).
func checkTimestamps(b []byte, idx int, opts record.Options, sum *record.Summary, cfg *Config, now time.Time) error {
	if sum.Header.NumRecords == 0 {
		return nil
	}
	nowMs := now.UnixMilli()
	before, after := cfg.timestampBounds()
	// A record without a timestamp (-1) is not judged; MinTimestamp
	// leaves it out.
	low, high := int64(math.MinInt64), int64(math.MaxInt64)
	if before != Forever {
		low = nowMs - before.Milliseconds()
	}
	if after != Forever {
		high = nowMs + after.Milliseconds()
	}
	tooEarly := sum.MinTimestamp != record.NoTimestamp && sum.MinTimestamp < low
	if !tooEarly && sum.MaxTimestamp <= high {
		return nil
	}
	errs := recordErrors(b, idx, opts, func(it *record.Records) string {
		ts := it.CreateTimestamp()
		if ts == record.NoTimestamp || low <= ts && ts <= high {
			return ""
		}
		return fmt.Sprintf("timestamp %d of record %d is out of range: message.timestamp.before.max.ms=%d and message.timestamp.after.max.ms=%d around the broker's %d",
			ts, it.Index(), before.Milliseconds(), after.Milliseconds(), nowMs)
	})
	if tooEarly {
		return &AppendError{Err: fmt.Errorf("%w: timestamp %d is more than message.timestamp.before.max.ms=%d before the broker's %d",
			ErrInvalidTimestamp, sum.MinTimestamp, before.Milliseconds(), nowMs), Records: errs}
	}
	return &AppendError{Err: fmt.Errorf("%w: timestamp %d is more than message.timestamp.after.max.ms=%d after the broker's %d",
		ErrInvalidTimestamp, sum.MaxTimestamp, after.Milliseconds(), nowMs), Records: errs}
}

// maxRecordErrors bounds the record errors one refused batch lists.
const maxRecordErrors = 1000

// recordErrors walks the records of batch b (number idx), which
// validation refused, and lists those msg finds fault with, at most
// maxRecordErrors. Only a refusal pays for the walk.
func recordErrors(b []byte, idx int, opts record.Options, msg func(it *record.Records) string) []RecordError {
	var it record.Records
	defer it.Close()
	if it.Reset(b, opts) != nil {
		return nil
	}
	var out []RecordError
	for len(out) < maxRecordErrors && it.Next() {
		if m := msg(&it); m != "" {
			out = append(out, RecordError{BatchIndex: idx, Index: it.Index(), Message: m})
		}
	}
	return out
}

// appendLocked assigns offsets and writes. Called with mu held.
func (l *Log) appendLocked(records []byte, infos []batchInfo, cfg *Config, opts AppendOptions, now time.Time) (AppendResult, error) {
	if l.closed.Load() {
		return AppendResult{}, ErrClosed
	}
	if err := l.Err(); err != nil {
		return AppendResult{}, err
	}
	if !opts.Follower {
		dup, err := l.checkProducersLocked(infos)
		if err != nil {
			return AppendResult{}, err
		}
		if dup != nil {
			// A retry of a batch already appended: answer with its offsets
			// (acknowledged once they are durable), write nothing.
			l.duplicates.Add(1)
			if l.dupCounter != nil {
				l.dupCounter.Add(1)
			}
			return AppendResult{
				FirstOffset:    dup.firstOffset,
				LastOffset:     dup.lastOffset,
				EndOffset:      dup.lastOffset + 1,
				LogStartOffset: l.startOffset.Load(),
				Duplicate:      true,
			}, nil
		}
	}
	next := l.endOffset.Load()
	first := next
	if opts.Follower {
		if infos[0].baseOffset < next {
			return AppendResult{}, fmt.Errorf("%w: first offset %d, log end %d", ErrOffsetsOutOfOrder, infos[0].baseOffset, next)
		}
		first = infos[0].baseOffset
		for i := 1; i < len(infos); i++ {
			if infos[i].baseOffset < infos[i-1].nextOffset {
				return AppendResult{}, fmt.Errorf("%w: batch %d starts at %d inside the previous batch", ErrOffsetsOutOfOrder, i, infos[i].baseOffset)
			}
		}
	} else {
		pos := 0
		for i := range infos {
			b := records[pos : pos+infos[i].size]
			span := infos[i].nextOffset - infos[i].baseOffset
			record.SetBaseOffset(b, next)
			record.SetPartitionLeaderEpoch(b, opts.LeaderEpoch)
			infos[i].baseOffset, infos[i].nextOffset = next, next+span
			next += span
			pos += infos[i].size
		}
	}
	last := infos[len(infos)-1].nextOffset - 1

	maxTS := int64(-1)
	for i := range infos {
		maxTS = max(maxTS, infos[i].maxTimestamp)
	}
	if err := l.maybeRollLocked(len(records), first, last, maxTS, cfg, now); err != nil {
		return AppendResult{}, err
	}
	if act := l.active(); act.file == nil {
		// Closed while idle: reopen; the indexes reopen on their own.
		f, err := l.fs.OpenReadWrite(act.path(logSuffix))
		if err != nil {
			return AppendResult{}, l.fail(fmt.Errorf("reopen segment %d: %w", act.base, err))
		}
		act.file = f
	}
	l.lastAppend = now
	act := l.active()
	written := writtenRange{act.file, act.size.Load(), int64(len(records))}
	if err := act.append(records, infos, cfg); err != nil {
		return AppendResult{}, l.fail(err)
	}
	if l.epochs != nil {
		epoch := opts.LeaderEpoch
		if opts.Follower {
			epoch = partitionLeaderEpoch(records)
		}
		if err := l.assignEpochsLocked(records, infos, opts, epoch); err != nil {
			return AppendResult{}, l.fail(err)
		}
	}
	l.updateProducersLocked(infos, now)
	l.endOffset.Store(last + 1)
	if !cfg.Durable() {
		l.wakeIfWaiting() // page-cache mode: appended is acknowledgeable
	} else {
		l.wakeEnd() // followers read past the durable end
	}
	return AppendResult{
		FirstOffset:    first,
		LastOffset:     last,
		EndOffset:      last + 1,
		LogStartOffset: l.startOffset.Load(),
		Batches:        len(infos),
		Bytes:          len(records),
		written:        written,
	}, nil
}

// BeginLeaderEpoch records that epoch starts at the log end offset, as a
// broker that becomes leader does before it serves anything in that
// epoch (Kafka's makeLeader): a follower whose last fetched epoch is one
// this log never had then learns that the log diverges, instead of the
// leader finding no entry and taking its offset as agreed. An epoch that
// is already the latest is left where it starts; the checkpoint is
// written when the cache changes, as for a leader's first append.
func (l *Log) BeginLeaderEpoch(epoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}
	if latest, ok := l.epochs.LatestEpoch(); ok && latest >= epoch {
		return nil
	}
	if err := l.epochs.Assign(epoch, l.endOffset.Load()); err != nil {
		return l.fail(fmt.Errorf("assign leader epoch %d: %w", epoch, err))
	}
	return nil
}

// assignEpochsLocked records leader epoch starts: a leader's epoch at the
// first offset it appends; for a follower, every epoch change among the
// copied batches.
func (l *Log) assignEpochsLocked(records []byte, infos []batchInfo, opts AppendOptions, epoch int32) error {
	if !opts.Follower {
		if latest, ok := l.epochs.LatestEpoch(); ok && latest == epoch {
			return nil // the common case: no new epoch, no checkpoint write
		}
		return l.epochs.Assign(epoch, infos[0].baseOffset)
	}
	pos := 0
	for i := range infos {
		e := partitionLeaderEpoch(records[pos:])
		if latest, ok := l.epochs.LatestEpoch(); e >= 0 && (!ok || e > latest) {
			if err := l.epochs.Assign(e, infos[i].baseOffset); err != nil {
				return err
			}
		}
		pos += infos[i].size
	}
	return nil
}

// maybeRollLocked rolls the active segment if appending size bytes
// covering offsets first..last would break one of its limits: segment.bytes,
// segment.ms, a full index, or relative offsets beyond int32.
func (l *Log) maybeRollLocked(size int, first, last, maxTS int64, cfg *Config, now time.Time) error {
	s := l.active()
	cur := s.size.Load()
	// segment.ms, as Kafka counts it: from the first batch's timestamp to
	// the incoming batches' when both have one, else by the clock since
	// the segment was created.
	waited := now.Sub(s.createdAt).Milliseconds()
	if s.firstBatchTS >= 0 && maxTS >= 0 {
		waited = maxTS - s.firstBatchTS
	}
	roll := cur > 0 && (cur+int64(size) > cfg.SegmentBytes ||
		waited > cfg.rollAge().Milliseconds() ||
		s.index.Full() || s.timeIndex.Full() ||
		last-s.base > math.MaxInt32)
	if !roll {
		return nil
	}
	return l.rollLocked(first, cfg)
}

// Roll starts a new active segment at the log end offset.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active().size.Load() == 0 {
		return nil
	}
	return l.rollLocked(l.endOffset.Load(), l.cfg.Load())
}

// rollLocked makes a new active segment whose base is base. The old one
// keeps its writer handle until a sync has covered it. The producer state
// as of base is snapshotted first. Called with mu held.
func (l *Log) rollLocked(base int64, cfg *Config) error {
	if err := l.writeSnapshotLocked(base); err != nil {
		l.logger.Warn("producer snapshot failed", "offset", base, "err", err)
	}
	old := l.active()
	if err := old.sealTimeIndex(); err != nil {
		return l.fail(err)
	}
	if err := old.index.Flush(); err != nil {
		return l.fail(err)
	}
	if err := old.timeIndex.Flush(); err != nil {
		return l.fail(err)
	}
	s, err := createSegment(l.fs, l.dir, base, cfg)
	if err != nil {
		return l.fail(err)
	}
	s.createdAt = l.now()
	segs := append(append([]*segment(nil), l.segments()...), s)
	l.setSegments(segs)
	l.dirDirty = true
	l.logger.Debug("rolled segment", "base_offset", base)
	return nil
}
