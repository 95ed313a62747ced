// Package config is Sluice's configuration: Kafka's broker and topic keys,
// with Kafka's names, types and defaults.
//
// Every broker and topic key of Apache Kafka is in the registry (keys.go;
// testdata/kafka-keys.txt lists Kafka's keys, read from its source at the
// commit named there, and TestRegistryComplete checks the registry against
// it), as one of three kinds:
//
//   - Implemented keys are parsed, validated and used. Their defaults are
//     Kafka's, except where Entry.SluiceDefault says otherwise (and why):
//     log.flush.interval.messages and flush.messages are 1, so that a
//     produce is acknowledged only once it is on disk.
//   - Rejected keys belong to features Sluice does not have: transactions,
//     the KIP-848 consumer group protocol, share groups, SASL, TLS, ACLs,
//     quotas, tiered storage, multiple log directories, ZooKeeper, and
//     features not built yet. Setting one to anything but Kafka's default
//     is an error naming the key and the feature. Some values of
//     implemented keys are rejected the same way (compression.type other
//     than producer, more than one log directory, a listener whose
//     security protocol is not PLAINTEXT).
//   - Ignored keys have no meaning in Sluice (JVM thread pools, socket
//     buffers, metrics reporters, …): their values are type-checked and
//     have no effect. MarkdownTable lists them, with the reasons, for the
//     README.
//
// A key in no registry entry is an error, suggesting the nearest known
// key; an invalid value is an error naming the key. Load collects every
// error, so that one run reports them all.
//
// Values are layered, lowest first: Kafka's defaults, Sluice's
// differences, a Profile (ProfileSingleNode is what `sluice serve` runs
// with: one node, broker and controller, on loopback), the properties file
// (ParseProperties reads Java's .properties format), and --set key=value
// overrides. The result, a *Broker, has typed fields for the implemented
// keys, the parsed listeners and voters, the topic defaults derived from
// the log.* keys as Kafka derives them (TopicDefaults), and every key's
// value and source for DescribeConfigs (Describe).
//
// testdata/kafkakeys is the program that extracts Kafka's keys; it reads
// Kafka's Java source as text.
package config
