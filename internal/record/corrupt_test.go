package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// goodBatch returns a small valid batch of codec c with 5 records.
func goodBatch(t *testing.T, c Codec) []byte {
	t.Helper()
	return buildBatch(t, NewBuilder(c), genRecords(rand.New(rand.NewPCG(7, 8)), 5, 30))
}

func plainHeader(n int32) BatchHeader {
	return BatchHeader{LastOffsetDelta: max(n-1, 0), NumRecords: n, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestCorruption(t *testing.T) {
	none := goodBatch(t, CodecNone)
	zstdBatch := goodBatch(t, CodecZstd)
	rec := func(i int32) []byte { return rawRecord(i, 0, []byte("k"), []byte("value-long-enough")) }

	// mutate copies b, applies f, and recomputes the CRC so the damage
	// reaches the layer under test rather than stopping at the checksum.
	mutate := func(b []byte, f func(b []byte) []byte) []byte {
		b = f(append([]byte{}, b...))
		if len(b) >= HeaderSize {
			binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-LengthFieldEnd))
			if err := UpdateCRC(b); err != nil {
				t.Fatalf("UpdateCRC: %v", err)
			}
		}
		return b
	}
	setCount := func(n int32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[offNumRecords:], uint32(n)); return b }
	}
	zstdOf := func(p []byte) []byte {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		defer enc.Close()
		return enc.EncodeAll(p, nil)
	}

	tests := []struct {
		name    string
		batch   []byte
		opts    Options
		wantErr error
		kind    CorruptKind // for ErrCorrupt
		reason  string      // substring of the reason, if set
	}{
		{name: "flipped bit in a record", batch: func() []byte {
			b := append([]byte{}, none...)
			b[len(b)-3] ^= 0x10
			return b
		}(), wantErr: ErrCorrupt, kind: KindChecksum},
		{name: "flipped bit in covered header field", batch: func() []byte {
			b := append([]byte{}, none...)
			b[offMaxTimestamp+7] ^= 1
			return b
		}(), wantErr: ErrCorrupt, kind: KindChecksum},
		{name: "flipped bit in a compressed body", batch: func() []byte {
			b := append([]byte{}, zstdBatch...)
			b[HeaderSize+10] ^= 0x80
			return b
		}(), wantErr: ErrCorrupt, kind: KindChecksum},
		{name: "wrong crc field", batch: func() []byte {
			b := append([]byte{}, none...)
			b[offCRC] ^= 0xff
			return b
		}(), wantErr: ErrCorrupt, kind: KindChecksum},
		{name: "truncated by one byte", batch: none[:len(none)-1], wantErr: ErrTruncated},
		{name: "truncated header", batch: none[:40], wantErr: ErrTruncated},
		{name: "truncated before magic", batch: none[:16], wantErr: ErrTruncated},
		{name: "empty", batch: nil, wantErr: ErrTruncated},
		{name: "legacy magic 0", batch: func() []byte {
			b := append([]byte{}, none...)
			b[offMagic] = 0
			return b
		}(), wantErr: ErrLegacyFormat},
		{name: "legacy magic 1, short", batch: func() []byte {
			b := make([]byte, 30)
			binary.BigEndian.PutUint32(b[offBatchLength:], 18)
			b[offMagic] = 1
			return b
		}(), wantErr: ErrLegacyFormat},
		{name: "unknown magic 3", batch: func() []byte {
			b := append([]byte{}, none...)
			b[offMagic] = 3
			return b
		}(), wantErr: ErrCorrupt, kind: KindFraming},
		{name: "negative magic", batch: func() []byte {
			b := append([]byte{}, none...)
			b[offMagic] = 0xff
			return b
		}(), wantErr: ErrCorrupt, kind: KindFraming},
		{name: "batch length below minimum", batch: func() []byte {
			b := append([]byte{}, none...)
			binary.BigEndian.PutUint32(b[offBatchLength:], MinBatchLength-1)
			return b
		}(), wantErr: ErrCorrupt, kind: KindFraming},
		{name: "negative batch length", batch: func() []byte {
			b := append([]byte{}, none...)
			binary.BigEndian.PutUint32(b[offBatchLength:], math.MaxUint32)
			return b
		}(), wantErr: ErrCorrupt, kind: KindFraming},
		{name: "batch length beyond the slice", batch: func() []byte {
			b := append([]byte{}, none...)
			binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-LengthFieldEnd+1))
			return b
		}(), wantErr: ErrTruncated},
		{name: "batch length max int32", batch: func() []byte {
			b := append([]byte{}, none...)
			binary.BigEndian.PutUint32(b[offBatchLength:], math.MaxInt32)
			return b
		}(), wantErr: ErrTruncated},
		{name: "bytes after the batch", batch: cat(none, []byte{0}), wantErr: ErrCorrupt, kind: KindFraming},
		{name: "count one too many", batch: mutate(none, setCount(6)), wantErr: ErrCorrupt, kind: KindHeader},
		{name: "count one too many, offsets allow it", batch: assemble(BatchHeader{LastOffsetDelta: 5, NumRecords: 3}, cat(rec(0), rec(1))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "ends after 2 of 3"},
		{name: "count one too few", batch: mutate(none, setCount(4)), wantErr: ErrCorrupt, kind: KindRecord, reason: "follow the last record"},
		{name: "count too few, compressed", batch: mutate(zstdBatch, setCount(4)), wantErr: ErrCorrupt, kind: KindRecord, reason: "continues after"},
		{name: "count too many, compressed", batch: func() []byte {
			h := plainHeader(3)
			h.Attributes = Attributes(CodecZstd)
			return assemble(h, zstdOf(cat(rec(0), rec(1))))
		}(), wantErr: ErrCorrupt, kind: KindRecord, reason: "ends after 2 of 3"},
		{name: "negative count", batch: mutate(none, setCount(-1)), wantErr: ErrCorrupt, kind: KindHeader},
		{name: "2^31-1 records in a tiny batch", batch: assemble(BatchHeader{LastOffsetDelta: math.MaxInt32 - 1, NumRecords: math.MaxInt32}, rec(0)),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "cannot fit"},
		{name: "2^31-1 records, compressed", batch: func() []byte {
			h := BatchHeader{LastOffsetDelta: math.MaxInt32 - 1, NumRecords: math.MaxInt32, Attributes: Attributes(CodecZstd)}
			return assemble(h, zstdOf(rec(0)))
		}(), wantErr: ErrDecompressLimit},
		{name: "2^31-1 records, compressed, large bound", opts: Options{MaxDecompressedBytes: math.MaxInt64}, batch: func() []byte {
			h := BatchHeader{LastOffsetDelta: math.MaxInt32 - 1, NumRecords: math.MaxInt32, Attributes: Attributes(CodecZstd)}
			return assemble(h, zstdOf(rec(0)))
		}(), wantErr: ErrCorrupt, kind: KindRecord, reason: "ends after 1 of"},
		{name: "negative last offset delta", batch: assemble(BatchHeader{LastOffsetDelta: -1}, nil), wantErr: ErrCorrupt, kind: KindHeader},
		{name: "record length varint too long", batch: assemble(plainHeader(1), cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, make([]byte, 10))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "bad length varint"},
		{name: "record length varint overflows 32 bits", batch: assemble(plainHeader(1), cat([]byte{0x80, 0x80, 0x80, 0x80, 0x10}, make([]byte, 10))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "bad length varint"},
		{name: "record length varint cut short", batch: assemble(plainHeader(1), cat(rec(0)[:1], []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80})),
			wantErr: ErrCorrupt, kind: KindRecord},
		{name: "timestamp varlong too long", batch: assemble(plainHeader(1), cat([]byte{24, 0}, bytes.Repeat([]byte{0xff}, 10), make([]byte, 1))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "timestamp"},
		{name: "timestamp varlong overflows", batch: assemble(plainHeader(1), cat([]byte{24, 0}, bytes.Repeat([]byte{0x80}, 9), []byte{0x02}, make([]byte, 1))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "timestamp"},
		{name: "record length below minimum", batch: assemble(plainHeader(1), cat([]byte{10}, make([]byte, 10))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "below the minimum"},
		{name: "record length past the batch", batch: assemble(plainHeader(1), cat([]byte{40}, make([]byte, 10))),
			wantErr: ErrCorrupt, kind: KindRecord},
		{name: "record length longer than its fields", batch: func() []byte {
			r := rec(0)
			r[0] += 2 // zig-zag: length + 1
			return assemble(plainHeader(1), cat(r, []byte{0}))
		}(), wantErr: ErrCorrupt, kind: KindRecord, reason: "does not match"},
		{name: "record length shorter than its fields", batch: func() []byte {
			r := rec(0)
			r[0] -= 2
			return assemble(plainHeader(1), r)
		}(), wantErr: ErrCorrupt, kind: KindRecord},
		{name: "trailing garbage in the batch", batch: assemble(plainHeader(1), cat(rec(0), []byte{1, 2, 3})),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "3 bytes follow the last record"},
		{name: "trailing garbage after the compressed stream", batch: func() []byte {
			h := plainHeader(1)
			h.Attributes = Attributes(CodecZstd)
			return assemble(h, cat(zstdOf(rec(0)), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}))
		}(), wantErr: ErrCorrupt, kind: KindCompression},
		{name: "key length -2", batch: assemble(plainHeader(1), rawLen(cat([]byte{0, 0, 0, 3, 0, 0}))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "negative key length"},
		{name: "key past the record", batch: assemble(plainHeader(1), rawLen(cat([]byte{0, 0, 0, 40, 0, 0}))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "key runs past"},
		{name: "null header key", batch: assemble(plainHeader(1), rawLen([]byte{0, 0, 0, 1, 1, 2, 1, 1})),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "null header key"},
		{name: "header count beyond the record", batch: assemble(plainHeader(1), rawLen([]byte{0, 0, 0, 1, 1, 20, 0, 1})),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "header count"},
		{name: "negative header count", batch: assemble(plainHeader(1), rawLen([]byte{0, 0, 0, 1, 1, 1})),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "header count"},
		{name: "repeated offset delta", batch: assemble(plainHeader(2), cat(rec(0), rec(0))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "offset delta"},
		{name: "offset delta beyond last offset delta", batch: assemble(BatchHeader{LastOffsetDelta: 1, NumRecords: 2}, cat(rec(0), rec(2))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "offset delta"},
		{name: "producer batch, consecutive", opts: Options{ProducerChecks: true},
			batch: assemble(BatchHeader{LastOffsetDelta: 1, NumRecords: 2}, cat(rec(0), rawRecord(1, 0, nil, nil)))},
		{name: "producer batch with deltas not from zero", opts: Options{ProducerChecks: true},
			batch:   assemble(BatchHeader{LastOffsetDelta: 3, NumRecords: 3}, cat(rec(1), rec(2), rec(3))),
			wantErr: ErrCorrupt, kind: KindHeader},
		{name: "producer batch, deltas from one", opts: Options{ProducerChecks: true},
			batch:   assemble(BatchHeader{LastOffsetDelta: 2, NumRecords: 3}, cat(rec(1), rec(2), rec(3))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "produced batches need 0"},
		{name: "producer batch with count below offset range", opts: Options{ProducerChecks: true},
			batch:   assemble(BatchHeader{LastOffsetDelta: 2, NumRecords: 2}, cat(rec(0), rec(2))),
			wantErr: ErrCorrupt, kind: KindHeader},
		{name: "compacted batch with a gap", batch: assemble(BatchHeader{LastOffsetDelta: 9, NumRecords: 2}, cat(rec(3), rec(7)))},
		{name: "producer batch, deltas skip", opts: Options{ProducerChecks: true},
			batch:   assemble(BatchHeader{LastOffsetDelta: 1, NumRecords: 2}, cat(rec(1), rec(0))),
			wantErr: ErrCorrupt, kind: KindRecord, reason: "produced batches need 0"},
		{name: "unsupported codec 5", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 5; return b }), wantErr: ErrUnsupportedCompression},
		{name: "unsupported codec 7", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 7; return b }), wantErr: ErrUnsupportedCompression},
		{name: "garbage claiming gzip", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 1; return b }),
			wantErr: ErrCorrupt, kind: KindCompression},
		{name: "garbage claiming snappy", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 2; return b }),
			wantErr: ErrCorrupt, kind: KindCompression},
		{name: "garbage claiming lz4", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 3; return b }),
			wantErr: ErrCorrupt, kind: KindCompression},
		{name: "garbage claiming zstd", batch: mutate(none, func(b []byte) []byte { b[offAttributes+1] |= 4; return b }),
			wantErr: ErrCorrupt, kind: KindCompression},
		{name: "compressed records, no compressed bytes", batch: func() []byte {
			h := plainHeader(1)
			h.Attributes = Attributes(CodecLZ4)
			return assemble(h, nil)
		}(), wantErr: ErrCorrupt, kind: KindRecord, reason: "ends after 0 of 1"},
		{name: "xerial block length past the body", batch: func() []byte {
			b := goodBatch(t, CodecSnappy)
			return mutate(b, func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[HeaderSize+xerialHeaderLen:], 1<<30)
				return b
			})
		}(), wantErr: ErrCorrupt, kind: KindCompression},
		{name: "snappy block claiming more than it can hold", batch: func() []byte {
			h := plainHeader(1)
			h.Attributes = Attributes(CodecSnappy)
			// varint 1<<20 decoded bytes, then 3 bytes of data.
			return assemble(h, []byte{0x80, 0x80, 0x40, 0, 0, 0})
		}(), wantErr: ErrCorrupt, kind: KindCompression, reason: "claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.batch, tt.opts)
			checkErr(t, err, tt.wantErr, tt.kind, tt.reason)
			// Iteration (which skips the CRC) must agree on everything
			// but the checksum.
			if tt.kind != KindChecksum {
				_, err := readAll(tt.batch, tt.opts)
				checkErr(t, err, tt.wantErr, tt.kind, tt.reason)
			}
		})
	}
}

