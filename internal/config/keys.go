package config

import (
	"sort"
	"strings"
)

// Scope says where a key applies: the broker's configuration (a
// server.properties key), a topic's configuration (CreateTopics,
// AlterConfigs), or both under the same name.
type Scope uint8

const (
	ScopeBroker Scope = iota + 1
	ScopeTopic
	ScopeBoth
)

func (s Scope) String() string {
	switch s {
	case ScopeBroker:
		return "broker"
	case ScopeTopic:
		return "topic"
	case ScopeBoth:
		return "broker, topic"
	}
	return "?"
}

// Broker reports whether the key is a broker key.
func (s Scope) Broker() bool { return s == ScopeBroker || s == ScopeBoth }

// Topic reports whether the key is a topic key.
func (s Scope) Topic() bool { return s == ScopeTopic || s == ScopeBoth }

// Kind is what Sluice does with a key.
type Kind uint8

const (
	// Implemented keys are parsed, validated and used, with Kafka's
	// defaults (or SluiceDefault where Sluice differs).
	Implemented Kind = iota + 1
	// Rejected keys belong to features Sluice does not have. Setting one
	// to anything but Kafka's default is an error naming the key and the
	// feature; Kafka's default asks for nothing Sluice lacks, so it is
	// accepted.
	Rejected
	// Ignored keys have no meaning in Sluice (JVM thread pools, socket
	// buffer sizes, metrics reporters, …). Their values are type-checked
	// and then have no effect; Reason says why, and the README lists them.
	Ignored
)

func (k Kind) String() string {
	switch k {
	case Implemented:
		return "implemented"
	case Rejected:
		return "rejected"
	case Ignored:
		return "ignored"
	}
	return "?"
}

// Type is a key's Kafka type (ConfigDef.Type). Durations are Kafka
// numbers whose Unit says what they count.
type Type uint8

const (
	TypeBoolean Type = iota + 1
	TypeString
	TypeInt    // 32-bit
	TypeShort  // 16-bit
	TypeLong   // 64-bit
	TypeDouble // 64-bit floating point
	TypeList   // comma-separated
	TypeClass  // a Java class name
	TypePassword
)

func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeShort:
		return "short"
	case TypeLong:
		return "long"
	case TypeDouble:
		return "double"
	case TypeList:
		return "list"
	case TypeClass:
		return "class"
	case TypePassword:
		return "password"
	}
	return "?"
}

// kafkaName is the name Kafka's ConfigDef.Type has.
func (t Type) kafkaName() string { return strings.ToUpper(t.String()) }

// Unit is what a numeric key counts, read from its name's suffix (.ms,
// .seconds or .secs, .minutes, .hours); durations are converted with it.
type Unit uint8

const (
	UnitNone Unit = iota
	UnitMillis
	UnitSeconds
	UnitMinutes
	UnitHours
)

func (u Unit) String() string {
	return [...]string{"", "ms", "s", "min", "h"}[u]
}

func unitOf(name string, t Type) Unit {
	if t != TypeInt && t != TypeLong && t != TypeShort {
		return UnitNone
	}
	switch {
	case strings.HasSuffix(name, ".ms"):
		return UnitMillis
	case strings.HasSuffix(name, ".seconds"), strings.HasSuffix(name, ".secs"):
		return UnitSeconds
	case strings.HasSuffix(name, ".minutes"):
		return UnitMinutes
	case strings.HasSuffix(name, ".hours"):
		return UnitHours
	}
	return UnitNone
}

// Entry is one key of the registry.
type Entry struct {
	Name  string
	Scope Scope
	Kind  Kind
	Type  Type
	// Unit is set from the name (see Unit).
	Unit Unit
	// Default is Kafka's default, spelled as Kafka's documentation spells
	// it (lists comma-joined); Null is set instead when Kafka's default is
	// null, meaning the key is unset unless given.
	Default string
	Null    bool
	// Internal keys are defined by Kafka with defineInternal: real keys,
	// left out of Kafka's documentation.
	Internal bool
	// SluiceDefault replaces Default in every profile, for SluiceReason;
	// both are empty where Sluice keeps Kafka's default. Profiles may
	// override further (see Profile).
	SluiceDefault string
	SluiceReason  string
	// Reason says why a Rejected or Ignored key is so; rejected keys'
	// reasons start "not supported".
	Reason string
	// Unsupported describes the values of an Implemented key that Sluice
	// rejects, as "values: reason" with a reason like a rejected key's
	// (compression.type other than producer, …).
	Unsupported string
	// Validate checks an Implemented key's value, already parsed as Type
	// and normalized (see normalize); nil accepts any value of the type.
	Validate func(value string) error
	// Own, set only on a key of Sluice's own (not one of Kafka's), says
	// what it does; the README lists these keys.
	Own string
}

// HasSluiceDefault reports whether Sluice's default differs from Kafka's
// in every profile.
func (e *Entry) HasSluiceDefault() bool { return e.SluiceReason != "" }

// EffectiveDefault is the default before any profile: SluiceDefault where
// set, else Kafka's; null reports Kafka's null.
func (e *Entry) EffectiveDefault() (value string, null bool) {
	if e.HasSluiceDefault() {
		return e.SluiceDefault, false
	}
	return e.Default, e.Null
}

// KafkaDefault renders Kafka's default for display: "null" for null.
func (e *Entry) KafkaDefault() string {
	if e.Null {
		return "null"
	}
	return e.Default
}

var byName map[string]*Entry

func init() {
	byName = make(map[string]*Entry, len(registry))
	for i := range registry {
		e := &registry[i]
		e.Unit = unitOf(e.Name, e.Type)
		if _, dup := byName[e.Name]; dup {
			panic("config: key " + e.Name + " registered twice")
		}
		byName[e.Name] = e
	}
}

