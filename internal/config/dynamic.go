package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Dynamic broker configuration (KIP-226) lives in the metadata log as
// configs of the broker resource: the cluster-wide default (the resource
// named "") and each broker's own (named by its id), the broker's over
// the default's, both over the static file. Kafka lets a fixed set of keys
// change at runtime (DynamicBrokerConfig.AllDynamicConfigs). Sluice
// applies at once the keys that supply topic defaults (log.retention.ms,
// log.segment.bytes, message.max.bytes, min.insync.replicas, …: Kafka's
// DynamicLogConfig), so that every topic without its own override follows
// them; it applies at once the replication throttle rates and the log
// cleaner's keys, max.connections and producer.id.expiration.ms; it
// accepts, with no effect, the dynamic keys it ignores
// statically too (thread pools, metric reporters); and it refuses the
// other dynamic keys of Kafka's that it implements only statically
// (max.connections, producer.id.expiration.ms, listeners, …).

// kafkaDynamicOther are Kafka's dynamic broker keys that supply no topic
// default.
var kafkaDynamicOther = []string{
	// DynamicThreadPool
	"num.io.threads", "num.network.threads", "num.replica.fetchers",
	"num.recovery.threads.per.data.dir", "background.threads",
	// LogCleaner
	"log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.size",
	"log.cleaner.io.buffer.load.factor", "log.cleaner.io.max.bytes.per.second", "log.cleaner.backoff.ms",
	// SocketServer and DynamicListenerConfig
	"max.connections", "max.connections.per.ip", "max.connections.per.ip.overrides",
	"max.connection.creation.rate", "listeners", "advertised.listeners", "listener.security.protocol.map",
	// producer state, metrics
	"producer.id.expiration.ms", "transaction.partition.verification.enable", "metric.reporters",
}

// DynamicMode says how a broker key may change at runtime.
type DynamicMode int8

const (
	// NotDynamic keys change only with a restart.
	NotDynamic DynamicMode = iota
	// DynamicApplied keys supply a topic default and take effect at once.
	DynamicApplied
	// DynamicIgnored keys are accepted and stored, and have no effect,
	// as when set statically.
	DynamicIgnored
	// DynamicRead keys are read from the metadata where they are used,
	// so a change takes effect at once: the replication throttle rates,
	// max.connections, producer.id.expiration.ms, and the log cleaner's
	// keys (whose change restarts the cleaner's threads, as in Kafka).
	DynamicRead
)

// dynamicRead are the broker keys read at use from the dynamic configs.
var dynamicRead = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate",
	"max.connections", "producer.id.expiration.ms"}

// Dynamic returns how broker key name may change at runtime.
func Dynamic(name string) DynamicMode {
	e := byName[name]
	if e == nil || !e.Scope.Broker() || e.Kind == Rejected {
		return NotDynamic
	}
	if t := primaryTopicKey(name); t != "" && name != "log.message.format.version" {
		if te := byName[t]; te != nil && te.Kind != Rejected {
			return DynamicApplied
		}
	}
	if slices.Contains(dynamicRead, name) || slices.Contains(cleanerKeys, name) {
		return DynamicRead
	}
	if slices.Contains(kafkaDynamicOther, name) && e.Kind == Ignored {
		return DynamicIgnored
	}
	return NotDynamic
}

// CheckDynamicBrokerConfigs checks a dynamic broker configuration (all of
// one resource's keys after a change) and returns it normalized. The
// error says which keys cannot change at runtime, in Kafka's words, or
// which value is invalid.
func CheckDynamicBrokerConfigs(configs map[string]string) (map[string]string, error) {
	var static []string
	for _, k := range sortedKeys(configs) {
		if Dynamic(k) == NotDynamic {
			static = append(static, k)
		}
	}
	if len(static) > 0 {
		return nil, fmt.Errorf("Cannot update these configs dynamically: Set(%s)", strings.Join(static, ", "))
	}
	out := make(map[string]string, len(configs))
	for _, k := range sortedKeys(configs) {
		v, err := checkValue(byName[k], configs[k])
		if err != nil {
			return nil, &Error{Key: k, Value: configs[k], Origin: OriginRequest, Err: err}
		}
		out[k] = v
	}
	return out, nil
}

// OverlayDynamic returns topicDefaults (as TopicDefaults gives them) with
// the topic defaults that dynamic broker configurations supply laid over
// them, later layers winning: pass the cluster-wide default resource's
// configs, then the broker's own. Keys of the layers that supply no
// topic default are skipped. topicDefaults is not modified.
func OverlayDynamic(topicDefaults map[string]string, layers ...map[string]string) map[string]string {
	out := make(map[string]string, len(topicDefaults))
	for k, v := range topicDefaults {
		out[k] = v
	}
	for _, layer := range layers {
		for k, v := range layer {
			if t, v, ok := DynamicTopicDefault(k, v); ok {
				out[t] = v
			}
		}
	}
	return out
}

// DynamicTopicDefault returns the topic key and value that dynamic broker
// key k set to v supplies, if any.
func DynamicTopicDefault(k, v string) (topicKey, value string, ok bool) {
	if Dynamic(k) != DynamicApplied {
		return "", "", false
	}
	t := primaryTopicKey(k)
	return t, brokerTopicDefault(t, v), true
}

// primaryTopicKey is the topic key whose default broker key name supplies
// first (Kafka's TOPIC_CONFIG_SYNONYMS), or "".
func primaryTopicKey(name string) string {
	for t, syns := range topicSynonyms {
		if len(syns) > 0 && syns[0].key == name {
			return t
		}
	}
	return ""
}

// DynamicInt returns integer broker key's value with the dynamic broker
// config layers over the static one, later layers winning (the cluster
// default's configs, then the broker's own). Layers hold the values the
// controller checked; one that does not parse is skipped.
func (b *Broker) DynamicInt(key string, layers ...map[string]string) int64 {
	return layeredInt(key, b.i64(key), layers)
}

// layered returns key's value in the last of layers that holds it.
func layered(key string, layers []map[string]string) (string, bool) {
	for i := len(layers) - 1; i >= 0; i-- {
		if v, ok := layers[i][key]; ok {
			return v, true
		}
	}
	return "", false
}

// layeredInt and layeredFloat return key's value in layers (layered),
// or v when none holds it or its value does not parse.
func layeredInt(key string, v int64, layers []map[string]string) int64 {
	if s, ok := layered(key, layers); ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return v
}

func layeredFloat(key string, v float64, layers []map[string]string) float64 {
	if s, ok := layered(key, layers); ok {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return v
}
