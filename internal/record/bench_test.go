package record

import (
	"math/rand/v2"
	"testing"
)

// benchRecords is about 1 MiB of 1 KiB records whose values are half
// random, half repetitive, so the codecs have something to do.
func benchRecords() []testRecord {
	rng := rand.New(rand.NewPCG(21, 22))
	const n = 1000
	recs := make([]testRecord, n)
	for i := range recs {
		v := make([]byte, 1<<10)
		for j := range v {
			if j%2 == 0 {
				v[j] = byte(rng.IntN(256))
			} else {
				v[j] = 'x'
			}
		}
		recs[i] = testRecord{
			OffsetDelta:    int32(i),
			TimestampDelta: int64(i),
			Key:            []byte("key-0000"),
			Value:          v,
			Headers:        []RecordHeader{{Key: []byte("trace"), Value: []byte("abc")}},
		}
	}
	return recs
}

func BenchmarkIterate(b *testing.B) {
	recs := benchRecords()
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			builder := NewBuilder(c)
			batch := buildBatch(b, builder, recs)
			b.SetBytes(int64(builder.UncompressedSize()))
			b.ReportAllocs()
			b.ReportMetric(float64(len(batch)), "batch-bytes")
			var it Records
			b.ResetTimer()
			for b.Loop() {
				if err := it.Reset(batch, Options{}); err != nil {
					b.Fatal(err)
				}
				n := 0
				for it.Next() {
					n += len(it.Record().Value)
				}
				if it.Err() != nil || n != len(recs)<<10 {
					b.Fatalf("%v after %d value bytes", it.Err(), n)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	recs := benchRecords()
	for _, c := range []Codec{CodecNone, CodecZstd} {
		b.Run(c.String(), func(b *testing.B) {
			builder := NewBuilder(c)
			batch := buildBatch(b, builder, recs)
			b.SetBytes(int64(builder.UncompressedSize()))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(batch, Options{ProducerChecks: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateSmall validates what a producer of 100 byte values
// with no key sends: about 170 KiB of small records, uncompressed. "walk"
// is Validate's in-place loop, "iterator" the same checks through Records.
func BenchmarkValidateSmall(b *testing.B) {
	recs := make([]testRecord, 1500)
	for i := range recs {
		recs[i] = testRecord{OffsetDelta: int32(i), TimestampDelta: int64(i / 100), Value: make([]byte, 100)}
	}
	batch := buildBatch(b, NewBuilder(CodecNone), recs)
	opts := Options{ProducerChecks: true}
	for _, c := range []struct {
		name string
		f    func() (Summary, error)
	}{
		{"walk", func() (Summary, error) { return Validate(batch, opts) }},
		{"iterator", func() (Summary, error) {
			if err := checkWhole(batch); err != nil {
				return Summary{}, err
			}
			var it Records
			return summarize(&it, batch, opts)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if s, err := c.f(); err != nil || s.Header.NumRecords != int32(len(recs)) {
					b.Fatal(s, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
		})
	}
}

func BenchmarkCheckCRC(b *testing.B) {
	batch := buildBatch(b, NewBuilder(CodecNone), benchRecords())
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckCRC(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	recs := benchRecords()
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			builder := NewBuilder(c)
			var dst []byte
			b.SetBytes(int64(len(buildBatch(b, builder, recs))))
			b.SetBytes(int64(builder.UncompressedSize()))
			b.ReportAllocs()
			for b.Loop() {
				builder.Reset()
				for i := range recs {
					r := &recs[i]
					builder.Append(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers...)
				}
				var err error
				if dst, err = builder.Build(dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
