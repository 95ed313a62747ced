package config

import (
	"math"
	"strconv"
	"time"
)

// synonym is a broker key that supplies a topic key's default, and the
// unit its value counts (converted to the topic key's milliseconds);
// UnitNone copies the value.
type synonym struct {
	key  string
	unit Unit
}

// topicSynonyms maps each topic key to the broker keys that supply its
// default, highest priority first: the first one set (not null) wins. It
// is Kafka's ServerTopicConfigSynonyms, and KafkaConfig's derivation of
// the topic defaults from the broker keys (log.retention.ms, then
// log.retention.minutes, then log.retention.hours; log.roll.ms, then
// log.roll.hours; log.flush.interval.ms, then
// log.flush.scheduler.interval.ms).
var topicSynonyms = map[string][]synonym{
	"segment.bytes":                       {{"log.segment.bytes", UnitNone}},
	"segment.ms":                          {{"log.roll.ms", UnitNone}, {"log.roll.hours", UnitHours}},
	"segment.jitter.ms":                   {{"log.roll.jitter.ms", UnitNone}, {"log.roll.jitter.hours", UnitHours}},
	"segment.index.bytes":                 {{"log.index.size.max.bytes", UnitNone}},
	"flush.messages":                      {{"log.flush.interval.messages", UnitNone}},
	"flush.ms":                            {{"log.flush.interval.ms", UnitNone}, {"log.flush.scheduler.interval.ms", UnitNone}},
	"retention.bytes":                     {{"log.retention.bytes", UnitNone}},
	"retention.ms":                        {{"log.retention.ms", UnitNone}, {"log.retention.minutes", UnitMinutes}, {"log.retention.hours", UnitHours}},
	"max.message.bytes":                   {{"message.max.bytes", UnitNone}},
	"index.interval.bytes":                {{"log.index.interval.bytes", UnitNone}},
	"delete.retention.ms":                 {{"log.cleaner.delete.retention.ms", UnitNone}},
	"min.compaction.lag.ms":               {{"log.cleaner.min.compaction.lag.ms", UnitNone}},
	"max.compaction.lag.ms":               {{"log.cleaner.max.compaction.lag.ms", UnitNone}},
	"file.delete.delay.ms":                {{"log.segment.delete.delay.ms", UnitNone}},
	"min.cleanable.dirty.ratio":           {{"log.cleaner.min.cleanable.ratio", UnitNone}},
	"cleanup.policy":                      {{"log.cleanup.policy", UnitNone}},
	"unclean.leader.election.enable":      {{"unclean.leader.election.enable", UnitNone}},
	"min.insync.replicas":                 {{"min.insync.replicas", UnitNone}},
	"compression.type":                    {{"compression.type", UnitNone}},
	"compression.gzip.level":              {{"compression.gzip.level", UnitNone}},
	"compression.lz4.level":               {{"compression.lz4.level", UnitNone}},
	"compression.zstd.level":              {{"compression.zstd.level", UnitNone}},
	"preallocate":                         {{"log.preallocate", UnitNone}},
	"message.format.version":              {{"log.message.format.version", UnitNone}},
	"message.timestamp.type":              {{"log.message.timestamp.type", UnitNone}},
	"message.timestamp.difference.max.ms": {{"log.message.timestamp.difference.max.ms", UnitNone}},
	"message.timestamp.before.max.ms":     {{"log.message.timestamp.before.max.ms", UnitNone}},
	"message.timestamp.after.max.ms":      {{"log.message.timestamp.after.max.ms", UnitNone}},
	"message.downconversion.enable":       {{"log.message.downconversion.enable", UnitNone}},
	"local.retention.ms":                  {{"log.local.retention.ms", UnitNone}},
	"local.retention.bytes":               {{"log.local.retention.bytes", UnitNone}},
}

// brokerSynonym is the broker key that first supplies a topic key's
// default, or "".
func brokerSynonym(topicKey string) string {
	if s := topicSynonyms[topicKey]; len(s) > 0 {
		return s[0].key
	}
	return ""
}

// topicKeyFor is the topic key a broker key supplies the default of, or "".
func topicKeyFor(brokerKey string) string {
	for t, syns := range topicSynonyms {
		for _, s := range syns {
			if s.key == brokerKey && s.key != t {
				return t
			}
		}
	}
	return ""
}

