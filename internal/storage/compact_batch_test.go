package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/sluice-mq/sluice/internal/record"
)

// The compaction tests generate logs of random batches, compact them and
// compare the result with an oracle that knows, record by record, what a
// compacted log must hold: the latest record of every key, except
// tombstones whose batch's delete horizon has passed, plus everything in
// control and transactional batches, in batches that keep their offsets
// and producer metadata, a batch that keeps a tombstone getting a delete
// horizon if it has none.

// cbRec is one record of a generated log.
type cbRec struct {
	offset     int64
	key, value []byte
	headers    []record.RecordHeader
	createTS   int64 // BaseTimestamp + delta
	ts         int64 // as a consumer sees it
	batch      int   // index of its batch
}

type cbBatch struct {
	raw  []byte
	h    record.BatchHeader
	recs []int // indexes into cbLog.recs
	asIs bool  // control or transactional
}

type cbLog struct {
	raw          []byte
	batches      []cbBatch
	recs         []cbRec
	producerLast map[int64]int64
	minTS, maxTS int64 // of the batches' max timestamps
}

// cbTB is what the helpers need of a *testing.T, *testing.B, *testing.F
// or *rapid.T.
type cbTB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// cbGen draws from rapid when t is set (so failures shrink), from r
// otherwise (fuzz seeds, benchmarks).
type cbGen struct {
	t *rapid.T
	r *rand.Rand
}

func (g cbGen) intn(n int, label string) int {
	if g.t != nil {
		return rapid.IntRange(0, n-1).Draw(g.t, label)
	}
	return g.r.IntN(n)
}

var cbCodecs = []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLZ4, record.CodecZstd}

// cbGenLog generates a log of up to maxBatches batches over keys k0…k(keys-1):
// plain and idempotent batches in every codec, CreateTime and
// LogAppendTime, tombstones, null keys, gaps between and inside batches
// (as earlier compactions leave them), plus transactional batches (keys
// t0…t3) and control batches.
func cbGenLog(tb cbTB, g cbGen, maxBatches, keys int) *cbLog {
	l := &cbLog{producerLast: map[int64]int64{}}
	next := int64(g.intn(3, "firstOffset"))
	seq := map[int64]int32{}
	for bi := range 1 + g.intn(maxBatches, "batches") {
		kind := g.intn(10, "kind")
		codec := cbCodecs[g.intn(len(cbCodecs), "codec")]
		b := record.NewBuilder(codec)
		b.PartitionLeaderEpoch = int32(g.intn(3, "epoch"))
		b.BaseTimestamp = 1_000_000 + int64(bi)*100 + int64(g.intn(50, "baseTS"))
		if g.intn(5, "logAppendTime") == 0 {
			b.TimestampType = record.LogAppendTime
		}
		if g.intn(3, "gapBefore") == 0 {
			next += int64(1 + g.intn(3, "gap"))
		}
		b.BaseOffset = next
		var pid int64 = -1
		n := 1 + g.intn(6, "records")
		switch {
		case kind == 0: // transactional
			pid = 100
			b.Transactional = true
		case kind == 1: // a commit marker
			pid, n = 100, 1
			b.Transactional, b.Control = true, true
			codec, b.Codec = record.CodecNone, record.CodecNone
		case kind <= 4: // idempotent
			pid = int64(1 + g.intn(3, "pid"))
		}
		if pid >= 0 {
			b.ProducerID, b.ProducerEpoch, b.BaseSequence = pid, int16(pid), seq[pid]
		}
		var recs []cbRec
		delta := int32(0)
		for i := range n {
			if i > 0 {
				delta++
				if g.intn(4, "gapInside") == 0 {
					delta += int32(1 + g.intn(3, "gap"))
				}
			}
			r := cbRec{offset: b.BaseOffset + int64(delta), batch: bi}
			tsDelta := int64(g.intn(40, "tsDelta") - 10)
			switch {
			case b.Control:
				r.key = []byte{0, 0, 0, 1}
				r.value = []byte{0, 0, 0, 0, 0, 5}
			default:
				if g.intn(20, "nullKey") != 0 {
					r.key = fmt.Appendf(nil, "k%d", g.intn(keys, "key"))
					if b.Transactional {
						r.key = fmt.Appendf(nil, "t%d", g.intn(4, "txnKey"))
					}
				}
				switch g.intn(10, "value") {
				case 0, 1:
				case 2:
					r.value = []byte{}
				default:
					r.value = fmt.Appendf(nil, "v%d-%s", r.offset, bytes.Repeat([]byte("x"), g.intn(30, "valueLen")))
				}
				for h := range g.intn(3, "headers") {
					rh := record.RecordHeader{Key: fmt.Appendf(nil, "h%d", h)}
					if g.intn(3, "headerValue") != 0 {
						rh.Value = fmt.Appendf(nil, "hv%d", r.offset)
					}
					r.headers = append(r.headers, rh)
				}
			}
			r.createTS = b.BaseTimestamp + tsDelta
			b.Append(delta, tsDelta, r.key, r.value, r.headers...)
			recs = append(recs, r)
		}
		raw, err := b.Build(nil)
		if err != nil {
			tb.Fatal(err)
		}
		if !b.Control && g.intn(6, "lastDeltaBeyond") == 0 {
			// A batch whose last records an earlier pass removed.
			last := binary.BigEndian.Uint32(raw[hdrLastOffsetDelta:])
			binary.BigEndian.PutUint32(raw[hdrLastOffsetDelta:], last+uint32(1+g.intn(3, "beyond")))
		}
		if !b.Control && g.intn(12, "deleteHorizonBit") == 0 {
			a := binary.BigEndian.Uint16(raw[hdrAttributes:])
			binary.BigEndian.PutUint16(raw[hdrAttributes:], a|uint16(record.AttrDeleteHorizon))
		}
		if b.TimestampType == record.LogAppendTime {
			binary.BigEndian.PutUint64(raw[offMaxTimestamp:], uint64(b.BaseTimestamp+500))
		}
		if err := record.UpdateCRC(raw); err != nil {
			tb.Fatal(err)
		}
		h, err := record.ParseHeader(raw)
		if err != nil {
			tb.Fatal(err)
		}
		cb := cbBatch{raw: raw, h: h, asIs: b.Control || b.Transactional}
		for _, r := range recs {
			r.ts = r.createTS
			if b.TimestampType == record.LogAppendTime {
				r.ts = h.MaxTimestamp
			}
			cb.recs = append(cb.recs, len(l.recs))
			l.recs = append(l.recs, r)
		}
		if pid >= 0 && !b.Control {
			seq[pid] += h.LastOffsetDelta + 1
			if !b.Transactional {
				l.producerLast[pid] = h.LastOffset()
			}
		}
		if len(l.batches) == 0 {
			l.minTS, l.maxTS = h.MaxTimestamp, h.MaxTimestamp
		}
		l.minTS, l.maxTS = min(l.minTS, h.MaxTimestamp), max(l.maxTS, h.MaxTimestamp)
		l.batches = append(l.batches, cb)
		l.raw = append(l.raw, raw...)
		next = h.NextOffset()
	}
	// A producer that expired has no state to keep.
	if len(l.producerLast) > 0 && g.intn(4, "expire") == 0 {
		delete(l.producerLast, int64(1+g.intn(3, "expired")))
	}
	return l
}

