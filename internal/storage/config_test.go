package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

func TestSetTopicConfig(t *testing.T) {
	ok := []struct {
		key, value string
		check      func(c Config) bool
	}{
		{"cleanup.policy", "compact", func(c Config) bool { return c.Compact && !c.Delete }},
		{"cleanup.policy", "delete,compact", func(c Config) bool { return c.Compact && c.Delete }},
		{"cleanup.policy", "", func(c Config) bool { return !c.Compact && !c.Delete }},
		{"retention.ms", "-1", func(c Config) bool { return c.RetentionAge < 0 }},
		{"retention.ms", "1000", func(c Config) bool { return c.RetentionAge == time.Second }},
		{"flush.ms", "9223372036854775807", func(c Config) bool { return c.FlushInterval == Forever }},
		{"flush.messages", "10000", func(c Config) bool { return c.FlushMessages == 10000 && !c.Durable() }},
		{"segment.bytes", "1048576", func(c Config) bool { return c.SegmentBytes == 1<<20 }},
		{"max.message.bytes", "2000000", func(c Config) bool { return c.MaxMessageBytes == 2000000 }},
		{"message.timestamp.type", "CreateTime", func(c Config) bool { return !c.LogAppendTime }},
		{"message.timestamp.type", "LogAppendTime", func(c Config) bool { return c.LogAppendTime }},
		{"compression.type", "producer", func(c Config) bool { return true }},
		{"message.timestamp.difference.max.ms", "5000", func(c Config) bool {
			b, a := c.timestampBounds()
			return b == 5*time.Second && a == 5*time.Second
		}},
	}
	for _, c := range ok {
		cfg := DefaultConfig()
		handled, err := cfg.SetTopicConfig(c.key, c.value)
		if !handled || err != nil || !c.check(cfg) {
			t.Errorf("%s=%s: handled=%t err=%v cfg=%+v", c.key, c.value, handled, err, cfg)
		}
	}
	bad := map[string]string{
		"compression.type":       "gzip",
		"message.timestamp.type": "Now",
		"segment.bytes":          "10",
		"retention.ms":           "-2",
		"cleanup.policy":         "forever",
		"flush.messages":         "zero",
		"segment.index.bytes":    "99999999999",
	}
	for key, value := range bad {
		cfg := DefaultConfig()
		handled, err := cfg.SetTopicConfig(key, value)
		if !handled || err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: handled=%t err=%v (want an error naming the key)", key, value, handled, err)
		}
	}
	cfg := DefaultConfig()
	if handled, err := cfg.SetTopicConfig("min.insync.replicas", "2"); handled || err != nil {
		t.Errorf("min.insync.replicas is not a storage key: handled=%t err=%v", handled, err)
	}
}

// TestEmptyCleanupPolicyKeepsTheLog: with cleanup.policy empty, which
// Kafka accepts, retention deletes nothing (nor does the cleaner
// compact); the same log with delete loses its old segments.
func TestEmptyCleanupPolicyKeepsTheLog(t *testing.T) {
	for _, policy := range []string{"", "delete"} {
		cfg := DefaultConfig()
		if _, err := cfg.SetTopicConfig("cleanup.policy", policy); err != nil {
			t.Fatal(err)
		}
		cfg.SegmentBytes = 200
		cfg.RetentionBytes = 0
		clock := &testClock{t: time.Unix(1_700_000_000, 0)}
		l := openTestLog(t, vfs.NewMem(), cfg, clock, true, 0)
		for i := range 5 {
			if _, err := l.Append(batch(t, "v", 3, clock.now().UnixMilli()), AppendOptions{LeaderEpoch: 0}); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		deleted, err := l.EnforceRetention(l.EndOffset())
		if err != nil {
			t.Fatal(err)
		}
		if policy == "" && (deleted != 0 || l.StartOffset() != 0) {
			t.Errorf("empty policy: %d segments deleted, log start %d; want the log kept whole", deleted, l.StartOffset())
		}
		if policy == "delete" && deleted == 0 {
			t.Errorf("delete policy: no segment deleted with retention.bytes=0")
		}
		l.Close()
	}
}