// toMillis converts n counted in u to milliseconds, saturating.
func toMillis(n int64, u Unit) int64 {
	per := int64(1)
	switch u {
	case UnitSeconds:
		per = 1000
	case UnitMinutes:
		per = 60 * 1000
	case UnitHours:
		per = 60 * 60 * 1000
	case UnitNone, UnitMillis:
		return n
	}
	switch {
	case n > math.MaxInt64/per:
		return math.MaxInt64
	case n < math.MinInt64/per:
		return math.MinInt64
	}
	return n * per
}

// ValidateTopicConfig checks one topic-level key and value, as given in
// CreateTopics or AlterConfigs: unknown keys (and broker keys) are errors
// (suggesting the nearest topic key), rejected keys are errors naming the
// feature unless set to Kafka's default, and values must be valid. The
// error is an *Error.
func ValidateTopicConfig(key, value string) error {
	_, err := checkTopicConfig(key, value)
	return err
}

func checkTopicConfig(key, value string) (string, error) {
	wrap := func(err error) *Error {
		return &Error{Key: key, Value: value, Origin: OriginRequest, Err: err}
	}
	e := byName[key]
	if e == nil || !e.Scope.Topic() {
		return "", wrap(unknownKey(key, ScopeTopic))
	}
	v, err := checkValue(e, value)
	if err != nil {
		return "", wrap(err)
	}
	return v, nil
}

