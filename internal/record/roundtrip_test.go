package record

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/snappy"
	"pgregory.net/rapid"
)

func TestRoundTripEveryCodec(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []struct {
		name      string
		n, valLen int
	}{
		{"one", 1, 10},
		{"few", 17, 100},
		// Values bigger than a xerial block (32 KiB) and an lz4 block
		// (64 KiB) so records straddle codec blocks and the iterator's
		// scratch buffer has to grow.
		{"large-values", 9, 100 << 10},
		{"many", 3000, 40},
	}
	for _, codec := range allCodecs {
		for _, sz := range sizes {
			t.Run(codec.String()+"/"+sz.name, func(t *testing.T) {
				recs := genRecords(rng, sz.n, sz.valLen)
				b := NewBuilder(codec)
				b.BaseOffset = 1000
				b.PartitionLeaderEpoch = 7
				b.BaseTimestamp = 1_700_000_000_000
				b.ProducerID, b.ProducerEpoch, b.BaseSequence = 42, 3, 99
				b.Transactional = true
				batch := buildBatch(t, b, recs)

				n, err := BatchSize(batch)
				if err != nil || n != len(batch) {
					t.Fatalf("BatchSize = %d, %v; want %d", n, err, len(batch))
				}
				h, err := ParseHeader(batch)
				if err != nil {
					t.Fatal(err)
				}
				want := BatchHeader{
					BaseOffset: 1000, BatchLength: int32(len(batch) - 12), PartitionLeaderEpoch: 7,
					Magic: 2, CRC: h.CRC, Attributes: Attributes(codec) | AttrTransactional,
					LastOffsetDelta: int32(sz.n - 1), BaseTimestamp: 1_700_000_000_000,
					MaxTimestamp: 1_700_000_000_000 + int64((sz.n-1)*3) - 5,
					ProducerID:   42, ProducerEpoch: 3, BaseSequence: 99, NumRecords: int32(sz.n),
				}
				if h != want {
					t.Fatalf("header\n got %+v\nwant %+v", h, want)
				}
				if h.LastOffset() != 1000+int64(sz.n-1) || h.NextOffset() != 1000+int64(sz.n) {
					t.Fatalf("LastOffset %d NextOffset %d", h.LastOffset(), h.NextOffset())
				}
				if h.Attributes.Codec() != codec || !h.Attributes.IsTransactional() || h.Attributes.IsControl() ||
					h.Attributes.TimestampType() != CreateTime || h.Attributes.HasDeleteHorizon() {
					t.Fatalf("attributes %#x", h.Attributes)
				}

				s, err := Validate(batch, Options{ProducerChecks: true})
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				var nulls int32
				first := int32(-1)
				for i, r := range recs {
					if r.Key == nil {
						if first < 0 {
							first = int32(i)
						}
						nulls++
					}
				}
				if s.Header != h || s.MinTimestamp != want.BaseTimestamp-5 || s.MaxTimestamp != want.MaxTimestamp ||
					s.NullKeys != nulls || s.FirstNullKey != first || !s.ConsecutiveOffsets ||
					s.UncompressedBytes != int64(b.UncompressedSize()-HeaderSize) {
					t.Fatalf("summary %+v (nulls %d first %d uncompressed %d)", s, nulls, first, b.UncompressedSize()-HeaderSize)
				}

				got, err := readAll(batch, Options{ProducerChecks: true})
				if err != nil {
					t.Fatal(err)
				}
				equalRecords(t, got, recs)
			})
		}
	}
}