// cbBuildMap puts the keys of the records of log at or above start, in
// order, skipping control batches; it reports whether it reached the end
// of the log before the map filled up.
func cbBuildMap(tb cbTB, m *offsetMap, log []byte, start int64) bool {
	var it record.Records
	defer it.Close()
	batches := record.NewBatches(log)
	for batches.Next() {
		b := batches.Batch()
		if h := batches.Header(); h.Attributes.IsControl() || h.LastOffset() < start {
			continue
		}
		if err := it.Reset(b, record.Options{}); err != nil {
			tb.Fatal(err)
		}
		for it.Next() {
			if key := it.Record().Key; key != nil && it.Offset() >= start && !m.put(key, it.Offset()) {
				return false
			}
		}
		if err := it.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := batches.Err(); err != nil {
		tb.Fatal(err)
	}
	return true
}

// survives is the oracle: which records a complete compaction at nowMs
// keeps.
func (l *cbLog) survives(nowMs int64) []bool {
	latest := map[string]int64{}
	for _, r := range l.recs {
		if !l.batches[r.batch].h.Attributes.IsControl() && r.key != nil {
			latest[string(r.key)] = r.offset
		}
	}
	keep := make([]bool, len(l.recs))
	for i, r := range l.recs {
		b := &l.batches[r.batch]
		keep[i] = b.asIs || r.key != nil &&
			(latest[string(r.key)] == r.offset && !(r.value == nil && b.horizonPassed(nowMs)))
	}
	return keep
}

// cbRead decodes every batch of log, checking each one whole (framing,
// CRC, records) and with franz-go's decoder.
func cbRead(tb cbTB, log []byte) ([]record.BatchHeader, [][]byte, []cbRec) {
	tb.Helper()
	var hs []record.BatchHeader
	var raws [][]byte
	var recs []cbRec
	var it record.Records
	defer it.Close()
	batches := record.NewBatches(log)
	for batches.Next() {
		b := batches.Batch()
		if _, err := record.Validate(b, record.Options{}); err != nil {
			tb.Fatalf("batch at byte %d is invalid: %v", batches.Offset(), err)
		}
		if err := it.Reset(b, record.Options{}); err != nil {
			tb.Fatal(err)
		}
		n := len(recs)
		for it.Next() {
			r := it.Record()
			c := cbRec{offset: it.Offset(), key: bytes.Clone(r.Key), value: bytes.Clone(r.Value),
				createTS: it.CreateTimestamp(), ts: it.Timestamp(), batch: len(hs)}
			for _, h := range r.Headers {
				c.headers = append(c.headers, record.RecordHeader{Key: bytes.Clone(h.Key), Value: bytes.Clone(h.Value)})
			}
			recs = append(recs, c)
		}
		if err := it.Err(); err != nil {
			tb.Fatal(err)
		}
		var kb kmsg.RecordBatch
		if err := kb.ReadFrom(b); err != nil {
			tb.Fatalf("franz-go cannot read the batch at byte %d: %v", batches.Offset(), err)
		}
		krecs, err := kfake.BatchRecords(kb)
		if err != nil || len(krecs) != len(recs)-n {
			tb.Fatalf("franz-go decodes %d records (%v), we %d", len(krecs), err, len(recs)-n)
		}
		for i, kr := range krecs {
			r := recs[n+i]
			if kb.FirstOffset+int64(kr.OffsetDelta) != r.offset || !bytes.Equal(kr.Key, r.key) ||
				(kr.Key == nil) != (r.key == nil) || !bytes.Equal(kr.Value, r.value) || (kr.Value == nil) != (r.value == nil) ||
				kb.FirstTimestamp+kr.TimestampDelta64 != r.createTS || len(kr.Headers) != len(r.headers) {
				tb.Fatalf("franz-go reads record %d of the batch at byte %d differently", i, batches.Offset())
			}
		}
		hs = append(hs, batches.Header())
		raws = append(raws, b)
	}
	if err := batches.Err(); err != nil {
		tb.Fatal(err)
	}
	return hs, raws, recs
}

// horizonPassed reports whether the batch carries a delete horizon at or
// before nowMs: its tombstones go.
func (b *cbBatch) horizonPassed(nowMs int64) bool {
	return b.h.Attributes.HasDeleteHorizon() && b.h.BaseTimestamp <= nowMs
}

// keepsTombstone reports whether batch bi keeps a tombstone by keep.
func (l *cbLog) keepsTombstone(bi int, keep []bool) bool {
	for _, ri := range l.batches[bi].recs {
		if keep[ri] && l.recs[ri].value == nil {
			return true
		}
	}
	return false
}

func cbSameBytes(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }

func cbSameRec(a, b *cbRec) bool {
	if a.offset != b.offset || !cbSameBytes(a.key, b.key) || !cbSameBytes(a.value, b.value) ||
		a.createTS != b.createTS || a.ts != b.ts || len(a.headers) != len(b.headers) {
		return false
	}
	for i := range a.headers {
		if !cbSameBytes(a.headers[i].Key, b.headers[i].Key) || !cbSameBytes(a.headers[i].Value, b.headers[i].Value) {
			return false
		}
	}
	return true
}

// cbCheck checks out, the compaction of l by d, against the oracle: the
// surviving records exactly, unchanged (timestamps included), in order;
// each input batch copied, rebuilt, emptied or dropped as it should be,
// with the delete horizon it should carry; and each producer's last
// batch present.
//
// After several passes (multiPass) two things may differ from one pass:
// a batch given a delete horizon by an earlier pass may have lost its
// tombstones since — to a later record of their key, or, when the new
// horizon is not after d.nowMs, to the horizon itself — and keeps the
// horizon; and an emptied batch keeps the max timestamp of its last
// rebuild.
func cbCheck(tb cbTB, l *cbLog, d *compactDecision, out []byte, multiPass bool) {
	tb.Helper()
	keep := l.survives(d.nowMs)
	hs, raws, got := cbRead(tb, out)
	setsHorizon := d.newHorizonMs != noHorizon
	passedOnRepeat := multiPass && setsHorizon && d.newHorizonMs <= d.nowMs
	if passedOnRepeat {
		present := map[int64]bool{}
		for _, r := range got {
			present[r.offset] = true
		}
		for i, r := range l.recs {
			if keep[i] && !present[r.offset] && r.key != nil && r.value == nil && !l.batches[r.batch].asIs {
				keep[i] = false
			}
		}
	}

	var want []cbRec
	for i := range l.recs {
		if keep[i] {
			want = append(want, l.recs[i])
		}
	}
	if len(got) != len(want) {
		tb.Fatalf("%d records survive, the oracle keeps %d", len(got), len(want))
	}
	for i := range got {
		if !cbSameRec(&got[i], &want[i]) {
			tb.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
		if i > 0 && got[i].offset <= got[i-1].offset {
			tb.Fatalf("offsets not increasing: %d after %d", got[i].offset, got[i-1].offset)
		}
	}

	// Every key reads as its latest value, or is gone if that was a
	// tombstone past its horizon.
	last := map[string]cbRec{}
	for _, r := range l.recs {
		if r.key != nil && !l.batches[r.batch].asIs {
			last[string(r.key)] = r
		}
	}
	gotLast := map[string]cbRec{}
	for _, r := range got {
		if r.key != nil && !bytes.HasPrefix(r.key, []byte("t")) && !bytes.Equal(r.key, []byte{0, 0, 0, 1}) {
			gotLast[string(r.key)] = r
		}
	}
	for k, r := range last {
		g, ok := gotLast[k]
		gone := r.value == nil && (l.batches[r.batch].horizonPassed(d.nowMs) || (passedOnRepeat && !ok))
		if ok == gone || (ok && (g.offset != r.offset || !cbSameBytes(g.value, r.value))) {
			tb.Fatalf("key %q reads %+v (present %v), latest written %+v", k, g, ok, r)
		}
	}

	// Batch by batch.
	j := 0
	for bi := range l.batches {
		in := &l.batches[bi]
		kept := 0
		for _, ri := range in.recs {
			if keep[ri] {
				kept++
			}
		}
		hadHorizon := in.h.Attributes.HasDeleteHorizon()
		getsHorizon := !in.asIs && !hadHorizon && setsHorizon && l.keepsTombstone(bi, keep)
		pl, isLast := l.producerLast[in.h.ProducerID]
		isLast = isLast && pl == in.h.LastOffset() && !in.asIs
		if kept == 0 && !isLast && !in.asIs {
			if j < len(hs) && hs[j].BaseOffset == in.h.BaseOffset {
				tb.Fatalf("batch %d (base offset %d) should be dropped", bi, in.h.BaseOffset)
			}
			continue
		}
		if j == len(hs) {
			tb.Fatalf("batch %d (base offset %d) is missing", bi, in.h.BaseOffset)
		}
		h := hs[j]
		if in.asIs || (kept == len(in.recs) && !getsHorizon) {
			if !bytes.Equal(raws[j], in.raw) {
				tb.Fatalf("batch %d should be copied byte for byte", bi)
			}
			j++
			continue
		}
		if h.BaseOffset != in.h.BaseOffset || h.LastOffsetDelta != in.h.LastOffsetDelta ||
			h.PartitionLeaderEpoch != in.h.PartitionLeaderEpoch || h.ProducerID != in.h.ProducerID ||
			h.ProducerEpoch != in.h.ProducerEpoch || h.BaseSequence != in.h.BaseSequence || h.NumRecords != int32(kept) {
			tb.Fatalf("batch %d: header %+v, from %+v with %d records kept", bi, h, in.h, kept)
		}
		if kept == 0 {
			// Kafka's empty batch: no codec, no base timestamp.
			maxOK := h.MaxTimestamp == in.h.MaxTimestamp
			if multiPass && in.h.Attributes.TimestampType() == record.CreateTime {
				maxOK = h.MaxTimestamp <= in.h.MaxTimestamp
			}
			if len(raws[j]) != record.HeaderSize || h.Attributes != in.h.Attributes&record.AttrLogAppendTime ||
				h.BaseTimestamp != -1 || !maxOK {
				tb.Fatalf("batch %d: empty batch %+v from %+v", bi, h, in.h)
			}
			j++
			continue
		}
		// An earlier pass may have given it a horizon for a tombstone
		// that is gone now.
		if multiPass && !hadHorizon && !getsHorizon && setsHorizon && h.Attributes.HasDeleteHorizon() {
			getsHorizon = true
		}
		wantAttrs := in.h.Attributes
		if getsHorizon {
			wantAttrs |= record.AttrDeleteHorizon
		}
		if h.Attributes != wantAttrs {
			tb.Fatalf("batch %d: attributes %#x, want %#x (were %#x)", bi, h.Attributes, wantAttrs, in.h.Attributes)
		}
		var first, maxTS int64 = 0, -1 << 63
		for _, r := range got {
			if r.batch == j {
				if maxTS == -1<<63 {
					first = r.createTS
				}
				maxTS = max(maxTS, r.createTS)
			}
		}
		if in.h.Attributes.TimestampType() == record.LogAppendTime {
			maxTS = in.h.MaxTimestamp
		}
		switch {
		case hadHorizon:
			first = in.h.BaseTimestamp
		case getsHorizon:
			first = d.newHorizonMs
		}
		if h.BaseTimestamp != first || h.MaxTimestamp != maxTS {
			tb.Fatalf("batch %d: timestamps %d/%d, want %d/%d", bi, h.BaseTimestamp, h.MaxTimestamp, first, maxTS)
		}
		j++
	}
	if j != len(hs) {
		tb.Fatalf("%d batches written, %d expected", len(hs), j)
	}
}

// cbHorizons counts the batches one pass of d gives a delete horizon.
func cbHorizons(l *cbLog, d *compactDecision) int64 {
	if d.newHorizonMs == noHorizon {
		return 0
	}
	keep := l.survives(d.nowMs)
	var n int64
	for bi, b := range l.batches {
		if !b.asIs && !b.h.Attributes.HasDeleteHorizon() && l.keepsTombstone(bi, keep) {
			n++
		}
	}
	return n
}

// cbDecision draws a pass's time within the log's timestamps (or past
// them, or before them), the delete horizon it gives batches (none, the
// pass's time itself, or later), and a map.
func cbDecision(g cbGen, l *cbLog, m *offsetMap) *compactDecision {
	d := &compactDecision{m: m, nowMs: cbHorizon(g, l), newHorizonMs: noHorizon, keepProducerLast: l.producerLast}
	switch g.intn(4, "retention") {
	case 0:
	case 1:
		d.newHorizonMs = d.nowMs
	default:
		d.newHorizonMs = d.nowMs + int64(1+g.intn(1000, "retentionMs"))
	}
	return d
}

// cbHorizon draws a delete horizon within the log's timestamps (or past
// them, or before them).
func cbHorizon(g cbGen, l *cbLog) int64 {
	return l.minTS - 1 + int64(g.intn(int(l.maxTS-l.minTS)+3, "horizon"))
}

func TestCompactBatchesOracle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := cbGen{t: t}
		l := cbGenLog(t, g, 30, 1+g.intn(12, "keys"))
		m := newOffsetMap(1<<16, 0.9)
		if !cbBuildMap(t, m, l.raw, 0) {
			t.Fatal("map filled up")
		}
		d := cbDecision(g, l, m)
		prefix := []byte("prefix")
		out, st, err := compactBatches(bytes.Clone(prefix), l.raw, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, prefix) {
			t.Fatal("dst was overwritten")
		}
		out = out[len(prefix):]
		cbCheck(t, l, d, out, false)

		// The stats add up.
		keep := l.survives(d.nowMs)
		var kept, removed, nullKeys int64
		latest := map[string]int64{}
		for _, r := range l.recs {
			if r.key != nil {
				latest[string(r.key)] = r.offset
			}
		}
		for i, r := range l.recs {
			switch {
			case keep[i]:
				kept++
			case r.key == nil:
				nullKeys++
			case r.value == nil && latest[string(r.key)] == r.offset:
				removed++
			}
		}
		if st.recordsRead != int64(len(l.recs)) || st.recordsKept != kept || st.tombstonesRemoved != removed || st.nullKeysRemoved != nullKeys ||
			st.horizonsSet != cbHorizons(l, d) ||
			st.bytesRead != int64(len(l.raw)) || st.bytesWritten != int64(len(out)) ||
			st.batchesRead != int64(len(l.batches)) ||
			st.batchesCopied+st.batchesRebuilt+st.batchesEmptied+st.batchesDropped != st.batchesRead {
			t.Fatalf("stats %+v: %d records, %d kept, %d tombstones removed, %d → %d bytes", st, len(l.recs), kept, removed, len(l.raw), len(out))
		}

		// Cleaning the log in two parts, as two segments, gives the
		// same bytes and the same totals.
		cut := len(l.batches[0].raw)
		if len(l.batches) > 2 {
			cut = 0
			for _, b := range l.batches[:len(l.batches)/2] {
				cut += len(b.raw)
			}
		}
		part, st1, err := compactBatches(nil, l.raw[:cut], d)
		if err != nil {
			t.Fatal(err)
		}
		part, st2, err := compactBatches(part, l.raw[cut:], d)
		if err != nil {
			t.Fatal(err)
		}
		st1.add(st2)
		if !bytes.Equal(part, out) || st1 != st {
			t.Fatalf("in two parts: stats %+v, whole %+v", st1, st)
		}

		// Passes over the result reach a fixed point at once, unless the
		// horizon the first gave is not after the pass's time, so that
		// the next lets those tombstones go; either way the result stays
		// correct.
		cur := out
		for pass := 1; ; pass++ {
			m.reset()
			cbBuildMap(t, m, cur, 0)
			again, st, err := compactBatches(nil, cur, d)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, cur) {
				break
			}
			if st.tombstonesRemoved == 0 || d.newHorizonMs > d.nowMs || pass > 6 {
				t.Fatalf("pass %d changed the compacted log (stats %+v)", pass, st)
			}
			cbCheck(t, l, d, again, true)
			cur = again
		}
	})
}

