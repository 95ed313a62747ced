package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Decoding errors. Every decoder error wraps ErrMalformed.
var (
	ErrMalformed     = errors.New("protocol: malformed message")
	errTruncated     = fmt.Errorf("%w: truncated", ErrMalformed)
	errLength        = fmt.Errorf("%w: length exceeds the bytes present", ErrMalformed)
	errNegative      = fmt.Errorf("%w: negative length", ErrMalformed)
	errUnexpectedNil = fmt.Errorf("%w: null in a version where the field is not nullable", ErrMalformed)
	errVarint        = fmt.Errorf("%w: varint overflows", ErrMalformed)
	errTrailing      = fmt.Errorf("%w: trailing bytes", ErrMalformed)
	errTagSize       = fmt.Errorf("%w: tagged field size does not match its contents", ErrMalformed)
)

// ErrBadVersion is returned for a version a message does not define.
var ErrBadVersion = errors.New("protocol: version not defined for this message")

func versionError(name string, v int16) error {
	return fmt.Errorf("%w: %s v%d", ErrBadVersion, name, v)
}

// maxPrealloc caps how many array elements are allocated ahead of decoding
// them; longer arrays grow as their elements actually arrive, so memory
// follows the bytes present rather than a claimed count.
const maxPrealloc = 256

// Reader decodes Kafka primitives from a byte slice. Errors are sticky: after
// the first one every read returns a zero value and consumes nothing, so
// generated code checks once at the end.
//
// A Reader never allocates more than the bytes it holds justify and never
// loops more often than it has bytes left: an array count or tag count
// larger than the remaining bytes is an error, since every element takes at
// least one byte. work counts loop iterations so tests can prove decoding
// is linear in the input.
type Reader struct {
	buf  []byte
	err  error
	work int
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Err returns the first decoding error.
func (r *Reader) Err() error { return r.err }

// Remaining returns the bytes not yet consumed.
func (r *Reader) Remaining() []byte { return r.buf }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.buf = nil
}

// finish returns the first error, or errTrailing if bytes were left over.
func (r *Reader) finish() error {
	if r.err == nil && len(r.buf) > 0 {
		r.err = fmt.Errorf("%w (%d bytes)", errTrailing, len(r.buf))
	}
	return r.err
}

func (r *Reader) take(n int) []byte {
	if n > len(r.buf) {
		r.fail(errTruncated)
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// Bool reads a boolean (any non-zero byte is true).
func (r *Reader) Bool() bool { return r.Int8() != 0 }

// Int8 reads an int8.
func (r *Reader) Int8() int8 {
	if len(r.buf) < 1 {
		r.fail(errTruncated)
		return 0
	}
	v := int8(r.buf[0])
	r.buf = r.buf[1:]
	return v
}

// Int16 reads a big-endian int16.
func (r *Reader) Int16() int16 { return int16(r.Uint16()) }

// Uint16 reads a big-endian uint16.
func (r *Reader) Uint16() uint16 {
	if len(r.buf) < 2 {
		r.fail(errTruncated)
		return 0
	}
	v := binary.BigEndian.Uint16(r.buf)
	r.buf = r.buf[2:]
	return v
}

// Int32 reads a big-endian int32.
func (r *Reader) Int32() int32 { return int32(r.Uint32()) }

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	if len(r.buf) < 4 {
		r.fail(errTruncated)
		return 0
	}
	v := binary.BigEndian.Uint32(r.buf)
	r.buf = r.buf[4:]
	return v
}

// Int64 reads a big-endian int64.
func (r *Reader) Int64() int64 {
	if len(r.buf) < 8 {
		r.fail(errTruncated)
		return 0
	}
	v := binary.BigEndian.Uint64(r.buf)
	r.buf = r.buf[8:]
	return int64(v)
}

// Float64 reads a big-endian IEEE 754 double.
func (r *Reader) Float64() float64 { return math.Float64frombits(uint64(r.Int64())) }

// UUID reads a 16-byte UUID.
func (r *Reader) UUID() UUID {
	var u UUID
	copy(u[:], r.take(16))
	return u
}

// Uvarint reads an unsigned varint of at most 32 bits (5 bytes).
func (r *Reader) Uvarint() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(r.buf) {
			r.fail(errTruncated)
			return 0
		}
		c := r.buf[i]
		if i == 4 && c > 0x0f {
			r.fail(errVarint)
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.buf = r.buf[i+1:]
			return v
		}
	}
	r.fail(errVarint)
	return 0
}

