package record

import "io"

// RecordHeader is one key/value header of a record. Key is never nil for a
// decoded header (Kafka forbids a null header key); Value is nil for null.
type RecordHeader struct {
	Key   []byte
	Value []byte
}

// Record is one decoded record. Its byte slices alias either the batch (for
// an uncompressed batch) or the iterator's scratch buffer (compressed), and
// Headers is the iterator's reused slice: all of it is valid only until the
// next call to Next, Reset or Close. Copy what you keep.
type Record struct {
	Length         int32 // bytes after the length varint
	Attributes     int8  // unused by Kafka so far
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte // nil for a null key
	Value          []byte // nil for a null value (a tombstone)
	Headers        []RecordHeader
}

const (
	// minRecordBody is the smallest record after its length varint: one
	// byte each for attributes, timestamp delta, offset delta, key length,
	// value length and header count.
	minRecordBody = 6
	// minRecordSize adds the one byte length varint.
	minRecordSize = minRecordBody + 1
	// minHeaderSize is a header with an empty key and null value.
	minHeaderSize = 2

	// DefaultMaxDecompressedBytes is the decompression bound used when
	// Options.MaxDecompressedBytes is zero: 64 MiB, 64 times Kafka's
	// default message.max.bytes. Compressed batches beyond it fail with
	// ErrDecompressLimit.
	DefaultMaxDecompressedBytes = 64 << 20

	initialBufferCap = 64 << 10
	// keepBufferCap is the largest scratch buffer an iterator keeps when it
	// is pooled or reset; larger ones are dropped for the GC.
	keepBufferCap = 1 << 20
	// maxEmptyReads bounds consecutive (0, nil) reads from a decoder.
	maxEmptyReads = 100
)

// Options tune batch checks and iteration. The zero value is ready to use.
type Options struct {
	// MaxDecompressedBytes bounds how many bytes the records of a
	// compressed batch may decompress to; zero means
	// DefaultMaxDecompressedBytes. Going past it fails with
	// ErrDecompressLimit. It also bounds a zstd frame's window (see
	// decompress.go). Uncompressed batches are already in memory and are
	// not subject to it.
	MaxDecompressedBytes int64

	// ProducerChecks applies the rules for a batch a client produced:
	// at least one record, LastOffsetDelta == NumRecords-1, and each
	// record's OffsetDelta equal to its index. Kafka rejects the first two
	// as INVALID_RECORD. For the third it rejects nothing: it ignores the
	// deltas of an uncompressed batch and rebuilds a compressed batch whose
	// deltas are not consecutive. Sluice appends batches as they come, so
	// with this option it rejects them (a *CorruptError of KindRecord);
	// without it, Summary.ConsecutiveOffsets reports them.
	//
	// Without ProducerChecks (a batch read back from a log, possibly
	// compacted) the rules are that deltas strictly increase and stay in
	// [0, LastOffsetDelta].
	//
	// Broker policy on produced batches (no control batches from clients,
	// a sequence number when there is a producer id) is the caller's.
	ProducerChecks bool
}

func (o *Options) limit() int64 {
	if o.MaxDecompressedBytes > 0 {
		return o.MaxDecompressedBytes
	}
	return DefaultMaxDecompressedBytes
}

// Records iterates the records of one batch without allocating per record.
// An uncompressed batch is parsed in place; a compressed one is decoded as
// a stream through a pooled decompressor into a reused scratch buffer that
// only ever holds the record being returned and the read-ahead, so the
// whole decompressed body need never be in memory.
//
//	var it record.Records
//	if err := it.Reset(batch, record.Options{}); err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		r := it.Record()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//
// Reset does not check the CRC (Validate does). Iteration checks everything
// else: record encoding, the record count, offset deltas, that nothing
// follows the last record and, for compressed batches, that the compressed
// stream ends cleanly (which is also where gzip, lz4 and zstd verify their
// own checksums). The zero value is ready for Reset; a Records may be reused
// for many batches.
type Records struct {
	hdr   BatchHeader
	opts  Options
	limit int64

	body    []byte // uncompressed: the records not yet parsed
	bodyLen int

	compressed bool
	dec        decoder // compressed: the decompressed stream
	buf        []byte  // compressed: scratch holding buf[r:w] unread
	r, w       int
	total      int64 // compressed: decompressed bytes read so far
	eof        bool
	emptyReads int

	idx         int32 // index of the next record
	last        int32 // offset delta of the previous record
	consecutive bool
	rec         Record
	hdrs        []RecordHeader
	err         error
	done        bool

	steps int64 // parse steps, for the bounded work tests
}

