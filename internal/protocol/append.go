package protocol

import (
	"encoding/binary"
	"math"
)

// RawTag is a tagged field kept as bytes: one this version does not know.
type RawTag struct {
	Key   uint32
	Value []byte
}

// UUID is a 16-byte UUID, as Kafka's topic IDs.
type UUID [16]byte

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendInt8(dst []byte, v int8) []byte     { return append(dst, byte(v)) }
func appendInt16(dst []byte, v int16) []byte   { return binary.BigEndian.AppendUint16(dst, uint16(v)) }
func appendUint16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }
func appendInt32(dst []byte, v int32) []byte   { return binary.BigEndian.AppendUint32(dst, uint32(v)) }
func appendUint32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }
func appendInt64(dst []byte, v int64) []byte   { return binary.BigEndian.AppendUint64(dst, uint64(v)) }
func appendUUID(dst []byte, v UUID) []byte     { return append(dst, v[:]...) }

func appendFloat64(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// AppendUvarint appends v as an unsigned varint.
func AppendUvarint(dst []byte, v uint32) []byte { return appendUvarint(dst, v) }

func appendUvarint(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func uvarintLen(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendLen(dst []byte, n int, compact, wide bool) []byte {
	switch {
	case compact:
		return appendUvarint(dst, uint32(n+1))
	case wide:
		return appendInt32(dst, int32(n))
	default:
		return appendInt16(dst, int16(n))
	}
}

func appendString(dst []byte, s string, compact bool) []byte {
	dst = appendLen(dst, len(s), compact, false)
	return append(dst, s...)
}

// appendStringPtr writes a non-nullable string; nil is written as "".
func appendStringPtr(dst []byte, s *string, compact bool) []byte {
	if s == nil {
		return appendLen(dst, 0, compact, false)
	}
	return appendString(dst, *s, compact)
}

func appendNullableString(dst []byte, s *string, compact bool) []byte {
	if s == nil {
		return appendLen(dst, -1, compact, false)
	}
	return appendString(dst, *s, compact)
}

func appendBytes(dst, b []byte, compact bool) []byte {
	dst = appendLen(dst, len(b), compact, true)
	return append(dst, b...)
}

func appendNullableBytes(dst, b []byte, compact bool) []byte {
	if b == nil {
		return appendLen(dst, -1, compact, true)
	}
	return appendBytes(dst, b, compact)
}

func appendArrayLen(dst []byte, n int, compact bool) []byte {
	return appendLen(dst, n, compact, true)
}

func appendNullLen(dst []byte, compact bool) []byte {
	return appendLen(dst, -1, compact, true)
}

// finishTag inserts, at start, the size of the tagged field value written
// since start.
func finishTag(dst []byte, start int) []byte {
	size := uint32(len(dst) - start)
	n := uvarintLen(size)
	dst = append(dst, make([]byte, n)...)
	copy(dst[start+n:], dst[start:len(dst)-n])
	appendUvarint(dst[start:start], size)
	return dst
}

// appendUnknownTagsBelow writes tags[u:] whose key is below limit and
// returns the index of the first one not written. Tags are kept in the
// order they were decoded, which for well-formed input is ascending.
func appendUnknownTagsBelow(dst []byte, tags []RawTag, u int, limit uint32) ([]byte, int) {
	for ; u < len(tags) && tags[u].Key < limit; u++ {
		dst = appendRawTag(dst, tags[u])
	}
	return dst, u
}

// appendUnknownTags writes tags[u:]; the limit argument is unused (-1) and
// exists so generated calls read alike.
func appendUnknownTags(dst []byte, tags []RawTag, u int, _ int) []byte {
	for ; u < len(tags); u++ {
		dst = appendRawTag(dst, tags[u])
	}
	return dst
}

func appendRawTag(dst []byte, t RawTag) []byte {
	dst = appendUvarint(dst, t.Key)
	dst = appendUvarint(dst, uint32(len(t.Value)))
	return append(dst, t.Value...)
}