// TestCompactBatchesGeneratorReach checks that the generated logs reach
// every case the oracle tests are meant to cover.
func TestCompactBatchesGeneratorReach(t *testing.T) {
	var total compactStats
	var lat, horizonBit, multi int
	for seed := range uint64(300) {
		g := cbGen{r: rand.New(rand.NewPCG(seed, 7))}
		l := cbGenLog(t, g, 30, 1+g.intn(12, "keys"))
		m := newOffsetMap(1<<16, 0.9)
		cbBuildMap(t, m, l.raw, 0)
		out, st, err := compactBatches(nil, l.raw, cbDecision(g, l, m))
		if err != nil {
			t.Fatal(err)
		}
		total.add(st)
		hs, _, _ := cbRead(t, out)
		for _, h := range hs {
			for _, in := range l.batches {
				if in.h.BaseOffset == h.BaseOffset && h.NumRecords > 0 && h.NumRecords < in.h.NumRecords {
					if h.Attributes.TimestampType() == record.LogAppendTime {
						lat++
					}
					if h.Attributes.HasDeleteHorizon() {
						horizonBit++
					}
				}
			}
		}
		small := newOffsetMap(4*offsetSlotSize, 0.9)
		if !cbBuildMap(t, small, l.raw, 0) {
			multi++
		}
	}
	if total.batchesCopied == 0 || total.batchesRebuilt == 0 || total.batchesEmptied == 0 || total.batchesDropped == 0 ||
		total.tombstonesRemoved == 0 || total.horizonsSet == 0 || lat == 0 || horizonBit == 0 || multi < 100 {
		t.Fatalf("stats %+v, %d rebuilt LogAppendTime batches, %d with a delete horizon, %d logs a small map cannot cover",
			total, lat, horizonBit, multi)
	}
}

