package config

import "sort"

// ConfigSource is the source DescribeConfigs reports for a value, with
// Kafka's codes (DescribeConfigsResponse ConfigSource).
type ConfigSource int8

const (
	SourceUnknown                    ConfigSource = 0
	SourceDynamicTopicConfig         ConfigSource = 1
	SourceDynamicBrokerConfig        ConfigSource = 2
	SourceDynamicDefaultBrokerConfig ConfigSource = 3
	SourceStaticBrokerConfig         ConfigSource = 4
	SourceDefaultConfig              ConfigSource = 5
	SourceDynamicBrokerLoggerConfig  ConfigSource = 6
)

func (s ConfigSource) String() string {
	switch s {
	case SourceDynamicTopicConfig:
		return "DYNAMIC_TOPIC_CONFIG"
	case SourceDynamicBrokerConfig:
		return "DYNAMIC_BROKER_CONFIG"
	case SourceDynamicDefaultBrokerConfig:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case SourceStaticBrokerConfig:
		return "STATIC_BROKER_CONFIG"
	case SourceDefaultConfig:
		return "DEFAULT_CONFIG"
	case SourceDynamicBrokerLoggerConfig:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	}
	return "UNKNOWN"
}

// sourceOf maps where a value came from to what DescribeConfigs says:
// Kafka's and Sluice's defaults and the profile's are the broker's
// defaults; the file and --set are its static configuration.
func sourceOf(o Origin) ConfigSource {
	switch o {
	case OriginFile, OriginFlag:
		return SourceStaticBrokerConfig
	case OriginKafkaDefault, OriginSluiceDefault, OriginProfile:
		return SourceDefaultConfig
	}
	return SourceUnknown
}

// Row is one key of Describe or DescribeTopicDefaults.
type Row struct {
	Name string
	// Value is the normalized value; Null is set instead for an unset
	// key, and Value is empty for a Sensitive one.
	Value     string
	Null      bool
	Source    ConfigSource
	Origin    Origin
	Kind      Kind
	Sensitive bool // a password
	// ReadOnly: the key cannot change at runtime (see Dynamic).
	ReadOnly bool
}

// Describe returns every broker key Sluice implements or ignores, sorted by
// name, with its value and source, for DescribeConfigs on the broker
// resource. Rejected keys are left out: they can only hold Kafka's
// default.
func (b *Broker) Describe() []Row {
	var rows []Row
	for name, s := range b.settings {
		e := byName[name]
		if e.Kind == Rejected {
			continue
		}
		r := Row{Name: name, Value: s.value, Null: s.null, Source: sourceOf(s.origin), Origin: s.origin,
			Kind: e.Kind, Sensitive: e.Type == TypePassword, ReadOnly: Dynamic(name) == NotDynamic}
		if r.Sensitive {
			r.Value = ""
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows
}

// DescribeTopicDefaults returns the topic defaults (TopicDefaults), sorted
// by name, each with its source: STATIC_BROKER_CONFIG when it comes from a
// broker key given in the file or by --set, else DEFAULT_CONFIG. These
// are the rows DescribeConfigs reports for a topic that overrides nothing.
func (b *Broker) DescribeTopicDefaults() []Row {
	var rows []Row
	for i := range registry {
		e := &registry[i]
		if !e.Scope.Topic() || e.Kind == Rejected {
			continue
		}
		v, origin := b.topicDefault(e)
		rows = append(rows, Row{Name: e.Name, Value: v, Source: sourceOf(origin), Origin: origin, Kind: e.Kind})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows
}