// ValidateTopicConfigs checks a topic's configs, each as
// ValidateTopicConfig does, and then together over this broker's topic
// defaults (min.compaction.lag.ms must not exceed max.compaction.lag.ms).
// The error is an Errors.
func (b *Broker) ValidateTopicConfigs(configs map[string]string) error {
	var errs Errors
	merged := b.TopicDefaults()
	for _, k := range sortedKeys(configs) {
		v, err := checkTopicConfig(k, configs[k])
		if err != nil {
			errs = append(errs, err.(*Error))
			continue
		}
		merged[k] = v
	}
	if len(errs) == 0 {
		minLag, _ := strconv.ParseInt(merged["min.compaction.lag.ms"], 10, 64)
		maxLag, _ := strconv.ParseInt(merged["max.compaction.lag.ms"], 10, 64)
		if minLag > maxLag {
			errs = append(errs, &Error{Key: "min.compaction.lag.ms", Value: merged["min.compaction.lag.ms"], Origin: OriginRequest,
				Err: invalidf("must not exceed max.compaction.lag.ms (%d)", maxLag)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// topicDefault derives one topic key's default from the broker's
// settings: the first synonym set, converted; else the topic key's own
// default. It also says where the value came from.
func (b *Broker) topicDefault(e *Entry) (string, Origin) {
	for _, s := range topicSynonyms[e.Name] {
		st := b.settings[s.key]
		if st == nil || st.null {
			continue
		}
		v := st.value
		if s.unit != UnitNone {
			n, _ := strconv.ParseInt(v, 10, 64)
			v = strconv.FormatInt(toMillis(n, s.unit), 10)
		}
		return brokerTopicDefault(e.Name, v), st.origin
	}
	v, null := e.EffectiveDefault()
	if null {
		return "", OriginKafkaDefault
	}
	if e.HasSluiceDefault() {
		return v, OriginSluiceDefault
	}
	return v, OriginKafkaDefault
}

// brokerTopicDefault is the topic default a broker key's value (in
// milliseconds where a unit applies) gives topicKey.
func brokerTopicDefault(topicKey, v string) string {
	if topicKey == "retention.ms" {
		// KafkaConfig.logRetentionTimeMillis: any negative is -1.
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n < 0 {
			return "-1"
		}
	}
	return v
}

// TopicDefaults returns the default of every topic key Sluice implements
// or ignores, derived from the broker keys as Kafka's LogConfig is (see
// topicSynonyms): the configuration of a topic that overrides nothing.
// Rejected topic keys are left out.
func (b *Broker) TopicDefaults() map[string]string {
	out := map[string]string{}
	for i := range registry {
		e := &registry[i]
		if !e.Scope.Topic() || e.Kind == Rejected {
			continue
		}
		out[e.Name], _ = b.topicDefault(e)
	}
	return out
}

// LogDefaults are the typed topic defaults (TopicDefaults) of the keys
// Sluice implements. Durations of Long.MAX_VALUE milliseconds are
// Forever.
type LogDefaults struct {
	SegmentBytes       int32         // segment.bytes
	SegmentAge         time.Duration // segment.ms
	SegmentJitter      time.Duration // segment.jitter.ms
	SegmentIndexBytes  int32         // segment.index.bytes
	IndexIntervalBytes int32         // index.interval.bytes
	// RetentionAge is negative for no time limit (retention.ms -1);
	// RetentionBytes is negative for no size limit.
	RetentionAge   time.Duration
	RetentionBytes int64
	// FlushMessages 1 is the durable mode: acknowledged once fsynced
	// (flush.messages); FlushInterval is flush.ms.
	FlushMessages int64
	FlushInterval time.Duration
	// Compact and Delete are cleanup.policy's two policies.
	Compact, Delete        bool
	DeleteRetention        time.Duration // delete.retention.ms
	MinCompactionLag       time.Duration // min.compaction.lag.ms
	MaxCompactionLag       time.Duration // max.compaction.lag.ms
	MinCleanableDirtyRatio float64       // min.cleanable.dirty.ratio
	FileDeleteDelay        time.Duration // file.delete.delay.ms
	MaxMessageBytes        int32         // max.message.bytes
	TimestampType          string        // message.timestamp.type
	TimestampBeforeMax     time.Duration // message.timestamp.before.max.ms
	TimestampAfterMax      time.Duration // message.timestamp.after.max.ms
	// TimestampDifferenceMax is the deprecated
	// message.timestamp.difference.max.ms.
	TimestampDifferenceMax time.Duration
	CompressionType        string // compression.type (always producer)
	MinInsyncReplicas      int32  // min.insync.replicas
	UncleanLeaderElection  bool   // unclean.leader.election.enable
}

func logDefaults(t map[string]string) LogDefaults {
	i32 := func(k string) int32 { n, _ := strconv.ParseInt(t[k], 10, 32); return int32(n) }
	i64 := func(k string) int64 { n, _ := strconv.ParseInt(t[k], 10, 64); return n }
	ms := func(k string) time.Duration { return durationOf(i64(k), UnitMillis) }
	f64 := func(k string) float64 { f, _ := strconv.ParseFloat(t[k], 64); return f }
	d := LogDefaults{
		SegmentBytes:           i32("segment.bytes"),
		SegmentAge:             ms("segment.ms"),
		SegmentJitter:          ms("segment.jitter.ms"),
		SegmentIndexBytes:      i32("segment.index.bytes"),
		IndexIntervalBytes:     i32("index.interval.bytes"),
		RetentionAge:           ms("retention.ms"),
		RetentionBytes:         i64("retention.bytes"),
		FlushMessages:          i64("flush.messages"),
		FlushInterval:          ms("flush.ms"),
		DeleteRetention:        ms("delete.retention.ms"),
		MinCompactionLag:       ms("min.compaction.lag.ms"),
		MaxCompactionLag:       ms("max.compaction.lag.ms"),
		MinCleanableDirtyRatio: f64("min.cleanable.dirty.ratio"),
		FileDeleteDelay:        ms("file.delete.delay.ms"),
		MaxMessageBytes:        i32("max.message.bytes"),
		TimestampType:          t["message.timestamp.type"],
		TimestampBeforeMax:     ms("message.timestamp.before.max.ms"),
		TimestampAfterMax:      ms("message.timestamp.after.max.ms"),
		TimestampDifferenceMax: ms("message.timestamp.difference.max.ms"),
		CompressionType:        t["compression.type"],
		MinInsyncReplicas:      i32("min.insync.replicas"),
		UncleanLeaderElection:  t["unclean.leader.election.enable"] == "true",
	}
	for _, p := range splitList(t["cleanup.policy"]) {
		switch p {
		case "compact":
			d.Compact = true
		case "delete":
			d.Delete = true
		}
	}
	return d
}

// TopicSynonyms returns the broker keys that supply topicKey's default,
// highest priority first (Kafka's ServerTopicConfigSynonyms); nil for a
// topic key with no broker synonym.
func TopicSynonyms(topicKey string) []string {
	syns := topicSynonyms[topicKey]
	if len(syns) == 0 {
		return nil
	}
	out := make([]string, len(syns))
	for i, s := range syns {
		out[i] = s.key
	}
	return out
}
