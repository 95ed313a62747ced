package config

import (
	"errors"
	"strings"
	"testing"
)

// bad is a value a key must refuse; ns marks a value refused as not
// supported (a feature Sluice lacks) rather than invalid.
type bad struct {
	v  string
	ns bool
}

func inv(vs ...string) []bad {
	out := make([]bad, len(vs))
	for i, v := range vs {
		out[i] = bad{v: v}
	}
	return out
}

// badValues lists, for every implemented key, values its validation must
// refuse beyond those of its type (typeBadValues adds those). Every
// implemented key must be here, so that a new one comes with its checks.
var badValues = map[string][]bad{
	"advertised.listeners":                            inv("localhost:9092", "PLAINTEXT://localhost", "PLAINTEXT://localhost:99999", "PLAIN TEXT://:9092", "PLAINTEXT://:9092,PLAINTEXT://:9093", "PLAINTEXT://[::1:9092"),
	"auto.create.topics.enable":                       nil,
	"auto.leader.rebalance.enable":                    nil,
	"broker.heartbeat.interval.ms":                    inv("0", "-1"),
	"broker.id":                                       inv("-2"),
	"broker.rack":                                     nil, // any string is a rack
	"broker.session.timeout.ms":                       inv("0"),
	"cleanup.policy":                                  inv("remove", "delete,", "delete,archive"),
	"compression.type":                                append(inv("brotli", "none", ""), bad{"gzip", true}, bad{"snappy", true}, bad{"lz4", true}, bad{"zstd", true}, bad{"uncompressed", true}),
	"connections.max.idle.ms":                         nil, // negative: never close idle connections
	"controller.listener.names":                       inv("", "CONTROLLER,CONTROLLER", "CON TROLLER", "A,,B"),
	"controller.quorum.election.timeout.ms":           inv("0"),
	"controller.quorum.voters":                        inv("1", "1@", "@localhost:9093", "x@localhost:9093", "-1@localhost:9093", "1@localhost", "1@localhost:0", "1@0.0.0.0:9093", "1@a:9093,1@b:9093", "1@a@b:9093"),
	"default.replication.factor":                      inv("0"),
	"delete.retention.ms":                             inv("-1"),
	"delete.topic.enable":                             nil,
	"fetch.max.bytes":                                 inv("1023", "0"),
	"file.delete.delay.ms":                            inv("-1"),
	"flush.messages":                                  inv("0", "-1"),
	"flush.ms":                                        inv("-1"),
	"group.coordinator.append.linger.ms":              inv("-1"),
	"group.coordinator.rebalance.protocols":           append(inv("", "eager"), bad{"classic,consumer", true}, bad{"consumer", true}, bad{"classic,share", true}),
	"group.initial.rebalance.delay.ms":                inv("-1"),
	"group.max.session.timeout.ms":                    inv("0"),
	"group.max.size":                                  inv("0"),
	"group.min.session.timeout.ms":                    inv("-1"),
	"index.interval.bytes":                            inv("-1"),
	"initial.broker.registration.timeout.ms":          inv("0"),
	"inter.broker.listener.name":                      inv("IN TERNAL", "A/B"),
	"leader.imbalance.check.interval.seconds":         inv("0"),
	"leader.imbalance.per.broker.percentage":          inv("-1", "101"),
	"listener.security.protocol.map":                  inv("PLAINTEXT", "PLAINTEXT:TLS", "A:PLAINTEXT,A:PLAINTEXT", "A:PLAINTEXT:SSL", ":PLAINTEXT"),
	"listeners":                                       inv("localhost:9092", "PLAINTEXT://localhost", "PLAINTEXT://:65536", "PLAINTEXT://:-1", "PLAINTEXT://local/host:9092", "A://:1,A://:2"),
	"log.cleaner.backoff.ms":                          inv("-1"),
	"log.cleaner.dedupe.buffer.size":                  inv("-1"),
	"log.cleaner.delete.retention.ms":                 inv("-1"),
	"log.cleaner.io.buffer.load.factor":               inv("-0.1", "1.5"),
	"log.cleaner.io.buffer.size":                      inv("-1"),
	"log.cleaner.io.max.bytes.per.second":             inv("x"),
	"log.cleaner.threads":                             inv("-1"),
	"log.cleaner.enable":                              nil,
	"log.cleaner.max.compaction.lag.ms":               inv("0"),
	"log.cleaner.min.cleanable.ratio":                 inv("-0.1", "1.01", "NaN"),
	"log.cleaner.min.compaction.lag.ms":               inv("-1"),
	"log.cleanup.policy":                              inv("remove", "compact,"),
	"log.dir":                                         inv(""),
	"metrics.listen":                                  inv("9100", "localhost", "localhost:x", "localhost:65536", ":-1"),
	"metrics.partition.labels":                        nil,
	"log.dirs":                                        append(inv(","), bad{"/a,/b", true}, bad{"/a, /b, /c", true}),
	"log.flush.interval.messages":                     inv("0"),
	"log.flush.interval.ms":                           inv("-1"),
	"log.flush.offset.checkpoint.interval.ms":         inv("-1"),
	"log.flush.scheduler.interval.ms":                 inv("0"),
	"log.flush.start.offset.checkpoint.interval.ms":   inv("-1"),
	"log.index.interval.bytes":                        inv("-1"),
	"log.index.size.max.bytes":                        inv("3"),
	"log.initial.task.delay.ms":                       inv("-1"),
	"log.message.timestamp.after.max.ms":              inv("-1"),
	"log.message.timestamp.before.max.ms":             inv("-1"),
	"log.message.timestamp.difference.max.ms":         inv("-1"),
	"log.message.timestamp.type":                      inv("createtime", "Now", ""),
	"log.retention.bytes":                             nil, // negative: no limit
	"log.retention.check.interval.ms":                 inv("0"),
	"log.retention.hours":                             inv("0"), // 0 hours is 0 ms: neither unlimited nor a retention
	"log.retention.minutes":                           inv("0"),
	"log.retention.ms":                                inv("0"),
	"log.roll.hours":                                  inv("0"),
	"log.roll.jitter.hours":                           inv("-1"),
	"log.roll.jitter.ms":                              inv("-1"),
	"log.roll.ms":                                     inv("0", "-5"),
	"log.segment.bytes":                               inv("13", "0"),
	"log.segment.delete.delay.ms":                     inv("-1"),
	"max.compaction.lag.ms":                           inv("0"),
	"max.connections":                                 inv("-1"),
	"max.incremental.fetch.session.cache.slots":       inv("-1"),
	"max.message.bytes":                               inv("-1"),
	"max.request.partition.size.limit":                inv("0"),
	"message.max.bytes":                               inv("-1"),
	"message.timestamp.after.max.ms":                  inv("-1"),
	"message.timestamp.before.max.ms":                 inv("-1"),
	"message.timestamp.difference.max.ms":             inv("-1"),
	"message.timestamp.type":                          inv("Now"),
	"metadata.log.dir":                                nil, // empty means unset: log.dir holds the metadata log
	"metadata.log.max.record.bytes.between.snapshots": inv("0"),
	"metadata.log.max.snapshot.interval.ms":           inv("-1"),
	"min.cleanable.dirty.ratio":                       inv("-1", "2"),
	"min.compaction.lag.ms":                           inv("-1"),
	"min.insync.replicas":                             inv("0"),
	"node.id":                                         inv("-1"),
	"num.partitions":                                  inv("0"),
	"num.recovery.threads.per.data.dir":               inv("0"),
	"offset.metadata.max.bytes":                       inv("-1"),
	"offsets.commit.timeout.ms":                       inv("0"),
	"offsets.load.buffer.size":                        inv("0"),
	"offsets.retention.check.interval.ms":             inv("0"),
	"offsets.retention.minutes":                       inv("0"),
	"offsets.topic.compression.codec":                 inv("-1", "5"),
	"offsets.topic.num.partitions":                    inv("0"),
	"offsets.topic.replication.factor":                inv("0"),
	"offsets.topic.segment.bytes":                     inv("0"),
	"process.roles":                                   append(inv("worker", "broker,broker", "broker,"), bad{"", true}),
	"producer.id.expiration.check.interval.ms":        inv("0"),
	"producer.id.expiration.ms":                       inv("0"),
	"queued.max.request.bytes":                        inv("1024"), // below socket.request.max.bytes
	"queued.max.requests":                             inv("0"),
	"follower.replication.throttled.rate":             inv("-1"),
	"leader.replication.throttled.rate":               inv("-1"),
	"follower.replication.throttled.replicas":         inv("0-1"),
	"leader.replication.throttled.replicas":           inv("x:1"),
	"replication.quota.window.num":                    inv("0"),
	"replication.quota.window.size.seconds":           inv("0"),
	"num.replica.fetchers":                            inv("0"),
	"replica.fetch.backoff.ms":                        inv("-1"),
	"replica.fetch.max.bytes":                         inv("-1"),
	"replica.fetch.min.bytes":                         inv("-1"),
	"replica.fetch.response.max.bytes":                inv("-1"),
	"replica.fetch.wait.max.ms":                       inv("-1", "30001"), // above replica.socket.timeout.ms
	"replica.high.watermark.checkpoint.interval.ms":   inv("0"),
	"replica.lag.time.max.ms":                         inv("0", "400"), // below replica.fetch.wait.max.ms
	"replica.socket.timeout.ms":                       inv("0", "100"), // below replica.fetch.wait.max.ms
	"request.timeout.ms":                              inv("-1"),
	"retention.bytes":                                 nil,
	"retention.ms":                                    inv("-2"),
	"security.inter.broker.protocol":                  append(inv("TLS", ""), bad{"SSL", true}, bad{"SASL_PLAINTEXT", true}, bad{"sasl_ssl", true}),
	"segment.bytes":                                   inv("13"),
	"segment.index.bytes":                             inv("3"),
	"segment.jitter.ms":                               inv("-1"),
	"segment.ms":                                      inv("0"),
	"socket.connection.setup.timeout.max.ms":          inv("-1"),
	"socket.connection.setup.timeout.ms":              inv("-1"),
	"socket.request.max.bytes":                        inv("0"),
	"replica.selector.class":                          {{"com.example.Selector", true}},
	"unclean.leader.election.enable":                  nil,
	"unclean.leader.election.interval.ms":             inv("0"),
}

