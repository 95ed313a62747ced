package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestLogDataDriven runs the scripts of testdata/log: traces of a
// partition log under appends, rolls, reads, truncation, retention,
// DeleteRecords, clean and unclean restarts and power losses, with the
// whole state (offsets, segments, index entries, files) printed at the
// interesting points. Each script states at its top what it demonstrates.
//
// Commands (one log per script, in /data/t-0 of a MemFS; the clock starts
// at 1,000,000 ms):
//
//	open [segment-bytes=N] [index-interval=N] [segment-index-bytes=N]
//	     [flush-messages=N] [segment-ms=DURATION] [file-delete-delay=DURATION]
//	     [clean] [recovery-point=N] [start-offset=N]
//	    Opens the log. Config settings persist until changed. The
//	    recovery point and log start default to the values the log had
//	    when it was last closed or crashed, as the checkpoints would hold
//	    them (0 at first).
//	close | checkpoints
//	    checkpoints prints the recovery point and log start offset the
//	    checkpoint files would get now (from the open log, or as it was
//	    when it was closed).
//	append [epoch=N] [records=N] [batches=N] [ts=MS] [ts-deltas=(D,…)]
//	       [codec=none|gzip|snappy|lz4|zstd]
//	    A producer append (default 3 records, 1 batch, ts = the clock).
//	    Record i of the k-th batch the script builds has key "k<i>" and
//	    value "a<kkk>-<i>" (so an uncompressed batch is 61+15·records
//	    bytes).
//	append-follower base=N [epoch=N|epoch=(N,…)] [records=N] [batches=N] [ts=MS]
//	                [ts-deltas=…] [codec=…]
//	    A follower append of batches carrying offsets from base on and the
//	    given leader epochs (one per batch if several); values are
//	    "f<kkk>-<i>".
//	roll | sync | truncate-to offset=N | set-start-offset offset=N
//	retention [up-to=N] [retention-ms=N] [retention-bytes=N] [advance=DURATION]
//	    Sets retention.ms/bytes (persisting), advances the clock, and runs
//	    EnforceRetention(up-to, default the log end).
//	advance by=DURATION | reap [advance=DURATION]
//	crash [strict|seed=N] [recovery-point=N] [start-offset=N]
//	    Power loss (CrashCloneStrict, the default, or CrashClone seeded), then an unclean open of
//	    the clone with the recovery point and log start the log had. Prints
//	    the sizes of the .log files the power loss left.
//	read offset=N [max-bytes=N] [max-offset=N] [min-one]
//	offset-for-time ts=N | max-timestamp | epochs | end-offset-for epoch=N
//	values | print
//	reset
//	    Closes the log and starts over: a new file system, clock and
//	    configuration.
//
// Any command may carry known-bug=<id>: its expected output is what the
// log SHOULD print. While the output differs (the bug reproduces) the
// difference is logged and the case passes; once it matches, the test fails
// so that the marker is removed. Cases after a known-bug case must not
// depend on the buggy state it leaves behind: it is the last of its
// script, or followed by reset, or the difference cannot matter (the
// script says why).
func TestLogDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/log", func(t *testing.T, path string) {
		h := newDDLog(t)
		defer h.shutdown()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			h.t = t
			out := h.run(d)
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			if arg, ok := d.Arg("known-bug"); ok {
				bug := arg.SingleVal(t)
				if out == d.Expected {
					t.Errorf("%s: known bug %q no longer reproduces: remove the known-bug marker", d.Pos, bug)
					return out
				}
				t.Logf("%s: known bug %q reproduces; the log printed:\n%s", d.Pos, bug, out)
				return d.Expected
			}
			return out
		})
	})
}

// ddLog is the state of one script.
type ddLog struct {
	t     *testing.T
	fs    *vfs.MemFS
	clock *testClock
	cfg   Config
	l     *Log
	k     int   // batches built so far, for record values
	rp    int64 // recovery point "checkpoint"
	start int64 // log start offset "checkpoint"
}

const ddDir = "/data/t-0"

func newDDLog(t *testing.T) *ddLog {
	return &ddLog{
		t:     t,
		fs:    vfs.NewMem(),
		clock: &testClock{t: time.UnixMilli(1_000_000)},
		cfg:   DefaultConfig(),
	}
}

func (h *ddLog) shutdown() {
	if h.l != nil {
		h.l.Close()
		h.l = nil
	}
}

