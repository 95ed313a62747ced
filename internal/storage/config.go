package storage

import (
	"fmt"
	"math"
	"time"
)

// Config is the configuration of one partition log: Kafka's topic-level
// keys (segment.bytes, retention.ms, flush.messages, …) with durations as
// time.Duration. A zero Config is invalid; start from DefaultConfig.
type Config struct {
	// SegmentBytes rolls the active segment once it would exceed this size
	// (segment.bytes).
	SegmentBytes int64
	// SegmentAge rolls a segment whose first batch is older (segment.ms).
	SegmentAge time.Duration
	// SegmentIndexBytes bounds each index file; a full index rolls the
	// segment (segment.index.bytes).
	SegmentIndexBytes int
	// IndexIntervalBytes is the spacing of offset index entries
	// (index.interval.bytes).
	IndexIntervalBytes int
	// RetentionAge deletes segments whose newest record is older;
	// negative keeps them forever (retention.ms).
	RetentionAge time.Duration
	// RetentionBytes deletes the oldest segments while the log is larger;
	// negative means no limit (retention.bytes).
	RetentionBytes int64
	// FlushMessages is the number of messages between fsyncs
	// (flush.messages). 1, Sluice's default, is the durable mode: an
	// append is acknowledged only once it is on stable storage, with one
	// fdatasync covering every append since the previous one. Larger
	// values are Kafka's page-cache mode: acknowledgements do not wait,
	// and the log is synced every FlushMessages messages or FlushInterval.
	FlushMessages int64
	// FlushInterval syncs the log at least this often in page-cache mode
	// (flush.ms); math.MaxInt64 disables it.
	FlushInterval time.Duration
	// MaxMessageBytes is the largest batch accepted (max.message.bytes).
	MaxMessageBytes int32
	// TimestampBeforeMax and TimestampAfterMax bound how far a record's
	// timestamp may lie before or after the broker's clock
	// (message.timestamp.before.max.ms, message.timestamp.after.max.ms);
	// TimestampDifferenceMax (the deprecated
	// message.timestamp.difference.max.ms) stands in for either left
	// Forever, as in Kafka, whatever order the keys are set in.
	TimestampBeforeMax     time.Duration
	TimestampAfterMax      time.Duration
	TimestampDifferenceMax time.Duration
	// LogAppendTime (message.timestamp.type=LogAppendTime): the broker
	// stamps every produced batch with its clock at the append (the
	// LogAppendTime attribute and the batch's max timestamp), and the
	// producers' timestamps are neither checked nor kept as the records'.
	LogAppendTime bool
	// Compact is true for cleanup.policy=compact (alone or with delete):
	// every record needs a key.
	Compact bool
	// Delete is true when cleanup.policy includes delete: retention
	// applies.
	Delete bool
	// FileDeleteDelay is how long a deleted segment's files stay renamed
	// to .deleted before they are removed (file.delete.delay.ms).
	FileDeleteDelay time.Duration
	// DeleteRetention keeps a tombstone (a record with a null value) of a
	// compacted log for this long after the cleaning pass that first kept
	// it, which writes that time into its batch as the delete horizon; the
	// first pass at or after the horizon removes it (delete.retention.ms).
	DeleteRetention time.Duration
	// MinCompactionLag leaves records younger than this uncleaned
	// (min.compaction.lag.ms); MaxCompactionLag cleans a log whose oldest
	// uncleaned record is older, whatever its dirty ratio, and rolls its
	// active segment at that age (max.compaction.lag.ms).
	MinCompactionLag time.Duration
	MaxCompactionLag time.Duration
	// MinCleanableRatio is the share of a compacted log's bytes that must
	// be uncleaned before the cleaner takes it (min.cleanable.dirty.ratio).
	MinCleanableRatio float64
}

// Forever is the duration Kafka spells Long.MAX_VALUE milliseconds.
const Forever = time.Duration(math.MaxInt64)