// TestCompactBatchesMultiPass cleans with a map too small for the log, as
// the cleaner does: each pass indexes from where the previous one stopped
// until the map is full, then cleans the whole log with it. Records above
// the map's latest offset must survive each pass, and once the passes have
// covered the log the result is what one big pass gives (up to the
// tombstones and timestamps cbCheck allows for).
func TestCompactBatchesMultiPass(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := cbGen{t: t}
		l := cbGenLog(t, g, 40, 1+g.intn(20, "keys"))
		m := newOffsetMap((2+g.intn(10, "slots"))*offsetSlotSize, 0.9)
		d := cbDecision(g, l, m)

		passes := func(log []byte) ([]byte, int) {
			start, n := int64(0), 0
			for {
				n++
				m.reset()
				done := cbBuildMap(t, m, log, start)
				out, _, err := compactBatches(nil, log, d)
				if err != nil {
					t.Fatal(err)
				}
				hsBefore, _, before := cbRead(t, log)
				_, _, after := cbRead(t, out)
				var tail []cbRec
				for _, r := range after {
					if r.offset > m.latestOffset() {
						tail = append(tail, r)
					}
				}
				k := 0
				for _, r := range before {
					asIs := hsBefore[r.batch].Attributes.IsControl() || hsBefore[r.batch].Attributes.IsTransactional()
					if r.key == nil && !asIs {
						continue // records without a key go in every pass
					}
					if r.offset > m.latestOffset() {
						if k == len(tail) || !cbSameRec(&r, &tail[k]) {
							t.Fatalf("pass %d: record at %d above the map's latest offset %d was not kept", n, r.offset, m.latestOffset())
						}
						k++
					}
				}
				if k != len(tail) {
					t.Fatalf("pass %d: records above the map's latest offset %d appeared", n, m.latestOffset())
				}
				log = out
				if done {
					return log, n
				}
				start = m.latestOffset() + 1
			}
		}
		out, n := passes(l.raw)
		distinct := map[string]bool{}
		for _, r := range l.recs {
			if r.key != nil && !l.batches[r.batch].h.Attributes.IsControl() {
				distinct[string(r.key)] = true
			}
		}
		if len(distinct) > m.capacity() && n < 2 {
			t.Fatalf("a map of %d keys indexed %d keys in one pass", m.capacity(), len(distinct))
		}
		cbCheck(t, l, d, out, true)
		// Sweeping the clean log again reaches a fixed point, and it is
		// still correct.
		for sweep := 1; ; sweep++ {
			again, _ := passes(out)
			if bytes.Equal(again, out) {
				break
			}
			if sweep > 6 {
				t.Fatal("cleaning the compacted log again keeps changing it")
			}
			cbCheck(t, l, d, again, true)
			out = again
		}
	})
}

