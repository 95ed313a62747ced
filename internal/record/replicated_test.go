package record

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestCheckReplicated(t *testing.T) {
	zb := goodBatch(t, CodecZstd)
	want := parseHeader(zb)
	h, err := CheckReplicated(zb)
	if err != nil || h != want {
		t.Fatalf("valid batch: header %+v, err %v; want %+v", h, err, want)
	}

	// The records are not read: a compressed body that does not
	// decompress passes once its CRC is right, while Validate fails.
	garbled := append([]byte{}, zb...)
	for i := HeaderSize; i < len(garbled); i++ {
		garbled[i] = 0xA5
	}
	if err := UpdateCRC(garbled); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckReplicated(garbled); err != nil {
		t.Fatalf("garbled body with a good CRC: %v, want nil", err)
	}
	if _, err := Validate(garbled, Options{}); err == nil {
		t.Fatal("Validate accepted a body that does not decompress")
	}

	fix := func(b []byte) []byte {
		if err := UpdateCRC(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"flipped body bit", func() []byte { b := append([]byte{}, zb...); b[len(b)-2] ^= 1; return b }(), ErrCorrupt},
		{"trailing bytes", append(append([]byte{}, zb...), 0), ErrCorrupt},
		{"truncated", zb[:len(zb)-1], ErrTruncated},
		{"legacy magic", func() []byte { b := append([]byte{}, zb...); b[offMagic] = 1; return b }(), ErrLegacyFormat},
		{"unknown codec", fix(func() []byte {
			b := append([]byte{}, zb...)
			binary.BigEndian.PutUint16(b[offAttributes:], 7)
			return b
		}()), ErrUnsupportedCompression},
		{"more records than offsets", fix(func() []byte {
			b := append([]byte{}, zb...)
			binary.BigEndian.PutUint32(b[offNumRecords:], uint32(want.LastOffsetDelta+2))
			return b
		}()), ErrCorrupt},
	} {
		if _, err := CheckReplicated(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
