package storage

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestSetStartOffsetRacesTruncation moves the log start forward while a
// truncation cuts the log below the new start, many times: whichever
// wins, the log never starts past its end, and it reads and appends
// afterwards.
func TestSetStartOffsetRacesTruncation(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 512
	for round := range 200 {
		l := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
		for range 20 {
			if _, err := l.Append(batch(t, "v", 5, 1000), AppendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			// After the truncation, 80 is past the end: refused.
			if err := l.SetStartOffset(80); err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
				t.Errorf("set start: %v", err)
			}
		})
		wg.Go(func() {
			if err := l.TruncateTo(30); err != nil {
				t.Errorf("truncate: %v", err)
			}
		})
		wg.Wait()
		if start, end := l.StartOffset(), l.EndOffset(); start > end || end != 30 {
			t.Fatalf("round %d: the log starts at %d and ends at %d, want an end of 30 and the start at most there", round, start, end)
		}
		if _, err := l.Append(batch(t, "w", 5, 1000), AppendOptions{}); err != nil {
			t.Fatalf("round %d: append after the race: %v", round, err)
		}
		if got := readAll(t, l, l.StartOffset()); int64(len(got)) != l.EndOffset()-l.StartOffset() {
			t.Fatalf("round %d: read %d records from %d to %d", round, len(got), l.StartOffset(), l.EndOffset())
		}
		l.Close()
	}
}
