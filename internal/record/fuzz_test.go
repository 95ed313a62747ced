package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// fuzzLimit is the decompression bound the fuzz target uses: small, so
// bombs stop early and runs stay fast.
const fuzzLimit = 256 << 10

type seed struct {
	name string
	data []byte
	// wantErr, if set, is what Validate must return for the seed's first
	// batch (checked by TestFuzzSeeds).
	wantErr error
}

var (
	seedsOnce sync.Once
	seedList  []seed
)

// fuzzSeeds builds the seed corpus once per process.
func fuzzSeeds() []seed {
	seedsOnce.Do(func() {
		rng := rand.New(rand.NewPCG(11, 12))
		var region []byte
		for _, c := range allCodecs {
			b := NewBuilder(c)
			b.ProducerID, b.ProducerEpoch, b.BaseSequence = 5, 1, 0
			batch := buildBatch(panicT{}, b, genRecords(rng, 6, 40))
			seedList = append(seedList,
				seed{name: "valid " + c.String(), data: batch},
				seed{name: "truncated " + c.String(), data: batch[:len(batch)*2/3], wantErr: ErrTruncated},
				seed{name: "header only " + c.String(), data: batch[:HeaderSize], wantErr: ErrTruncated},
			)
			region = append(region, batch...)
		}
		seedList = append(seedList, seed{name: "all codecs back to back", data: region})
		big := buildBatch(panicT{}, NewBuilder(CodecSnappy), genRecords(rng, 3, 24<<10))
		seedList = append(seedList, seed{name: "multi-block xerial", data: big})

		tiny := rawRecord(0, 0, []byte("k"), []byte("v"))
		claim := BatchHeader{LastOffsetDelta: math.MaxInt32 - 1, NumRecords: math.MaxInt32}
		seedList = append(seedList, seed{name: "2^31-1 records, uncompressed", data: assemble(claim, tiny), wantErr: ErrCorrupt})
		claim.Attributes = Attributes(CodecLZ4)
		seedList = append(seedList, seed{name: "2^31-1 records, lz4", data: assemble(claim, lz4Of(tiny)), wantErr: ErrDecompressLimit})

		seedList = append(seedList,
			seed{name: "zstd bomb, one 100 MiB record", data: bombOneRecord(100 << 20), wantErr: ErrDecompressLimit},
			seed{name: "zstd bomb, 100 MiB of records", data: bombRecords(CodecZstd, 100<<20), wantErr: ErrDecompressLimit},
			seed{name: "zstd bomb, 100 MiB of zeros", data: bombZeros(100 << 20), wantErr: ErrCorrupt},
			seed{name: "gzip bomb, 2 MiB of records", data: bombRecords(CodecGzip, 2<<20), wantErr: ErrDecompressLimit},
			seed{name: "lz4 bomb, 2 MiB of records", data: bombRecords(CodecLZ4, 2<<20), wantErr: ErrDecompressLimit},
			seed{name: "snappy bomb, 2 MiB of records", data: bombRecords(CodecSnappy, 2<<20), wantErr: ErrDecompressLimit},
		)
	})
	return seedList
}

// panicT lets seed construction use buildBatch outside a test.
type panicT struct{}

func (panicT) Helper()                        {}
func (panicT) Fatalf(format string, _ ...any) { panic(format) }

func lz4Of(p []byte) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if _, err := w.Write(p); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// codecWriter is what the bomb builders need of a compressing writer.
type codecWriter interface {
	Write([]byte) (int, error)
	Close() error
}

