package record

// Kafka's varint and varlong are protobuf style base-128 integers holding a
// zig-zag encoded int32 or int64. The decoders here are strict: an encoding
// longer than the type allows, or whose last byte carries bits the type
// cannot hold, is rejected rather than silently truncated. Over-long but
// in-range encodings (a trailing 0x80 0x00, say) are accepted, as Kafka
// does.

const (
	maxVarintLen  = 5  // 32 bits in 7 bit groups
	maxVarlongLen = 10 // 64 bits in 7 bit groups
)

// readVarint decodes a varint from the front of b. n > 0 is the number of
// bytes used; n == 0 means b ended inside the varint; n < 0 means the
// encoding is too long or overflows 32 bits.
func readVarint(b []byte) (v int32, n int) {
	if len(b) > 0 && b[0] < 0x80 { // one byte: the common case
		u := uint32(b[0])
		return int32(u>>1) ^ -int32(u&1), 1
	}
	var u uint32
	for i := 0; i < maxVarintLen; i++ {
		if i == len(b) {
			return 0, 0
		}
		c := b[i]
		if i == maxVarintLen-1 && c > 0x0f { // 4 bits left, no continuation
			return 0, -1
		}
		u |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(u>>1) ^ -int32(u&1), i + 1
		}
	}
	return 0, -1 // unreachable: the fifth byte either ends or is rejected
}

// varintAt decodes the varint at b[i:] and returns it with the index past
// it; a next index <= i fails as readVarint's n <= 0 does. Encodings of
// one or two bytes, which most record fields are, take a short path.
func varintAt(b []byte, i int) (int32, int) {
	if v, next, ok := shortVarintAt(b, i); ok {
		return int32(v), next // two bytes hold at most 14 bits
	}
	v, n := readVarint(b[min(i, len(b)):])
	return v, i + n
}

// varlongAt is varintAt for 64 bit values.
func varlongAt(b []byte, i int) (int64, int) {
	if v, next, ok := shortVarintAt(b, i); ok {
		return v, next
	}
	v, n := readVarlong(b[min(i, len(b)):])
	return v, i + n
}

// shortVarintAt decodes the varint at b[i:] if it takes one or two bytes.
func shortVarintAt(b []byte, i int) (v int64, next int, ok bool) {
	var u uint64
	switch {
	case i < len(b) && b[i] < 0x80:
		u, next = uint64(b[i]), i+1
	case i+1 < len(b) && b[i+1] < 0x80:
		u, next = uint64(b[i]&0x7f)|uint64(b[i+1])<<7, i+2
	default:
		return 0, i, false
	}
	return int64(u>>1) ^ -int64(u&1), next, true
}

// readVarlong is readVarint for 64 bit values.
func readVarlong(b []byte) (v int64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		u := uint64(b[0])
		return int64(u>>1) ^ -int64(u&1), 1
	}
	var u uint64
	for i := 0; i < maxVarlongLen; i++ {
		if i == len(b) {
			return 0, 0
		}
		c := b[i]
		if i == maxVarlongLen-1 && c > 0x01 { // 1 bit left, no continuation
			return 0, -1
		}
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
	}
	return 0, -1
}

func appendUvarint(dst []byte, u uint64) []byte {
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

func appendVarint(dst []byte, v int32) []byte {
	return appendUvarint(dst, uint64(uint32(v<<1)^uint32(v>>31)))
}

func appendVarlong(dst []byte, v int64) []byte {
	return appendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

func uvarintLen(u uint64) int {
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func varintLen(v int32) int { return uvarintLen(uint64(uint32(v<<1) ^ uint32(v>>31))) }

func varlongLen(v int64) int { return uvarintLen(uint64(v<<1) ^ uint64(v>>63)) }