func TestRecordsAccessors(t *testing.T) {
	for _, tt := range []TimestampType{CreateTime, LogAppendTime} {
		b := NewBuilder(CodecNone)
		b.BaseOffset, b.BaseTimestamp, b.TimestampType = 50, 1000, tt
		b.Append(0, 5, []byte("a"), []byte("x"))
		b.Append(2, 9, nil, []byte("y"))
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		var it Records
		if err := it.Reset(batch, Options{}); err != nil {
			t.Fatal(err)
		}
		type seen struct {
			idx        int32
			off, ts, c int64
		}
		var got []seen
		for it.Next() {
			got = append(got, seen{it.Index(), it.Offset(), it.Timestamp(), it.CreateTimestamp()})
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		ts0, ts1 := int64(1005), int64(1009)
		if tt == LogAppendTime {
			ts0, ts1 = 1009, 1009 // every record takes MaxTimestamp
		}
		want := []seen{{0, 50, ts0, 1005}, {1, 52, ts1, 1009}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("%v: got %+v want %+v", tt, got, want)
		}
		if it.ConsecutiveOffsets() || it.Header().LastOffsetDelta != 2 {
			t.Fatalf("consecutive %v, last delta %d", it.ConsecutiveOffsets(), it.Header().LastOffsetDelta)
		}
		if it.Next() {
			t.Fatal("Next after the end")
		}
		if _, err := Validate(batch, Options{ProducerChecks: true}); err == nil {
			t.Fatal("a gap in offset deltas passed ProducerChecks")
		}
	}
}

func TestBuilderAttributesAndEmpty(t *testing.T) {
	b := NewBuilder(CodecNone)
	b.Control, b.TimestampType, b.BaseTimestamp = true, LogAppendTime, 77
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(batch)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Attributes.IsControl() || h.Attributes.TimestampType() != LogAppendTime || h.NumRecords != 0 ||
		h.LastOffsetDelta != 0 || h.MaxTimestamp != 77 || h.ProducerID != -1 || h.ProducerEpoch != -1 ||
		h.BaseSequence != -1 || h.PartitionLeaderEpoch != -1 || len(batch) != HeaderSize {
		t.Fatalf("header %+v len %d", h, len(batch))
	}
	s, err := Validate(batch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.MinTimestamp != -1 || s.MaxTimestamp != -1 || s.FirstNullKey != -1 {
		t.Fatalf("empty summary %+v", s)
	}
	if _, err := Validate(batch, Options{ProducerChecks: true}); err == nil {
		t.Fatal("empty batch passed ProducerChecks")
	}
	// Empty compressed batches round trip too.
	for _, c := range allCodecs[1:] {
		b := NewBuilder(c)
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Validate(batch, Options{}); err != nil {
			t.Fatalf("%v empty: %v", c, err)
		}
	}

	// Builder errors.
	b = NewBuilder(CodecNone)
	b.Append(3, 0, nil, nil)
	b.Append(3, 0, nil, nil)
	if _, err := b.Build(nil); err == nil {
		t.Fatal("repeated offset delta built")
	}
	b.Reset()
	b.Append(-1, 0, nil, nil)
	if _, err := b.Build(nil); err == nil {
		t.Fatal("negative offset delta built")
	}
	b = NewBuilder(Codec(6))
	if _, err := b.Build(nil); !errors.Is(err, ErrUnsupportedCompression) {
		t.Fatalf("codec 6: %v", err)
	}
}

func TestBuildAppendsToDst(t *testing.T) {
	b := NewBuilder(CodecZstd)
	b.Append(0, 0, []byte("k"), []byte("v"))
	prefix := []byte("prefix")
	out, err := b.Build(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatal("prefix lost")
	}
	again, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[len(prefix):], again) {
		t.Fatal("Build is not repeatable")
	}
	if _, err := Validate(again, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestSnappyRawBlock reads a batch whose body is one raw snappy block, the
// other shape (besides xerial) that Kafka clients write.
func TestSnappyRawBlock(t *testing.T) {
	recs := genRecords(rand.New(rand.NewPCG(3, 4)), 50, 200)
	plain := buildBatch(t, NewBuilder(CodecNone), recs)
	h := parseHeader(plain)
	h.Attributes = Attributes(CodecSnappy)
	batch := assemble(h, snappy.Encode(nil, plain[HeaderSize:]))
	if _, err := Validate(batch, Options{ProducerChecks: true}); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(batch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, recs)

	// Our own snappy batches use xerial framing.
	ours := buildBatch(t, NewBuilder(CodecSnappy), recs)
	if !bytes.HasPrefix(ours[HeaderSize:], []byte("\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")) {
		t.Fatalf("snappy body starts %q", ours[HeaderSize:HeaderSize+16])
	}
}

func TestBatchesIterator(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var region []byte
	var want []int
	for i, c := range allCodecs {
		b := NewBuilder(c)
		b.BaseOffset = int64(100 * i)
		start := len(region)
		var err error
		b.Reset()
		for _, r := range genRecords(rng, 10+i, 50) {
			b.Append(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers...)
		}
		region, err = b.Build(region)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, start)
	}
	check := func(region []byte, wantStarts []int, wantErr error, stopAt int) {
		t.Helper()
		it := NewBatches(region)
		var starts []int
		for it.Next() {
			starts = append(starts, it.Offset())
			if h := it.Header(); h.BaseOffset != int64(100*(len(starts)-1)) {
				t.Fatalf("batch %d base offset %d", len(starts)-1, h.BaseOffset)
			}
			if cap(it.Batch()) != len(it.Batch()) {
				t.Fatal("batch capacity runs past the batch")
			}
			if _, err := Validate(it.Batch(), Options{ProducerChecks: true}); err != nil {
				t.Fatal(err)
			}
		}
		if !errors.Is(it.Err(), wantErr) || (wantErr == nil && it.Err() != nil) {
			t.Fatalf("Err %v, want %v", it.Err(), wantErr)
		}
		if it.Torn() != errors.Is(wantErr, ErrTruncated) {
			t.Fatalf("Torn %v with %v", it.Torn(), it.Err())
		}
		if len(starts) != len(wantStarts) || it.Offset() != stopAt {
			t.Fatalf("starts %v want %v; stopped at %d want %d", starts, wantStarts, it.Offset(), stopAt)
		}
		for i := range starts {
			if starts[i] != wantStarts[i] {
				t.Fatalf("starts %v want %v", starts, wantStarts)
			}
		}
	}
	check(region, want, nil, len(region))
	check(nil, nil, nil, 0)
	last := want[len(want)-1]
	// Torn tails at every cut inside the last batch.
	for _, cut := range []int{1, 11, 12, 16, 17, 60, 61, len(region) - last - 1} {
		check(region[:last+cut], want[:len(want)-1], ErrTruncated, last)
	}
	// A legacy batch after good ones.
	legacy := append(append([]byte{}, region[:last]...), make([]byte, 40)...)
	legacy[last+16] = 1
	check(legacy, want[:len(want)-1], ErrLegacyFormat, last)
	// Garbage after good ones: a bad magic is corruption.
	garbage := append(append([]byte{}, region[:last]...), bytes.Repeat([]byte{0xee}, 80)...)
	check(garbage, want[:len(want)-1], ErrCorrupt, last)
}

// TestRapidRoundTrip: any records, any codec, any header values survive
// Build -> Validate -> Records.
func TestRapidRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		codec := Codec(rapid.IntRange(0, 4).Draw(t, "codec"))
		b := NewBuilder(codec)
		b.BaseOffset = rapid.Int64().Draw(t, "baseOffset")
		b.BaseTimestamp = rapid.Int64().Draw(t, "baseTimestamp")
		b.ProducerID = rapid.Int64().Draw(t, "pid")
		b.BaseSequence = rapid.Int32().Draw(t, "seq")
		n := rapid.IntRange(0, 30).Draw(t, "n")
		optBytes := func(label string) []byte {
			if rapid.Bool().Draw(t, label+"Null") {
				return nil
			}
			return rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, label)
		}
		var recs []testRecord
		delta := int32(-1)
		for range n {
			delta += int32(rapid.IntRange(1, 1<<20).Draw(t, "gap"))
			r := testRecord{
				OffsetDelta:    delta,
				TimestampDelta: rapid.Int64().Draw(t, "tsDelta"),
				Key:            optBytes("key"),
				Value:          optBytes("value"),
			}
			for range rapid.IntRange(0, 3).Draw(t, "headers") {
				r.Headers = append(r.Headers, RecordHeader{
					Key:   rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "hkey"),
					Value: optBytes("hvalue"),
				})
			}
			recs = append(recs, r)
		}
		batch := buildBatch(t, b, recs)
		s, err := Validate(batch, Options{})
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if s.Header.NumRecords != int32(n) || s.Header.BaseOffset != b.BaseOffset {
			t.Fatalf("summary %+v", s)
		}
		got, err := readAll(batch, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if recs[i].Headers != nil {
				for j := range recs[i].Headers {
					if recs[i].Headers[j].Key == nil {
						recs[i].Headers[j].Key = []byte{}
					}
				}
			}
		}
		if len(got) != len(recs) {
			t.Fatalf("got %d records want %d", len(got), len(recs))
		}
		for i := range recs {
			g, w := got[i], recs[i]
			if g.OffsetDelta != w.OffsetDelta || g.TimestampDelta != w.TimestampDelta ||
				!sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
				t.Fatalf("record %d: got %v want %v", i, g, w)
			}
			for j := range w.Headers {
				if !bytes.Equal(g.Headers[j].Key, w.Headers[j].Key) || !sameBytes(g.Headers[j].Value, w.Headers[j].Value) {
					t.Fatalf("record %d header %d differs", i, j)
				}
			}
		}
	})
}
