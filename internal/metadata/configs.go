package metadata

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
)

// ResourceType is the kind of resource a configuration belongs to, with
// Kafka's ConfigResource.Type ids.
type ResourceType int8

// The resource types of ConfigRecord.ResourceType. Kafka's id 0 (UNKNOWN)
// and ids it does not define are rejected.
const (
	ResourceTopic         ResourceType = 2
	ResourceBroker        ResourceType = 4
	ResourceBrokerLogger  ResourceType = 8
	ResourceClientMetrics ResourceType = 16
	ResourceGroup         ResourceType = 32
)

func (t ResourceType) String() string {
	switch t {
	case ResourceTopic:
		return "topic"
	case ResourceBroker:
		return "broker"
	case ResourceBrokerLogger:
		return "broker-logger"
	case ResourceClientMetrics:
		return "client-metrics"
	case ResourceGroup:
		return "group"
	}
	return "resource-type-" + strconv.Itoa(int(t))
}

func (t ResourceType) valid() bool {
	switch t {
	case ResourceTopic, ResourceBroker, ResourceBrokerLogger, ResourceClientMetrics, ResourceGroup:
		return true
	}
	return false
}

// ConfigResource names a resource that has configuration: a topic by name,
// a broker by its id in decimal ("" is the cluster-wide broker default),
// and so on.
type ConfigResource struct {
	Type ResourceType
	Name string
}

func (r ConfigResource) String() string { return r.Type.String() + "/" + r.Name }

func compareResources(a, b ConfigResource) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name))
}

// TopicResource returns the resource of topic name's configuration.
func TopicResource(name string) ConfigResource {
	return ConfigResource{Type: ResourceTopic, Name: name}
}

// BrokerResource returns the resource of broker id's configuration.
func BrokerResource(id int32) ConfigResource {
	return ConfigResource{Type: ResourceBroker, Name: strconv.Itoa(int(id))}
}

// ConfigsImage holds the configuration overrides set in the metadata log:
// for each resource, key → value. Resources without keys are absent. A nil
// *ConfigsImage is empty.
type ConfigsImage struct {
	data map[ConfigResource]map[string]string
}

// Get returns the value of key for res.
func (c *ConfigsImage) Get(res ConfigResource, key string) (string, bool) {
	if c == nil {
		return "", false
	}
	v, ok := c.data[res][key]
	return v, ok
}

// Resource returns a copy of res's configuration, nil when it has none.
func (c *ConfigsImage) Resource(res ConfigResource) map[string]string {
	if c == nil {
		return nil
	}
	return maps.Clone(c.data[res])
}

// Resources returns every resource that has configuration, sorted by type
// then name.
func (c *ConfigsImage) Resources() []ConfigResource {
	if c == nil {
		return nil
	}
	return slices.SortedFunc(maps.Keys(c.data), compareResources)
}

// FeaturesImage holds the finalized feature levels, metadata.version
// included. A nil *FeaturesImage is empty.
type FeaturesImage struct {
	levels map[string]int16
}

// MetadataVersionFeature is the feature that versions the metadata log.
const MetadataVersionFeature = "metadata.version"

// Level returns the finalized level of feature name.
func (f *FeaturesImage) Level(name string) (int16, bool) {
	if f == nil {
		return 0, false
	}
	l, ok := f.levels[name]
	return l, ok
}

// Names returns the finalized features in ascending order.
func (f *FeaturesImage) Names() []string {
	if f == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(f.levels))
}

// All returns a copy of the finalized levels, nil when there are none.
func (f *FeaturesImage) All() map[string]int16 {
	if f == nil {
		return nil
	}
	return maps.Clone(f.levels)
}

// ProducerIDsImage is the producer id allocation state.
type ProducerIDsImage struct {
	// NextProducerID is the first id of the next block the controller will
	// hand out; blocks below it are taken. 0 before any allocation.
	NextProducerID int64
}