// rawLen prefixes a hand-made record body with its length.
func rawLen(body []byte) []byte {
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

func checkErr(t *testing.T, err, want error, kind CorruptKind, reason string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if want == ErrCorrupt {
		k, _ := corruptKind(err)
		if k != kind {
			t.Fatalf("error %v: kind %v, want %v", err, k, kind)
		}
	} else if _, isCorrupt := corruptKind(err); isCorrupt {
		t.Fatalf("error %v is also a CorruptError", err)
	}
	if reason != "" && !strings.Contains(err.Error(), reason) {
		t.Fatalf("error %q does not mention %q", err, reason)
	}
}

func TestDecompressLimit(t *testing.T) {
	// 1 MiB of records in each codec, read with smaller and larger bounds.
	recs := genRecords(rand.New(rand.NewPCG(9, 10)), 256, 4<<10)
	for _, c := range allCodecs[1:] {
		batch := buildBatch(t, NewBuilder(c), recs)
		s, err := Validate(batch, Options{})
		if err != nil {
			t.Fatal(err)
		}
		size := s.UncompressedBytes
		for _, limit := range []int64{1, 1000, 64 << 10, size - 1} {
			if _, err := Validate(batch, Options{MaxDecompressedBytes: limit}); !errors.Is(err, ErrDecompressLimit) {
				t.Fatalf("%v limit %d: %v", c, limit, err)
			}
			// Iterating stops with the same error, having yielded
			// only records within the bound.
			got, err := readAll(batch, Options{MaxDecompressedBytes: limit})
			if !errors.Is(err, ErrDecompressLimit) {
				t.Fatalf("%v limit %d: iteration error %v", c, limit, err)
			}
			if len(got) >= len(recs) {
				t.Fatalf("%v limit %d: all %d records read", c, limit, len(got))
			}
		}
		// Exactly the size passes.
		if _, err := Validate(batch, Options{MaxDecompressedBytes: size}); err != nil {
			t.Fatalf("%v limit = size: %v", c, err)
		}
	}
	// Uncompressed batches ignore the bound.
	if _, err := Validate(buildBatch(t, NewBuilder(CodecNone), recs), Options{MaxDecompressedBytes: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestZstdWindowBound: a frame declaring a window larger than the bound
// allows is refused before the decoder allocates it.
func TestZstdWindowBound(t *testing.T) {
	body := rawRecord(0, 0, nil, bytes.Repeat([]byte("abcdefgh"), 1<<20)) // 8 MiB value
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<20), zstd.WithSingleSegment(false))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc.Reset(&buf)
	if _, err := enc.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	h := plainHeader(1)
	h.Attributes = Attributes(CodecZstd)
	batch := assemble(h, buf.Bytes())
	if _, err := Validate(batch, Options{MaxDecompressedBytes: 9 << 20}); !errors.Is(err, ErrDecompressLimit) {
		t.Fatalf("64 MiB window under a 16 MiB class: %v", err)
	}
	if _, err := Validate(batch, Options{MaxDecompressedBytes: 64 << 20}); err != nil {
		t.Fatalf("64 MiB window under a 64 MiB bound: %v", err)
	}
}

func TestInPlaceRewrites(t *testing.T) {
	for _, c := range allCodecs {
		b := goodBatch(t, c)
		SetBaseOffset(b, 123456789)
		SetPartitionLeaderEpoch(b, 77)
		s, err := Validate(b, Options{ProducerChecks: true})
		if err != nil {
			t.Fatalf("%v: rewrite outside the CRC broke it: %v", c, err)
		}
		if s.Header.BaseOffset != 123456789 || s.Header.PartitionLeaderEpoch != 77 {
			t.Fatalf("%v: header %+v", c, s.Header)
		}
		// A covered field needs the CRC recomputed.
		binary.BigEndian.PutUint64(b[offMaxTimestamp:], 999)
		b[offAttributes+1] |= byte(AttrLogAppendTime)
		if err := CheckCRC(b); err == nil {
			t.Fatalf("%v: CRC still valid after a covered rewrite", c)
		}
		if err := UpdateCRC(b); err != nil {
			t.Fatal(err)
		}
		s, err = Validate(b, Options{})
		if err != nil {
			t.Fatalf("%v: after UpdateCRC: %v", c, err)
		}
		if s.Header.MaxTimestamp != 999 || s.Header.Attributes.TimestampType() != LogAppendTime {
			t.Fatalf("%v: header %+v", c, s.Header)
		}
	}
	if err := UpdateCRC(make([]byte, 20)); !errors.Is(err, ErrLegacyFormat) {
		t.Fatalf("UpdateCRC on zeros: %v", err)
	}
	short := goodBatch(t, CodecNone)
	if err := CheckCRC(short[:len(short)-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("CheckCRC on a short batch: %v", err)
	}
}

func TestAttributes(t *testing.T) {
	for _, tt := range []struct {
		a                                 Attributes
		codec                             Codec
		ts                                TimestampType
		txn, control, horizon, validCodec bool
	}{
		{0, CodecNone, CreateTime, false, false, false, true},
		{0x01, CodecGzip, CreateTime, false, false, false, true},
		{0x02 | 0x08, CodecSnappy, LogAppendTime, false, false, false, true},
		{0x03 | 0x10, CodecLZ4, CreateTime, true, false, false, true},
		{0x04 | 0x20 | 0x10, CodecZstd, CreateTime, true, true, false, true},
		{0x40, CodecNone, CreateTime, false, false, true, true},
		{0x7fff, Codec(7), LogAppendTime, true, true, true, false},
	} {
		a := tt.a
		if a.Codec() != tt.codec || a.TimestampType() != tt.ts || a.IsTransactional() != tt.txn ||
			a.IsControl() != tt.control || a.HasDeleteHorizon() != tt.horizon || a.Codec().Valid() != tt.validCodec {
			t.Errorf("attributes %#x decoded wrong", uint16(a))
		}
	}
	for c, name := range map[Codec]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd", 6: "codec(6)"} {
		if c.String() != name {
			t.Errorf("Codec(%d).String() = %q", c, c.String())
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	b := goodBatch(t, CodecNone)
	if _, err := ParseHeader(b[:HeaderSize]); err != nil {
		t.Fatalf("a bare header must parse: %v", err)
	}
	if _, err := ParseHeader(b[:HeaderSize-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short header: %v", err)
	}
	lb := append([]byte{}, b...)
	lb[offMagic] = 1
	if _, err := ParseHeader(lb[:20]); !errors.Is(err, ErrLegacyFormat) {
		t.Fatalf("legacy: %v", err)
	}
	binary.BigEndian.PutUint32(b[offBatchLength:], 10)
	if _, err := ParseHeader(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short length: %v", err)
	}
}

func TestVarints(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 127, 128, 8191, -8192, 1 << 20, math.MaxInt32, math.MinInt32} {
		enc := appendVarint(nil, int32(v))
		if !bytes.Equal(enc, binary.AppendVarint(nil, v)) || len(enc) != varintLen(int32(v)) {
			t.Errorf("varint %d encodes as %x", v, enc)
		}
		got, n := readVarint(enc)
		if got != int32(v) || n != len(enc) {
			t.Errorf("varint %d read back %d (%d bytes)", v, got, n)
		}
	}
	for _, v := range []int64{0, -1, math.MaxInt32 + 1, math.MinInt32 - 1, math.MaxInt64, math.MinInt64, 1 << 62} {
		enc := appendVarlong(nil, v)
		if !bytes.Equal(enc, binary.AppendVarint(nil, v)) || len(enc) != varlongLen(v) {
			t.Errorf("varlong %d encodes as %x", v, enc)
		}
		got, n := readVarlong(enc)
		if got != v || n != len(enc) {
			t.Errorf("varlong %d read back %d (%d bytes)", v, got, n)
		}
	}
	// Over-long but in range is accepted, as Kafka does.
	if v, n := readVarint([]byte{0x82, 0x00}); v != 1 || n != 2 {
		t.Errorf("over-long varint: %d, %d", v, n)
	}
	for _, b := range [][]byte{
		{0x80, 0x80, 0x80, 0x80, 0x10},       // 33rd bit
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, // six bytes
		{0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, n := readVarint(b); n >= 0 {
			t.Errorf("varint %x accepted", b)
		}
	}
	if v, n := readVarint([]byte{0xfe, 0xff, 0xff, 0xff, 0x0f}); n != 5 || v != math.MaxInt32 {
		t.Errorf("max varint: %d, %d", v, n)
	}
	for _, b := range [][]byte{nil, {0x80}, {0xff, 0xff, 0xff, 0xff}} {
		if _, n := readVarint(b); n != 0 {
			t.Errorf("short varint %x: n = %d", b, n)
		}
	}
	if _, n := readVarlong(append(bytes.Repeat([]byte{0x80}, 9), 0x02)); n >= 0 {
		t.Error("65 bit varlong accepted")
	}
	if _, n := readVarlong(bytes.Repeat([]byte{0x80}, 11)); n >= 0 {
		t.Error("eleven byte varlong accepted")
	}
	if _, n := readVarlong(bytes.Repeat([]byte{0x80}, 5)); n != 0 {
		t.Error("short varlong not reported short")
	}
}

// TestVarintAt checks the positional decoders against readVarint and
// readVarlong on every one and two byte input, at every position of a
// buffer, and on the longer and bad encodings above: same value, and the
// same outcome (past the varint, short, or bad).
func TestVarintAt(t *testing.T) {
	var inputs [][]byte
	for a := range 256 {
		inputs = append(inputs, []byte{byte(a)})
		for b := range 256 {
			inputs = append(inputs, []byte{byte(a), byte(b)})
		}
	}
	inputs = append(inputs, nil, []byte{0x82, 0x00}, []byte{0xfe, 0xff, 0xff, 0xff, 0x0f},
		[]byte{0x80, 0x80, 0x80, 0x80, 0x10}, []byte{0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{0x80}, 11),
		append(bytes.Repeat([]byte{0x80}, 9), 0x02), append(bytes.Repeat([]byte{0xff}, 9), 0x01))
	for _, in := range inputs {
		buf := append([]byte{0x7f, 0x7f}, in...)
		for i := 0; i <= len(buf); i++ {
			v, n := readVarint(buf[i:])
			got, next := varintAt(buf, i)
			if (n > 0) != (next > i) || n > 0 && (got != v || next != i+n) || n <= 0 && next-i != n {
				t.Fatalf("varintAt(%x, %d) = %d, %d; readVarint: %d, %d", buf, i, got, next, v, n)
			}
			lv, ln := readVarlong(buf[i:])
			lgot, lnext := varlongAt(buf, i)
			if (ln > 0) != (lnext > i) || ln > 0 && (lgot != lv || lnext != i+ln) || ln <= 0 && lnext-i != ln {
				t.Fatalf("varlongAt(%x, %d) = %d, %d; readVarlong: %d, %d", buf, i, lgot, lnext, lv, ln)
			}
		}
	}
}
