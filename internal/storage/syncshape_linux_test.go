package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/internal/testproc"
)

// BenchmarkSyncShape measures what a durable append costs the file system
// by the shape of the write, outside the log: a write of 16 KiB and an
// fdatasync, either at the end of a growing file (as every segment append
// is: the size and the block allocation must be synced with the data) or
// over blocks already written and synced (only the data is). It reports
// the wall time and the process's CPU time per write and sync.
func BenchmarkSyncShape(b *testing.B) {
	const size = 16 << 10
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, shape := range []string{"append", "overwrite"} {
		b.Run(shape, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "f"), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if shape == "overwrite" { // the blocks the timed writes go over
				for i := range b.N {
					if _, err := f.WriteAt(buf, int64(i)*size); err != nil {
						b.Fatal(err)
					}
				}
				if err := fdatasync(f); err != nil {
					b.Fatal(err)
				}
			}
			start := testproc.CPUTime(b)
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.WriteAt(buf, int64(i)*size); err != nil {
					b.Fatal(err)
				}
				if err := fdatasync(f); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((testproc.CPUTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
