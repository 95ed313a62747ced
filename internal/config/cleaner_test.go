package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestCleanerWithLayers(t *testing.T) {
	def := DefaultCleaner()
	want := Cleaner{Threads: 1, DedupeBufferSize: 128 << 20, IOBufferSize: 512 << 10, LoadFactor: 0.9,
		MaxIOBytesPerSecond: math.MaxFloat64, Backoff: 15 * time.Second}
	if def != want {
		t.Fatalf("defaults %+v, want %+v", def, want)
	}
	b := mustLoad(t, map[string]string{"log.cleaner.threads": "2", "log.cleaner.backoff.ms": "100"}, nil, ProfileSingleNode)
	static := b.StaticCleaner()
	if static.Threads != 2 || static.Backoff != 100*time.Millisecond || static.DedupeBufferSize != 128<<20 {
		t.Fatalf("static %+v", static)
	}
	got := static.With(
		map[string]string{"log.cleaner.threads": "3", "log.cleaner.io.max.bytes.per.second": "1048576.0", "log.retention.ms": "5"},
		map[string]string{"log.cleaner.threads": "4", "log.cleaner.backoff.ms": "250", "log.cleaner.io.buffer.size": "nonsense"},
	)
	want = static
	want.Threads, want.MaxIOBytesPerSecond, want.Backoff = 4, 1<<20, 250*time.Millisecond
	if got != want {
		t.Fatalf("layered %+v, want %+v", got, want)
	}
}

func TestCheckCleanerChange(t *testing.T) {
	cur := DefaultCleaner()
	cur.Threads = 4
	for _, c := range []struct {
		threads int32
		dedupe  int64
		err     string
	}{
		{4, 128 << 20, ""},
		{2, 128 << 20, ""},
		{8, 128 << 20, ""},
		{0, 128 << 20, "should be at least 1"},
		{1, 128 << 20, "reduced to less than half the current value 4"},
		{9, 128 << 20, "increased to more than double the current value 4"},
		{4, 4<<20 + 4, ""},
		{4, 4 << 20, "at least 1MB per cleaner thread"}, // Kafka wants more than 1 MiB
	} {
		next := cur
		next.Threads, next.DedupeBufferSize = c.threads, c.dedupe
		err := CheckCleanerChange(cur, next)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("threads %d dedupe %d: %v, want %q", c.threads, c.dedupe, err, c.err)
		}
	}
}
