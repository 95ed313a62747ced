package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Builder assembles one v2 batch. Set the exported header fields (NewBuilder
// fills in Kafka's "none" values), Append records, then Build. A Builder
// can be Reset and reused; it keeps its buffer.
type Builder struct {
	Codec                Codec
	TimestampType        TimestampType
	Transactional        bool
	Control              bool
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// BaseTimestamp is what record timestamp deltas are relative to.
	BaseTimestamp int64
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32

	body       []byte // uncompressed records
	n          int32
	lastDelta  int32
	maxTSDelta int64
	err        error
}

// NewBuilder returns a Builder for codec with no producer (ProducerID,
// ProducerEpoch and BaseSequence -1), no leader epoch (-1), CreateTime, and
// BaseOffset 0.
func NewBuilder(codec Codec) *Builder {
	b := &Builder{
		Codec:                codec,
		PartitionLeaderEpoch: -1,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
	}
	b.Reset()
	return b
}

// Reset drops the appended records, keeping the header fields and buffer.
func (b *Builder) Reset() {
	b.body, b.n, b.lastDelta, b.maxTSDelta, b.err = b.body[:0], 0, -1, math.MinInt64, nil
}

// Len is the number of records appended.
func (b *Builder) Len() int { return int(b.n) }

// UncompressedSize is the size the batch would have uncompressed.
func (b *Builder) UncompressedSize() int { return HeaderSize + len(b.body) }

// Append adds a record. Offset deltas must be non-negative and strictly
// increasing; a nil key or value is encoded as null, an empty one as empty.
// Header keys are written as given (a nil key as empty). Mistakes are
// reported by Build.
func (b *Builder) Append(offsetDelta int32, timestampDelta int64, key, value []byte, headers ...RecordHeader) {
	if b.err != nil {
		return
	}
	if offsetDelta <= b.lastDelta {
		b.err = fmt.Errorf("record: offset delta %d after %d", offsetDelta, b.lastDelta)
		return
	}
	if b.n == math.MaxInt32 {
		b.err = errors.New("record: too many records")
		return
	}
	size := 1 + varlongLen(timestampDelta) + varintLen(offsetDelta) +
		bytesLen(key) + bytesLen(value) + varintLen(int32(len(headers)))
	for _, h := range headers {
		size += varintLen(int32(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	if size > math.MaxInt32-MinBatchLength-len(b.body)-maxVarintLen {
		b.err = errors.New("record: batch too large")
		return
	}
	b.body = slices.Grow(b.body, maxVarintLen+size)
	b.body = appendVarint(b.body, int32(size))
	b.body = append(b.body, 0) // attributes
	b.body = appendVarlong(b.body, timestampDelta)
	b.body = appendVarint(b.body, offsetDelta)
	b.body = appendBytes(b.body, key)
	b.body = appendBytes(b.body, value)
	b.body = appendVarint(b.body, int32(len(headers)))
	for _, h := range headers {
		b.body = appendVarint(b.body, int32(len(h.Key)))
		b.body = append(b.body, h.Key...)
		b.body = appendBytes(b.body, h.Value)
	}
	b.n++
	b.lastDelta = offsetDelta
	b.maxTSDelta = max(b.maxTSDelta, timestampDelta)
}

// AppendRecord appends a copy of r (its Length is recomputed).
func (b *Builder) AppendRecord(r *Record) {
	b.Append(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers...)
}

func bytesLen(p []byte) int {
	if p == nil {
		return 1 // varint -1
	}
	return varintLen(int32(len(p))) + len(p)
}

func appendBytes(dst, p []byte) []byte {
	if p == nil {
		return appendVarint(dst, -1)
	}
	dst = appendVarint(dst, int32(len(p)))
	return append(dst, p...)
}

// Build appends the finished batch to dst and returns the extended slice.
// LastOffsetDelta is the last record's offset delta (0 with no records),
// MaxTimestamp is BaseTimestamp plus the largest timestamp delta
// (BaseTimestamp with no records), and the CRC is filled in. The Builder is
// left as it was, so Build may be called again.
func (b *Builder) Build(dst []byte) ([]byte, error) {
	if b.err != nil {
		return dst, b.err
	}
	if !b.Codec.Valid() {
		return dst, ErrUnsupportedCompression
	}
	start := len(dst)
	dst = slices.Grow(dst, HeaderSize+len(b.body))
	dst = dst[:start+HeaderSize]
	var err error
	dst, err = compress(b.Codec, dst, b.body)
	if err != nil {
		return dst[:start], err
	}
	length := len(dst) - start - LengthFieldEnd
	if length > math.MaxInt32 {
		return dst[:start], errors.New("record: batch too large")
	}
	h := BatchHeader{
		BaseOffset:           b.BaseOffset,
		BatchLength:          int32(length),
		PartitionLeaderEpoch: b.PartitionLeaderEpoch,
		Magic:                Magic,
		Attributes:           Attributes(b.Codec),
		LastOffsetDelta:      max(b.lastDelta, 0),
		BaseTimestamp:        b.BaseTimestamp,
		MaxTimestamp:         b.BaseTimestamp,
		ProducerID:           b.ProducerID,
		ProducerEpoch:        b.ProducerEpoch,
		BaseSequence:         b.BaseSequence,
		NumRecords:           b.n,
	}
	if b.n > 0 {
		h.MaxTimestamp += b.maxTSDelta
	}
	if b.TimestampType == LogAppendTime {
		h.Attributes |= AttrLogAppendTime
	}
	if b.Transactional {
		h.Attributes |= AttrTransactional
	}
	if b.Control {
		h.Attributes |= AttrControl
	}
	batch := dst[start:]
	putHeader(batch, &h)
	binary.BigEndian.PutUint32(batch[offCRC:], crc32.Checksum(batch[offAttributes:], castagnoli))
	return dst, nil
}

// compress appends body, compressed with c, to dst.
func compress(c Codec, dst, body []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, body...), nil
	case CodecGzip:
		e := gzipWriters.Get().(*gzipEncoder)
		defer gzipWriters.Put(e)
		return e.w.compress(e.zw, dst, body)
	case CodecLZ4:
		e := lz4Writers.Get().(*lz4Encoder)
		defer lz4Writers.Put(e)
		return e.w.compress(e.zw, dst, body)
	case CodecZstd:
		zw := zstdWriters.Get().(*zstd.Encoder)
		defer zstdWriters.Put(zw)
		return zw.EncodeAll(body, dst), nil
	case CodecSnappy:
		return appendXerial(dst, body), nil
	}
	return dst, ErrUnsupportedCompression
}

// appendXerial writes body in the xerial framing that the Java client
// writes (and that franz-go writes too): the magic, version 1, minimum
// compatible version 1, then 32 KiB blocks each behind its length.
func appendXerial(dst, body []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	for len(body) > 0 {
		n := min(len(body), xerialBlockSize)
		dst = slices.Grow(dst, 4+snappy.MaxEncodedLen(n))
		at := len(dst)
		block := snappy.Encode(dst[at+4:cap(dst)], body[:n])
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
		dst = dst[:at+4+len(block)]
		body = body[n:]
	}
	return dst
}

// appendWriter is the io.Writer a stream codec writes into: it appends
// to a slice. It lives in the pooled encoder so it does not escape per call.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type streamCodec interface {
	Reset(io.Writer)
	Write([]byte) (int, error)
	Close() error
}

// compress appends body compressed by zw to dst.
func (w *appendWriter) compress(zw streamCodec, dst, body []byte) ([]byte, error) {
	w.b = dst
	zw.Reset(w)
	_, err := zw.Write(body)
	if err == nil {
		err = zw.Close()
	}
	out := w.b
	w.b = nil
	zw.Reset(io.Discard) // drop the reference to dst
	if err != nil {
		return dst, err
	}
	return out, nil
}

type gzipEncoder struct {
	zw *gzip.Writer
	w  appendWriter
}

type lz4Encoder struct {
	zw *lz4.Writer
	w  appendWriter
}

var (
	gzipWriters = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		return &gzipEncoder{zw: zw}
	}}
	// lz4 frames with 64 KiB independent blocks and a content checksum,
	// which Kafka's Java reader and franz-go both read.
	lz4Writers = sync.Pool{New: func() any {
		zw := lz4.NewWriter(nil)
		_ = zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(true))
		return &lz4Encoder{zw: zw}
	}}
	// zstd at the default level with a 1 MiB window: well inside what
	// any consumer's decoder allows.
	zstdWriters = sync.Pool{New: func() any {
		zw, _ := zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20),
			zstd.WithZeroFrames(true),
		)
		return zw
	}}
)
