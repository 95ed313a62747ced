// Package metadata is the cluster metadata of Sluice's KRaft design: the
// framing of the records in the replicated metadata log, the immutable
// image of the cluster those records build, and the pure function that
// applies a log entry to an image. Brokers learn metadata only from images.
//
// # The log
//
// The metadata log is a Raft log; each entry carries a list of metadata
// records, Kafka's (the generated protocol.*Record types, specs in
// metadata-records/*.json). A record is framed as Kafka's
// AbstractApiMessageSerde frames it:
//
//	uvarint frame version (1) | uvarint record type | uvarint record version | body
//
// where the body is the record's flexible encoding at that version.
// EncodeRecord writes a frame, DecodeRecord reads exactly one; a frame
// version other than 1, a type or version the specs do not define, a body
// that does not decode, and bytes after the body are errors wrapping
// ErrBadRecord. Writers use a record's highest version (LatestVersion).
// (Kafka lowers record versions to what the cluster's metadata.version
// allows; Sluice has one metadata.version for now.) Raft's own control
// records are not metadata records and are not framed here.
//
// # The image
//
// An Image is the state after one log entry (Offset, its index):
//
//	Features     finalized feature levels, metadata.version included
//	Cluster      registered brokers by id: epoch, incarnation, endpoints,
//	             rack, fenced, in controlled shutdown, supported features,
//	             log directories
//	Topics       topics by name and by id; each with its partitions by index:
//	             replicas, ISR, adding/removing replicas, leader, leader and
//	             partition epochs, leader recovery state, directories, ELR
//	Configs      configuration overrides: (resource type, name) → key → value
//	ProducerIDs  the start of the next producer id block
//
// Images are immutable and shared: any number of goroutines may read one
// while the next is built. Apply never modifies an image; the image it
// returns holds the unchanged parts of the old one (the same maps, topics,
// partitions, registrations) and new values for what changed — copy on
// write at the granularity of a top-level map, a topic's partition map, a
// partition, a registration and a resource's configuration. Slices inside
// the Partition and Broker values accessors return are shared and must not
// be modified.
//
// # Applying records
//
// Image.Apply(offset, records) replays an entry's records into a Delta
// (Kafka's MetadataDelta) and builds the new image; the entry is applied
// whole or not at all. Every record is checked against the state the
// records before it left, with the checks Kafka's image deltas and
// controller replay make, and a record that does not apply is an error
// wrapping ErrInvalidRecord that names it:
//
//	TopicRecord              creates a topic; its name and id must be new
//	PartitionRecord          adds or replaces a partition of an existing topic
//	PartitionChangeRecord    changes an existing partition: absent (null or
//	                         sentinel) fields are unchanged; a leader (-1
//	                         included) bumps the leader epoch; every change
//	                         bumps the partition epoch (PartitionRegistration.merge)
//	RemoveTopicRecord        removes a topic, its partitions and its configs
//	RegisterBrokerRecord     registers a broker, replacing any registration
//	UnregisterBrokerRecord   removes a broker; its epoch must match
//	FenceBrokerRecord,       set fenced / unfenced / in controlled shutdown /
//	UnfenceBrokerRecord,     log dirs; the broker epoch must match
//	BrokerRegistrationChangeRecord
//	ConfigRecord             sets a key (null value: deletes it)
//	ProducerIdsRecord        advances the next producer id (must increase)
//	FeatureLevelRecord       sets a level (0 removes the feature)
//	NoOpRecord               nothing
//
// Records for what the image does not model (ACLs, SCRAM, delegation
// tokens, quotas, controller registrations, migration state) are accepted
// and ignored; metadata transaction markers are rejected.
//
// Image.Records is the inverse, for snapshots: records that rebuild the
// image from the empty one.
//
// A Delta can also accumulate several entries, and reports what changed
// (ChangedTopics, RemovedTopics, ChangedBrokers, ChangedConfigs, and
// LocalChanges for one broker: logs to delete, partitions to lead or
// follow), which is how a broker reacts to new metadata.
package metadata
