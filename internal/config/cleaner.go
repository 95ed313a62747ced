package config

import (
	"fmt"
	"strconv"
	"time"
)

// cleanerKeys are the log cleaner's keys Kafka can change at runtime
// (LogCleaner.ReconfigurableConfigs, message.max.bytes aside).
var cleanerKeys = []string{
	"log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.size",
	"log.cleaner.io.buffer.load.factor", "log.cleaner.io.max.bytes.per.second", "log.cleaner.backoff.ms",
}

// Cleaner is the log cleaner's settings that may change at runtime.
type Cleaner struct {
	Threads             int32         // log.cleaner.threads
	DedupeBufferSize    int64         // log.cleaner.dedupe.buffer.size
	IOBufferSize        int32         // log.cleaner.io.buffer.size
	LoadFactor          float64       // log.cleaner.io.buffer.load.factor
	MaxIOBytesPerSecond float64       // log.cleaner.io.max.bytes.per.second
	Backoff             time.Duration // log.cleaner.backoff.ms
}

// StaticCleaner returns the cleaner settings of the static configuration.
func (b *Broker) StaticCleaner() Cleaner {
	return Cleaner{
		Threads: b.CleanerThreads, DedupeBufferSize: b.CleanerDedupeBufferSize, IOBufferSize: b.CleanerIOBufferSize,
		LoadFactor: b.CleanerLoadFactor, MaxIOBytesPerSecond: b.CleanerMaxIOBytesPerSecond, Backoff: b.CleanerBackoff,
	}
}

// DefaultCleaner returns the cleaner settings of Kafka's defaults.
func DefaultCleaner() Cleaner {
	defaults := make(map[string]string, len(cleanerKeys))
	for _, k := range cleanerKeys {
		defaults[k] = byName[k].Default
	}
	return Cleaner{}.With(defaults)
}

// With returns c with the cleaner keys of the dynamic broker config
// layers laid over it, later layers winning: the cluster-wide default's
// configs, then the broker's own. Layers hold the values the controller
// checked; one that does not parse is skipped.
func (c Cleaner) With(layers ...map[string]string) Cleaner {
	c.Threads = int32(layeredInt("log.cleaner.threads", int64(c.Threads), layers))
	c.DedupeBufferSize = layeredInt("log.cleaner.dedupe.buffer.size", c.DedupeBufferSize, layers)
	c.IOBufferSize = int32(layeredInt("log.cleaner.io.buffer.size", int64(c.IOBufferSize), layers))
	c.LoadFactor = layeredFloat("log.cleaner.io.buffer.load.factor", c.LoadFactor, layers)
	c.MaxIOBytesPerSecond = layeredFloat("log.cleaner.io.max.bytes.per.second", c.MaxIOBytesPerSecond, layers)
	if v, ok := layered("log.cleaner.backoff.ms", layers); ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			c.Backoff = durationOf(ms, byName["log.cleaner.backoff.ms"].Unit)
		}
	}
	return c
}

// CheckCleanerChange checks a broker's cleaner moving from cur to next
// as Kafka's broker checks a dynamic change before it forwards it:
// LogCleaner.validateReconfiguration bounds the thread count by the
// current one, and KafkaConfig wants more than 1 MiB of
// log.cleaner.dedupe.buffer.size per thread (cleanerMemoryEnough).
func CheckCleanerChange(cur, next Cleaner) error {
	switch {
	case next.Threads < 1:
		return fmt.Errorf("Log cleaner threads should be at least 1")
	case next.Threads < cur.Threads/2:
		return fmt.Errorf("Log cleaner threads cannot be reduced to less than half the current value %d", cur.Threads)
	case next.Threads > cur.Threads*2:
		return fmt.Errorf("Log cleaner threads cannot be increased to more than double the current value %d", cur.Threads)
	case !cleanerMemoryEnough(next.DedupeBufferSize, int64(next.Threads)):
		return fmt.Errorf("log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.")
	}
	return nil
}

// cleanerMemoryEnough reports whether dedupe bytes give each of threads
// more than 1 MiB, as Kafka's KafkaConfig requires (whatever the message
// it refuses with says).
func cleanerMemoryEnough(dedupe, threads int64) bool { return dedupe/threads > 1<<20 }
