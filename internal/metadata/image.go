package metadata

import (
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Image is the cluster metadata as of one entry of the metadata log: an
// immutable value that any number of readers may hold while later images
// are built from it. The zero Image is the empty image, before the first
// entry; nil sub-images are empty.
//
// Images share structure: an image built by Apply holds the very maps,
// topics, partitions and registrations of its predecessor that the entry
// did not change, and new ones for what it did. Nothing reachable from an
// image is ever modified, so readers need no locks; they must not modify
// what they are handed either (slices in Partition and Broker values are
// shared).
type Image struct {
	// Offset is the index of the last log entry applied: a Raft log
	// index, so the first entry is 1 and 0 is the empty image. Each entry
	// applied must have a higher index than the image it applies to.
	Offset      int64
	Features    *FeaturesImage
	Cluster     *ClusterImage
	Topics      *TopicsImage
	Configs     *ConfigsImage
	ProducerIDs ProducerIDsImage
}

// TopicByName returns the topic named name, or nil.
func (img *Image) TopicByName(name string) *TopicImage { return img.Topics.ByName(name) }

// TopicByID returns the topic with id, or nil.
func (img *Image) TopicByID(id protocol.UUID) *TopicImage { return img.Topics.ByID(id) }

// Partition returns partition p of the topic with id topicID.
func (img *Image) Partition(topicID protocol.UUID, p int32) (Partition, bool) {
	t := img.Topics.ByID(topicID)
	if t == nil {
		return Partition{}, false
	}
	return t.Partition(p)
}

// Broker returns broker id's registration.
func (img *Image) Broker(id int32) (Broker, bool) { return img.Cluster.Broker(id) }

// Brokers returns every registered broker, by ascending id.
func (img *Image) Brokers() []Broker { return img.Cluster.Brokers() }

// LiveBrokers returns the unfenced brokers, by ascending id.
func (img *Image) LiveBrokers() []Broker { return img.Cluster.LiveBrokers() }

// Feature returns the finalized level of feature name.
func (img *Image) Feature(name string) (int16, bool) { return img.Features.Level(name) }

// TopicConfigs returns a copy of topic name's configuration overrides, nil
// when it has none.
func (img *Image) TopicConfigs(name string) map[string]string {
	return img.Configs.Resource(TopicResource(name))
}

// BrokerConfigs returns a copy of broker id's configuration overrides, nil
// when it has none. The cluster-wide defaults are
// Configs.Resource(ConfigResource{Type: ResourceBroker}).
func (img *Image) BrokerConfigs(id int32) map[string]string {
	return img.Configs.Resource(BrokerResource(id))
}

// BrokerDefaultConfigs returns the cluster-wide dynamic broker defaults
// (the broker resource named ""), nil when none are set.
func (img *Image) BrokerDefaultConfigs() map[string]string {
	return img.Configs.Resource(ConfigResource{Type: ResourceBroker})
}

// PartitionsLedBy returns the partitions whose leader is broker, sorted by
// topic name then partition. It walks every partition.
func (img *Image) PartitionsLedBy(broker int32) []TopicPartition {
	return img.partitionsWhere(func(p *Partition) bool { return p.Leader == broker })
}

// PartitionsOn returns the partitions broker is a replica of, sorted by
// topic name then partition. It walks every partition.
func (img *Image) PartitionsOn(broker int32) []TopicPartition {
	return img.partitionsWhere(func(p *Partition) bool { return p.HasReplica(broker) })
}

func (img *Image) partitionsWhere(keep func(*Partition) bool) []TopicPartition {
	var out []TopicPartition
	for t := range img.Topics.All() {
		for p, part := range t.partitions {
			if keep(part) {
				out = append(out, TopicPartition{Topic: t.name, TopicID: t.id, Partition: p})
			}
		}
	}
	slices.SortFunc(out, compareTopicPartitions)
	return out
}