// typeBadValues are values no key of type t accepts.
func typeBadValues(t Type) []string {
	switch t {
	case TypeBoolean:
		return []string{"yes", "1", "", "tru"}
	case TypeShort:
		return []string{"abc", "1.5", "32768", "", "0x10"}
	case TypeInt:
		return []string{"abc", "1.5", "2147483648", "", "1e3"}
	case TypeLong:
		return []string{"abc", "1.5", "9223372036854775808", "1e3"}
	case TypeDouble:
		return []string{"abc", "", "1,5"}
	}
	return nil
}

// TestImplementedKeysValidation sets every bad value of every implemented
// key, by --set for broker keys and ValidateTopicConfig for topic keys,
// and checks each is refused by an error naming the key.
func TestImplementedKeysValidation(t *testing.T) {
	for i := range registry {
		e := &registry[i]
		if e.Kind != Implemented {
			if _, ok := badValues[e.Name]; ok {
				t.Errorf("%s is in badValues but is %s", e.Name, e.Kind)
			}
			continue
		}
		specific, ok := badValues[e.Name]
		if !ok {
			t.Errorf("implemented key %s has no entry in badValues", e.Name)
			continue
		}
		var cases []bad
		for _, v := range typeBadValues(e.Type) {
			if v == "" && e.Null {
				continue // an empty value leaves a null key unset
			}
			cases = append(cases, bad{v: v})
		}
		cases = append(cases, specific...)
		for _, c := range cases {
			want := ErrInvalidValue
			if c.ns {
				want = ErrNotSupported
			}
			if e.Scope.Broker() {
				_, err := Load(nil, []string{e.Name + "=" + c.v}, ProfileSingleNode)
				checkNamed(t, "broker", e.Name, c.v, err, want)
			}
			if e.Scope.Topic() {
				checkNamed(t, "topic", e.Name, c.v, ValidateTopicConfig(e.Name, c.v), want)
			}
		}
	}
}

