package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Byte positions of the batch header fields; see the diagram in doc.go.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21 // first byte covered by the CRC
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57
)

const (
	// HeaderSize is the size of a v2 batch header, up to and including the
	// record count; the records follow it.
	HeaderSize = 61

	// LengthFieldEnd is how many leading bytes (BaseOffset and BatchLength)
	// BatchLength does not count: a batch occupies LengthFieldEnd +
	// BatchLength bytes.
	LengthFieldEnd = offLeaderEpoch

	// MinBatchLength is the smallest BatchLength a v2 batch can have: a
	// header with no records.
	MinBatchLength = HeaderSize - LengthFieldEnd

	// Magic is the only batch format version this package reads and writes.
	Magic = 2

	// magicPrefix is how many bytes must be present to see the magic byte.
	magicPrefix = offMagic + 1
)

// Codec is the compression codec named by the low three attribute bits.
type Codec int8

const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// Valid reports whether c is one of the five codecs Kafka defines.
func (c Codec) Valid() bool { return c >= CodecNone && c <= CodecZstd }

// TimestampType says what record timestamps mean.
type TimestampType int8

const (
	// CreateTime: each record's timestamp is BaseTimestamp plus its delta,
	// as the producer set it.
	CreateTime TimestampType = 0
	// LogAppendTime: the broker stamped the batch; every record's
	// timestamp is the batch's MaxTimestamp.
	LogAppendTime TimestampType = 1
)

// NoTimestamp is Kafka's "no timestamp" (RecordBatch.NO_TIMESTAMP).
const NoTimestamp int64 = -1

// Attributes is the batch attributes field.
type Attributes int16

// Attribute bits other than the codec.
const (
	AttrCodecMask     Attributes = 0x07
	AttrLogAppendTime Attributes = 0x08
	AttrTransactional Attributes = 0x10
	AttrControl       Attributes = 0x20
	AttrDeleteHorizon Attributes = 0x40
)

// Codec returns the compression codec; it may be one Valid rejects.
func (a Attributes) Codec() Codec { return Codec(a & AttrCodecMask) }

// TimestampType returns CreateTime or LogAppendTime.
func (a Attributes) TimestampType() TimestampType {
	if a&AttrLogAppendTime != 0 {
		return LogAppendTime
	}
	return CreateTime
}

// IsTransactional reports whether the batch belongs to a transaction.
func (a Attributes) IsTransactional() bool { return a&AttrTransactional != 0 }

// IsControl reports whether the batch holds a control record (a
// transaction marker) rather than user records.
func (a Attributes) IsControl() bool { return a&AttrControl != 0 }

// HasDeleteHorizon reports whether compaction set BaseTimestamp to the
// time after which tombstones and aborted markers in the batch may go.
func (a Attributes) HasDeleteHorizon() bool { return a&AttrDeleteHorizon != 0 }

// BatchHeader is the fixed 61 byte header of a v2 batch.
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           Attributes
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// LastOffset is the offset of the last offset slot the batch covers. After
// compaction that slot may hold no record; it still counts.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h *BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// Size is the number of bytes the batch occupies, header included.
func (h *BatchHeader) Size() int { return LengthFieldEnd + int(h.BatchLength) }

// ParseHeader decodes the header at the front of b, which needs to hold only
// the HeaderSize header bytes, not the whole batch, so a caller can read a
// header from a file before reading the rest. It checks the magic byte and
// that BatchLength can describe a batch; it does not check the CRC or that
// the header fields agree with each other or with the records.
//
// Errors: ErrTruncated if b is shorter than a header (or than the magic
// byte), ErrLegacyFormat for magic 0 or 1, *CorruptError otherwise.
func ParseHeader(b []byte) (BatchHeader, error) {
	if len(b) < magicPrefix {
		return BatchHeader{}, ErrTruncated
	}
	if err := checkMagic(b[offMagic]); err != nil {
		return BatchHeader{}, err
	}
	if len(b) < HeaderSize {
		return BatchHeader{}, ErrTruncated
	}
	h := parseHeader(b)
	if h.BatchLength < MinBatchLength {
		return BatchHeader{}, corruptf(KindFraming, "batch length %d is below the minimum %d", h.BatchLength, MinBatchLength)
	}
	return h, nil
}