// Reset starts iterating the batch in b, which must be exactly one batch.
// It checks framing, the header fields (see Options) and the codec, and
// returns the same error Err will. The previous batch's decoder, if any, is
// released.
func (it *Records) Reset(b []byte, opts Options) error {
	it.release()
	buf, hdrs := it.buf, it.hdrs[:0]
	if cap(buf) > keepBufferCap {
		buf = nil
	}
	*it = Records{buf: buf, hdrs: hdrs, opts: opts, limit: opts.limit(), last: -1, consecutive: true}

	n, err := BatchSize(b)
	if err != nil {
		return it.fail(err)
	}
	if n != len(b) {
		return it.fail(corruptf(KindFraming, "%d bytes follow the batch", len(b)-n))
	}
	it.hdr = parseHeader(b)
	if err := checkHeader(&it.hdr, &opts); err != nil {
		return it.fail(err)
	}
	body := b[HeaderSize:]
	codec := it.hdr.Attributes.Codec()
	if !codec.Valid() {
		return it.fail(ErrUnsupportedCompression)
	}
	if codec == CodecNone {
		if err := checkFits(&it.hdr, body); err != nil {
			return it.fail(err)
		}
		it.body, it.bodyLen = body, len(body)
		return nil
	}
	it.compressed = true
	switch {
	case int64(it.hdr.NumRecords)*minRecordSize > it.limit:
		return it.fail(ErrDecompressLimit)
	case len(body) == 0:
		// No compressed bytes at all: an empty stream, allowed only
		// with no records, which finish checks.
		it.eof = true
	default:
		dec, err := openDecoder(codec, body, it.limit)
		if err != nil {
			return it.fail(err)
		}
		it.dec = dec
	}
	return nil
}

func checkHeader(h *BatchHeader, o *Options) error {
	switch {
	case h.NumRecords < 0:
		return corruptf(KindHeader, "negative record count %d", h.NumRecords)
	case h.LastOffsetDelta < 0:
		return corruptf(KindHeader, "negative last offset delta %d", h.LastOffsetDelta)
	case int64(h.NumRecords) > int64(h.LastOffsetDelta)+1:
		return corruptf(KindHeader, "%d records in an offset range of %d", h.NumRecords, int64(h.LastOffsetDelta)+1)
	case o.ProducerChecks && h.NumRecords == 0:
		return corrupt(KindHeader, "produced batch has no records")
	case o.ProducerChecks && h.NumRecords != h.LastOffsetDelta+1:
		return corruptf(KindHeader, "last offset delta %d does not match %d records", h.LastOffsetDelta, h.NumRecords)
	}
	return nil
}

// Next decodes the next record and reports whether there is one. After it
// returns false, Err says whether the batch ended cleanly.
func (it *Records) Next() bool {
	if it.done {
		return false
	}
	if it.idx == it.hdr.NumRecords {
		it.finish()
		return false
	}
	var p []byte
	var err error
	if !it.compressed {
		p, err = it.nextInPlace()
	} else {
		p, err = it.nextStreamed()
	}
	if err != nil {
		it.fail(err)
		return false
	}
	if reason := it.parse(p); reason != "" {
		it.fail(corruptf(KindRecord, "record %d: %s", it.idx, reason))
		return false
	}
	d := it.rec.OffsetDelta
	if d != it.idx && it.opts.ProducerChecks || d <= it.last || d > it.hdr.LastOffsetDelta {
		it.fail(offsetDeltaError(it.idx, d, it.last, it.hdr.LastOffsetDelta, it.opts.ProducerChecks))
		return false
	}
	if d != it.idx {
		it.consecutive = false
	}
	it.last = d
	it.idx++
	return true
}

