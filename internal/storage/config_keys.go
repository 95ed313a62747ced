package storage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The topic-level keys this package implements, with Kafka's names.
const (
	KeyCleanupPolicy          = "cleanup.policy"
	KeyCompressionType        = "compression.type"
	KeyDeleteRetentionMs      = "delete.retention.ms"
	KeyMinCompactionLagMs     = "min.compaction.lag.ms"
	KeyMaxCompactionLagMs     = "max.compaction.lag.ms"
	KeyMinCleanableDirtyRatio = "min.cleanable.dirty.ratio"
	KeyFileDeleteDelayMs      = "file.delete.delay.ms"
	KeyFlushMessages          = "flush.messages"
	KeyFlushMs                = "flush.ms"
	KeyIndexIntervalBytes     = "index.interval.bytes"
	KeyMaxMessageBytes        = "max.message.bytes"
	KeyTimestampType          = "message.timestamp.type"
	KeyTimestampBeforeMaxMs   = "message.timestamp.before.max.ms"
	KeyTimestampAfterMaxMs    = "message.timestamp.after.max.ms"
	KeyTimestampDifferenceMax = "message.timestamp.difference.max.ms"
	KeyRetentionBytes         = "retention.bytes"
	KeyRetentionMs            = "retention.ms"
	KeySegmentBytes           = "segment.bytes"
	KeySegmentIndexBytes      = "segment.index.bytes"
	KeySegmentMs              = "segment.ms"
)

// SetTopicConfig applies one topic-level key to c. It reports whether the
// key is one of this package's, and an error naming the key for an invalid
// or unsupported value: compression.type other than "producer" is
// rejected, not ignored.
func (c *Config) SetTopicConfig(key, value string) (bool, error) {
	bad := func(err error) (bool, error) {
		return true, fmt.Errorf("invalid value %q for configuration %s: %w", value, key, err)
	}
	v := strings.TrimSpace(value)
	switch key {
	case KeyCleanupPolicy:
		compact, del := false, false
		// The empty list is valid, as in Kafka: neither deleted by
		// retention nor compacted, the log is kept whole.
		if strings.TrimSpace(v) != "" {
			for _, p := range strings.Split(v, ",") {
				switch strings.TrimSpace(strings.ToLower(p)) {
				case "compact":
					compact = true
				case "delete":
					del = true
				default:
					return bad(fmt.Errorf("must be delete, compact or both"))
				}
			}
		}
		c.Compact, c.Delete = compact, del
	case KeyCompressionType:
		if strings.ToLower(v) != "producer" {
			return bad(fmt.Errorf("only compression.type=producer is supported (batches are stored as the producer compressed them)"))
		}
	case KeyTimestampType:
		switch v {
		case "CreateTime", "LogAppendTime":
			c.LogAppendTime = v == "LogAppendTime"
		default:
			return bad(fmt.Errorf("must be CreateTime or LogAppendTime"))
		}
	case KeyFileDeleteDelayMs:
		return durationKey(v, 0, &c.FileDeleteDelay, bad)
	case KeyDeleteRetentionMs:
		return durationKey(v, 0, &c.DeleteRetention, bad)
	case KeyMinCompactionLagMs:
		return durationKey(v, 0, &c.MinCompactionLag, bad)
	case KeyMaxCompactionLagMs:
		return durationKey(v, 1, &c.MaxCompactionLag, bad)
	case KeyMinCleanableDirtyRatio:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return bad(fmt.Errorf("must be a number in [0, 1]"))
		}
		c.MinCleanableRatio = f
	case KeyFlushMessages:
		return int64Key(v, 1, &c.FlushMessages, bad)
	case KeyFlushMs:
		return durationKey(v, 0, &c.FlushInterval, bad)
	case KeyIndexIntervalBytes:
		return intKey(v, 0, &c.IndexIntervalBytes, bad)
	case KeyMaxMessageBytes:
		var n int
		if handled, err := intKey(v, 0, &n, bad); err != nil {
			return handled, err
		}
		c.MaxMessageBytes = int32(n)
	case KeyTimestampBeforeMaxMs:
		return durationKey(v, 0, &c.TimestampBeforeMax, bad)
	case KeyTimestampAfterMaxMs:
		return durationKey(v, 0, &c.TimestampAfterMax, bad)
	case KeyTimestampDifferenceMax:
		// Deprecated in Kafka 3.6 for the two keys above; it bounds either
		// direction left at its default (Config.timestampBounds).
		return durationKey(v, 0, &c.TimestampDifferenceMax, bad)
	case KeyRetentionBytes:
		return int64Key(v, -1, &c.RetentionBytes, bad)
	case KeyRetentionMs:
		if v == "-1" {
			c.RetentionAge = -1
			return true, nil
		}
		return durationKey(v, 0, &c.RetentionAge, bad)
	case KeySegmentBytes:
		return int64Key(v, 14, &c.SegmentBytes, bad)
	case KeySegmentIndexBytes:
		return intKey(v, 4, &c.SegmentIndexBytes, bad)
	case KeySegmentMs:
		return durationKey(v, 1, &c.SegmentAge, bad)
	default:
		return false, nil
	}
	return true, nil
}

func int64Key(v string, lo int64, dst *int64, bad func(error) (bool, error)) (bool, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return bad(fmt.Errorf("not a number"))
	}
	if n < lo {
		return bad(fmt.Errorf("must be at least %d", lo))
	}
	*dst = n
	return true, nil
}

func intKey(v string, lo int, dst *int, bad func(error) (bool, error)) (bool, error) {
	var n int64
	if handled, err := int64Key(v, int64(lo), &n, bad); err != nil {
		return handled, err
	}
	if n > math.MaxInt32 {
		return bad(fmt.Errorf("must be at most %d", math.MaxInt32))
	}
	*dst = int(n)
	return true, nil
}

// durationKey parses milliseconds; Long.MAX_VALUE (and anything that
// overflows a Duration) means Forever.
func durationKey(v string, lo int64, dst *time.Duration, bad func(error) (bool, error)) (bool, error) {
	var ms int64
	if handled, err := int64Key(v, lo, &ms, bad); err != nil {
		return handled, err
	}
	if ms > int64(Forever/time.Millisecond) {
		*dst = Forever
	} else {
		*dst = time.Duration(ms) * time.Millisecond
	}
	return true, nil
}
