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