// cbOneBatch builds one uncompressed batch with the given keys (a nil
// entry is a null key) and values ("" → tombstone).
func cbOneBatch(t *testing.T, codec record.Codec, base int64, keys []string, values []string, edit func(*record.Builder)) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	b.BaseOffset, b.BaseTimestamp = base, 5000
	if edit != nil {
		edit(b)
	}
	for i, k := range keys {
		var v []byte
		if values[i] != "" {
			v = []byte(values[i])
		}
		b.Append(int32(i), int64(10*i), []byte(k), v)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompactBatchesProducerLastBatch(t *testing.T) {
	idem := func(b *record.Builder) {
		b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.PartitionLeaderEpoch = 7, 3, 40, 2
	}
	src := cbOneBatch(t, record.CodecZstd, 100, []string{"a", "b", "c"}, []string{"1", "2", "3"}, idem)
	src = append(src, cbOneBatch(t, record.CodecNone, 103, []string{"a", "b", "c"}, []string{"4", "5", "6"}, nil)...)
	m := newOffsetMap(1<<12, 0.9)
	cbBuildMap(t, m, src, 0)

	for _, tc := range []struct {
		name string
		last map[int64]int64
		kept bool
	}{
		{"last batch", map[int64]int64{7: 102}, true},
		{"not its last batch", map[int64]int64{7: 500}, false},
		{"expired producer", nil, false},
	} {
		out, st, err := compactBatches(nil, src, &compactDecision{m: m, keepProducerLast: tc.last})
		if err != nil {
			t.Fatal(err)
		}
		hs, _, recs := cbRead(t, out)
		if len(recs) != 3 || recs[0].offset != 103 {
			t.Fatalf("%s: %d records survive", tc.name, len(recs))
		}
		if !tc.kept {
			if len(hs) != 1 || st.batchesDropped != 1 {
				t.Fatalf("%s: %d batches, stats %+v", tc.name, len(hs), st)
			}
			continue
		}
		h := hs[0]
		want := record.BatchHeader{BaseOffset: 100, BatchLength: record.MinBatchLength, PartitionLeaderEpoch: 2, Magic: 2,
			CRC: h.CRC, LastOffsetDelta: 2, BaseTimestamp: -1, MaxTimestamp: 5020, ProducerID: 7, ProducerEpoch: 3, BaseSequence: 40}
		if len(hs) != 2 || h != want || st.batchesEmptied != 1 {
			t.Fatalf("%s: empty batch %+v, want %+v; stats %+v", tc.name, h, want, st)
		}
	}
}

func TestCompactBatchesTimestamps(t *testing.T) {
	// Record timestamps 5000, 5010, 5020, 5030; the first and last are
	// superseded.
	for _, lat := range []bool{false, true} {
		src := cbOneBatch(t, record.CodecLZ4, 0, []string{"a", "b", "c", "d"}, []string{"1", "2", "3", "4"}, func(b *record.Builder) {
			if lat {
				b.TimestampType = record.LogAppendTime
			}
		})
		if lat {
			if err := setMaxTimestamp(src, 9999); err != nil {
				t.Fatal(err)
			}
		}
		src = append(src, cbOneBatch(t, record.CodecNone, 4, []string{"a", "d"}, []string{"5", "6"}, nil)...)
		m := newOffsetMap(1<<12, 0.9)
		cbBuildMap(t, m, src, 0)
		out, _, err := compactBatches(nil, src, &compactDecision{m: m})
		if err != nil {
			t.Fatal(err)
		}
		hs, _, recs := cbRead(t, out)
		h := hs[0]
		wantMax := int64(5020)
		if lat {
			wantMax = 9999
		}
		if h.Attributes.Codec() != record.CodecLZ4 || h.NumRecords != 2 || h.LastOffsetDelta != 3 ||
			h.BaseTimestamp != 5010 || h.MaxTimestamp != wantMax {
			t.Fatalf("log append time %v: rebuilt header %+v", lat, h)
		}
		if recs[0].offset != 1 || recs[0].createTS != 5010 || recs[1].offset != 2 || recs[1].createTS != 5020 {
			t.Fatalf("log append time %v: records %+v", lat, recs[:2])
		}
	}
}

// TestCompactBatchesTombstones follows a tombstone through passes: the
// first keeps it however old its timestamp, giving its batch a delete
// horizon, and it goes at the first pass at or after that horizon.
func TestCompactBatchesTombstones(t *testing.T) {
	// "a" is deleted at offset 1; "b"'s tombstone at 2 is superseded.
	// Record timestamps are 5000, 5010, 5020, 5030.
	src := cbOneBatch(t, record.CodecGzip, 0, []string{"a", "a", "b", "b"}, []string{"1", "", "", "2"}, nil)
	m := newOffsetMap(1<<12, 0.9)
	cbBuildMap(t, m, src, 0)
	type recTS struct{ off, ts int64 }
	pass := func(src []byte, now, horizon int64) ([]byte, record.BatchHeader, []recTS, compactStats) {
		t.Helper()
		out, st, err := compactBatches(nil, src, &compactDecision{m: m, nowMs: now, newHorizonMs: horizon})
		if err != nil {
			t.Fatal(err)
		}
		hs, _, recs := cbRead(t, out)
		var got []recTS
		for _, r := range recs {
			got = append(got, recTS{r.offset, r.createTS})
		}
		var h record.BatchHeader
		if len(hs) > 0 {
			h = hs[0]
		}
		return out, h, got, st
	}

	// Long after the records' timestamps, the first pass keeps the
	// tombstone and sets the horizon: the base timestamp is the
	// horizon, every record keeps its timestamp.
	first, h, got, st := pass(src, 1_000_000, 1_000_000+60_000)
	if fmt.Sprint(got) != fmt.Sprint([]recTS{{1, 5010}, {3, 5030}}) || st.tombstonesRemoved != 0 || st.horizonsSet != 1 {
		t.Fatalf("first pass: records %v, stats %+v", got, st)
	}
	if !h.Attributes.HasDeleteHorizon() || h.Attributes.Codec() != record.CodecGzip || h.BaseTimestamp != 1_060_000 || h.MaxTimestamp != 5030 {
		t.Fatalf("first pass: header %+v", h)
	}
	// Before the horizon the batch is left as it is; at it the tombstone
	// goes, and the batch keeps its horizon.
	again, _, _, st := pass(first, 1_059_999, 1_059_999+60_000)
	if !bytes.Equal(again, first) || st.horizonsSet != 0 {
		t.Fatalf("a pass before the horizon changed the batch (stats %+v)", st)
	}
	_, h, got, st = pass(first, 1_060_000, 1_060_000+60_000)
	if fmt.Sprint(got) != fmt.Sprint([]recTS{{3, 5030}}) || st.tombstonesRemoved != 1 ||
		!h.Attributes.HasDeleteHorizon() || h.BaseTimestamp != 1_060_000 || h.MaxTimestamp != 5030 {
		t.Fatalf("at the horizon: records %v, header %+v, stats %+v", got, h, st)
	}

	// With delete.retention.ms forever no horizon is set and the
	// tombstone stays.
	_, h, got, st = pass(src, 1_000_000, noHorizon)
	if fmt.Sprint(got) != fmt.Sprint([]recTS{{1, 5010}, {3, 5030}}) || h.Attributes.HasDeleteHorizon() || h.BaseTimestamp != 5010 || st.horizonsSet != 0 {
		t.Fatalf("retained for ever: records %v, header %+v, stats %+v", got, h, st)
	}

	// A batch whose records all survive is rebuilt to carry the
	// horizon, not copied.
	whole := cbOneBatch(t, record.CodecNone, 10, []string{"c", "d"}, []string{"", "4"}, nil)
	m.reset()
	cbBuildMap(t, m, whole, 0)
	_, h, got, st = pass(whole, 1_000_000, 2_000_000)
	if fmt.Sprint(got) != fmt.Sprint([]recTS{{10, 5000}, {11, 5010}}) || st.batchesRebuilt != 1 ||
		!h.Attributes.HasDeleteHorizon() || h.BaseTimestamp != 2_000_000 || h.MaxTimestamp != 5010 {
		t.Fatalf("whole batch: records %v, header %+v, stats %+v", got, h, st)
	}
}

func TestCompactBatchesCorrupt(t *testing.T) {
	good := cbOneBatch(t, record.CodecNone, 0, []string{"a", "b"}, []string{"1", "2"}, nil)
	good = append(good, cbOneBatch(t, record.CodecSnappy, 2, []string{"a", "c"}, []string{"3", "4"}, nil)...)
	m := newOffsetMap(1<<12, 0.9)
	cbBuildMap(t, m, good, 0)
	second := int(binary.BigEndian.Uint32(good[8:])) + record.LengthFieldEnd

	withCRC := func(b []byte) []byte {
		if err := record.UpdateCRC(b[second:]); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		src  func() []byte
		want error
		opts int64
	}{
		{"bad crc", func() []byte { b := bytes.Clone(good); b[len(b)-3] ^= 1; return b }, record.ErrCorrupt, 0},
		{"truncated", func() []byte { return good[:len(good)-1] }, record.ErrTruncated, 0},
		{"torn header", func() []byte { return good[:second+10] }, record.ErrTruncated, 0},
		{"legacy", func() []byte { b := bytes.Clone(good); b[second+16] = 1; return b }, record.ErrLegacyFormat, 0},
		{"bad record", func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[second+57:], 1) // one record claimed, two follow
			return withCRC(b)
		}, record.ErrCorrupt, 0},
		{"unknown codec", func() []byte {
			b := bytes.Clone(good)
			b[second+22] |= 6
			return withCRC(b)
		}, record.ErrUnsupportedCompression, 0},
		{"decompression bound", func() []byte { return good }, record.ErrDecompressLimit, 8},
	} {
		dst := []byte("keep")
		out, _, err := compactBatches(dst, tc.src(), &compactDecision{m: m, maxDecompressedBytes: tc.opts})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst became %q", tc.name, out)
		}
	}

	// No map: nothing is indexed, everything is kept as is.
	out, st, err := compactBatches(nil, good, &compactDecision{})
	if err != nil || !bytes.Equal(out, good) || st.batchesCopied != 2 {
		t.Fatalf("without a map: %v, stats %+v", err, st)
	}
	if out, _, err := compactBatches(nil, nil, &compactDecision{m: m}); err != nil || len(out) != 0 {
		t.Fatalf("empty input: %q, %v", out, err)
	}
}

