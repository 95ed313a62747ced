package metadata

import (
	"errors"
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// ErrBadRecord is wrapped by every DecodeRecord error: a frame version other
// than 1, a record type or version Kafka's specs do not define, a body that
// does not decode, or bytes after the body.
var ErrBadRecord = errors.New("metadata: bad record frame")

// FrameVersion is the only frame version Kafka writes or reads. (Version 0
// was KRaft's 2.8 preview and is not readable by any later release.)
const FrameVersion = 1

// Record is one decoded metadata record: the message and the version it was
// (or is to be) encoded at.
type Record struct {
	Version int16
	Message protocol.MetadataRecord
}

// NewRecord returns m at its highest version, the version EncodeRecord
// writes by default.
func NewRecord(m protocol.MetadataRecord) Record {
	return Record{Version: LatestVersion(m), Message: m}
}

// LatestVersion returns the highest version the codec defines for r.
func LatestVersion(r protocol.MetadataRecord) int16 {
	_, hi := r.Versions()
	return hi
}

// EncodeRecord appends r framed as Kafka frames a metadata record
// (AbstractApiMessageSerde): unsigned varints frame version (1), record type
// and record version, then the body at version. It panics when r is nil or
// version lies outside r.Versions(), which is a programming error: records
// are built by the controller, never taken from the wire.
func EncodeRecord(dst []byte, r protocol.MetadataRecord, version int16) []byte {
	if r == nil {
		panic("metadata: EncodeRecord of a nil record")
	}
	if lo, hi := r.Versions(); version < lo || version > hi {
		panic(fmt.Sprintf("metadata: EncodeRecord of %s at version %d, outside %d-%d",
			recordName(r), version, lo, hi))
	}
	dst = protocol.AppendUvarint(dst, FrameVersion)
	dst = protocol.AppendUvarint(dst, uint32(r.RecordType()))
	dst = protocol.AppendUvarint(dst, uint32(version))
	return r.AppendTo(dst, version)
}

// DecodeRecord decodes one framed record, which must fill b exactly. Byte
// fields of the message alias b. Every error wraps ErrBadRecord (and, for a
// body that does not decode, the protocol package's error as well).
func DecodeRecord(b []byte) (Record, error) {
	rd := protocol.NewReader(b)
	frame := rd.Uvarint()
	typ := rd.Uvarint()
	version := rd.Uvarint()
	if err := rd.Err(); err != nil {
		return Record{}, fmt.Errorf("%w: header: %w", ErrBadRecord, err)
	}
	if frame != FrameVersion {
		return Record{}, fmt.Errorf("%w: frame version %d (only %d is defined)",
			ErrBadRecord, frame, FrameVersion)
	}
	// Kafka reads the type and version as unsigned varints and rejects
	// values above the int16 range.
	if typ > math.MaxInt16 {
		return Record{}, fmt.Errorf("%w: record type %d out of range", ErrBadRecord, typ)
	}
	m := protocol.NewMetadataRecord(int16(typ))
	if m == nil {
		return Record{}, fmt.Errorf("%w: unknown record type %d", ErrBadRecord, typ)
	}
	if lo, hi := m.Versions(); version < uint32(lo) || version > uint32(hi) {
		return Record{}, fmt.Errorf("%w: %s version %d (defined: %d-%d)",
			ErrBadRecord, recordName(m), version, lo, hi)
	}
	// Decode rejects trailing bytes itself: a body must be consumed exactly.
	if err := m.Decode(rd.Remaining(), int16(version)); err != nil {
		return Record{}, fmt.Errorf("%w: %s v%d: %w", ErrBadRecord, recordName(m), version, err)
	}
	return Record{Version: int16(version), Message: m}, nil
}