func (h *ddLog) run(d *datadriven.TestData) string {
	t := h.t
	if d.Cmd == "reset" {
		h.shutdown()
		*h = *newDDLog(t)
		return "ok"
	}
	if d.Cmd != "open" && d.Cmd != "checkpoints" && d.Cmd != "advance" && h.l == nil {
		d.Fatalf(t, "%s: no open log", d.Cmd)
	}
	switch d.Cmd {
	case "open":
		if h.l != nil {
			d.Fatalf(t, "open: the log is open")
		}
		return h.open(d, false)
	case "close":
		err := h.l.Close()
		h.checkpoint()
		h.l = nil
		return ddErrOr(err, "closed")
	case "checkpoints":
		if h.l != nil {
			h.checkpoint()
		}
		return fmt.Sprintf("recovery-point=%d log-start-offset=%d", h.rp, h.start)
	case "append":
		return h.append(d, false)
	case "append-follower":
		return h.append(d, true)
	case "roll":
		return ddErrOr(h.l.Roll(), h.summary())
	case "sync":
		return ddErrOr(h.l.Sync(), h.summary())
	case "truncate-to":
		var off int64
		d.ScanArgs(t, "offset", &off)
		return ddErrOr(h.l.TruncateTo(off), h.summary())
	case "set-start-offset":
		var off int64
		d.ScanArgs(t, "offset", &off)
		return ddErrOr(h.l.SetStartOffset(off), h.summary())
	case "retention":
		cfg := h.l.Config()
		var ms int64
		if d.MaybeScanArgs(t, "retention-ms", &ms) {
			cfg.RetentionAge = time.Duration(ms) * time.Millisecond
		}
		d.MaybeScanArgs(t, "retention-bytes", &cfg.RetentionBytes)
		if err := h.l.SetConfig(cfg); err != nil {
			d.Fatalf(t, "%v", err)
		}
		h.cfg = cfg
		h.advance(d, "advance")
		upTo := h.l.EndOffset()
		d.MaybeScanArgs(t, "up-to", &upTo)
		n, err := h.l.EnforceRetention(upTo)
		return ddErrOr(err, fmt.Sprintf("deleted %d segment(s)\n%s", n, h.summary()))
	case "advance":
		h.advance(d, "by")
		return fmt.Sprintf("now=%d", h.clock.now().UnixMilli())
	case "reap":
		h.advance(d, "advance")
		return ddErrOr(h.l.ReapDeleted(), "ok")
	case "crash":
		var clone *vfs.MemFS
		var seed uint64
		if d.MaybeScanArgs(t, "seed", &seed) {
			clone = h.fs.CrashClone(rand.New(rand.NewPCG(seed, 0x5eed)))
		} else {
			clone = h.fs.CrashCloneStrict()
		}
		h.checkpoint()
		h.l.Close() // the process that was running; its file system is gone
		h.l = nil
		h.fs = clone
		var b strings.Builder
		b.WriteString("power loss leaves:")
		ents, err := clone.ReadDir(ddDir)
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
		for _, e := range ents {
			if strings.HasSuffix(e.Name, logSuffix) {
				fmt.Fprintf(&b, " %s %d", e.Name, e.Size)
			}
		}
		return b.String() + "\n" + h.open(d, true)
	case "read":
		return h.read(d)
	case "offset-for-time":
		var ts int64
		d.ScanArgs(t, "ts", &ts)
		return ddTimestampOffset(h.l.OffsetForTimestamp(ts))
	case "max-timestamp":
		return ddTimestampOffset(h.l.MaxTimestamp())
	case "epochs":
		var b strings.Builder
		for _, e := range h.l.Epochs().Entries() {
			fmt.Fprintf(&b, "epoch %d start %d\n", e.Epoch, e.StartOffset)
		}
		if b.Len() == 0 {
			return "(none)"
		}
		return b.String()
	case "end-offset-for":
		var epoch int32
		d.ScanArgs(t, "epoch", &epoch)
		e, off := h.l.Epochs().EndOffsetFor(epoch, h.l.EndOffset())
		return fmt.Sprintf("epoch=%d end-offset=%d", e, off)
	case "values":
		vals, err := readValues(h.l)
		if err != nil {
			return "error: " + err.Error()
		}
		if len(vals) == 0 {
			return "(none)"
		}
		return strings.Join(vals, " ")
	case "print":
		return h.print()
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	}
}