// compressStream compresses what emit writes with codec c, without holding
// the uncompressed stream in memory (except for snappy, whose xerial
// framing we write from a buffer).
func compressStream(c Codec, emit func(w func([]byte))) []byte {
	var buf bytes.Buffer
	var w codecWriter
	switch c {
	case CodecGzip:
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	case CodecLZ4:
		w = lz4.NewWriter(&buf)
	case CodecZstd:
		w, _ = zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	case CodecSnappy:
		var plain []byte
		emit(func(p []byte) { plain = append(plain, p...) })
		return appendXerial(nil, plain)
	default:
		panic(c)
	}
	emit(func(p []byte) {
		if _, err := w.Write(p); err != nil {
			panic(err)
		}
	})
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var zeroMiB = make([]byte, 1<<20)

func writeZeros(w func([]byte), n int) {
	for n > 0 {
		k := min(n, len(zeroMiB))
		w(zeroMiB[:k])
		n -= k
	}
}

// bombOneRecord is a zstd batch of one record whose value is n zero bytes,
// a few KiB compressed. Its length varint alone exceeds any small bound.
func bombOneRecord(n int) []byte {
	// attributes, ts delta, offset delta, null key, value length, then
	// the value's zeros and a zero header count.
	head := binary.AppendVarint([]byte{0, 0, 0, 1}, int64(n))
	prefix := append(binary.AppendVarint(nil, int64(len(head)+n+1)), head...)
	h := plainHeader(1)
	h.Attributes = Attributes(CodecZstd)
	return assemble(h, compressStream(CodecZstd, func(w func([]byte)) {
		w(prefix)
		writeZeros(w, n+1)
	}))
}

// bombZeros is a zstd batch whose body decompresses to n zero bytes.
func bombZeros(n int) []byte {
	h := plainHeader(1)
	h.Attributes = Attributes(CodecZstd)
	return assemble(h, compressStream(CodecZstd, func(w func([]byte)) { writeZeros(w, n) }))
}

// bombRecords is a batch of well formed records with 64 KiB zero values,
// about n bytes in all, compressed with c: it decodes record after record
// until the bound stops it.
func bombRecords(c Codec, n int) []byte {
	const valueLen = 64 << 10
	count := int32((n + valueLen - 1) / valueLen)
	h := plainHeader(count)
	h.Attributes = Attributes(c)
	return assemble(h, compressStream(c, func(w func([]byte)) {
		for i := range count {
			rec := rawRecord(i, 0, nil, zeroMiB[:valueLen])
			w(rec)
		}
	}))
}

// workStats is what exercise measured.
type workStats struct {
	batches      int
	steps        int64 // Records parse steps
	decompressed int64
}

// exercise runs everything the package offers over data and fails t if an
// invariant that must hold for any input breaks.
func exercise(t *testing.T, data []byte, opts Options) workStats {
	var st workStats
	if n, err := BatchSize(data); err != nil || n != len(data) {
		// Not exactly one batch: Validate must say so. (For exactly one
		// batch this is the Validate call below.)
		_, err := Validate(data, opts)
		if err == nil {
			t.Fatal("Validate accepted something other than one batch")
		}
		checkErrType(t, "Validate(whole input)", err)
	}

	var recs Records
	defer recs.Close()
	it := NewBatches(data)
	for it.Next() {
		st.batches++
		b := it.Batch()
		h := it.Header()
		if len(b) != h.Size() {
			t.Fatalf("batch of %d bytes, header says %d", len(b), h.Size())
		}
		sum, verr := Validate(b, opts)
		checkErrType(t, "Validate", verr)
		// A follower's check is a subset of Validate's under either rule set.
		rh, cerr := CheckReplicated(b)
		checkErrType(t, "CheckReplicated", cerr)
		if verr == nil && (cerr != nil || rh != h) {
			t.Fatalf("Validate passed but CheckReplicated says %v (header %+v, want %+v)", cerr, rh, h)
		}

		// Iterate without the CRC check so the fuzzer gets past it.
		n := 0
		var keyBytes int
		if err := recs.Reset(b, opts); err == nil {
			for recs.Next() {
				r := recs.Record()
				keyBytes += len(r.Key) + len(r.Value)
				for _, hd := range r.Headers {
					keyBytes += len(hd.Key) + len(hd.Value)
				}
				n++
			}
		}
		rerr := recs.Err()
		checkErrType(t, "Records", rerr)
		st.steps += recs.steps
		st.decompressed += recs.total

		crcOK := CheckCRC(b) == nil
		switch {
		case verr == nil:
			if rerr != nil || n != int(h.NumRecords) || sum.Header != h {
				t.Fatalf("Validate passed but iteration: err %v, %d of %d records", rerr, n, h.NumRecords)
			}
			// Validate walks uncompressed batches in place; its summary
			// must be the one iteration gathers.
			if ref, err := summarize(&recs, b, opts); err != nil || ref != sum {
				t.Fatalf("Validate's summary %+v, iteration's %+v (%v)", sum, ref, err)
			}
			roundTrip(t, b, opts)
		case crcOK && !sameErr(verr, rerr):
			t.Fatalf("with a good CRC, Validate says %v but iteration %v", verr, rerr)
		}

		// Fix the CRC on a copy so Validate itself reaches the records,
		// and check that it fails where iteration does, with the same
		// error (Validate walks uncompressed batches without Records);
		// skipped for big batches to keep execs cheap.
		if !crcOK && len(b) <= 8<<10 {
			fixed := append([]byte(nil), b...)
			if err := UpdateCRC(fixed); err != nil {
				t.Fatalf("UpdateCRC on a framed batch: %v", err)
			}
			_, ferr := Validate(fixed, opts)
			if !sameErr(ferr, rerr) {
				t.Fatalf("after fixing the CRC, Validate says %v but iteration %v", ferr, rerr)
			}
		}
	}
	if it.Err() != nil {
		checkErrType(t, "Batches", it.Err())
		if it.Offset() > len(data) {
			t.Fatalf("stopped at %d of %d", it.Offset(), len(data))
		}
	} else if it.Offset() != len(data) {
		t.Fatalf("clean end at %d of %d bytes", it.Offset(), len(data))
	}
	return st
}

// roundTrip rebuilds a valid batch from its records and checks the copy
// reads back the same.
func roundTrip(t *testing.T, b []byte, opts Options) {
	h := parseHeader(b)
	orig, err := readAll(b, opts)
	if err != nil {
		t.Fatalf("readAll of a valid batch: %v", err)
	}
	nb := NewBuilder(h.Attributes.Codec())
	nb.BaseOffset, nb.BaseTimestamp = h.BaseOffset, h.BaseTimestamp
	for _, r := range orig {
		nb.Append(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers...)
	}
	rebuilt, err := nb.Build(nil)
	if err != nil {
		t.Fatalf("rebuilding: %v", err)
	}
	// The original's LastOffsetDelta may exceed the last record's delta
	// (compaction); the rebuilt batch's does not, so compare records.
	again, err := readAll(rebuilt, Options{MaxDecompressedBytes: opts.MaxDecompressedBytes})
	if err != nil {
		t.Fatalf("reading a rebuilt batch: %v", err)
	}
	equalRecords(t, again, orig)
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// checkErrType fails on an error that is none of the package's kinds.
func checkErrType(t testing.TB, what string, err error) {
	if err == nil {
		return
	}
	if _, ok := corruptKind(err); ok {
		return
	}
	for _, known := range []error{ErrTruncated, ErrLegacyFormat, ErrUnsupportedCompression, ErrDecompressLimit} {
		if errors.Is(err, known) {
			return
		}
	}
	t.Fatalf("%s: error of unknown kind: %T %v", what, err, err)
}

func FuzzBatches(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The input's length picks the rule set, so both get fuzzed
		// without doing every input twice.
		exercise(t, data, Options{MaxDecompressedBytes: fuzzLimit, ProducerChecks: len(data)%2 == 1})
	})
}

