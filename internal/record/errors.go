package record

import (
	"errors"
	"fmt"
)

// ErrLegacyFormat reports a batch whose magic byte is 0 or 1: a message set
// in the pre-0.11 format, which Sluice does not accept or store. A produce
// handler maps it to UNSUPPORTED_VERSION or INVALID_RECORD as it sees fit.
var ErrLegacyFormat = errors.New("record: legacy message format (magic 0 or 1)")

// ErrUnsupportedCompression reports a batch whose attributes name a
// compression codec other than none, gzip, snappy, lz4 or zstd.
var ErrUnsupportedCompression = errors.New("record: unsupported compression codec")

// ErrTruncated reports bytes that end part way through a batch: fewer than
// a length field, or fewer than the length field announces. At the end of a
// segment file this is a torn tail left by a crash; in a produce request it
// means the records field is invalid.
var ErrTruncated = errors.New("record: truncated batch")

// ErrDecompressLimit reports a compressed batch that would decompress to more
// than the allowed number of bytes (see Options.MaxDecompressedBytes). It is
// never a *CorruptError: the batch may be well formed, just too big for us.
var ErrDecompressLimit = errors.New("record: decompressed size exceeds limit")

// ErrCorrupt matches every *CorruptError under errors.Is.
var ErrCorrupt = errors.New("record: corrupt batch")

// CorruptKind says which layer of a batch a *CorruptError was found in, so a
// caller can pick the protocol error to return (Kafka answers a checksum
// failure with CORRUPT_MESSAGE and malformed contents with INVALID_RECORD or
// CORRUPT_MESSAGE depending on where it noticed).
type CorruptKind uint8

const (
	// KindFraming: a length field or magic byte that cannot describe a
	// batch, or bytes beyond the batch in a slice meant to hold one.
	KindFraming CorruptKind = iota + 1
	// KindChecksum: the CRC-32C does not match the bytes it covers.
	KindChecksum
	// KindHeader: batch header fields that contradict each other, such as
	// a negative record count or a count the offset range cannot hold.
	KindHeader
	// KindRecord: a record that is malformed, out of order, missing or
	// followed by bytes that are not a record.
	KindRecord
	// KindCompression: the compressed body does not decompress.
	KindCompression
)

func (k CorruptKind) String() string {
	switch k {
	case KindFraming:
		return "framing"
	case KindChecksum:
		return "checksum"
	case KindHeader:
		return "header"
	case KindRecord:
		return "record"
	case KindCompression:
		return "compression"
	}
	return fmt.Sprintf("CorruptKind(%d)", uint8(k))
}

// CorruptError reports a batch that is not a well formed v2 batch.
type CorruptError struct {
	Kind   CorruptKind
	Reason string
}

func (e *CorruptError) Error() string {
	return "record: corrupt batch (" + e.Kind.String() + "): " + e.Reason
}

// Is makes errors.Is(err, ErrCorrupt) true for every *CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(kind CorruptKind, reason string) error {
	return &CorruptError{Kind: kind, Reason: reason}
}

func corruptf(kind CorruptKind, format string, args ...any) error {
	return &CorruptError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
