package record

import (
	"math"
	"sync"
)

// Summary is what Validate learns about a batch that a broker needs to
// accept it, gathered without allocating.
type Summary struct {
	Header BatchHeader

	// MinTimestamp and MaxTimestamp span the records' create timestamps
	// (BaseTimestamp + TimestampDelta, whatever the timestamp type).
	// MinTimestamp leaves out records without one (-1, Kafka's "no
	// timestamp", which message.timestamp.before.max.ms does not judge);
	// every record is within before.max.ms and after.max.ms of now exactly
	// when these two are. With no records, or none with a timestamp for
	// MinTimestamp, they are -1.
	MinTimestamp int64
	MaxTimestamp int64

	// NullKeys counts records with a null key, which a compacted topic
	// rejects; FirstNullKey is the index of the first one, or -1.
	NullKeys     int32
	FirstNullKey int32

	// ConsecutiveOffsets is true when every record's offset delta equals
	// its index, as a producer writes them (see Options.ProducerChecks).
	ConsecutiveOffsets bool

	// UncompressedBytes is the size of the records section once
	// decompressed (for an uncompressed batch, its size as is).
	UncompressedBytes int64
}

var recordsPool = sync.Pool{New: func() any { return new(Records) }}

// Validate checks that b is exactly one well formed v2 batch: framing, the
// CRC-32C over Attributes to the end, the header fields, and every record
// (see Records for what iteration checks, and Options for the rules that
// depend on where the batch came from). Compressed batches are decompressed
// as a stream within opts.MaxDecompressedBytes. Nothing is allocated per
// batch in the steady state.
//
// Errors: *CorruptError (errors.Is ErrCorrupt), ErrTruncated,
// ErrLegacyFormat, ErrUnsupportedCompression, ErrDecompressLimit.
func Validate(b []byte, opts Options) (Summary, error) {
	if err := checkWhole(b); err != nil {
		return Summary{}, err
	}
	if h := parseHeader(b); h.Attributes.Codec() == CodecNone {
		return summarizePlain(b, h, opts)
	}
	it := recordsPool.Get().(*Records)
	defer func() {
		it.Close()
		recordsPool.Put(it)
	}()
	return summarize(it, b, opts)
}

// summarize iterates b with it and gathers its Summary.
func summarize(it *Records, b []byte, opts Options) (Summary, error) {
	if err := it.Reset(b, opts); err != nil {
		return Summary{}, err
	}
	s := Summary{
		Header:       it.hdr,
		MinTimestamp: math.MaxInt64,
		MaxTimestamp: math.MinInt64,
		FirstNullKey: -1,
	}
	for it.Next() {
		ts := it.CreateTimestamp()
		if ts != NoTimestamp {
			s.MinTimestamp = min(s.MinTimestamp, ts)
		}
		s.MaxTimestamp = max(s.MaxTimestamp, ts)
		if it.rec.Key == nil {
			if s.NullKeys == 0 {
				s.FirstNullKey = it.Index()
			}
			s.NullKeys++
		}
	}
	if err := it.Err(); err != nil {
		return Summary{}, err
	}
	if s.Header.NumRecords == 0 {
		s.MinTimestamp, s.MaxTimestamp = NoTimestamp, NoTimestamp
	}
	if s.MinTimestamp == math.MaxInt64 {
		s.MinTimestamp = NoTimestamp
	}
	s.ConsecutiveOffsets = it.ConsecutiveOffsets()
	s.UncompressedBytes = it.DecompressedBytes()
	return s, nil
}

// CheckReplicated checks what a follower checks of a batch its leader
// already validated: that b is exactly one v2 batch, that its CRC-32C
// holds, and that its header fields agree with each other. It neither
// walks nor decompresses the records: the CRC covers them, and the
// leader checked them before it stored the batch.
//
// Errors: *CorruptError (errors.Is ErrCorrupt), ErrTruncated,
// ErrLegacyFormat, ErrUnsupportedCompression.
func CheckReplicated(b []byte) (BatchHeader, error) {
	if err := checkWhole(b); err != nil {
		return BatchHeader{}, err
	}
	h := parseHeader(b)
	if err := checkHeader(&h, &Options{}); err != nil {
		return BatchHeader{}, err
	}
	if !h.Attributes.Codec().Valid() {
		return BatchHeader{}, ErrUnsupportedCompression
	}
	return h, nil
}

// checkWhole checks that b is exactly one framed batch whose CRC holds.
func checkWhole(b []byte) error {
	n, err := BatchSize(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return corruptf(KindFraming, "%d bytes follow the batch", len(b)-n)
	}
	return CheckCRC(b)
}
