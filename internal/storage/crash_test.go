package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// crashSeeds is how many seeded crash scenarios a CI run tries.
const crashSeeds = 250

// TestCrashRecoveryKeepsAcknowledged appends random batches, acknowledging
// some (WaitDurable returned), rolls segments, reopens cleanly now and
// then, and cuts the power at a random moment (MemFS.CrashClone drops or
// tears every un-synced write and directory change). Recovery must keep
// every acknowledged record, serve only a prefix of what was appended,
// with consecutive offsets, and accept appends afterwards.
func TestCrashRecoveryKeepsAcknowledged(t *testing.T) {
	for seed := range uint64(crashSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			if err := crashScenario(seed); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		})
	}
}

func crashScenario(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0xc4a5))
	fsys := vfs.NewMem()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.SegmentBytes = int64(300 + rng.IntN(3000))
	cfg.IndexIntervalBytes = rng.IntN(400)
	var flusher *Flusher
	if rng.IntN(2) == 0 {
		flusher = NewFlusher(2)
		defer flusher.Close()
	}
	open := func(f vfs.FS, clean bool, rp int64) (*Log, error) {
		return Open(OpenOptions{FS: f, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now,
			CleanShutdown: clean, RecoveryPoint: rp, Flusher: flusher})
	}
	l, err := open(fsys, false, 0)
	if err != nil {
		return err
	}
	var appended []string // every value appended, in offset order
	acked := 0            // appended[:acked] were acknowledged
	var rps []int64       // recovery points seen (as checkpoints would hold)
	steps := 10 + rng.IntN(60)
	codecs := []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLZ4, record.CodecZstd}
	for step := range steps {
		switch r := rng.IntN(20); {
		case r == 0:
			if err := l.Roll(); err != nil {
				return err
			}
		case r == 1:
			// A clean restart.
			if err := l.Close(); err != nil {
				return err
			}
			if l, err = open(fsys, true, l.RecoveryPoint()); err != nil {
				return fmt.Errorf("clean reopen: %w", err)
			}
			acked = len(appended)
		default:
			n := 1 + rng.IntN(6)
			b := record.NewBuilder(codecs[rng.IntN(len(codecs))])
			b.BaseTimestamp = clock.now().UnixMilli()
			for i := range n {
				b.Append(int32(i), int64(i), []byte("k"), fmt.Appendf(nil, "s%d-%d", step, i))
			}
			data, err := b.Build(nil)
			if err != nil {
				return err
			}
			res, err := l.Append(data, AppendOptions{LeaderEpoch: int32(1 + step/10)})
			if err != nil {
				return fmt.Errorf("append: %w", err)
			}
			for i := range n {
				appended = append(appended, fmt.Sprintf("s%d-%d", step, i))
			}
			if rng.IntN(3) > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := l.WaitDurable(ctx, res.EndOffset)
				cancel()
				if err != nil {
					return fmt.Errorf("wait durable: %w", err)
				}
				acked = len(appended)
			}
		}
		clock.advance(time.Duration(rng.IntN(1000)) * time.Millisecond)
		rps = append(rps, l.RecoveryPoint())
	}
	// Power loss while the log is open. The checkpointed recovery point
	// is one the log has published (checkpoints lag, never lead).
	crashed := fsys.CrashClone(rng)
	rp := rps[rng.IntN(len(rps))]
	l.Close()

	r, err := open(crashed, false, rp)
	if err != nil {
		return fmt.Errorf("recover (rp=%d): %w", rp, err)
	}
	defer r.Close()
	got, err := readValues(r)
	if err != nil {
		return fmt.Errorf("read after recovery: %w", err)
	}
	if len(got) < acked {
		return fmt.Errorf("lost acknowledged records: recovered %d, acknowledged %d", len(got), acked)
	}
	if !slices.Equal(got, appended[:len(got)]) {
		return fmt.Errorf("recovered records are not a prefix of the appended ones")
	}
	if r.EndOffset() != int64(len(got)) {
		return fmt.Errorf("end offset %d for %d records", r.EndOffset(), len(got))
	}
	// The recovered log takes appends.
	res, err := r.Append(batch(nopT{}, "after", 2, clock.now().UnixMilli()), AppendOptions{LeaderEpoch: 99})
	if err != nil || res.FirstOffset != int64(len(got)) {
		return fmt.Errorf("append after recovery: %+v, %v", res, err)
	}
	return r.WaitDurable(context.Background(), res.EndOffset)
}

// readValues reads every record value of l from its start.
func readValues(l *Log) ([]string, error) {
	var vals []string
	next := l.StartOffset()
	for next < l.EndOffset() {
		res, err := l.Read(next, 64<<10, l.EndOffset(), true)
		if err != nil {
			return nil, err
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("empty read at %d, end %d", next, l.EndOffset())
		}
		it := record.NewBatches(data)
		progressed := false
		for it.Next() {
			var recs record.Records
			if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
				return nil, err
			}
			for recs.Next() {
				if recs.Offset() < next {
					continue
				}
				if recs.Offset() != next {
					return nil, fmt.Errorf("offset %d where %d was due", recs.Offset(), next)
				}
				vals = append(vals, string(recs.Record().Value))
				next++
				progressed = true
			}
			err := recs.Err()
			recs.Close()
			if err != nil {
				return nil, err
			}
		}
		if it.Err() != nil && !it.Torn() {
			return nil, it.Err()
		}
		if !progressed {
			return nil, fmt.Errorf("no progress at %d", next)
		}
	}
	return vals, nil
}

// nopT lets helpers that take testing.TB run outside a test.
type nopT struct{ testing.TB }

func (nopT) Helper()                   {}
func (nopT) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (nopT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// TestSyncFailureTakesLogOffline injects an fsync error: the waiter gets
// ErrStorage, the log refuses further appends, and nothing is retried.
func TestSyncFailureTakesLogOffline(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.WithErrors(mem)
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	l := openTestLog(t, efs, DefaultConfig(), clock, false, 0)
	res, err := l.Append(batch(t, "ok", 2, clock.now().UnixMilli()), AppendOptions{})
	if err != nil || l.WaitDurable(context.Background(), res.EndOffset) != nil {
		t.Fatalf("first append: %v", err)
	}
	fault := efs.Inject(vfs.Rule{Ops: vfs.OpSync, Path: vfs.PathHasSuffix(".log")})
	res, err = l.Append(batch(t, "lost", 2, clock.now().UnixMilli()), AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitDurable(context.Background(), res.EndOffset); !errors.Is(err, ErrStorage) {
		t.Fatalf("wait after failed fsync: %v", err)
	}
	if fault.Hits() != 1 {
		t.Fatalf("fsync attempted %d times; a failed fsync must not be retried", fault.Hits())
	}
	if _, err := l.Append(batch(t, "more", 1, clock.now().UnixMilli()), AppendOptions{}); !errors.Is(err, ErrStorage) {
		t.Fatalf("append on an offline log: %v", err)
	}
	fault.Disarm()
	crashed := mem.CrashCloneStrict()
	l.Close()
	r := openTestLog(t, crashed, DefaultConfig(), clock, false, 0)
	defer r.Close()
	got, err := readValues(r)
	if err != nil || len(got) != 2 || got[0] != "ok-0" {
		t.Fatalf("after crash: %v %v", got, err)
	}
}
