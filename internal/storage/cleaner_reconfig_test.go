package storage

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestCleanerReconfigure changes the cleaner's options at runtime: the
// new count of threads, map size, I/O bound and backoff are in force at
// once, the threads run again with them, and a cleaner that was off or
// is closed starts nothing.
func TestCleanerReconfigure(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m, err := OpenManager(ManagerOptions{FS: vfs.NewMem(), Dir: "/data", ClusterID: "c", NodeID: 1, Now: clock.now,
		Cleaner: CleanerOptions{Threads: 1, DedupeBufferSize: 1 << 20, IOBufferSize: 1 << 10, Backoff: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// With nothing to clean the thread goes to sleep for its hour.
	time.Sleep(100 * time.Millisecond)
	cleanedLog(t, m, clock, compactCfg(1024), 3)

	m.ReconfigureCleaner(CleanerOptions{Threads: 2, DedupeBufferSize: 8 << 20, IOBufferSize: 4 << 10,
		MaxIOBytesPerSecond: 1 << 30, Backoff: 5 * time.Millisecond})
	o := m.CleanerOptions()
	if o.Threads != 2 || o.DedupeBufferSize != 8<<20 || o.IOBufferSize != 4<<10 || o.Backoff != 5*time.Millisecond || o.LoadFactor != defaultCleanerLoadFactor {
		t.Fatalf("options %+v", o)
	}
	m.cleaner.throttle.mu.Lock()
	rate := m.cleaner.throttle.rate
	m.cleaner.throttle.mu.Unlock()
	if rate != 1<<30 {
		t.Fatalf("throttle rate %v", rate)
	}
	// The restarted threads clean the log without waiting out the hour.
	deadline := time.Now().Add(10 * time.Second)
	for m.CleanerStats().Passes == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no pass after the reconfiguration: %+v", m.CleanerStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A thread's state is sized by the new options: half the map each.
	w, pool := m.cleaner.work()
	if cap(pool) != 2 || w.m.capacity() != newOffsetMap(4<<20, defaultCleanerLoadFactor).capacity() || len(w.read) != 4<<10 {
		t.Fatalf("pool of %d, map of %d slots, read buffer %d", cap(pool), w.m.capacity(), len(w.read))
	}
	pool <- w

	m.cleaner.stop()
	m.ReconfigureCleaner(CleanerOptions{Threads: 1})
	if m.cleaner.cancel != nil {
		t.Fatal("a stopped cleaner started threads")
	}
}

// TestCleanerReconfigureWhenOff reconfigures a manager opened with
// compaction off: the options change, and no thread cleans anything.
func TestCleanerReconfigureWhenOff(t *testing.T) {
	clock := &testClock{t: time.UnixMilli(1_700_000_000_000)}
	m := newCleanerManager(t, vfs.NewMem(), clock, 1<<20)
	defer m.Close()
	cleanedLog(t, m, clock, compactCfg(1024), 4)
	m.ReconfigureCleaner(CleanerOptions{Threads: 2, Backoff: time.Millisecond})
	if o := m.CleanerOptions(); o.Threads != 2 {
		t.Fatalf("options %+v", o)
	}
	time.Sleep(200 * time.Millisecond)
	if st := m.CleanerStats(); st.Passes != 0 || m.cleaner.cancel != nil {
		t.Fatalf("compaction off, yet %+v", st)
	}
	// Clean, in the caller's goroutine, still works with the new pool.
	if n, err := m.Clean(context.Background()); err != nil || n == 0 {
		t.Fatalf("clean: %d passes, %v", n, err)
	}
}
