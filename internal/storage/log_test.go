package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// testClock is a settable clock for logs under test; flusher goroutines
// read it while the test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testTP = TopicPartition{Topic: "t", Partition: 0}

// batch builds a producer batch of n records whose values are
// "<tag>-<i>", with timestamps at ts.
func batch(t testing.TB, tag string, n int, ts int64) []byte {
	t.Helper()
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = ts
	for i := range n {
		b.Append(int32(i), 0, []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("%s-%d", tag, i)))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openTestLog(t testing.TB, fsys vfs.FS, cfg Config, clock *testClock, clean bool, rp int64) *Log {
	t.Helper()
	l, err := Open(OpenOptions{FS: fsys, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now, CleanShutdown: clean, RecoveryPoint: rp})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

// readBytes returns what a read of up to max bytes from offset returns.
func readBytes(t testing.TB, l *Log, offset int64, max int) []byte {
	t.Helper()
	res, err := l.Read(offset, max, l.EndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := res.Bytes()
	res.Release()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readAll reads every record value from offset on, checking offsets run
// consecutively.
func readAll(t testing.TB, l *Log, from int64) []string {
	t.Helper()
	var vals []string
	next := from
	for next < l.EndOffset() {
		res, err := l.Read(next, 1<<20, l.EndOffset(), true)
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			t.Fatalf("empty read at %d below end %d", next, l.EndOffset())
		}
		it := record.NewBatches(data)
		for it.Next() {
			var recs record.Records
			if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
				t.Fatal(err)
			}
			for recs.Next() {
				if recs.Offset() < next {
					continue
				}
				if recs.Offset() != next {
					t.Fatalf("offset %d, want %d", recs.Offset(), next)
				}
				vals = append(vals, string(recs.Record().Value))
				next++
			}
			if err := recs.Err(); err != nil {
				t.Fatal(err)
			}
			recs.Close()
		}
	}
	return vals
}

func TestAppendReadReopen(t *testing.T) {
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 100
	l := openTestLog(t, fsys, cfg, clock, false, 0)
	var want []string
	for i := range 40 {
		b := batch(t, fmt.Sprintf("b%d", i), 3, clock.now().UnixMilli())
		res, err := l.Append(b, AppendOptions{LeaderEpoch: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.FirstOffset != int64(3*i) || res.LastOffset != int64(3*i+2) {
			t.Fatalf("append %d: offsets %d..%d", i, res.FirstOffset, res.LastOffset)
		}
		if err := l.WaitDurable(context.Background(), res.EndOffset); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			want = append(want, fmt.Sprintf("b%d-%d", i, j))
		}
	}
	if l.NumSegments() < 3 {
		t.Fatalf("%d segments; expected rolls at 1 KiB", l.NumSegments())
	}
	if got := readAll(t, l, 0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read %v\nwant %v", got, want)
	}
	if got := readAll(t, l, 61); got[0] != want[61] {
		t.Fatalf("read from 61: %v", got[0])
	}
	if _, err := l.Read(121, 100, 200, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, clean := range []bool{true, false} {
		l = openTestLog(t, fsys, cfg, clock, clean, 0)
		if l.EndOffset() != 120 {
			t.Fatalf("clean=%t: end %d after reopen", clean, l.EndOffset())
		}
		if got := readAll(t, l, 0); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("clean=%t: read after reopen differs", clean)
		}
		if e, _ := l.Epochs().LatestEpoch(); e != 1 {
			t.Fatalf("latest epoch %d", e)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Truncation as a follower does it.
	l = openTestLog(t, fsys, cfg, clock, true, 0)
	if err := l.TruncateTo(50); err != nil {
		t.Fatal(err)
	}
	// 50 falls inside the batch 48..50: the batch goes whole and the log
	// ends at its base.
	if l.EndOffset() != 48 {
		t.Fatalf("end %d after truncating to 50", l.EndOffset())
	}
	if got := readAll(t, l, 0); fmt.Sprint(got) != fmt.Sprint(want[:48]) {
		t.Fatalf("after truncation: %v", got)
	}
	res, err := l.Append(batch(t, "new", 2, clock.now().UnixMilli()), AppendOptions{LeaderEpoch: 2})
	if err != nil || res.FirstOffset != 48 {
		t.Fatalf("append after truncation: %+v %v", res, err)
	}
	l.Close()
	l = openTestLog(t, fsys, cfg, clock, false, 0)
	got := readAll(t, l, 0)
	if len(got) != 50 || got[48] != "new-0" || !bytes.Equal([]byte(got[47]), []byte(want[47])) {
		t.Fatalf("after truncate+append+reopen: %v", got)
	}
	l.Close()
}

func TestCloseIdleReopensOnAppend(t *testing.T) {
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	l := openTestLog(t, fsys, DefaultConfig(), clock, false, 0)
	defer l.Close()
	res, err := l.Append(batch(t, "a", 2, clock.now().UnixMilli()), AppendOptions{})
	if err != nil || l.WaitDurable(context.Background(), res.EndOffset) != nil {
		t.Fatal(err)
	}
	if err := l.CloseIdle(time.Minute); err != nil || l.active().file == nil {
		t.Fatalf("closed a log appended to just now: %v", err)
	}
	clock.advance(2 * time.Minute)
	if err := l.CloseIdle(time.Minute); err != nil || l.active().file != nil {
		t.Fatalf("idle log kept its writer handle: %v", err)
	}
	res, err = l.Append(batch(t, "b", 2, clock.now().UnixMilli()), AppendOptions{})
	if err != nil || l.WaitDurable(context.Background(), res.EndOffset) != nil {
		t.Fatalf("append after idle close: %v", err)
	}
	if got, err := readValues(l); err != nil || len(got) != 4 || got[3] != "b-1" {
		t.Fatalf("read after idle close: %v %v", got, err)
	}
}