// checkpoint records what the recovery-point and log-start checkpoints
// would hold now.
func (h *ddLog) checkpoint() {
	h.rp, h.start = h.l.RecoveryPoint(), h.l.StartOffset()
}

func (h *ddLog) advance(d *datadriven.TestData, key string) {
	var s string
	if d.MaybeScanArgs(h.t, key, &s) {
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.Fatalf(h.t, "%s: %v", key, err)
		}
		h.clock.advance(dur)
	}
}

func (h *ddLog) open(d *datadriven.TestData, crashed bool) string {
	t := h.t
	if !crashed {
		d.MaybeScanArgs(t, "segment-bytes", &h.cfg.SegmentBytes)
		d.MaybeScanArgs(t, "index-interval", &h.cfg.IndexIntervalBytes)
		d.MaybeScanArgs(t, "segment-index-bytes", &h.cfg.SegmentIndexBytes)
		d.MaybeScanArgs(t, "flush-messages", &h.cfg.FlushMessages)
		for key, dst := range map[string]*time.Duration{"file-delete-delay": &h.cfg.FileDeleteDelay, "segment-ms": &h.cfg.SegmentAge} {
			var s string
			if d.MaybeScanArgs(t, key, &s) {
				dur, err := time.ParseDuration(s)
				if err != nil {
					d.Fatalf(t, "%s: %v", key, err)
				}
				*dst = dur
			}
		}
	}
	rp, start := h.rp, h.start
	d.MaybeScanArgs(t, "recovery-point", &rp)
	d.MaybeScanArgs(t, "start-offset", &start)
	clean := !crashed && d.HasArg("clean")
	l, err := Open(OpenOptions{
		FS: h.fs, Dir: ddDir, TP: testTP, Config: h.cfg, Now: h.clock.now,
		CleanShutdown: clean, RecoveryPoint: rp, LogStartOffset: start,
	})
	if err != nil {
		return "error: " + err.Error()
	}
	h.l = l
	how := fmt.Sprintf("unclean, recovering from %d", rp)
	if clean {
		how = "clean"
	}
	return fmt.Sprintf("opened (%s; log start checkpoint %d)\n%s", how, start, h.summary())
}

func (h *ddLog) append(d *datadriven.TestData, follower bool) string {
	t := h.t
	records, batches := 3, 1
	ts := h.clock.now().UnixMilli()
	var epoch int32
	var base int64
	codec := record.CodecNone
	d.MaybeScanArgs(t, "records", &records)
	d.MaybeScanArgs(t, "batches", &batches)
	d.MaybeScanArgs(t, "ts", &ts)
	var epochs []int32 // a follower's batches may carry different epochs
	if arg, ok := d.Arg("epoch"); ok {
		for _, v := range arg.Vals {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				d.Fatalf(t, "epoch: %v", err)
			}
			epochs = append(epochs, int32(n))
		}
		epoch = epochs[0]
		if len(epochs) > 1 {
			if !follower {
				d.Fatalf(t, "epoch: one epoch for a producer append")
			}
			batches = len(epochs)
		}
	}
	if follower {
		d.ScanArgs(t, "base", &base)
	}
	var deltas []int64
	if arg, ok := d.Arg("ts-deltas"); ok {
		for _, v := range arg.Vals {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				d.Fatalf(t, "ts-deltas: %v", err)
			}
			deltas = append(deltas, n)
		}
		if !d.HasArg("records") {
			records = len(deltas)
		}
		if len(deltas) != records {
			d.Fatalf(t, "ts-deltas: %d deltas for %d records", len(deltas), records)
		}
	}
	if arg, ok := d.Arg("codec"); ok {
		name := arg.SingleVal(t)
		codec = -1
		for c := record.CodecNone; c <= record.CodecZstd; c++ {
			if c.String() == name {
				codec = c
			}
		}
		if codec < 0 {
			d.Fatalf(t, "unknown codec %q", name)
		}
	}
	var data []byte
	for bi := range batches {
		h.k++
		prefix := "a"
		if follower {
			prefix = "f"
		}
		tag := fmt.Sprintf("%s%03d", prefix, h.k)
		if codec == record.CodecNone && deltas == nil && !follower {
			data = append(data, batch(t, tag, records, ts)...) // the shared helper
			continue
		}
		b := record.NewBuilder(codec)
		b.BaseTimestamp = ts
		if follower {
			b.BaseOffset = base
			b.PartitionLeaderEpoch = epoch
			if len(epochs) > 1 {
				b.PartitionLeaderEpoch = epochs[bi]
			}
			base += int64(records)
		}
		for i := range records {
			var delta int64
			if deltas != nil {
				delta = deltas[i]
			}
			b.Append(int32(i), delta, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "%s-%d", tag, i))
		}
		var err error
		if data, err = b.Build(data); err != nil {
			d.Fatalf(t, "build: %v", err)
		}
	}
	res, err := h.l.Append(data, AppendOptions{LeaderEpoch: epoch, Follower: follower})
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("offsets %d..%d", res.FirstOffset, res.LastOffset)
}