// Lookup returns the registry entry of a key.
func Lookup(name string) (Entry, bool) {
	e, ok := byName[name]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Keys returns every registered key, sorted by name.
func Keys() []Entry {
	out := make([]Entry, len(registry))
	copy(out, registry)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// listenerPrefix starts Kafka's per-listener overrides,
// listener.name.<listener>.<key>; Sluice rejects them all.
const listenerPrefix = "listener.name."

// configProvidersKey is the key of Kafka's config providers (AbstractConfig,
// outside the ConfigDefs): config.providers and its
// config.providers.<name>.* settings. Sluice rejects them.
const configProvidersKey = "config.providers"

// Reasons of rejected keys, by feature.
const (
	rejTransactions     = "not supported: transactions"
	rejConsumerProtocol = "not supported: the consumer group protocol of KIP-848 (classic consumer groups only)"
	rejShareGroups      = "not supported: share groups (KIP-932)"
	rejSASL             = "not supported: SASL authentication"
	rejSSL              = "not supported: TLS (SSL)"
	rejACL              = "not supported: authentication principals and authorization (ACLs)"
	rejDelegationTokens = "not supported: delegation tokens"
	rejQuotas           = "not supported: quotas and throttling"
	rejTiered           = "not supported: tiered (remote) storage"
	rejJBOD             = "not supported: multiple log directories (JBOD)"
	rejZooKeeper        = "not supported: ZooKeeper mode"
	rejPlugins          = "not supported: Java plugin classes (topic creation and alteration policies)"
	rejPasswordEncoder  = "not supported: encrypted password configurations (Sluice has no dynamic password configs)"
	rejListenerPrefix   = "not supported: per-listener configuration (listener.name.<listener>.<key>)"
	rejConfigProviders  = "not supported: config providers (${provider:path:key} values); give values literally"
	rejELR              = "not supported yet: eligible leader replicas (KIP-966)"
	rejQuorumBootstrap  = "not supported yet: dynamic controller quorums (KIP-853); list the voters in controller.quorum.voters"
	rejPerIPLimits      = "not supported yet: per-IP connection limits"
)

// Reasons of ignored keys.
const (
	ignThreads          = "thread-pool size of Kafka's JVM implementation; Sluice schedules its work on goroutines"
	ignSocketBuffer     = "socket buffer size; Sluice leaves socket buffers to the operating system's auto-tuning"
	ignBacklog          = "Go's listeners use the operating system's accept backlog (net.core.somaxconn)"
	ignMetrics          = "Java metrics reporters and sampling; no equivalent in Sluice"
	ignPurgatory        = "purge interval of Kafka's request purgatory; no equivalent in Sluice"
	ignZooKeeperOnly    = "ZooKeeper mode only: no effect in KRaft mode, which is the only mode Sluice has"
	ignCompressionLevel = "used only when the broker recompresses, and Sluice never does (compression.type is producer)"
	ignPreallocate      = "Sluice does not preallocate segment files"
	ignDownConversion   = "Sluice does not down-convert record batches to the old (v0, v1) message formats"
	ignMessageFormat    = "deprecated: Kafka ignores it from inter-broker protocol 3.0 on, and Sluice writes message format v2 only"
	ignProtocolVersion  = "Sluice speaks one fixed set of protocol versions; KRaft clusters use the metadata.version feature instead"
	ignRaftTuning       = "tuning of Kafka's KRaft implementation; Sluice's metadata quorum has no equivalent (its failure detection follows controller.quorum.election.timeout.ms)"
	ignMetadataLog      = "segmenting and retention of Kafka's metadata log; Sluice's metadata log is compacted by snapshots instead"
	ignUnstable         = "advertises Kafka's unreleased API or feature versions; Sluice advertises what it implements"
	ignNewCoordinator   = "chooses between Kafka's two group coordinator implementations; Sluice has one"
	ignTelemetry        = "client telemetry (KIP-714) is not collected"
	ignEarlyStart       = "orders listener start-up around the authorizer's; Sluice has no authorizer"
	ignLogDirFailure    = "failure handling across multiple log directories; Sluice has one"
	ignStartupDeadline  = "internal start-up deadline of Kafka's broker; no equivalent in Sluice"
)

// registry is every broker and topic key of Apache Kafka 4.0.0-SNAPSHOT at
// commit 1eb7644349cb07139d6a3c1ad1986979647cac99 (2024-10-25), as listed in
// testdata/kafka-keys.txt, which TestRegistryComplete checks this table
// against, with what Sluice does with each. Default, Null, Type and
// Internal are Kafka's.
var registry = []Entry{
	{Name: "advertised.listeners", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: validListeners},
	{Name: "alter.config.policy.class.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejPlugins},
	{Name: "alter.log.dirs.replication.quota.window.num", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "11", Reason: rejQuotas},
	{Name: "alter.log.dirs.replication.quota.window.size.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejQuotas},
	{Name: "authorizer.class.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Reason: rejACL},
	{Name: "auto.create.topics.enable", Scope: ScopeBroker, Kind: Implemented, Type: TypeBoolean, Default: "true"},
	{Name: "auto.leader.rebalance.enable", Scope: ScopeBroker, Kind: Implemented, Type: TypeBoolean, Default: "true"},
	{Name: "background.threads", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "10", Reason: ignThreads},
	{Name: "broker.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "2000", Validate: atLeast(1)},
	{Name: "broker.id", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "-1", Validate: atLeast(-1)},
	{Name: "broker.id.generation.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "true", Reason: ignZooKeeperOnly},
	{Name: "broker.rack", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true},
	{Name: "broker.session.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "9000", Validate: atLeast(1)},
	{Name: "cleanup.policy", Scope: ScopeTopic, Kind: Implemented, Type: TypeList, Default: "delete", Validate: validCleanupPolicy},
	{Name: "client.quota.callback.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejQuotas},
	{Name: "compression.gzip.level", Scope: ScopeBoth, Kind: Ignored, Type: TypeInt, Default: "-1", Reason: ignCompressionLevel},
	{Name: "compression.lz4.level", Scope: ScopeBoth, Kind: Ignored, Type: TypeInt, Default: "9", Reason: ignCompressionLevel},
	{Name: "compression.type", Scope: ScopeBoth, Kind: Implemented, Type: TypeString, Default: "producer", Validate: validCompressionType, Unsupported: "any value but producer: not supported: recompression (Sluice stores batches as the producer compressed them)"},
	{Name: "compression.zstd.level", Scope: ScopeBoth, Kind: Ignored, Type: TypeInt, Default: "3", Reason: ignCompressionLevel},
	{Name: "connection.failed.authentication.delay.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "100", Reason: rejSASL},
	{Name: "connections.max.idle.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "600000"},
	{Name: "connections.max.reauth.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "0", Reason: rejSASL},
	{Name: "control.plane.listener.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "controlled.shutdown.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "true", Reason: ignZooKeeperOnly},
	{Name: "controlled.shutdown.max.retries", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "3", Reason: ignZooKeeperOnly},
	{Name: "controlled.shutdown.retry.backoff.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "5000", Reason: ignZooKeeperOnly},
	{Name: "controller.listener.names", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: validListenerNames},
	{Name: "controller.quorum.append.linger.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "25", Reason: ignRaftTuning},
	{Name: "controller.quorum.bootstrap.servers", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Reason: rejQuorumBootstrap},
	{Name: "controller.quorum.election.backoff.max.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1000", Reason: ignRaftTuning},
	{Name: "controller.quorum.election.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1000", Validate: atLeast(1)},
	{Name: "controller.quorum.fetch.timeout.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "2000", Reason: ignRaftTuning},
	{Name: "controller.quorum.request.timeout.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "2000", Reason: ignRaftTuning},
	{Name: "controller.quorum.retry.backoff.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "20", Reason: ignRaftTuning},
	{Name: "controller.quorum.voters", Scope: ScopeBroker, Kind: Implemented, Type: TypeList, Validate: validVoters},
	{Name: "controller.quota.window.num", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "11", Reason: rejQuotas},
	{Name: "controller.quota.window.size.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejQuotas},
	{Name: "controller.socket.timeout.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "30000", Reason: ignZooKeeperOnly},
	{Name: "create.topic.policy.class.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejPlugins},
	{Name: "default.replication.factor", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "delegation.token.expiry.check.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "3600000", Reason: rejDelegationTokens},
	{Name: "delegation.token.expiry.time.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "86400000", Reason: rejDelegationTokens},
	{Name: "delegation.token.max.lifetime.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "604800000", Reason: rejDelegationTokens},
	{Name: "delegation.token.secret.key", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejDelegationTokens},
	{Name: "delete.records.purgatory.purge.interval.requests", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1", Reason: ignPurgatory},
	{Name: "delete.retention.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "86400000", Validate: atLeast(0)},
	{Name: "delete.topic.enable", Scope: ScopeBroker, Kind: Implemented, Type: TypeBoolean, Default: "true"},
	{Name: "early.start.listeners", Scope: ScopeBroker, Kind: Ignored, Type: TypeString, Null: true, Reason: ignEarlyStart},
	{Name: "eligible.leader.replicas.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejELR},
	{Name: "fetch.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "57671680", Validate: atLeast(1024)},
	{Name: "fetch.purgatory.purge.interval.requests", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1000", Reason: ignPurgatory},
	{Name: "file.delete.delay.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "60000", Validate: atLeast(0)},
	{Name: "flush.messages", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1), SluiceDefault: "1", SluiceReason: "durable by default: a produce is acknowledged only after its batch is fsynced (Kafka acknowledges from the page cache)"},
	{Name: "flush.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "follower.replication.throttled.rate", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "follower.replication.throttled.replicas", Scope: ScopeTopic, Kind: Implemented, Type: TypeList, Default: "", Validate: ValidThrottledReplicas},
	{Name: "group.consumer.assignors", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Default: "org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor", Reason: rejConsumerProtocol},
	{Name: "group.consumer.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5000", Reason: rejConsumerProtocol},
	{Name: "group.consumer.max.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "15000", Reason: rejConsumerProtocol},
	{Name: "group.consumer.max.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "60000", Reason: rejConsumerProtocol},
	{Name: "group.consumer.max.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "2147483647", Reason: rejConsumerProtocol},
	{Name: "group.consumer.migration.policy", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "bidirectional", Internal: true, Reason: rejConsumerProtocol},
	{Name: "group.consumer.min.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5000", Reason: rejConsumerProtocol},
	{Name: "group.consumer.min.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "45000", Reason: rejConsumerProtocol},
	{Name: "group.consumer.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "45000", Reason: rejConsumerProtocol},
	{Name: "group.coordinator.append.linger.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "10", Validate: atLeast(0)},
	{Name: "group.coordinator.new.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "true", Internal: true, Reason: ignNewCoordinator},
	{Name: "group.coordinator.rebalance.protocols", Scope: ScopeBroker, Kind: Implemented, Type: TypeList, Default: "classic,consumer", Validate: validRebalanceProtocols, SluiceDefault: "classic", SluiceReason: "the consumer group protocol of KIP-848 is not supported", Unsupported: "consumer or share: not supported: the consumer group protocol of KIP-848 and share groups (KIP-932)"},
	{Name: "group.coordinator.threads", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1", Reason: ignThreads},
	{Name: "group.initial.rebalance.delay.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "3000", Validate: atLeast(0)},
	{Name: "group.max.session.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1800000", Validate: atLeast(1)},
	{Name: "group.max.size", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "2147483647", Validate: atLeast(1)},
	{Name: "group.min.session.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "6000", Validate: atLeast(0)},
	{Name: "group.share.delivery.count.limit", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5", Reason: rejShareGroups},
	{Name: "group.share.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Internal: true, Reason: rejShareGroups},
	{Name: "group.share.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5000", Reason: rejShareGroups},
	{Name: "group.share.max.groups", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "10", Reason: rejShareGroups},
	{Name: "group.share.max.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "15000", Reason: rejShareGroups},
	{Name: "group.share.max.record.lock.duration.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "60000", Reason: rejShareGroups},
	{Name: "group.share.max.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "60000", Reason: rejShareGroups},
	{Name: "group.share.max.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "200", Reason: rejShareGroups},
	{Name: "group.share.min.heartbeat.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5000", Reason: rejShareGroups},
	{Name: "group.share.min.record.lock.duration.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "15000", Reason: rejShareGroups},
	{Name: "group.share.min.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "45000", Reason: rejShareGroups},
	{Name: "group.share.partition.max.record.locks", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "200", Reason: rejShareGroups},
	{Name: "group.share.record.lock.duration.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "30000", Reason: rejShareGroups},
	{Name: "group.share.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "45000", Reason: rejShareGroups},
	{Name: "index.interval.bytes", Scope: ScopeTopic, Kind: Implemented, Type: TypeInt, Default: "4096", Validate: atLeast(0)},
	{Name: "initial.broker.registration.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "60000", Validate: atLeast(1)},
	{Name: "inter.broker.listener.name", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: validListenerName},
	{Name: "inter.broker.protocol.version", Scope: ScopeBroker, Kind: Ignored, Type: TypeString, Default: "4.0-IV0", Reason: ignProtocolVersion},
	{Name: "kafka.metrics.polling.interval.secs", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "10", Reason: ignMetrics},
	{Name: "kafka.metrics.reporters", Scope: ScopeBroker, Kind: Ignored, Type: TypeList, Reason: ignMetrics},
	{Name: "leader.imbalance.check.interval.seconds", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "300", Validate: atLeast(1)},
	{Name: "leader.imbalance.per.broker.percentage", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "10", Validate: between(0, 100)},
	{Name: "leader.replication.throttled.rate", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "leader.replication.throttled.replicas", Scope: ScopeTopic, Kind: Implemented, Type: TypeList, Default: "", Validate: ValidThrottledReplicas},
	{Name: "listener.security.protocol.map", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Default: "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", Validate: validProtocolMap, Unsupported: "SSL, SASL_PLAINTEXT or SASL_SSL for a listener in use: not supported: TLS (SSL) and SASL authentication"},
	{Name: "listeners", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Default: "PLAINTEXT://:9092", Validate: validListeners, SluiceDefault: "PLAINTEXT://127.0.0.1:9092", SluiceReason: "listen on loopback only unless told otherwise: Sluice has no authentication"},
	{Name: "local.retention.bytes", Scope: ScopeTopic, Kind: Rejected, Type: TypeLong, Default: "-2", Reason: rejTiered},
	{Name: "local.retention.ms", Scope: ScopeTopic, Kind: Rejected, Type: TypeLong, Default: "-2", Reason: rejTiered},
	{Name: "log.cleaner.backoff.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "15000", Validate: atLeast(0)},
	{Name: "log.cleaner.dedupe.buffer.size", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "134217728", Validate: atLeast(0)},
	{Name: "log.cleaner.delete.retention.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "86400000", Validate: atLeast(0)},
	{Name: "log.cleaner.enable", Scope: ScopeBroker, Kind: Implemented, Type: TypeBoolean, Default: "true"},
	{Name: "log.cleaner.io.buffer.load.factor", Scope: ScopeBroker, Kind: Implemented, Type: TypeDouble, Default: "0.9", Validate: between(0, 1)},
	{Name: "log.cleaner.io.buffer.size", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "524288", Validate: atLeast(0)},
	{Name: "log.cleaner.io.max.bytes.per.second", Scope: ScopeBroker, Kind: Implemented, Type: TypeDouble, Default: "1.7976931348623157e+308"},
	{Name: "log.cleaner.max.compaction.lag.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1)},
	{Name: "log.cleaner.min.cleanable.ratio", Scope: ScopeBroker, Kind: Implemented, Type: TypeDouble, Default: "0.5", Validate: between(0, 1)},
	{Name: "log.cleaner.min.compaction.lag.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "0", Validate: atLeast(0)},
	{Name: "log.cleaner.threads", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(0)},
	{Name: "log.cleanup.policy", Scope: ScopeBroker, Kind: Implemented, Type: TypeList, Default: "delete", Validate: validCleanupPolicy},
	{Name: "log.dir", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Default: "/tmp/kafka-logs", Validate: nonEmpty, SluiceDefault: "./sluice-data", SluiceReason: "data under the working directory rather than /tmp, which many systems clear on reboot"},
	{Name: "log.dir.failure.timeout.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "30000", Reason: ignLogDirFailure},
	{Name: "log.dirs", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: validLogDirs, Unsupported: "more than one directory: not supported: multiple log directories (JBOD)"},
	{Name: "log.flush.interval.messages", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1), SluiceDefault: "1", SluiceReason: "durable by default: a produce is acknowledged only after its batch is fsynced (Kafka acknowledges from the page cache)"},
	{Name: "log.flush.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Null: true, Validate: atLeast(0)},
	{Name: "log.flush.offset.checkpoint.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "60000", Validate: atLeast(0)},
	{Name: "log.flush.scheduler.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1)},
	{Name: "log.flush.start.offset.checkpoint.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "60000", Validate: atLeast(0)},
	{Name: "log.index.interval.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "4096", Validate: atLeast(0)},
	{Name: "log.index.size.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "10485760", Validate: atLeast(4)},
	{Name: "log.initial.task.delay.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "30000", Internal: true, Validate: atLeast(0)},
	{Name: "log.local.retention.bytes", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "-2", Reason: rejTiered},
	{Name: "log.local.retention.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "-2", Reason: rejTiered},
	{Name: "log.message.downconversion.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "true", Reason: ignDownConversion},
	{Name: "log.message.format.version", Scope: ScopeBroker, Kind: Ignored, Type: TypeString, Default: "3.0-IV1", Reason: ignMessageFormat},
	{Name: "log.message.timestamp.after.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "log.message.timestamp.before.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "log.message.timestamp.difference.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "log.message.timestamp.type", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Default: "CreateTime", Validate: validTimestampType},
	{Name: "log.preallocate", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "false", Reason: ignPreallocate},
	{Name: "log.retention.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "-1"},
	{Name: "log.retention.check.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "300000", Validate: atLeast(1)},
	{Name: "log.retention.hours", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "168"},
	{Name: "log.retention.minutes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Null: true},
	{Name: "log.retention.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Null: true},
	{Name: "log.roll.hours", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "168", Validate: atLeast(1)},
	{Name: "log.roll.jitter.hours", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "0", Validate: atLeast(0)},
	{Name: "log.roll.jitter.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Null: true},
	{Name: "log.roll.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Null: true},
	{Name: "log.segment.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1073741824", Validate: atLeast(14)},
	{Name: "log.segment.delete.delay.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "60000", Validate: atLeast(0)},
	{Name: "max.compaction.lag.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1)},
	{Name: "max.connection.creation.rate", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "2147483647", Reason: rejQuotas},
	{Name: "max.connections", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "2147483647", Validate: atLeast(0)},
	{Name: "max.connections.per.ip", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "2147483647", Reason: rejPerIPLimits},
	{Name: "max.connections.per.ip.overrides", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Reason: rejPerIPLimits},
	{Name: "max.incremental.fetch.session.cache.slots", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1000", Validate: atLeast(0)},
	{Name: "max.message.bytes", Scope: ScopeTopic, Kind: Implemented, Type: TypeInt, Default: "1048588", Validate: atLeast(0)},
	{Name: "max.request.partition.size.limit", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "2000", Validate: atLeast(1)},
	{Name: "message.downconversion.enable", Scope: ScopeTopic, Kind: Ignored, Type: TypeBoolean, Default: "true", Reason: ignDownConversion},
	{Name: "message.format.version", Scope: ScopeTopic, Kind: Ignored, Type: TypeString, Default: "3.0-IV1", Reason: ignMessageFormat},
	{Name: "message.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1048588", Validate: atLeast(0)},
	{Name: "message.timestamp.after.max.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "message.timestamp.before.max.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "message.timestamp.difference.max.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(0)},
	{Name: "message.timestamp.type", Scope: ScopeTopic, Kind: Implemented, Type: TypeString, Default: "CreateTime", Validate: validTimestampType},
	{Name: "metadata.log.dir", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: nonEmpty},
	{Name: "metadata.log.max.record.bytes.between.snapshots", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "20971520", Validate: atLeast(1)},
	{Name: "metadata.log.max.snapshot.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "3600000", Validate: atLeast(0)},
	{Name: "metadata.log.segment.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1073741824", Reason: ignMetadataLog},
	{Name: "metadata.log.segment.min.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "8388608", Internal: true, Reason: ignMetadataLog},
	{Name: "metadata.log.segment.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "604800000", Reason: ignMetadataLog},
	{Name: "metadata.max.idle.interval.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "500", Reason: ignRaftTuning},
	{Name: "metadata.max.retention.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "104857600", Reason: ignMetadataLog},
	{Name: "metadata.max.retention.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "604800000", Reason: ignMetadataLog},
	{Name: "metrics.listen", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: hostPort,
		Own: "host:port of the HTTP listener serving /metrics (Prometheus), /healthz and /readyz; off when unset"},
	{Name: "metrics.partition.labels", Scope: ScopeBroker, Kind: Implemented, Type: TypeBoolean, Default: "true",
		Own: "false drops the per-partition series (log size, segments, consumer lag per partition) for large clusters; per-topic and per-group totals stay"},
	{Name: "metric.reporters", Scope: ScopeBroker, Kind: Ignored, Type: TypeList, Default: "org.apache.kafka.common.metrics.JmxReporter", Reason: ignMetrics},
	{Name: "metrics.num.samples", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "2", Reason: ignMetrics},
	{Name: "metrics.recording.level", Scope: ScopeBroker, Kind: Ignored, Type: TypeString, Default: "INFO", Reason: ignMetrics},
	{Name: "metrics.sample.window.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "30000", Reason: ignMetrics},
	{Name: "min.cleanable.dirty.ratio", Scope: ScopeTopic, Kind: Implemented, Type: TypeDouble, Default: "0.5", Validate: between(0, 1)},
	{Name: "min.compaction.lag.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "0", Validate: atLeast(0)},
	{Name: "min.insync.replicas", Scope: ScopeBoth, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "node.id", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "-1", Validate: atLeast(0)},
	{Name: "num.io.threads", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "8", Reason: ignThreads},
	{Name: "num.network.threads", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "3", Reason: ignThreads},
	{Name: "num.partitions", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "num.recovery.threads.per.data.dir", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "num.replica.alter.log.dirs.threads", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Null: true, Reason: rejJBOD},
	{Name: "num.replica.fetchers", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "offset.metadata.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "4096", Validate: atLeast(0)},
	{Name: "offsets.commit.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "5000", Validate: atLeast(1)},
	{Name: "offsets.load.buffer.size", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "5242880", Validate: atLeast(1)},
	{Name: "offsets.retention.check.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "600000", Validate: atLeast(1)},
	{Name: "offsets.retention.minutes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "10080", Validate: atLeast(1)},
	{Name: "offsets.topic.compression.codec", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "0", Validate: validCompressionCodec},
	{Name: "offsets.topic.num.partitions", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "50", Validate: atLeast(1)},
	{Name: "offsets.topic.replication.factor", Scope: ScopeBroker, Kind: Implemented, Type: TypeShort, Default: "3", Validate: atLeast(1)},
	{Name: "offsets.topic.segment.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "104857600", Validate: atLeast(1)},
	{Name: "password.encoder.cipher.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "AES/CBC/PKCS5Padding", Reason: rejPasswordEncoder},
	{Name: "password.encoder.iterations", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "4096", Reason: rejPasswordEncoder},
	{Name: "password.encoder.key.length", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "128", Reason: rejPasswordEncoder},
	{Name: "password.encoder.keyfactory.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejPasswordEncoder},
	{Name: "password.encoder.old.secret", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejPasswordEncoder},
	{Name: "password.encoder.secret", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejPasswordEncoder},
	{Name: "preallocate", Scope: ScopeTopic, Kind: Ignored, Type: TypeBoolean, Default: "false", Reason: ignPreallocate},
	{Name: "principal.builder.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Default: "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", Reason: rejACL},
	{Name: "process.roles", Scope: ScopeBroker, Kind: Implemented, Type: TypeList, Validate: validProcessRoles, Unsupported: "empty (ZooKeeper mode): not supported: ZooKeeper mode"},
	{Name: "producer.id.expiration.check.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "600000", Internal: true, Validate: atLeast(1)},
	{Name: "producer.id.expiration.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "86400000", Validate: atLeast(1)},
	{Name: "producer.purgatory.purge.interval.requests", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1000", Reason: ignPurgatory},
	{Name: "queued.max.request.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "-1"},
	{Name: "queued.max.requests", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "500", Validate: atLeast(1)},
	{Name: "quota.window.num", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "11", Reason: rejQuotas},
	{Name: "quota.window.size.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejQuotas},
	{Name: "remote.fetch.max.wait.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "500", Reason: rejTiered},
	{Name: "remote.list.offsets.request.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "30000", Reason: rejTiered},
	{Name: "remote.log.copy.disable", Scope: ScopeTopic, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejTiered},
	{Name: "remote.log.delete.on.disable", Scope: ScopeTopic, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejTiered},
	{Name: "remote.log.index.file.cache.total.size.bytes", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "1073741824", Reason: rejTiered},
	{Name: "remote.log.manager.copier.thread.pool.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "-1", Reason: rejTiered},
	{Name: "remote.log.manager.copy.max.bytes.per.second", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "9223372036854775807", Reason: rejTiered},
	{Name: "remote.log.manager.copy.quota.window.num", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "11", Reason: rejTiered},
	{Name: "remote.log.manager.copy.quota.window.size.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejTiered},
	{Name: "remote.log.manager.expiration.thread.pool.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "-1", Reason: rejTiered},
	{Name: "remote.log.manager.fetch.max.bytes.per.second", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "9223372036854775807", Reason: rejTiered},
	{Name: "remote.log.manager.fetch.quota.window.num", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "11", Reason: rejTiered},
	{Name: "remote.log.manager.fetch.quota.window.size.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejTiered},
	{Name: "remote.log.manager.task.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "30000", Reason: rejTiered},
	{Name: "remote.log.manager.task.retry.backoff.max.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "30000", Internal: true, Reason: rejTiered},
	{Name: "remote.log.manager.task.retry.backoff.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "500", Internal: true, Reason: rejTiered},
	{Name: "remote.log.manager.task.retry.jitter", Scope: ScopeBroker, Kind: Rejected, Type: TypeDouble, Default: "0.2", Internal: true, Reason: rejTiered},
	{Name: "remote.log.manager.thread.pool.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "10", Reason: rejTiered},
	{Name: "remote.log.metadata.custom.metadata.max.bytes", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "128", Reason: rejTiered},
	{Name: "remote.log.metadata.manager.class.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager", Reason: rejTiered},
	{Name: "remote.log.metadata.manager.class.path", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejTiered},
	{Name: "remote.log.metadata.manager.impl.prefix", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "rlmm.config.", Reason: rejTiered},
	{Name: "remote.log.metadata.manager.listener.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejTiered},
	{Name: "remote.log.reader.max.pending.tasks", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "100", Reason: rejTiered},
	{Name: "remote.log.reader.threads", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "10", Reason: rejTiered},
	{Name: "remote.log.storage.manager.class.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejTiered},
	{Name: "remote.log.storage.manager.class.path", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejTiered},
	{Name: "remote.log.storage.manager.impl.prefix", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "rsm.config.", Reason: rejTiered},
	{Name: "remote.log.storage.system.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejTiered},
	{Name: "remote.storage.enable", Scope: ScopeTopic, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejTiered},
	{Name: "replica.alter.log.dirs.io.max.bytes.per.second", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "9223372036854775807", Reason: rejJBOD},
	{Name: "replica.fetch.backoff.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1000", Validate: atLeast(0)},
	{Name: "replica.fetch.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1048576", Validate: atLeast(0)},
	{Name: "replica.fetch.min.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(0)},
	{Name: "replica.fetch.response.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "10485760", Validate: atLeast(0)},
	{Name: "replica.fetch.wait.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "500", Validate: atLeast(0)},
	{Name: "replica.high.watermark.checkpoint.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "5000", Validate: atLeast(1)},
	{Name: "replica.lag.time.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "30000", Validate: atLeast(1)},
	{Name: "replica.selector.class", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Null: true, Validate: validReplicaSelector, Unsupported: "any class but Kafka's RackAwareReplicaSelector and LeaderSelector: not supported: custom replica selectors"},
	{Name: "replica.socket.receive.buffer.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "65536", Reason: ignSocketBuffer},
	{Name: "replica.socket.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "30000", Validate: atLeast(1)},
	{Name: "replication.quota.window.num", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "11", Validate: atLeast(1)},
	{Name: "replication.quota.window.size.seconds", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "1", Validate: atLeast(1)},
	{Name: "request.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "30000", Validate: atLeast(0)},
	{Name: "reserved.broker.max.id", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1000", Reason: ignZooKeeperOnly},
	{Name: "retention.bytes", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "-1"},
	{Name: "retention.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "604800000", Validate: atLeast(-1)},
	{Name: "sasl.client.callback.handler.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejSASL},
	{Name: "sasl.enabled.mechanisms", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Default: "GSSAPI", Reason: rejSASL},
	{Name: "sasl.jaas.config", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSASL},
	{Name: "sasl.kerberos.kinit.cmd", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "/usr/bin/kinit", Reason: rejSASL},
	{Name: "sasl.kerberos.min.time.before.relogin", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "60000", Reason: rejSASL},
	{Name: "sasl.kerberos.principal.to.local.rules", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Default: "DEFAULT", Reason: rejSASL},
	{Name: "sasl.kerberos.service.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSASL},
	{Name: "sasl.kerberos.ticket.renew.jitter", Scope: ScopeBroker, Kind: Rejected, Type: TypeDouble, Default: "0.05", Reason: rejSASL},
	{Name: "sasl.kerberos.ticket.renew.window.factor", Scope: ScopeBroker, Kind: Rejected, Type: TypeDouble, Default: "0.8", Reason: rejSASL},
	{Name: "sasl.login.callback.handler.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejSASL},
	{Name: "sasl.login.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejSASL},
	{Name: "sasl.login.connect.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Null: true, Reason: rejSASL},
	{Name: "sasl.login.read.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Null: true, Reason: rejSASL},
	{Name: "sasl.login.refresh.buffer.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "300", Reason: rejSASL},
	{Name: "sasl.login.refresh.min.period.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "60", Reason: rejSASL},
	{Name: "sasl.login.refresh.window.factor", Scope: ScopeBroker, Kind: Rejected, Type: TypeDouble, Default: "0.8", Reason: rejSASL},
	{Name: "sasl.login.refresh.window.jitter", Scope: ScopeBroker, Kind: Rejected, Type: TypeDouble, Default: "0.05", Reason: rejSASL},
	{Name: "sasl.login.retry.backoff.max.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "10000", Reason: rejSASL},
	{Name: "sasl.login.retry.backoff.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "100", Reason: rejSASL},
	{Name: "sasl.mechanism.controller.protocol", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "GSSAPI", Reason: rejSASL},
	{Name: "sasl.mechanism.inter.broker.protocol", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "GSSAPI", Reason: rejSASL},
	{Name: "sasl.oauthbearer.clock.skew.seconds", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "30", Reason: rejSASL},
	{Name: "sasl.oauthbearer.expected.audience", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Null: true, Reason: rejSASL},
	{Name: "sasl.oauthbearer.expected.issuer", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSASL},
	{Name: "sasl.oauthbearer.jwks.endpoint.refresh.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "3600000", Reason: rejSASL},
	{Name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "10000", Reason: rejSASL},
	{Name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeLong, Default: "100", Reason: rejSASL},
	{Name: "sasl.oauthbearer.jwks.endpoint.url", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSASL},
	{Name: "sasl.oauthbearer.scope.claim.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "scope", Reason: rejSASL},
	{Name: "sasl.oauthbearer.sub.claim.name", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "sub", Reason: rejSASL},
	{Name: "sasl.oauthbearer.token.endpoint.url", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSASL},
	{Name: "sasl.server.callback.handler.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejSASL},
	{Name: "sasl.server.max.receive.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "524288", Reason: rejSASL},
	{Name: "security.inter.broker.protocol", Scope: ScopeBroker, Kind: Implemented, Type: TypeString, Default: "PLAINTEXT", Validate: validInterBrokerProtocol, Unsupported: "SSL, SASL_PLAINTEXT or SASL_SSL: not supported: TLS (SSL) and SASL authentication"},
	{Name: "security.providers", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSSL},
	{Name: "segment.bytes", Scope: ScopeTopic, Kind: Implemented, Type: TypeInt, Default: "1073741824", Validate: atLeast(14)},
	{Name: "segment.index.bytes", Scope: ScopeTopic, Kind: Implemented, Type: TypeInt, Default: "10485760", Validate: atLeast(4)},
	{Name: "segment.jitter.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "0", Validate: atLeast(0)},
	{Name: "segment.ms", Scope: ScopeTopic, Kind: Implemented, Type: TypeLong, Default: "604800000", Validate: atLeast(1)},
	{Name: "server.max.startup.time.ms", Scope: ScopeBroker, Kind: Ignored, Type: TypeLong, Default: "9223372036854775807", Internal: true, Reason: ignStartupDeadline},
	{Name: "share.coordinator.append.linger.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "10", Reason: rejShareGroups},
	{Name: "share.coordinator.load.buffer.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5242880", Reason: rejShareGroups},
	{Name: "share.coordinator.snapshot.update.records.per.snapshot", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "500", Reason: rejShareGroups},
	{Name: "share.coordinator.state.topic.compression.codec", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "0", Reason: rejShareGroups},
	{Name: "share.coordinator.state.topic.min.isr", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "2", Reason: rejShareGroups},
	{Name: "share.coordinator.state.topic.num.partitions", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "50", Reason: rejShareGroups},
	{Name: "share.coordinator.state.topic.replication.factor", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "3", Reason: rejShareGroups},
	{Name: "share.coordinator.state.topic.segment.bytes", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "104857600", Reason: rejShareGroups},
	{Name: "share.coordinator.threads", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1", Reason: rejShareGroups},
	{Name: "share.coordinator.write.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5000", Reason: rejShareGroups},
	{Name: "share.fetch.max.fetch.records", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "2147483647", Internal: true, Reason: rejShareGroups},
	{Name: "share.fetch.purgatory.purge.interval.requests", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "1000", Reason: rejShareGroups},
	{Name: "socket.connection.setup.timeout.max.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "30000", Validate: atLeast(0)},
	{Name: "socket.connection.setup.timeout.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "10000", Validate: atLeast(0)},
	{Name: "socket.listen.backlog.size", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "50", Reason: ignBacklog},
	{Name: "socket.receive.buffer.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "102400", Reason: ignSocketBuffer},
	{Name: "socket.request.max.bytes", Scope: ScopeBroker, Kind: Implemented, Type: TypeInt, Default: "104857600", Validate: atLeast(1)},
	{Name: "socket.send.buffer.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "102400", Reason: ignSocketBuffer},
	{Name: "ssl.allow.dn.changes", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejSSL},
	{Name: "ssl.allow.san.changes", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejSSL},
	{Name: "ssl.cipher.suites", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Reason: rejSSL},
	{Name: "ssl.client.auth", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "none", Reason: rejSSL},
	{Name: "ssl.enabled.protocols", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Default: "TLSv1.2,TLSv1.3", Reason: rejSSL},
	{Name: "ssl.endpoint.identification.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "https", Reason: rejSSL},
	{Name: "ssl.engine.factory.class", Scope: ScopeBroker, Kind: Rejected, Type: TypeClass, Null: true, Reason: rejSSL},
	{Name: "ssl.key.password", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.keymanager.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "SunX509", Reason: rejSSL},
	{Name: "ssl.keystore.certificate.chain", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.keystore.key", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.keystore.location", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSSL},
	{Name: "ssl.keystore.password", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.keystore.type", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "JKS", Reason: rejSSL},
	{Name: "ssl.principal.mapping.rules", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "DEFAULT", Reason: rejSSL},
	{Name: "ssl.protocol", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "TLSv1.3", Reason: rejSSL},
	{Name: "ssl.provider", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSSL},
	{Name: "ssl.secure.random.implementation", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSSL},
	{Name: "ssl.trustmanager.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "PKIX", Reason: rejSSL},
	{Name: "ssl.truststore.certificates", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.truststore.location", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejSSL},
	{Name: "ssl.truststore.password", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejSSL},
	{Name: "ssl.truststore.type", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "JKS", Reason: rejSSL},
	{Name: "telemetry.max.bytes", Scope: ScopeBroker, Kind: Ignored, Type: TypeInt, Default: "1048576", Reason: ignTelemetry},
	{Name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "10000", Reason: rejTransactions},
	{Name: "transaction.max.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "900000", Reason: rejTransactions},
	{Name: "transaction.partition.verification.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "true", Reason: rejTransactions},
	{Name: "transaction.remove.expired.transaction.cleanup.interval.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "3600000", Reason: rejTransactions},
	{Name: "transaction.state.log.load.buffer.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "5242880", Reason: rejTransactions},
	{Name: "transaction.state.log.min.isr", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "2", Reason: rejTransactions},
	{Name: "transaction.state.log.num.partitions", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "50", Reason: rejTransactions},
	{Name: "transaction.state.log.replication.factor", Scope: ScopeBroker, Kind: Rejected, Type: TypeShort, Default: "3", Reason: rejTransactions},
	{Name: "transaction.state.log.segment.bytes", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "104857600", Reason: rejTransactions},
	{Name: "transactional.id.expiration.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "604800000", Reason: rejTransactions},
	{Name: "unclean.leader.election.enable", Scope: ScopeBoth, Kind: Implemented, Type: TypeBoolean, Default: "false"},
	{Name: "unclean.leader.election.interval.ms", Scope: ScopeBroker, Kind: Implemented, Type: TypeLong, Default: "300000", Internal: true, Validate: atLeast(1)},
	{Name: "unstable.api.versions.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "false", Internal: true, Reason: ignUnstable},
	{Name: "unstable.feature.versions.enable", Scope: ScopeBroker, Kind: Ignored, Type: TypeBoolean, Default: "false", Internal: true, Reason: ignUnstable},
	{Name: "zookeeper.clientCnxnSocket", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.connect", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.connection.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.max.in.flight.requests", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "10", Reason: rejZooKeeper},
	{Name: "zookeeper.metadata.migration.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejZooKeeper},
	{Name: "zookeeper.metadata.migration.min.batch.size", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "200", Internal: true, Reason: rejZooKeeper},
	{Name: "zookeeper.session.timeout.ms", Scope: ScopeBroker, Kind: Rejected, Type: TypeInt, Default: "18000", Reason: rejZooKeeper},
	{Name: "zookeeper.set.acl", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.cipher.suites", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.client.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.crl.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.enabled.protocols", Scope: ScopeBroker, Kind: Rejected, Type: TypeList, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.endpoint.identification.algorithm", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "HTTPS", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.keystore.location", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.keystore.password", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.keystore.type", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.ocsp.enable", Scope: ScopeBroker, Kind: Rejected, Type: TypeBoolean, Default: "false", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.protocol", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Default: "TLSv1.2", Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.truststore.location", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.truststore.password", Scope: ScopeBroker, Kind: Rejected, Type: TypePassword, Null: true, Reason: rejZooKeeper},
	{Name: "zookeeper.ssl.truststore.type", Scope: ScopeBroker, Kind: Rejected, Type: TypeString, Null: true, Reason: rejZooKeeper},
}