// FuzzCompactBatches compacts arbitrary bytes: it must never panic, and
// when it succeeds every batch it writes must be valid. With fixCRC the
// CRC of every framed batch is made right first, so the mutations reach
// the records and the rebuilding.
func FuzzCompactBatches(f *testing.F) {
	for seed := range uint64(8) {
		l := cbGenLog(f, cbGen{r: rand.New(rand.NewPCG(seed, 1))}, 6, 4)
		f.Add(l.raw, seed%2 == 0, int64(1_000_300))
	}
	f.Add([]byte{}, false, int64(0))
	// A control batch whose records do not decode: it is not copied.
	f.Add([]byte("00000000\x00\x00\x00\x8c0000\x02"+strings.Repeat("0", 135)), true, int64(0))
	f.Fuzz(func(t *testing.T, src []byte, fixCRC bool, horizon int64) {
		if fixCRC {
			src = bytes.Clone(src)
			for rest := src; ; {
				n, err := record.BatchSize(rest)
				if err != nil {
					break
				}
				_ = record.UpdateCRC(rest[:n])
				rest = rest[n:]
			}
		}
		// Index what can be indexed; the map may stop part way.
		m := newOffsetMap(64*offsetSlotSize, 0.9)
		last := map[int64]int64{}
		var it record.Records
		batches := record.NewBatches(src)
	index:
		for batches.Next() {
			h := batches.Header()
			if h.ProducerID >= 0 {
				last[h.ProducerID] = h.LastOffset()
			}
			if it.Reset(batches.Batch(), record.Options{MaxDecompressedBytes: 1 << 20}) != nil {
				continue
			}
			for it.Next() {
				if k := it.Record().Key; k != nil && !m.put(k, it.Offset()) {
					break index
				}
			}
		}
		it.Close()
		d := &compactDecision{m: m, nowMs: horizon, newHorizonMs: noHorizon, keepProducerLast: last, maxDecompressedBytes: 1 << 20}
		if fixCRC && horizon < noHorizon-1000 {
			d.newHorizonMs = horizon + 1000
		}
		out, st, err := compactBatches(nil, src, d)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("error %v with %d bytes written", err, len(out))
			}
			return
		}
		if st.bytesWritten != int64(len(out)) || st.bytesRead != int64(len(src)) {
			t.Fatalf("stats %+v for %d → %d bytes", st, len(src), len(out))
		}
		var n int64
		ob := record.NewBatches(out)
		for ob.Next() {
			s, err := record.Validate(ob.Batch(), record.Options{MaxDecompressedBytes: 1 << 20})
			if err != nil {
				t.Fatalf("written batch at byte %d is invalid: %v", ob.Offset(), err)
			}
			n += int64(s.Header.NumRecords)
		}
		if ob.Err() != nil || n != st.recordsKept {
			t.Fatalf("output: %v, %d records, stats %+v", ob.Err(), n, st)
		}
	})
}