// TestFuzzSeeds runs every seed (and every file in testdata/fuzz) through
// the fuzz body, checks the expected outcome of each seed, and checks that
// the work done is bounded: parse steps within the input plus decompressed
// bytes, decompression within the bound, allocation within a small
// multiple of input plus bound, and a one second wall clock backstop.
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzBatches", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		seeds = append(seeds, seed{name: "corpus " + filepath.Base(f), data: readCorpusFile(t, f)})
	}
	for _, s := range seeds {
		t.Run(s.name, func(t *testing.T) {
			if s.wantErr != nil || strings.HasPrefix(s.name, "valid") {
				_, err := Validate(s.data, Options{MaxDecompressedBytes: fuzzLimit})
				if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
					t.Fatalf("Validate: %v, want %v", err, s.wantErr)
				}
			}
			checkBoundedWork(t, s.data)
		})
	}
}

// readCorpusFile decodes a "go test fuzz v1" file holding one []byte.
func readCorpusFile(t *testing.T, path string) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(raw)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", path)
	}
	arg := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(arg, "[]byte(") || !strings.HasSuffix(arg, ")") {
		t.Fatalf("%s: want one []byte argument", path)
	}
	data, err := strconv.Unquote(arg[len("[]byte(") : len(arg)-1])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(data)
}

