package group

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var timeZero = time.Unix(1_000_000, 0)

// memLog is an in-memory Log. Hooks let a test hold an append or a scan.
type memLog struct {
	mu      sync.Mutex
	parts   map[int32][][]byte
	appends int
	// beforeAppend, if set, runs before an append is stored; an error
	// fails the append.
	beforeAppend func(ctx context.Context, p int32) error
	// scanGate, if set, is waited on before a scan reads anything.
	scanGate chan struct{}
}

func newMemLog() *memLog { return &memLog{parts: map[int32][][]byte{}} }

func (l *memLog) Append(ctx context.Context, p int32, batch []byte) (int64, error) {
	l.mu.Lock()
	hook := l.beforeAppend
	l.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, p); err != nil {
			return 0, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.appends++
	l.parts[p] = append(l.parts[p], append([]byte{}, batch...))
	return int64(len(l.parts[p]) - 1), nil
}

func (l *memLog) Scan(p int32, fn func(batch []byte) error) error {
	if l.scanGate != nil {
		<-l.scanGate
	}
	l.mu.Lock()
	batches := append([][]byte{}, l.parts[p]...)
	l.mu.Unlock()
	for _, b := range batches {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// ops decodes every record appended to partition p.
func (l *memLog) ops(t *testing.T, p int32) []op {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []op
	for _, b := range l.parts[p] {
		forEachRecord(b, func(key, value []byte) {
			o, err := decodeOp(key, value)
			if err != nil {
				t.Errorf("record in the log does not decode: %v", err)
				return
			}
			out = append(out, o)
		}, func(err error) { t.Errorf("batch in the log: %v", err) })
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
