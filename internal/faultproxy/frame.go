package faultproxy

import "encoding/binary"

// frameSplitter finds Kafka frame boundaries in a byte stream that arrives in
// pieces of any size. A frame is a 4-byte big-endian size followed by that
// many bytes. A negative size means the stream is not Kafka framing: the
// splitter then reports no more frames for the rest of the stream. The
// splitter keeps at most the 4 bytes of a size prefix; it never allocates or
// panics, whatever the bytes.
type frameSplitter struct {
	prefix  [4]byte
	nprefix int   // bytes of the current size prefix seen so far
	body    int64 // bytes of the current frame's body still to come
	opaque  bool  // a negative size was seen
}

// next scans b until the size prefix of a frame completes. If one does, it
// returns the number of bytes of b consumed up to and including the last
// byte of that prefix, the frame's size and true. Otherwise it consumes all
// of b and returns len(b), 0 and false.
func (s *frameSplitter) next(b []byte) (n int, size int32, ok bool) {
	for n < len(b) && !s.opaque {
		if s.body > 0 {
			k := min(int64(len(b)-n), s.body)
			s.body -= k
			n += int(k)
			continue
		}
		c := copy(s.prefix[s.nprefix:], b[n:])
		s.nprefix += c
		n += c
		if s.nprefix < len(s.prefix) {
			continue
		}
		s.nprefix = 0
		size = int32(binary.BigEndian.Uint32(s.prefix[:]))
		if size < 0 {
			s.opaque = true
			break
		}
		s.body = int64(size)
		return n, size, true
	}
	return len(b), 0, false
}
