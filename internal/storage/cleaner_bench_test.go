package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestCleanerThroughput measures the cleaner on a large log on disk: by
// default 1 GiB of 1 KiB records in batches of 100, keys drawn at random
// from a tenth as many keys as records (so about 10% of the records are
// their key's latest), incompressible values, 128 MiB segments, a 128 MiB dedupe buffer. It is
// skipped unless SLUICE_CLEANER_BENCH is set; SLUICE_CLEANER_BENCH_MB
// changes the size and SLUICE_CLEANER_BENCH_CODEC the codec (none, lz4,
// zstd, snappy, gzip). Run with:
//
//	SLUICE_CLEANER_BENCH=1 go test ./internal/storage -run TestCleanerThroughput -v -timeout 30m
func TestCleanerThroughput(t *testing.T) {
	if os.Getenv("SLUICE_CLEANER_BENCH") == "" {
		t.Skip("set SLUICE_CLEANER_BENCH=1 to run")
	}
	sizeMB := 1024
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CLEANER_BENCH_MB")); err == nil && v > 0 {
		sizeMB = v
	}
	codec := record.CodecNone
	if v := os.Getenv("SLUICE_CLEANER_BENCH_CODEC"); v != "" {
		codec = -1
		for c := record.CodecNone; c <= record.CodecZstd; c++ {
			if c.String() == v {
				codec = c
			}
		}
		if codec < 0 {
			t.Fatalf("unknown codec %q", v)
		}
	}
	const valueSize, perBatch = 1000, 100
	records := sizeMB << 20 / (valueSize + 30)
	keys := records / 10

	dir := t.TempDir()
	fsys := vfs.Default
	m, err := OpenManager(ManagerOptions{FS: fsys, Dir: dir, ClusterID: "c", NodeID: 1,
		Cleaner: CleanerOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := DefaultConfig()
	cfg.Compact, cfg.Delete = true, false
	cfg.SegmentBytes = 128 << 20
	cfg.FlushMessages = 1 << 40 // build the log in page-cache mode
	cfg.MinCleanableRatio = 0
	l, err := m.GetOrCreate(testTP, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// Values are random windows of a random pool: incompressible, so a
	// compressed log is as large as an uncompressed one.
	pool := make([]byte, 1<<20)
	for i := range pool {
		pool[i] = byte(rng.Uint32())
	}
	b := record.NewBuilder(codec)
	var buf []byte
	live := map[int]bool{}
	for written := 0; written < records; written += perBatch {
		b.Reset()
		b.Codec = codec
		b.BaseTimestamp = time.Now().UnixMilli()
		for i := range perBatch {
			k := rng.IntN(keys)
			live[k] = true
			at := rng.IntN(len(pool) - valueSize)
			b.Append(int32(i), 0, fmt.Appendf(nil, "key-%08d", k), pool[at:at+valueSize])
		}
		if buf, err = b.Build(buf[:0]); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(buf, AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sealActive(t, l)
	before := l.Size()
	start := time.Now()
	passes, err := m.Clean(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	st := m.CleanerStats()
	mb := float64(st.BytesRead) / (1 << 20)
	t.Logf("codec %v: %d records (%d keys, %d live), %.0f MiB in %d segments; %d pass(es) in %v: %.0f MiB/s read, %.0f MiB written, log %.0f → %.0f MiB; %d records removed",
		codec, records, keys, len(live), float64(before)/(1<<20), st.SegmentsCleaned, passes, elapsed.Round(time.Millisecond),
		mb/elapsed.Seconds(), float64(st.BytesWritten)/(1<<20), float64(before)/(1<<20), float64(l.Size())/(1<<20), st.RecordsRemoved)
	if st.RecordsRemoved == 0 || int(st.RecordsRead-st.RecordsRemoved) < len(live) {
		t.Fatalf("stats %+v, %d live keys", st, len(live))
	}
}
