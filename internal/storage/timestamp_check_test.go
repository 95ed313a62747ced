package storage

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// TestTimestampBoundsFromKeys: message.timestamp.difference.max.ms, the
// deprecated key, stands in only for a bound left at its default, in
// whatever order the keys are set (a broker's defaults always carry it,
// at its own default).
func TestTimestampBoundsFromKeys(t *testing.T) {
	hour, day := "3600000", "86400000"
	forever := strconv.FormatInt(int64(^uint64(0)>>1), 10)
	for _, tc := range []struct {
		name          string
		keys          [][2]string
		before, after time.Duration
	}{
		{"before, then difference at its default", [][2]string{{KeyTimestampBeforeMaxMs, hour}, {KeyTimestampDifferenceMax, forever}}, time.Hour, Forever},
		{"difference at its default, then before", [][2]string{{KeyTimestampDifferenceMax, forever}, {KeyTimestampBeforeMaxMs, hour}}, time.Hour, Forever},
		{"before and difference", [][2]string{{KeyTimestampBeforeMaxMs, hour}, {KeyTimestampDifferenceMax, day}}, time.Hour, 24 * time.Hour},
		{"difference alone", [][2]string{{KeyTimestampDifferenceMax, day}}, 24 * time.Hour, 24 * time.Hour},
		{"after alone", [][2]string{{KeyTimestampAfterMaxMs, hour}}, Forever, time.Hour},
	} {
		cfg := DefaultConfig()
		for _, kv := range tc.keys {
			if _, err := cfg.SetTopicConfig(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if b, a := cfg.timestampBounds(); b != tc.before || a != tc.after {
			t.Errorf("%s: before %v after %v, want %v and %v", tc.name, b, a, tc.before, tc.after)
		}
	}
}

// TestTimestampBoundsOnAppend: a record older than before.max.ms or newer
// than after.max.ms is refused with INVALID_TIMESTAMP; a record without a
// timestamp (-1) is not judged, as in Kafka.
func TestTimestampBoundsOnAppend(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.TimestampBeforeMax, cfg.TimestampAfterMax = time.Hour, time.Hour
	l := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
	defer l.Close()
	now := clock.now().UnixMilli()
	for _, tc := range []struct {
		name string
		ts   int64
		ok   bool
	}{
		{"now", now, true},
		{"without a timestamp", -1, true},
		{"now and one without a timestamp", -2, true},
		{"two hours old and one without a timestamp", -3, false},
		{"two hours old", now - 2*time.Hour.Milliseconds(), false},
		{"two hours ahead", now + 2*time.Hour.Milliseconds(), false},
	} {
		data := batch(t, "v", 1, tc.ts)
		if tc.ts == -2 || tc.ts == -3 {
			b := record.NewBuilder(record.CodecNone)
			b.BaseTimestamp = now
			if tc.ts == -3 {
				b.BaseTimestamp = now - 2*time.Hour.Milliseconds()
			}
			b.Append(0, 0, []byte("k"), []byte("stamped"))
			b.Append(1, -1-b.BaseTimestamp, []byte("k"), []byte("unstamped"))
			var err error
			if data, err = b.Build(nil); err != nil {
				t.Fatal(err)
			}
		}
		_, err := l.Append(data, AppendOptions{LeaderEpoch: 0})
		if got := err == nil; got != tc.ok {
			t.Errorf("%s: append error %v, want accepted %t", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidTimestamp) {
			t.Errorf("%s: %v, want ErrInvalidTimestamp", tc.name, err)
		}
	}
}

// TestProducedLogAppendTimeStoredAsCreateTime: a producer's batch that
// claims LogAppendTime is stored as CreateTime, as Kafka stores it on a
// CreateTime topic, so each record keeps its own timestamp rather than
// all reading the batch's max.
func TestProducedLogAppendTimeStoredAsCreateTime(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	l := openTestLog(t, vfs.NewMem(), DefaultConfig(), clock, true, 0)
	defer l.Close()
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = clock.now().UnixMilli()
	b.TimestampType = record.LogAppendTime
	b.Append(0, 0, []byte("k"), []byte("first"))
	b.Append(1, 5, []byte("k"), []byte("second"))
	data, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(data, AppendOptions{LeaderEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	stored := readBytes(t, l, 0, 1<<20)
	h, err := record.ParseHeader(stored)
	if err != nil {
		t.Fatal(err)
	}
	if h.Attributes.TimestampType() != record.CreateTime || h.MaxTimestamp != b.BaseTimestamp+5 {
		t.Fatalf("stored batch: type %d, max timestamp %d, want CreateTime and %d", h.Attributes.TimestampType(), h.MaxTimestamp, b.BaseTimestamp+5)
	}
	if err := record.CheckCRC(stored); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedRecordsAreNamed: a batch refused for its timestamps, or for
// records without a key on a compacted topic, names every offending
// record, as Kafka's record errors do, and no other.
func TestRefusedRecordsAreNamed(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	now := clock.now().UnixMilli()
	build := func(keys [][]byte, deltas []int64) []byte {
		t.Helper()
		b := record.NewBuilder(record.CodecLZ4)
		b.BaseTimestamp = now
		for i := range keys {
			b.Append(int32(i), deltas[i], keys[i], []byte("v"))
		}
		data, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	indexes := func(err error) []int32 {
		t.Helper()
		var ae *AppendError
		if !errors.As(err, &ae) {
			t.Fatalf("%v is no AppendError", err)
		}
		var out []int32
		for _, re := range ae.Records {
			if re.BatchIndex != 0 || re.Message == "" {
				t.Fatalf("record error %+v", re)
			}
			out = append(out, re.Index)
		}
		return out
	}
	k := []byte("k")
	hour := time.Hour.Milliseconds()

	cfg := DefaultConfig()
	cfg.TimestampBeforeMax, cfg.TimestampAfterMax = time.Hour, time.Hour
	l := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
	defer l.Close()
	_, err := l.Append(build([][]byte{k, k, k, k, k}, []int64{0, -2 * hour, 0, 3 * hour, -1 - now}), AppendOptions{LeaderEpoch: 0})
	if !errors.Is(err, ErrInvalidTimestamp) {
		t.Fatalf("append: %v, want ErrInvalidTimestamp", err)
	}
	if got := indexes(err); !slices.Equal(got, []int32{1, 3}) {
		t.Fatalf("timestamp record errors name records %v, want [1 3] (the one without a timestamp is not judged)", got)
	}

	cfg = DefaultConfig()
	cfg.Compact = true
	lc := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
	defer lc.Close()
	_, err = lc.Append(build([][]byte{k, nil, k, nil, nil}, []int64{0, 0, 0, 0, 0}), AppendOptions{LeaderEpoch: 0})
	if !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("append: %v, want ErrInvalidRecord", err)
	}
	if got := indexes(err); !slices.Equal(got, []int32{1, 3, 4}) {
		t.Fatalf("null key record errors name records %v, want [1 3 4]", got)
	}
}

// TestLogAppendTime: on a LogAppendTime topic a produced batch, however
// old its timestamps (no bound is checked) and compressed, is stamped
// with the broker's clock in place: the attribute, the max timestamp and
// a new CRC, its records untouched; the append reports the time, and a
// lookup by time finds the records at it. A CreateTime append reports -1.
func TestLogAppendTime(t *testing.T) {
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	cfg.TimestampBeforeMax = time.Hour
	if _, err := cfg.SetTopicConfig("message.timestamp.type", "LogAppendTime"); err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
	defer l.Close()
	b := record.NewBuilder(record.CodecLZ4)
	b.BaseTimestamp = clock.now().Add(-48 * time.Hour).UnixMilli()
	b.Append(0, 0, []byte("k"), []byte("first"))
	b.Append(1, 5, []byte("k"), []byte("second"))
	data, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte(nil), data[record.HeaderSize:]...)
	res, err := l.Append(data, AppendOptions{LeaderEpoch: 0})
	if err != nil {
		t.Fatalf("append of two-day-old records: %v", err)
	}
	now := clock.now().UnixMilli()
	if res.LogAppendTime != now {
		t.Fatalf("append reports log append time %d, want %d", res.LogAppendTime, now)
	}
	stored := readBytes(t, l, 0, 1<<20)
	h, err := record.ParseHeader(stored)
	if err != nil {
		t.Fatal(err)
	}
	if h.Attributes.TimestampType() != record.LogAppendTime || h.MaxTimestamp != now || h.Attributes.Codec() != record.CodecLZ4 {
		t.Fatalf("stored batch: type %d, max timestamp %d, codec %d", h.Attributes.TimestampType(), h.MaxTimestamp, h.Attributes.Codec())
	}
	if err := record.CheckCRC(stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored[record.HeaderSize:], body) {
		t.Fatal("the records were rewritten")
	}
	if to, ok, err := l.OffsetForTimestamp(now); err != nil || !ok || to.Offset != 0 || to.Timestamp != now {
		t.Fatalf("lookup at the append time: %+v %t %v", to, ok, err)
	}

	if _, err := cfg.SetTopicConfig("message.timestamp.type", "CreateTime"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	b = record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = now
	b.Append(0, 0, []byte("k"), []byte("third"))
	data, err = b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := l.Append(data, AppendOptions{LeaderEpoch: 0}); err != nil || res.LogAppendTime != -1 {
		t.Fatalf("CreateTime append: %+v %v", res, err)
	}
}