// cbBenchLog builds size bytes of batches of 16 records of 1 KiB, whose
// keys are drawn from size/1KiB/10 keys: about 10% of the records are
// their key's latest.
func cbBenchLog(b *testing.B, codec record.Codec, size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	const recSize, perBatch = 1 << 10, 16
	nrec := size / recSize
	nkeys := nrec / 10
	out := make([]byte, 0, size+size/8)
	bl := record.NewBuilder(codec)
	val := make([]byte, recSize-32)
	for off := 0; off < nrec; off += perBatch {
		bl.Reset()
		bl.BaseOffset, bl.BaseTimestamp = int64(off), 1_700_000_000_000+int64(off)
		for i := range perBatch {
			// Half random, half text: lz4 halves it, as it does JSON.
			for j := 0; j < len(val)/2; j += 8 {
				binary.LittleEndian.PutUint64(val[j:], r.Uint64())
			}
			for j := len(val) / 2; j < len(val); j++ {
				val[j] = "the quick brown fox "[j%20]
			}
			bl.Append(int32(i), int64(i), fmt.Appendf(nil, "key-%016d", r.IntN(nkeys)), val)
		}
		var err error
		if out, err = bl.Build(out); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// BenchmarkCompactBatches cleans 64 MiB of 1 KiB records of which 10% are
// live, uncompressed and lz4; MB/s is of the input.
func BenchmarkCompactBatches(b *testing.B) {
	for _, codec := range []record.Codec{record.CodecNone, record.CodecLZ4} {
		b.Run(codec.String(), func(b *testing.B) {
			src := cbBenchLog(b, codec, 64<<20)
			m := newOffsetMap(4<<20, 0.9)
			if !cbBuildMap(b, m, src, 0) {
				b.Fatal("map filled up")
			}
			d := &compactDecision{m: m}
			dst := make([]byte, 0, len(src))
			var st compactStats
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				var err error
				if dst, st, err = compactBatches(dst[:0], src, d); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.recordsKept)/float64(st.recordsRead), "kept/read")
			b.ReportMetric(float64(len(src))/(1<<20), "in-MiB")
			b.ReportMetric(float64(st.bytesWritten)/(1<<20), "out-MiB")
		})
	}
}