// nextInPlace slices the next record out of an uncompressed body.
func (it *Records) nextInPlace() ([]byte, error) {
	it.steps++
	l, n := varintAt(it.body, 0)
	if n <= 0 || l < minRecordBody || int(l) > len(it.body)-n {
		return nil, recordLengthError(it.body, it.idx, it.hdr.NumRecords, l, n)
	}
	end := n + int(l)
	p := it.body[n:end:end]
	it.body = it.body[end:]
	return p, nil
}

// checkFits fails an uncompressed body too short for h's record count:
// every record takes at least minRecordSize bytes, so it fails before
// any loop.
func checkFits(h *BatchHeader, body []byte) error {
	if int64(h.NumRecords)*minRecordSize > int64(len(body)) {
		return corruptf(KindRecord, "%d records cannot fit in %d bytes", h.NumRecords, len(body))
	}
	return nil
}

// recordLengthError says why the length varint l (n its size, as
// readVarint returns it) of record idx (of num) does not frame a record in
// body (the check is inline in the loops: n <= 0, l < minRecordBody, l
// past the body).
func recordLengthError(body []byte, idx, num, l int32, n int) error {
	switch {
	case n == 0 && len(body) == 0:
		return corruptf(KindRecord, "batch ends after %d of %d records", idx, num)
	case n <= 0:
		return corruptf(KindRecord, "record %d: bad length varint", idx)
	case l < minRecordBody:
		return corruptf(KindRecord, "record %d: length %d below the minimum %d", idx, l, minRecordBody)
	}
	return corruptf(KindRecord, "record %d: length %d, %d bytes remain", idx, l, len(body)-n)
}

// offsetDeltaError says why record idx's offset delta d is out of place
// after the previous record's, last (the check is inline in the loops:
// d != idx with producer checks, d <= last, d > lastOffsetDelta).
func offsetDeltaError(idx, d, last, lastOffsetDelta int32, producer bool) error {
	switch {
	case producer && d != idx:
		return corruptf(KindRecord, "record %d: offset delta %d, produced batches need %d", idx, d, idx)
	case d <= last || d > lastOffsetDelta:
		return corruptf(KindRecord, "record %d: offset delta %d after %d, last offset delta %d", idx, d, last, lastOffsetDelta)
	}
	return nil
}

// nextStreamed reads the next record from the decompressed stream into the
// scratch buffer.
func (it *Records) nextStreamed() ([]byte, error) {
	it.steps++
	l, n := readVarint(it.buf[it.r:it.w])
	if n == 0 {
		if err := it.fill(maxVarintLen, true); err != nil {
			return nil, err
		}
		l, n = readVarint(it.buf[it.r:it.w])
	}
	switch {
	case n == 0 && it.r == it.w:
		return nil, corruptf(KindRecord, "batch ends after %d of %d records", it.idx, it.hdr.NumRecords)
	case n <= 0:
		return nil, corruptf(KindRecord, "record %d: bad length varint", it.idx)
	case l < minRecordBody:
		return nil, corruptf(KindRecord, "record %d: length %d below the minimum %d", it.idx, l, minRecordBody)
	}
	// Fail before reading if the record cannot fit in what the bound
	// leaves; this also keeps the buffer from growing towards a claim.
	if need := int64(n) + int64(l) - int64(it.w-it.r); need > it.limit-it.total {
		return nil, ErrDecompressLimit
	}
	if err := it.fill(n+int(l), false); err != nil {
		return nil, err
	}
	start, end := it.r+n, it.r+n+int(l)
	it.r = end
	return it.buf[start:end:end], nil
}