// checkNamed checks err refuses key=v with an *Error naming key, of kind
// want.
func checkNamed(t *testing.T, scope, key, v string, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s %s=%q: accepted", scope, key, v)
		return
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Errorf("%s %s=%q: error %v is not an *Error", scope, key, v, err)
		return
	}
	if ce.Key != key || !strings.Contains(err.Error(), key) {
		t.Errorf("%s %s=%q: error %q names %s", scope, key, v, err, ce.Key)
	}
	if !errors.Is(err, want) {
		t.Errorf("%s %s=%q: error %q is not %v", scope, key, v, err, want)
	}
}

// TestImplementedKeysAcceptDefaults checks every implemented key accepts
// its own defaults, explicitly given, and a few good values.
func TestImplementedKeysAccept(t *testing.T) {
	good := map[string][]string{
		"compression.type":                      {"producer", " producer "},
		"unclean.leader.election.enable":        {"false", "FALSE", "true"},
		"replica.selector.class":                {"org.apache.kafka.common.replica.RackAwareReplicaSelector", "org.apache.kafka.common.replica.LeaderSelector", ""},
		"log.dirs":                              {"/var/lib/sluice", " /data "},
		"listener.security.protocol.map":        {"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL"},
		"log.cleanup.policy":                    {"compact", "delete,compact", "compact , delete", ""},
		"cleanup.policy":                        {"compact", "delete,compact", ""},
		"log.retention.ms":                      {"-1", "1", "9223372036854775807"},
		"retention.ms":                          {"-1", "1"},
		"log.retention.bytes":                   {"-1", "0", "1073741824"},
		"min.cleanable.dirty.ratio":             {"0", "1", "0.25", "1e-1"},
		"group.coordinator.rebalance.protocols": {"classic", "classic,"[:7]},
		"security.inter.broker.protocol":        {"PLAINTEXT", "plaintext"},
		"offsets.topic.compression.codec":       {"0", "4"},
		"leader.replication.throttled.rate":     {"0", "1"},
		"follower.replication.throttled.rate":   {"0", "1"},
		"advertised.listeners":                  {"PLAINTEXT://broker1.example.com:9092", "PLAINTEXT://[::1]:9092"},
	}
	for i := range registry {
		e := &registry[i]
		if e.Kind != Implemented {
			continue
		}
		vals := good[e.Name]
		if d, null := e.EffectiveDefault(); !null && !notGiven[e.Name] {
			vals = append(vals, d)
		}
		for _, v := range vals {
			if _, err := checkValue(e, v); err != nil {
				t.Errorf("%s=%q: %v", e.Name, v, err)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ key, in, want string }{
		{"auto.create.topics.enable", " TRUE ", "true"},
		{"num.partitions", "+3", "3"},
		{"num.partitions", "007", "7"},
		{"log.cleaner.min.cleanable.ratio", "0.50", "0.5"},
		{"log.cleaner.min.cleanable.ratio", "1d", "1"},
		{"log.cleanup.policy", " delete , compact ", "delete,compact"},
		{"broker.rack", "  rack-1 ", "rack-1"},
	} {
		got, err := normalize(byName[tc.key], tc.in)
		if err != nil || got != tc.want {
			t.Errorf("normalize(%s, %q) = %q, %v; want %q", tc.key, tc.in, got, err, tc.want)
		}
	}
}
