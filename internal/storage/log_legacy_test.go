package storage

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestLegacyOffsetsBefore: ListOffsets v0 answers segment starts by the
// time their files were last written, newest first, with the log end
// (written now) when the active segment holds data, never below the log
// start.
func TestLegacyOffsetsBefore(t *testing.T) {
	clock := &testClock{t: time.Now()}
	l := openTestLog(t, vfs.NewMem(), DefaultConfig(), clock, false, 0)
	defer l.Close()
	if got := l.LegacyOffsetsBefore(-1, 10); !slices.Equal(got, []int64{0}) {
		t.Fatalf("empty log, latest: %v, want [0]", got)
	}
	appendAndRoll := func(tag string) {
		t.Helper()
		if _, err := l.Append(batch(t, tag, 2, clock.now().UnixMilli()), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	appendAndRoll("a") // segment 0: offsets 0-1
	appendAndRoll("b") // segment 2: offsets 2-3; segment 4 is empty
	if got := l.LegacyOffsetsBefore(-1, 10); !slices.Equal(got, []int64{4, 2, 0}) {
		t.Fatalf("latest with an empty active segment: %v, want [4 2 0]", got)
	}
	time.Sleep(5 * time.Millisecond)
	between := time.Now().UnixMilli()
	time.Sleep(5 * time.Millisecond)
	if _, err := l.Append(batch(t, "c", 2, clock.now().UnixMilli()), AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.mu.Lock()
	clock.t = time.Now()
	clock.mu.Unlock()

	for _, c := range []struct {
		ts    int64
		limit int
		want  []int64
	}{
		{-1, 10, []int64{6, 4, 2, 0}}, // the log end, then every segment start
		{-1, 2, []int64{6, 4}},
		{-2, 10, []int64{0}},
		{between, 10, []int64{2, 0}}, // segment 4 was written after it
		{between, 1, []int64{2}},
		{0, 10, nil}, // every file is younger
		{between, 0, nil},
	} {
		if got := l.LegacyOffsetsBefore(c.ts, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("timestamp %d, limit %d: %v, want %v", c.ts, c.limit, got, c.want)
		}
	}
	if err := l.SetStartOffset(1); err != nil {
		t.Fatal(err)
	}
	if got := l.LegacyOffsetsBefore(-2, 10); !slices.Equal(got, []int64{1}) {
		t.Fatalf("earliest after the log start moved to 1: %v, want [1]", got)
	}
}