func checkBoundedWork(t *testing.T, data []byte) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	st := exercise(t, data, Options{MaxDecompressedBytes: fuzzLimit})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc

	// Each step consumes at least a byte of input or of decompressed
	// output (a record at least 7, a header at least 2, a read at least
	// 1), plus a few per batch for reads that end a stream.
	if maxSteps := int64(len(data)) + st.decompressed + 8*int64(st.batches+1); st.steps > maxSteps {
		t.Errorf("%d parse steps for %d input bytes and %d decompressed", st.steps, len(data), st.decompressed)
	}
	// The bound, plus the one byte finish may read past it.
	if st.decompressed > int64(st.batches)*(fuzzLimit+1) {
		t.Errorf("decompressed %d bytes in %d batches, bound %d each", st.decompressed, st.batches, fuzzLimit)
	}
	// exercise validates each batch several ways and rebuilds valid ones,
	// so allow a generous multiple of input plus bound per batch, plus
	// fixed decoder state (a zstd decoder's window buffer is up to 8 MiB).
	if maxAlloc := uint64(16*len(data)) + uint64(st.batches)*8*fuzzLimit + 32<<20; allocated > maxAlloc {
		t.Errorf("allocated %d bytes for %d input bytes in %d batches", allocated, len(data), st.batches)
	}
	if elapsed > time.Second {
		t.Errorf("took %v", elapsed)
	}
	t.Logf("%d bytes, %d batches: %d steps, %d decompressed, %d allocated, %v",
		len(data), st.batches, st.steps, st.decompressed, allocated, elapsed)
}

// TestBombsDefaultLimit runs the 100 MiB bombs against the default 64 MiB
// bound: they must stop at the bound, with the scratch buffer no bigger
// than the largest record that fits.
func TestBombsDefaultLimit(t *testing.T) {
	for _, s := range fuzzSeeds() {
		if !strings.HasPrefix(s.name, "zstd bomb, 100 MiB of records") && !strings.HasPrefix(s.name, "zstd bomb, one") {
			continue
		}
		start := time.Now()
		if _, err := Validate(s.data, Options{}); !errors.Is(err, ErrDecompressLimit) {
			t.Fatalf("%s: %v", s.name, err)
		}
		var it Records
		if err := it.Reset(s.data, Options{}); err != nil {
			t.Fatal(err)
		}
		for it.Next() {
		}
		if !errors.Is(it.Err(), ErrDecompressLimit) || it.total > DefaultMaxDecompressedBytes || cap(it.buf) > 1<<20 {
			t.Fatalf("%s: iteration: %v after %d bytes, buffer %d", s.name, it.Err(), it.total, cap(it.buf))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s took %v", s.name, d)
		}
		t.Logf("%s: stopped after %d decompressed bytes in %v", s.name, it.total, time.Since(start))
	}
}

// FuzzScanRecord checks that scanRecord's inlined path for small records
// answers exactly as the general walk does, for any record body.
func FuzzScanRecord(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 200, 1, 'v', 0})
	f.Add([]byte{0, 2, 4, 2, 'k', 2, 'v', 0})
	f.Add([]byte{0, 0x80, 1, 0x80, 1, 1, 2, 'v', 2, 2, 'h', 0})
	f.Add([]byte{0, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		ts, d, null, reason := scanRecord(p)
		ts2, d2, null2, reason2 := scanRecordAny(p)
		if ts != ts2 || d != d2 || null != null2 || reason != reason2 {
			t.Fatalf("scanRecord %d %d %v %q, scanRecordAny %d %d %v %q", ts, d, null, reason, ts2, d2, null2, reason2)
		}
	})
}
