package metadata

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// ErrInvalidRecord is wrapped by every error replaying a record: a record
// that does not apply to the image (a topic that does not exist, a stale
// broker epoch, a duplicate topic, an out-of-range field). The message
// names the record type.
var ErrInvalidRecord = errors.New("metadata: invalid record")

// ErrStaleOffset is returned when an image would be built at an offset that
// does not follow its base image's.
var ErrStaleOffset = errors.New("metadata: offset does not advance the image")

// invalid returns an ErrInvalidRecord error naming r.
func invalid(r protocol.MetadataRecord, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidRecord, recordName(r), fmt.Sprintf(format, args...))
}

// recordName returns a record's type name, e.g. "TopicRecord".
func recordName(r protocol.MetadataRecord) string {
	if r == nil {
		return "nil record"
	}
	t := reflect.TypeOf(r)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Delta accumulates records replayed on top of a base image (Kafka's
// MetadataDelta): it validates each record against the state so far, keeps
// what changed, builds the resulting image with Apply and reports what
// changed so that a broker can react (see ChangedTopics, LocalChanges).
//
// A Delta never modifies its base image or any image it built; Replay may
// continue after Apply, and a later Apply covers everything replayed since
// the base. A Delta is not safe for concurrent use.
type Delta struct {
	base *Image

	// topics holds the live topics created or changed by the delta,
	// topicNames their names, removed the base topics the delta removed
	// (a topic created and removed within the delta leaves no trace).
	topics     map[protocol.UUID]*topicChange
	topicNames map[string]protocol.UUID
	removed    map[protocol.UUID]*TopicImage

	brokers map[int32]*Broker // nil: unregistered

	configs map[ConfigResource]*configChange

	features map[string]int16 // 0: removed

	nextProducerID     int64
	producerIDsChanged bool
}

// topicChange is a topic the delta created or changed.
type topicChange struct {
	topic *TopicImage
	// owned is set while topic belongs to the delta alone, so that its
	// partitions map may be modified; Apply hands topic to an image and
	// clears it, and the next change copies the topic first.
	owned   bool
	created bool
	changed map[int32]struct{} // partitions added or changed
}

// configChange is the configuration of a resource the delta changed.
type configChange struct {
	data  map[string]string
	owned bool // as topicChange.owned
}

// NewDelta returns an empty delta over base; a nil base is the empty image.
func NewDelta(base *Image) *Delta {
	if base == nil {
		base = &Image{}
	}
	return &Delta{
		base:           base,
		topics:         make(map[protocol.UUID]*topicChange),
		topicNames:     make(map[string]protocol.UUID),
		removed:        make(map[protocol.UUID]*TopicImage),
		brokers:        make(map[int32]*Broker),
		configs:        make(map[ConfigResource]*configChange),
		features:       make(map[string]int16),
		nextProducerID: base.ProducerIDs.NextProducerID,
	}
}

// Base returns the image the delta applies to.
func (d *Delta) Base() *Image { return d.base }

// Replay applies one record to the delta. A record that does not apply
// returns an error wrapping ErrInvalidRecord and leaves the delta as it was.
// The delta keeps nothing the record refers to: the caller may reuse it.
//
// Records the image does not model (ACLs, SCRAM credentials, delegation
// tokens, client quotas, controller registrations, ZooKeeper migration
// state) are accepted and ignored. Metadata transactions (Begin/End/Abort
// TransactionRecord) are rejected: applying their records without
// honouring an abort would be wrong, and Sluice's controller does not write
// them.
func (d *Delta) Replay(r protocol.MetadataRecord) error {
	if r == nil || reflect.ValueOf(r).IsNil() {
		return fmt.Errorf("%w: nil record", ErrInvalidRecord)
	}
	switch r := r.(type) {
	case *protocol.TopicRecord:
		return d.replayTopic(r)
	case *protocol.PartitionRecord:
		return d.replayPartition(r)
	case *protocol.PartitionChangeRecord:
		return d.replayPartitionChange(r)
	case *protocol.RemoveTopicRecord:
		return d.replayRemoveTopic(r)
	case *protocol.RegisterBrokerRecord:
		b, err := newBroker(r)
		if err != nil {
			return err
		}
		// A new registration, a new incarnation or a re-registration of
		// the same one: each replaces the registration (Kafka's
		// ClusterDelta does not compare epochs here).
		d.brokers[b.ID] = b
		return nil
	case *protocol.UnregisterBrokerRecord:
		if _, err := d.brokerAt(r, r.BrokerID, r.BrokerEpoch); err != nil {
			return err
		}
		d.brokers[r.BrokerID] = nil
		return nil
	case *protocol.FenceBrokerRecord:
		b, err := d.brokerAt(r, r.ID, r.Epoch)
		if err != nil {
			return err
		}
		d.changeBroker(b, true, b.InControlledShutdown, b.LogDirs)
		return nil
	case *protocol.UnfenceBrokerRecord:
		b, err := d.brokerAt(r, r.ID, r.Epoch)
		if err != nil {
			return err
		}
		d.changeBroker(b, false, b.InControlledShutdown, b.LogDirs)
		return nil
	case *protocol.BrokerRegistrationChangeRecord:
		return d.replayBrokerChange(r)
	case *protocol.ConfigRecord:
		return d.replayConfig(r)
	case *protocol.ProducerIdsRecord:
		if r.NextProducerID <= d.nextProducerID {
			return invalid(r, "next producer id %d does not exceed the current %d",
				r.NextProducerID, d.nextProducerID)
		}
		d.nextProducerID = r.NextProducerID
		d.producerIDsChanged = true
		return nil
	case *protocol.FeatureLevelRecord:
		return d.replayFeature(r)
	case *protocol.NoOpRecord:
		return nil
	case *protocol.AccessControlEntryRecord, *protocol.RemoveAccessControlEntryRecord,
		*protocol.UserScramCredentialRecord, *protocol.RemoveUserScramCredentialRecord,
		*protocol.DelegationTokenRecord, *protocol.RemoveDelegationTokenRecord,
		*protocol.ClientQuotaRecord, *protocol.RegisterControllerRecord,
		*protocol.ZkMigrationStateRecord:
		return nil
	case *protocol.BeginTransactionRecord, *protocol.EndTransactionRecord, *protocol.AbortTransactionRecord:
		return invalid(r, "metadata transactions are not supported")
	}
	return invalid(r, "unknown record type %d", r.RecordType())
}

// topicByID returns the live topic with id as of the records replayed.
func (d *Delta) topicByID(id protocol.UUID) *TopicImage {
	if tc, ok := d.topics[id]; ok {
		return tc.topic
	}
	if _, ok := d.removed[id]; ok {
		return nil
	}
	return d.base.Topics.ByID(id)
}

// topicByName returns the live topic named name as of the records replayed.
func (d *Delta) topicByName(name string) *TopicImage {
	if id, ok := d.topicNames[name]; ok {
		return d.topics[id].topic
	}
	t := d.base.Topics.ByName(name)
	if t == nil {
		return nil
	}
	if _, ok := d.removed[t.id]; ok {
		return nil
	}
	return t
}

// mutableTopic returns the change of live topic id, with a topic the delta
// owns.
func (d *Delta) mutableTopic(id protocol.UUID) *topicChange {
	if tc, ok := d.topics[id]; ok {
		if !tc.owned {
			tc.topic = tc.topic.clone()
			tc.owned = true
		}
		return tc
	}
	t := d.base.Topics.ByID(id)
	tc := &topicChange{topic: t.clone(), owned: true, changed: make(map[int32]struct{})}
	d.topics[id] = tc
	d.topicNames[t.name] = id
	return tc
}

func (d *Delta) replayTopic(r *protocol.TopicRecord) error {
	switch {
	case r.Name == "":
		return invalid(r, "empty topic name")
	case r.TopicID == protocol.UUID{}:
		return invalid(r, "topic %q has the zero topic id", r.Name)
	}
	if t := d.topicByName(r.Name); t != nil {
		return invalid(r, "topic %q already exists (id %s)", r.Name, formatUUID(t.id))
	}
	if t := d.topicByID(r.TopicID); t != nil {
		return invalid(r, "topic id %s already exists (topic %q)", formatUUID(r.TopicID), t.name)
	}
	d.topics[r.TopicID] = &topicChange{
		topic:   &TopicImage{name: r.Name, id: r.TopicID, partitions: make(map[int32]*Partition)},
		owned:   true,
		created: true,
		changed: make(map[int32]struct{}),
	}
	d.topicNames[r.Name] = r.TopicID
	return nil
}

func (d *Delta) replayPartition(r *protocol.PartitionRecord) error {
	if d.topicByID(r.TopicID) == nil {
		return invalid(r, "no topic with id %s (partition %d)", formatUUID(r.TopicID), r.PartitionID)
	}
	p, err := newPartition(r)
	if err != nil {
		return err
	}
	tc := d.mutableTopic(r.TopicID)
	tc.topic.partitions[r.PartitionID] = p
	tc.changed[r.PartitionID] = struct{}{}
	return nil
}

func (d *Delta) replayPartitionChange(r *protocol.PartitionChangeRecord) error {
	t := d.topicByID(r.TopicID)
	if t == nil {
		return invalid(r, "no topic with id %s (partition %d)", formatUUID(r.TopicID), r.PartitionID)
	}
	old, ok := t.partitions[r.PartitionID]
	if !ok {
		return invalid(r, "topic %q has no partition %d", t.name, r.PartitionID)
	}
	p, err := old.merge(r)
	if err != nil {
		return err
	}
	tc := d.mutableTopic(r.TopicID)
	tc.topic.partitions[r.PartitionID] = p
	tc.changed[r.PartitionID] = struct{}{}
	return nil
}

// replayRemoveTopic removes a topic, its partitions and its configuration.
// Kafka's ConfigurationsDelta only clears configuration the base image
// holds; the controller (ConfigurationControlManager.deleteTopicConfigs)
// clears all of it, as this does, so that where entries split the records
// cannot change the outcome.
func (d *Delta) replayRemoveTopic(r *protocol.RemoveTopicRecord) error {
	t := d.topicByID(r.TopicID)
	if t == nil {
		return invalid(r, "no topic with id %s", formatUUID(r.TopicID))
	}
	if tc, ok := d.topics[r.TopicID]; ok {
		delete(d.topics, r.TopicID)
		delete(d.topicNames, t.name)
		if !tc.created {
			d.removed[r.TopicID] = d.base.Topics.ByID(r.TopicID)
		}
	} else {
		d.removed[r.TopicID] = t
	}
	res := TopicResource(t.name)
	cc, ok := d.configs[res]
	if !ok {
		if len(d.base.Configs.get(res)) == 0 {
			return nil
		}
		cc = &configChange{}
		d.configs[res] = cc
	}
	cc.data, cc.owned = nil, false
	return nil
}

// broker returns broker id's registration as of the records replayed.
func (d *Delta) broker(id int32) *Broker {
	if b, ok := d.brokers[id]; ok {
		return b
	}
	if d.base.Cluster == nil {
		return nil
	}
	return d.base.Cluster.brokers[id]
}

// brokerAt returns broker id's registration, which must have epoch, as
// Kafka's ClusterControlManager requires of every change.
func (d *Delta) brokerAt(r protocol.MetadataRecord, id int32, epoch int64) (*Broker, error) {
	b := d.broker(id)
	if b == nil {
		return nil, invalid(r, "broker %d is not registered", id)
	}
	if b.Epoch != epoch {
		return nil, invalid(r, "broker %d has epoch %d, not %d", id, b.Epoch, epoch)
	}
	return b, nil
}

// changeBroker replaces b's registration by a copy with the given state,
// unless nothing changes (as BrokerRegistration.cloneWith).
func (d *Delta) changeBroker(b *Broker, fenced, inControlledShutdown bool, logDirs []protocol.UUID) {
	if b.Fenced == fenced && b.InControlledShutdown == inControlledShutdown && slices.Equal(b.LogDirs, logDirs) {
		return
	}
	n := *b
	n.Fenced, n.InControlledShutdown, n.LogDirs = fenced, inControlledShutdown, logDirs
	d.brokers[b.ID] = &n
}

// replayBrokerChange applies a BrokerRegistrationChangeRecord: Fenced 1
// fences, -1 unfences, 0 leaves it; InControlledShutdown 1 sets it, 0
// leaves it (only a new registration clears it); a non-empty LogDirs
// replaces the directories. Other values are invalid.
func (d *Delta) replayBrokerChange(r *protocol.BrokerRegistrationChangeRecord) error {
	b, err := d.brokerAt(r, r.BrokerID, r.BrokerEpoch)
	if err != nil {
		return err
	}
	fenced := b.Fenced
	switch r.Fenced {
	case 1:
		fenced = true
	case -1:
		fenced = false
	case 0:
	default:
		return invalid(r, "fenced change %d", r.Fenced)
	}
	ics := b.InControlledShutdown
	switch r.InControlledShutdown {
	case 1:
		ics = true
	case 0:
	default:
		return invalid(r, "in-controlled-shutdown change %d", r.InControlledShutdown)
	}
	dirs := b.LogDirs
	if len(r.LogDirs) > 0 {
		dirs = sortedDirs(r.LogDirs)
	}
	d.changeBroker(b, fenced, ics, dirs)
	return nil
}

func (c *ConfigsImage) get(res ConfigResource) map[string]string {
	if c == nil {
		return nil
	}
	return c.data[res]
}

func (d *Delta) replayConfig(r *protocol.ConfigRecord) error {
	res := ConfigResource{Type: ResourceType(r.ResourceType), Name: r.ResourceName}
	if !res.Type.valid() {
		return invalid(r, "unknown resource type %d", r.ResourceType)
	}
	cc, ok := d.configs[res]
	if !ok {
		cc = &configChange{data: d.base.Configs.get(res)}
		d.configs[res] = cc
	}
	if !cc.owned {
		cc.data = maps.Clone(cc.data)
		if cc.data == nil {
			cc.data = make(map[string]string)
		}
		cc.owned = true
	}
	if r.Value != nil {
		cc.data[r.Name] = *r.Value
	} else {
		delete(cc.data, r.Name)
	}
	return nil
}

// replayFeature sets a finalized feature level; level 0 removes the
// feature, except metadata.version, which has no level 0 (Kafka's
// MetadataVersion.fromFeatureLevel rejects it).
func (d *Delta) replayFeature(r *protocol.FeatureLevelRecord) error {
	switch {
	case r.Name == "":
		return invalid(r, "empty feature name")
	case r.FeatureLevel < 0:
		return invalid(r, "feature %q level %d", r.Name, r.FeatureLevel)
	case r.Name == MetadataVersionFeature && r.FeatureLevel == 0:
		return invalid(r, "%s cannot be removed", MetadataVersionFeature)
	}
	d.features[r.Name] = r.FeatureLevel
	return nil
}