func checkMagic(m byte) error {
	switch m {
	case Magic:
		return nil
	case 0, 1:
		return ErrLegacyFormat
	}
	return corruptf(KindFraming, "unknown magic byte %d", int8(m))
}

// parseHeader decodes the header fields without any checks; b must hold at
// least HeaderSize bytes.
func parseHeader(b []byte) BatchHeader {
	_ = b[HeaderSize-1]
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(be.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           Attributes(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(be.Uint32(b[offNumRecords:])),
	}
}

// putHeader encodes h into the first HeaderSize bytes of b.
func putHeader(b []byte, h *BatchHeader) {
	_ = b[HeaderSize-1]
	be := binary.BigEndian
	be.PutUint64(b[offBaseOffset:], uint64(h.BaseOffset))
	be.PutUint32(b[offBatchLength:], uint32(h.BatchLength))
	be.PutUint32(b[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	b[offMagic] = byte(h.Magic)
	be.PutUint32(b[offCRC:], h.CRC)
	be.PutUint16(b[offAttributes:], uint16(h.Attributes))
	be.PutUint32(b[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(b[offBaseTimestamp:], uint64(h.BaseTimestamp))
	be.PutUint64(b[offMaxTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	be.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	be.PutUint32(b[offNumRecords:], uint32(h.NumRecords))
}

// SetBaseOffset overwrites the BaseOffset field of the batch at the front of
// b. The field lies before the CRC-covered range, so the CRC stays valid. b
// must hold at least the first 8 bytes of a batch.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch overwrites the PartitionLeaderEpoch field of the
// batch at the front of b; like BaseOffset it is outside the CRC. b must
// hold at least the first 16 bytes of a batch.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetMaxTimestamp sets the timestamp type and the max timestamp of the
// batch at the front of b and recomputes its CRC, as a broker stores a
// produced batch: CreateTime with the max its records carry whatever
// type the producer set, or LogAppendTime with the broker's clock (which
// every record of the batch then reads as its timestamp).
func SetMaxTimestamp(b []byte, t TimestampType, maxTimestamp int64) error {
	if len(b) < HeaderSize {
		return ErrTruncated
	}
	attrs := Attributes(binary.BigEndian.Uint16(b[offAttributes:])) &^ AttrLogAppendTime
	if t == LogAppendTime {
		attrs |= AttrLogAppendTime
	}
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(attrs))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(maxTimestamp))
	return UpdateCRC(b)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcRange returns the bytes the CRC covers in the batch at the front of b:
// from Attributes to the end that BatchLength gives.
func crcRange(b []byte) ([]byte, error) {
	if _, err := ParseHeader(b); err != nil {
		return nil, err
	}
	end := LengthFieldEnd + int(binary.BigEndian.Uint32(b[offBatchLength:]))
	if end > len(b) {
		return nil, ErrTruncated
	}
	return b[offAttributes:end], nil
}

// CheckCRC verifies the CRC-32C of the batch at the front of b (bytes after
// the batch are ignored; use BatchSize or Batches to split a region first).
// A mismatch is a *CorruptError of KindChecksum.
func CheckCRC(b []byte) error {
	covered, err := crcRange(b)
	if err != nil {
		return err
	}
	want := binary.BigEndian.Uint32(b[offCRC:])
	if got := crc32.Checksum(covered, castagnoli); got != want {
		return corruptf(KindChecksum, "crc 0x%08x, computed 0x%08x", want, got)
	}
	return nil
}

// UpdateCRC recomputes and stores the CRC of the batch at the front of b,
// for use after rewriting a covered field such as MaxTimestamp or the
// timestamp type attribute.
func UpdateCRC(b []byte) error {
	covered, err := crcRange(b)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(covered, castagnoli))
	return nil
}
