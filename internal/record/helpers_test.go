package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// testRecord is an owned copy of a record.
type testRecord struct {
	OffsetDelta    int32
	TimestampDelta int64
	Key, Value     []byte
	Headers        []RecordHeader
}

func (r testRecord) String() string {
	return fmt.Sprintf("{od=%d td=%d key=%q(nil=%v) value=%d bytes(nil=%v) headers=%d}",
		r.OffsetDelta, r.TimestampDelta, trunc(r.Key), r.Key == nil, len(r.Value), r.Value == nil, len(r.Headers))
}

func trunc(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func copyRecord(r *Record) testRecord {
	out := testRecord{
		OffsetDelta:    r.OffsetDelta,
		TimestampDelta: r.TimestampDelta,
		Key:            cloneBytes(r.Key),
		Value:          cloneBytes(r.Value),
	}
	for _, h := range r.Headers {
		out.Headers = append(out.Headers, RecordHeader{Key: cloneBytes(h.Key), Value: cloneBytes(h.Value)})
	}
	return out
}

// sameBytes compares contents and nil-ness.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func equalRecords(t *testing.T, got, want []testRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		ok := g.OffsetDelta == w.OffsetDelta && g.TimestampDelta == w.TimestampDelta &&
			sameBytes(g.Key, w.Key) && sameBytes(g.Value, w.Value) && len(g.Headers) == len(w.Headers)
		for j := 0; ok && j < len(w.Headers); j++ {
			// A header key written nil reads back empty: Kafka has no
			// null header keys.
			ok = bytes.Equal(g.Headers[j].Key, w.Headers[j].Key) && g.Headers[j].Key != nil &&
				sameBytes(g.Headers[j].Value, w.Headers[j].Value)
		}
		if !ok {
			t.Fatalf("record %d:\n got %v\nwant %v", i, g, w)
		}
	}
}

// genRecords makes n records with consecutive offset deltas and a mix of
// null/empty/short/long keys, values and headers. valueSize is the typical
// value size; values are half compressible.
func genRecords(rng *rand.Rand, n, valueSize int) []testRecord {
	recs := make([]testRecord, n)
	for i := range recs {
		r := testRecord{OffsetDelta: int32(i), TimestampDelta: int64(i*3) - 5}
		switch i % 4 {
		case 0:
			r.Key = nil
		case 1:
			r.Key = []byte{}
		default:
			r.Key = fmt.Appendf(nil, "key-%d", i)
		}
		switch i % 5 {
		case 0:
			r.Value = nil
		case 1:
			r.Value = []byte{}
		default:
			r.Value = make([]byte, valueSize)
			for j := range r.Value {
				if j%2 == 0 {
					r.Value[j] = byte(rng.IntN(256))
				} else {
					r.Value[j] = byte(i)
				}
			}
		}
		for h := range i % 3 {
			hd := RecordHeader{Key: fmt.Appendf(nil, "h%d", h)}
			if h%2 == 0 {
				hd.Value = fmt.Appendf(nil, "v%d-%d", i, h)
			}
			r.Headers = append(r.Headers, hd)
		}
		recs[i] = r
	}
	return recs
}

// fataler is what buildBatch needs of a *testing.T or *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func randFor(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 99)) }

func buildBatch(t fataler, b *Builder, recs []testRecord) []byte {
	t.Helper()
	b.Reset()
	for _, r := range recs {
		b.Append(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers...)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out
}

// readAll iterates batch and returns copies of its records.
func readAll(batch []byte, opts Options) ([]testRecord, error) {
	var it Records
	defer it.Close()
	if err := it.Reset(batch, opts); err != nil {
		return nil, err
	}
	var out []testRecord
	for it.Next() {
		out = append(out, copyRecord(it.Record()))
	}
	return out, it.Err()
}

// assemble builds a batch around an arbitrary records section: it fills in
// BatchLength, Magic and the CRC from h and body, so tests can feed
// hand-made bodies past the checksum.
func assemble(h BatchHeader, body []byte) []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(body))
	h.BatchLength = int32(HeaderSize - LengthFieldEnd + len(body))
	h.Magic = Magic
	putHeader(b, &h)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// rawRecord encodes one record by hand (with its length prefix).
func rawRecord(offsetDelta int32, tsDelta int64, key, value []byte, headers ...RecordHeader) []byte {
	var p []byte
	p = append(p, 0)
	p = binary.AppendVarint(p, tsDelta)
	p = binary.AppendVarint(p, int64(offsetDelta))
	p = appendTestBytes(p, key)
	p = appendTestBytes(p, value)
	p = binary.AppendVarint(p, int64(len(headers)))
	for _, h := range headers {
		p = appendTestBytes(p, h.Key)
		p = appendTestBytes(p, h.Value)
	}
	return append(binary.AppendVarint(nil, int64(len(p))), p...)
}

func appendTestBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}

func corruptKind(err error) (CorruptKind, bool) {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce.Kind, true
	}
	return 0, false
}
