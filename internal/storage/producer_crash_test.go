package storage

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestRollSnapshotAheadOfLostTail: a crash can keep a snapshot written at
// a roll (not synced) and lose the unsynced tail of the segment below it
// (a kernel that writes directory changes back on its own). Recovery must
// not trust that snapshot: none of the batches after the last sync was
// acknowledged, and a retry of one must be appended, not answered as a
// duplicate of offsets the log no longer holds.
func TestRollSnapshotAheadOfLostTail(t *testing.T) {
	hits := 0
	for seed := uint64(0); seed < 1500; seed++ {
		fsys := vfs.NewMem()
		clock := &testClock{t: time.Unix(1_700_000_000, 0)}
		cfg := DefaultConfig()
		cfg.SegmentBytes = 600
		cfg.FlushMessages = 1 << 30 // appends not synced by Append (as with the group-commit flusher)
		l := openTestLog(t, fsys, cfg, clock, false, 0)
		ts := clock.now().UnixMilli()
		seq := int32(0)
		app := func() AppendResult {
			res, err := l.Append(idemBatch(t, 42, 0, seq, 3, ts), AppendOptions{LeaderEpoch: 1})
			if err != nil || res.Duplicate {
				t.Fatal(err, res)
			}
			seq += 3
			return res
		}
		app()
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		synced := l.EndOffset()
		segs := l.NumSegments()
		for l.NumSegments() == segs { // unsynced batches until a roll writes a snapshot
			app()
		}
		crashed := fsys.CrashCloneWith(vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, 1)), DirOps: true})
		cl, err := Open(OpenOptions{FS: crashed, Dir: "/data/t-0", TP: testTP, Config: cfg, Now: clock.now})
		if err != nil {
			continue
		}
		end := cl.EndOffset()
		// Retry every batch the producer sent after the synced point: none
		// was acknowledged. A "duplicate" whose offsets are not in the log
		// is a lost acknowledged write.
		for s := int32(3); s < seq; s += 3 {
			res, err := cl.Append(idemBatch(t, 42, 0, s, 3, ts), AppendOptions{LeaderEpoch: 1})
			if err == nil && res.Duplicate {
				rr, rerr := cl.Read(res.FirstOffset, 1<<20, cl.EndOffset(), true)
				var data []byte
				if rerr == nil {
					data, _ = rr.Bytes()
					rr.Release()
				}
				if rerr != nil || len(data) == 0 || res.FirstOffset >= end || rr.FirstOffset != res.FirstOffset {
					hits++
					t.Logf("seed %d: synced end %d, recovered end %d, segments %d: retry of seq %d answered DUPLICATE at %d-%d (read err %v, %d bytes)",
						seed, synced, end, cl.NumSegments(), s, res.FirstOffset, res.LastOffset, rerr, len(data))
					break
				}
			}
			if err != nil {
				break
			}
		}
		cl.Close()
		if hits >= 3 {
			break
		}
	}
	if hits > 0 {
		t.Errorf("%d crash images answer a never-acknowledged retry as a duplicate of missing offsets", hits)
	}
}
