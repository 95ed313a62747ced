package storage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// benchBatch builds an uncompressed batch of about size bytes made of
// records of up to 1 KiB.
func benchBatch(tb testing.TB, size int) []byte {
	recSize := min(1024, size/2)
	n := max(1, size/(recSize+20))
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = time.Now().UnixMilli()
	val := make([]byte, recSize)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	for i := range n {
		b.Append(int32(i), 0, nil, val)
	}
	out, err := b.Build(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkAppendVsRaw measures appends of batches of 1 KiB, 16 KiB and
// 1 MiB to a partition log on the real disk, in the durable mode (each
// append waits for its fdatasync) and in page-cache mode, against raw
// sequential writes of the same sizes to a file in the same directory
// (with an fdatasync after each write, and without). Log appends and raw
// writes alternate, one each per iteration, so both meet the same
// page-cache and writeback conditions; it reports both throughputs and
// their ratio (x-raw).
func BenchmarkAppendVsRaw(b *testing.B) {
	for _, durable := range []bool{true, false} {
		mode := map[bool]string{true: "durable", false: "pagecache"}[durable]
		for _, size := range []int{1 << 10, 16 << 10, 1 << 20} {
			b.Run(mode+"/"+sizeName(size), func(b *testing.B) {
				data := benchBatch(b, size)
				dir := b.TempDir()
				raw, err := os.Create(filepath.Join(dir, "raw"))
				if err != nil {
					b.Fatal(err)
				}
				defer raw.Close()
				cfg := DefaultConfig()
				if !durable {
					cfg.FlushMessages = math.MaxInt64
				}
				l, err := Open(OpenOptions{FS: vfs.Default, Dir: filepath.Join(dir, "t-0"), TP: testTP, Config: cfg})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				b.SetBytes(int64(len(data)))
				var logTime, rawTime time.Duration
				// Append assigns offsets in place, and a produced batch
				// must arrive with base offset 0: each append gets a
				// fresh copy, made outside the timings.
				buf := make([]byte, len(data))
				for b.Loop() {
					copy(buf, data)
					start := time.Now()
					if _, err := raw.Write(data); err != nil {
						b.Fatal(err)
					}
					if durable {
						if err := fdatasync(raw); err != nil {
							b.Fatal(err)
						}
					}
					mid := time.Now()
					res, err := l.Append(buf, AppendOptions{})
					if err != nil {
						b.Fatal(err)
					}
					if durable {
						if err := l.WaitDurable(context.Background(), res.EndOffset); err != nil {
							b.Fatal(err)
						}
					}
					end := time.Now()
					rawTime += mid.Sub(start)
					logTime += end.Sub(mid)
				}
				mb := float64(b.N*len(data)) / 1e6
				b.ReportMetric(mb/logTime.Seconds(), "log-MB/s")
				b.ReportMetric(mb/rawTime.Seconds(), "raw-MB/s")
				b.ReportMetric(rawTime.Seconds()/logTime.Seconds(), "x-raw")
			})
		}
	}
}

// BenchmarkReadVsRaw reads a 256 MiB log sequentially through Read (1 MiB
// per call, the bytes copied out of the file) against reading the segment
// file with 1 MiB ReadAt calls; both from the page cache.
func BenchmarkReadVsRaw(b *testing.B) {
	dir := b.TempDir()
	cfg := DefaultConfig()
	cfg.FlushMessages = math.MaxInt64
	l, err := Open(OpenOptions{FS: vfs.Default, Dir: filepath.Join(dir, "t-0"), TP: testTP, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := benchBatch(b, 64<<10)
	batch := make([]byte, len(data)) // a fresh copy each append (see AppendVsRaw)
	for l.Size() < 256<<20 {
		copy(batch, data)
		if _, err := l.Append(batch, AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	total := l.Size()
	buf := make([]byte, 1<<20+64<<10)
	segPath := l.active().path(logSuffix)
	b.SetBytes(total)
	b.ResetTimer()
	var logSecs, rawSecs float64
	for range b.N {
		start := time.Now()
		for off := int64(0); off < l.EndOffset(); {
			res, err := l.Read(off, 1<<20, l.EndOffset(), true)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := res.File.ReadAt(buf[:res.Len], res.Position); err != nil {
				b.Fatal(err)
			}
			it := record.NewBatches(buf[:res.Len])
			last := off
			for it.Next() {
				h := it.Header()
				last = h.NextOffset()
			}
			res.Release()
			off = last
		}
		logSecs += time.Since(start).Seconds()

		start = time.Now()
		f, err := os.Open(segPath)
		if err != nil {
			b.Fatal(err)
		}
		for pos := int64(0); pos < total; pos += 1 << 20 {
			if _, err := f.ReadAt(buf[:1<<20], pos); err != nil && pos+1<<20 < total {
				b.Fatal(err)
			}
		}
		f.Close()
		rawSecs += time.Since(start).Seconds()
	}
	mb := float64(total) * float64(b.N) / 1e6
	b.ReportMetric(mb/logSecs, "log-MB/s")
	b.ReportMetric(mb/rawSecs, "raw-MB/s")
	b.ReportMetric(rawSecs/logSecs, "x-raw")
}

// TestFsyncsPerAppendFallWithConcurrency runs 1, 4 and 16 concurrent
// producers, each sending requests that append a 1 KiB batch to 4 random
// partitions of 16 and wait until all are durable, on the real disk, and counts fsyncs through the
// vfs layer: group commit must make the fsyncs per acknowledged append
// fall as concurrency rises.
func TestFsyncsPerAppendFallWithConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("real-disk fsync measurement")
	}
	var ratios []float64
	for _, producers := range []int{1, 4, 16} {
		counted := vfs.WithCounters(vfs.Default)
		m, err := OpenManager(ManagerOptions{FS: counted, Dir: t.TempDir(), ClusterID: "c", NodeID: 1})
		if err != nil {
			t.Fatal(err)
		}
		var logs []*Log
		for p := range 16 {
			l, err := m.GetOrCreate(TopicPartition{Topic: "f", Partition: int32(p)}, RandomUUID(), DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			logs = append(logs, l)
		}
		// One append per partition first: a partition's first append also
		// syncs its directory and writes its leader epoch checkpoint, once.
		for _, l := range logs {
			res, err := l.Append(benchBatch(t, 1<<10), AppendOptions{})
			if err != nil || l.WaitDurable(context.Background(), res.EndOffset) != nil {
				t.Fatal(err)
			}
		}
		const perProducer = 60
		counted.Reset()
		var wg sync.WaitGroup
		for i := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				for range perProducer {
					// Like a Kafka producer's request: a batch for each of
					// several partitions, acknowledged when all are durable.
					parts := rng.Perm(len(logs))[:4]
					ends := make([]int64, len(parts))
					for j, p := range parts {
						res, err := logs[p].Append(benchBatch(t, 1<<10), AppendOptions{})
						if err != nil {
							t.Error(err)
							return
						}
						ends[j] = res.EndOffset
					}
					for j, p := range parts {
						if err := logs[p].WaitDurable(context.Background(), ends[j]); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		appends := producers * perProducer * 4
		syncs := counted.Counts().Fsyncs()
		ratio := float64(syncs) / float64(appends)
		ratios = append(ratios, ratio)
		t.Logf("%2d producers, 16 partitions: %d acknowledged appends, %d fsyncs, %.3f fsyncs per append", producers, appends, syncs, ratio)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !(ratios[1] < ratios[0] && ratios[2] < ratios[1]) {
		t.Fatalf("fsyncs per append did not fall with concurrency: %v", ratios)
	}
}
