package faultproxy

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// mark is a frame found by the splitter: the stream offset just past its
// size prefix, and its size.
type mark struct {
	end  int64
	size int32
}

// splitMarks runs a fresh splitter over the pieces and returns the frames
// it finds.
func splitMarks(pieces ...[]byte) []mark {
	var s frameSplitter
	var marks []mark
	var pos int64
	for _, b := range pieces {
		for len(b) > 0 {
			n, size, ok := s.next(b)
			if n <= 0 || n > len(b) {
				panic("splitter consumed a bad count")
			}
			pos += int64(n)
			b = b[n:]
			if ok {
				marks = append(marks, mark{pos, size})
			}
		}
	}
	return marks
}

// referenceMarks parses a whole stream the obvious way.
func referenceMarks(data []byte) []mark {
	var marks []mark
	var pos int64
	for pos+4 <= int64(len(data)) {
		size := int32(binary.BigEndian.Uint32(data[pos:]))
		if size < 0 {
			break
		}
		marks = append(marks, mark{pos + 4, size})
		pos += 4 + int64(size)
	}
	return marks
}

// bytesOneByOne splits data into one-byte pieces.
func bytesOneByOne(data []byte) [][]byte {
	var ps [][]byte
	for i := range data {
		ps = append(ps, data[i:i+1])
	}
	return ps
}

func TestFrameSplitter(t *testing.T) {
	f1 := frame([]byte("hello"))
	f2 := frame(nil)
	f3 := frame(bytes.Repeat([]byte("x"), 300))
	stream := slices.Concat(f1, f2, f3)
	want := []mark{{4, 5}, {13, 0}, {17, 300}}

	cases := map[string][][]byte{
		"coalesced":         {stream},
		"one byte per read": bytesOneByOne(stream),
		"split in prefix":   {stream[:2], stream[2:11], stream[11:15], stream[15:]},
		"split in body":     {stream[:6], stream[6:100], stream[100:]},
		"empty reads":       {nil, stream[:9], nil, stream[9:]},
	}
	for name, pieces := range cases {
		t.Run(name, func(t *testing.T) {
			if got := splitMarks(pieces...); !slices.Equal(got, want) {
				t.Fatalf("marks = %v, want %v", got, want)
			}
		})
	}
}

func TestFrameSplitterNegativeSizeStopsFraming(t *testing.T) {
	neg := binary.BigEndian.AppendUint32(nil, uint32(0xFFFFFFF0))
	stream := slices.Concat(frame([]byte("a")), neg, frame([]byte("b")), frame(nil))
	got := splitMarks(stream)
	if want := []mark{{4, 1}}; !slices.Equal(got, want) {
		t.Fatalf("marks = %v, want %v", got, want)
	}
	if got := splitMarks(bytesOneByOne(stream)...); !slices.Equal(got, []mark{{4, 1}}) {
		t.Fatalf("one byte per read: marks = %v", got)
	}
}

func TestFrameSplitterHugeSize(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, math.MaxInt32)
	stream := slices.Concat(huge, bytes.Repeat([]byte{0xff}, 1000), frame(nil))
	// The frame after the huge one never starts: its bytes are body.
	if got, want := splitMarks(stream), []mark{{4, math.MaxInt32}}; !slices.Equal(got, want) {
		t.Fatalf("marks = %v, want %v", got, want)
	}
}

func FuzzFrameSplitter(f *testing.F) {
	f.Add(slices.Concat(frame([]byte("abc")), frame(nil), frame([]byte("defgh"))), []byte{1, 2, 3})
	f.Add([]byte{0, 0, 0, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, []byte{0, 5})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}, []byte{2})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		want := referenceMarks(data)
		if got := splitMarks(data); !slices.Equal(got, want) {
			t.Fatalf("whole stream: marks = %v, want %v", got, want)
		}
		// Split data into pieces whose lengths come from cuts (0 gives an
		// empty read); the rest is the last piece.
		var pieces [][]byte
		rest := data
		for _, c := range cuts {
			n := min(int(c)%64, len(rest))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		pieces = append(pieces, rest)
		if got := splitMarks(pieces...); !slices.Equal(got, want) {
			t.Fatalf("split stream: marks = %v, want %v", got, want)
		}
	})
}