// fill makes at least k bytes available in buf[r:w], reading ahead as much
// as the buffer holds. With soft set, running out of input is not an error
// (the caller looks at what it got). The buffer grows only when it is full
// of unread data, by doubling, so its size stays within twice the data
// actually decompressed.
func (it *Records) fill(k int, soft bool) error {
	if it.w-it.r >= k {
		return nil
	}
	if it.r > 0 {
		it.w = copy(it.buf, it.buf[it.r:it.w])
		it.r = 0
	}
	for it.w < k {
		if it.eof {
			if soft {
				return nil
			}
			return corruptf(KindRecord, "record %d: decompressed data ends inside the record", it.idx)
		}
		if it.w == len(it.buf) {
			nb := make([]byte, max(2*len(it.buf), initialBufferCap))
			copy(nb, it.buf[:it.w])
			it.buf = nb
		}
		if err := it.read(it.buf[it.w:], 0); err != nil {
			return err
		}
	}
	return nil
}

// read reads once from the decoder into p, within the bound plus extra.
func (it *Records) read(p []byte, extra int64) error {
	it.steps++
	left := it.limit + extra - it.total
	if left <= 0 {
		return ErrDecompressLimit
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := it.dec.Read(p)
	it.w += n
	it.total += int64(n)
	switch {
	case err == io.EOF:
		it.eof = true
	case err != nil:
		return decodeError(it.hdr.Attributes.Codec(), err)
	case n == 0:
		if it.emptyReads++; it.emptyReads > maxEmptyReads {
			return corruptf(KindCompression, "%s: decoder makes no progress", it.hdr.Attributes.Codec())
		}
		return nil
	}
	it.emptyReads = 0
	return nil
}

// finish runs after the last record: nothing may follow it.
func (it *Records) finish() {
	if !it.compressed {
		if len(it.body) != 0 {
			it.fail(corruptf(KindRecord, "%d bytes follow the last record", len(it.body)))
			return
		}
		it.done = true
		return
	}
	for !it.eof && it.w == it.r {
		// Read to the end of the stream so the codec checks its
		// trailer; any byte that arrives is trailing garbage.
		if it.r == len(it.buf) {
			it.r, it.w = 0, 0
		}
		if len(it.buf) == 0 {
			it.buf = make([]byte, initialBufferCap)
		}
		// One byte past the bound is allowed: it can only be garbage.
		if err := it.read(it.buf[it.w:], 1); err != nil {
			it.fail(err)
			return
		}
	}
	if it.w != it.r {
		it.fail(corrupt(KindRecord, "decompressed data continues after the last record"))
		return
	}
	it.done = true
	it.release()
}

// parse decodes the record body p (after the length varint) into it.rec. It
// returns a reason if p is malformed; the reason is a constant so the happy
// path allocates nothing.
func (it *Records) parse(p []byte) string {
	r := &it.rec
	r.Length = int32(len(p))
	r.Attributes = int8(p[0])
	i := 1
	var n int
	if r.TimestampDelta, n = readVarlong(p[i:]); n <= 0 {
		return "bad timestamp delta varlong"
	}
	i += n
	if r.OffsetDelta, n = readVarint(p[i:]); n <= 0 {
		return "bad offset delta varint"
	}
	i += n
	var reason string
	if r.Key, i, reason = readBytes(p, i, "key"); reason != "" {
		return reason
	}
	if r.Value, i, reason = readBytes(p, i, "value"); reason != "" {
		return reason
	}
	count, n := readVarint(p[i:])
	if n <= 0 {
		return "bad header count varint"
	}
	i += n
	if count < 0 || int(count) > (len(p)-i)/minHeaderSize {
		return "header count does not fit the record"
	}
	hdrs := it.hdrs[:0]
	for range count {
		it.steps++
		var h RecordHeader
		if h.Key, i, reason = readBytes(p, i, "header key"); reason != "" {
			return reason
		}
		if h.Key == nil {
			return "null header key"
		}
		if h.Value, i, reason = readBytes(p, i, "header value"); reason != "" {
			return reason
		}
		hdrs = append(hdrs, h)
	}
	it.hdrs = hdrs
	r.Headers = hdrs
	if i != len(p) {
		return "record length does not match its fields"
	}
	return ""
}

// readBytes reads a varint length and that many bytes at p[i:]; length -1
// is null. The result's capacity ends with it.
func readBytes(p []byte, i int, what string) ([]byte, int, string) {
	l, end, reason := skipBytes(p, i, what)
	if reason != "" || l == -1 {
		return nil, end, reason
	}
	return p[end-int(l) : end : end], end, ""
}

// skipBytes is readBytes without the slice: it returns the length (-1
// for null) and the index past the bytes.
func skipBytes(p []byte, i int, what string) (int32, int, string) {
	l, next := varintAt(p, i)
	switch {
	case next <= i:
		return 0, i, "bad " + what + " length varint"
	case l < -1:
		return 0, next, "negative " + what + " length"
	case int(l) > len(p)-next:
		return 0, next, what + " runs past the record"
	case l == -1:
		return -1, next, ""
	}
	return l, next + int(l), ""
}

func (it *Records) fail(err error) error {
	if it.err == nil {
		it.err = err
	}
	it.done = true
	it.release()
	return it.err
}

// release returns the decoder to its pool.
func (it *Records) release() {
	if it.dec != nil {
		it.dec.release()
		it.dec = nil
	}
}

// Close releases the decompressor (iterating to the end releases it too)
// and drops references to the batch. Call it when stopping early or when
// keeping the Records around idle. It is idempotent, and Reset may follow.
func (it *Records) Close() {
	it.release()
	it.done = true
	// Drop references into the caller's batch and the scratch buffer so
	// a pooled or idle iterator does not keep them alive.
	it.body, it.rec = nil, Record{}
	clear(it.hdrs[:cap(it.hdrs)])
}

// Record returns the current record; see Record for how long it is valid.
func (it *Records) Record() *Record { return &it.rec }

// Header returns the batch header.
func (it *Records) Header() *BatchHeader { return &it.hdr }

// Index is the position of the current record in the batch.
func (it *Records) Index() int32 { return it.idx - 1 }

// Offset is the current record's offset: BaseOffset + OffsetDelta.
func (it *Records) Offset() int64 { return it.hdr.BaseOffset + int64(it.rec.OffsetDelta) }

// Timestamp is the current record's timestamp as a consumer sees it:
// BaseTimestamp + TimestampDelta, or MaxTimestamp for a LogAppendTime batch.
func (it *Records) Timestamp() int64 {
	if it.hdr.Attributes.TimestampType() == LogAppendTime {
		return it.hdr.MaxTimestamp
	}
	return it.CreateTimestamp()
}

// CreateTimestamp is BaseTimestamp + TimestampDelta whatever the timestamp
// type: the time the producer gave the record.
func (it *Records) CreateTimestamp() int64 { return it.hdr.BaseTimestamp + it.rec.TimestampDelta }

// Err returns nil while iterating and after a clean end, otherwise why the
// batch is bad: a *CorruptError, ErrDecompressLimit, ErrUnsupportedCompression,
// ErrLegacyFormat or ErrTruncated.
func (it *Records) Err() error { return it.err }

// ConsecutiveOffsets reports whether every record so far had an offset
// delta equal to its index.
func (it *Records) ConsecutiveOffsets() bool { return it.consecutive }

// DecompressedBytes is the size of the records section consumed so far:
// after a clean end, the batch's uncompressed records size.
func (it *Records) DecompressedBytes() int64 {
	if !it.compressed {
		return int64(it.bodyLen - len(it.body))
	}
	return it.total - int64(it.w-it.r)
}