func (h *ddLog) read(d *datadriven.TestData) string {
	t := h.t
	var offset int64
	maxBytes := 1 << 20
	maxOffset := int64(math.MaxInt64)
	d.ScanArgs(t, "offset", &offset)
	d.MaybeScanArgs(t, "max-bytes", &maxBytes)
	d.MaybeScanArgs(t, "max-offset", &maxOffset)
	res, err := h.l.Read(offset, maxBytes, maxOffset, d.HasArg("min-one"))
	if err != nil {
		return "error: " + err.Error()
	}
	defer res.Release()
	if res.Len == 0 {
		return "(empty)"
	}
	data, err := res.Bytes()
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first-offset=%d position=%d len=%d\n", res.FirstOffset, res.Position, res.Len)
	it := record.NewBatches(data)
	for it.Next() {
		hdr := it.Header()
		fmt.Fprintf(&b, "batch %d..%d epoch=%d max-ts=%d:", hdr.BaseOffset, hdr.LastOffset(), hdr.PartitionLeaderEpoch, hdr.MaxTimestamp)
		var recs record.Records
		if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
			fmt.Fprintf(&b, " error: %v\n", err)
			continue
		}
		for recs.Next() {
			fmt.Fprintf(&b, " %s", recs.Record().Value)
		}
		if err := recs.Err(); err != nil {
			fmt.Fprintf(&b, " error: %v", err)
		}
		recs.Close()
		b.WriteString("\n")
	}
	if it.Torn() {
		fmt.Fprintf(&b, "partial batch: %d bytes\n", len(data)-it.Offset())
	} else if it.Err() != nil {
		fmt.Fprintf(&b, "error: %v\n", it.Err())
	}
	return b.String()
}

func ddTimestampOffset(r TimestampOffset, ok bool, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case !ok:
		return "not found"
	}
	return fmt.Sprintf("offset=%d ts=%d", r.Offset, r.Timestamp)
}

func ddErrOr(err error, out string) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

// summary is the log's offsets on one line.
func (h *ddLog) summary() string {
	l := h.l
	return fmt.Sprintf("start=%d end=%d synced=%d recovery-point=%d segments=%d",
		l.StartOffset(), l.EndOffset(), l.SyncedOffset(), l.RecoveryPoint(), l.NumSegments())
}

// print dumps the log's state: offsets, every segment with its index
// entries, and the files of the partition directory.
func (h *ddLog) print() string {
	var b strings.Builder
	b.WriteString(h.summary())
	b.WriteString("\n")
	segs := h.l.segments()
	for i, s := range segs {
		state := "retired"
		switch {
		case i == len(segs)-1:
			state = "active"
		case s.file != nil:
			state = "rolled, not yet synced"
		}
		fmt.Fprintf(&b, "segment %d: size=%d next=%d max-ts=%d (%s)\n", s.base, s.size.Load(), s.nextOffset.Load(), s.maxTimestamp.Load(), state)
		b.WriteString("  index:")
		for j := 0; ; j++ {
			off, pos, ok := s.index.Entry(j)
			if !ok {
				break
			}
			fmt.Fprintf(&b, " %d@%d", off, pos)
		}
		b.WriteString("\n  timeindex:")
		for j := 0; ; j++ {
			ts, off, ok := s.timeIndex.Entry(j)
			if !ok {
				break
			}
			fmt.Fprintf(&b, " %d@%d", ts, off)
		}
		b.WriteString("\n")
	}
	ents, err := h.fs.ReadDir(ddDir)
	if err != nil {
		return b.String() + "error: " + err.Error()
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	b.WriteString("files:\n")
	for _, e := range ents {
		fmt.Fprintf(&b, "  %s %d\n", e.Name, e.Size)
	}
	return b.String()
}