// Varint reads a zig-zag signed varint of at most 32 bits.
func (r *Reader) Varint() int32 {
	u := r.Uvarint()
	return int32(u>>1) ^ -int32(u&1)
}

// length reads a string, bytes or array length: int16 or int32 when not
// compact, uvarint+1 when compact. It returns -1 for null.
func (r *Reader) length(compact bool, wide bool) int {
	var n int
	switch {
	case compact:
		n = int(r.Uvarint()) - 1
	case wide:
		n = int(r.Int32())
	default:
		n = int(r.Int16())
	}
	if r.err != nil {
		return 0
	}
	if n < -1 {
		r.fail(errNegative)
		return 0
	}
	if n > len(r.buf) {
		r.fail(errLength)
		return 0
	}
	return n
}

// String reads a non-null string.
func (r *Reader) String(compact bool) string {
	n := r.length(compact, false)
	if n < 0 {
		r.fail(errUnexpectedNil)
		return ""
	}
	return string(r.take(n))
}

// StringPtr reads a non-null string into a new pointer.
func (r *Reader) StringPtr(compact bool) *string {
	s := r.String(compact)
	return &s
}

// NullableString reads a string that may be null.
func (r *Reader) NullableString(compact bool) *string {
	n := r.length(compact, false)
	if n < 0 || r.err != nil {
		return nil
	}
	s := string(r.take(n))
	return &s
}

// Bytes reads non-null bytes, aliasing the input. Empty is non-nil.
func (r *Reader) Bytes(compact bool) []byte {
	n := r.length(compact, true)
	if n < 0 {
		r.fail(errUnexpectedNil)
		return nil
	}
	if r.err != nil {
		return nil
	}
	return r.take(n)
}

// NullableBytes reads bytes that may be null, aliasing the input.
func (r *Reader) NullableBytes(compact bool) []byte {
	n := r.length(compact, true)
	if n < 0 || r.err != nil {
		return nil
	}
	return r.take(n)
}

// arrayLen reads an array length; -1 means null, allowed only when
// nullable. The count is bounded by the bytes left: each element takes at
// least one byte.
func (r *Reader) arrayLen(compact, nullable bool) int {
	n := r.length(compact, true)
	if n < 0 && !nullable {
		r.fail(errUnexpectedNil)
		return 0
	}
	return n
}

// tagCount reads the number of tagged fields. Each takes at least two bytes.
func (r *Reader) tagCount() int {
	n := int(r.Uvarint())
	if n > len(r.buf)/2 {
		r.fail(errLength)
		return 0
	}
	return n
}

// tag reads one tagged field's key and its raw value, aliasing the input.
func (r *Reader) tag() (uint32, []byte) {
	r.work++
	key := r.Uvarint()
	n := int(r.Uvarint())
	if r.err != nil {
		return 0, nil
	}
	if n > len(r.buf) {
		r.fail(errLength)
		return 0, nil
	}
	return key, r.take(n)
}

// sub returns a Reader over a tagged field's bytes.
func (r *Reader) sub(b []byte) Reader { return Reader{buf: b} }

// endSub folds a finished sub-reader back into r: its work, its error, and
// an error if it left bytes unread.
func (r *Reader) endSub(s *Reader) {
	r.work += s.work
	if s.err != nil {
		r.fail(s.err)
	} else if len(s.buf) != 0 {
		r.fail(errTagSize)
	}
}