// DefaultConfig returns Kafka's topic defaults, except FlushMessages,
// which is 1 (durable) where Kafka's is Long.MAX_VALUE.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:           1 << 30,
		SegmentAge:             7 * 24 * time.Hour,
		SegmentIndexBytes:      10 << 20,
		IndexIntervalBytes:     4096,
		RetentionAge:           7 * 24 * time.Hour,
		RetentionBytes:         -1,
		FlushMessages:          1,
		FlushInterval:          Forever,
		MaxMessageBytes:        1048588,
		TimestampBeforeMax:     Forever,
		TimestampAfterMax:      Forever,
		TimestampDifferenceMax: Forever,
		Delete:                 true,
		FileDeleteDelay:        time.Minute,
		DeleteRetention:        24 * time.Hour,
		MaxCompactionLag:       Forever,
		MinCleanableRatio:      0.5,
	}
}

// rollAge is the age at which the active segment rolls: segment.ms, or
// max.compaction.lag.ms when that is shorter on a compacted log, so that
// the cleaner can reach records that must be compacted (as in Kafka).
func (c *Config) rollAge() time.Duration {
	if c.Compact && c.MaxCompactionLag < c.SegmentAge {
		return c.MaxCompactionLag
	}
	return c.SegmentAge
}

// Durable reports whether appends are acknowledged only once synced.
func (c *Config) Durable() bool { return c.FlushMessages <= 1 }

// Validate checks the limits Kafka enforces on these keys.
func (c *Config) Validate() error {
	switch {
	case c.SegmentBytes < 14:
		return fmt.Errorf("segment.bytes %d is below 14", c.SegmentBytes)
	case c.SegmentAge < time.Millisecond:
		return fmt.Errorf("segment.ms %v is below 1", c.SegmentAge)
	case c.SegmentIndexBytes < 12:
		return fmt.Errorf("segment.index.bytes %d is below 12", c.SegmentIndexBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("index.interval.bytes %d is negative", c.IndexIntervalBytes)
	case c.FlushMessages < 1:
		return fmt.Errorf("flush.messages %d is below 1", c.FlushMessages)
	case c.FlushInterval < 0:
		return fmt.Errorf("flush.ms %v is negative", c.FlushInterval)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("max.message.bytes %d is negative", c.MaxMessageBytes)
	case c.TimestampBeforeMax < 0 || c.TimestampAfterMax < 0 || c.TimestampDifferenceMax < 0:
		return fmt.Errorf("message.timestamp.before/after/difference.max.ms must not be negative")
	case c.DeleteRetention < 0 || c.MinCompactionLag < 0:
		return fmt.Errorf("delete.retention.ms and min.compaction.lag.ms must not be negative")
	case c.MaxCompactionLag < time.Millisecond:
		return fmt.Errorf("max.compaction.lag.ms %v is below 1", c.MaxCompactionLag)
	case c.MinCompactionLag > c.MaxCompactionLag:
		return fmt.Errorf("min.compaction.lag.ms %v exceeds max.compaction.lag.ms %v", c.MinCompactionLag, c.MaxCompactionLag)
	case !(c.MinCleanableRatio >= 0 && c.MinCleanableRatio <= 1):
		return fmt.Errorf("min.cleanable.dirty.ratio %v is not in [0, 1]", c.MinCleanableRatio)
	}
	return nil
}

// timestampBounds returns the bounds in force before and after the
// broker's clock: each of message.timestamp.before.max.ms and
// after.max.ms, or message.timestamp.difference.max.ms where it is left
// at its default.
func (c *Config) timestampBounds() (before, after time.Duration) {
	before, after = c.TimestampBeforeMax, c.TimestampAfterMax
	if before == Forever {
		before = c.TimestampDifferenceMax
	}
	if after == Forever {
		after = c.TimestampDifferenceMax
	}
	return before, after
}
