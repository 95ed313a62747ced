package metadata

import (
	"maps"
	"slices"
	"strings"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Broker is a broker's registration, Kafka's BrokerRegistration.
//
// The slices and Rack are shared by every image holding the registration:
// they are never modified once in an image, and readers must not modify
// them either. Empty lists are nil.
type Broker struct {
	ID int32
	// Epoch is the broker epoch the controller assigned at registration;
	// fencing and other changes must name it.
	Epoch int64
	// IncarnationID identifies the broker process; a restart registers a
	// new one.
	IncarnationID protocol.UUID
	// Endpoints are the broker's listeners, sorted by name.
	Endpoints []Endpoint
	// Rack is nil when the broker has none.
	Rack *string
	// Fenced brokers lead nothing and are not in ISRs; a broker registers
	// fenced and is unfenced once it has caught up with the metadata log.
	Fenced bool
	// InControlledShutdown is set when the broker asked to shut down; it
	// is only cleared by a new registration.
	InControlledShutdown bool
	// Features are the feature ranges the broker supports, sorted by name.
	Features []SupportedFeature
	// LogDirs are the broker's online log directories, sorted.
	LogDirs []protocol.UUID
}

// Endpoint is a broker listener.
type Endpoint struct {
	Name string
	Host string
	Port uint16
	// SecurityProtocol is Kafka's id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT,
	// 3 SASL_SSL.
	SecurityProtocol int16
}

// SupportedFeature is a feature level range a broker supports.
type SupportedFeature struct {
	Name     string
	Min, Max int16
}

// Endpoint returns the broker's listener named name.
func (b *Broker) Endpoint(name string) (Endpoint, bool) {
	i, ok := slices.BinarySearchFunc(b.Endpoints, name, func(e Endpoint, n string) int {
		return strings.Compare(e.Name, n)
	})
	if !ok {
		return Endpoint{}, false
	}
	return b.Endpoints[i], true
}

// ClusterImage holds the registered brokers. A nil *ClusterImage is empty.
type ClusterImage struct {
	brokers map[int32]*Broker
}

// Len returns the number of registered brokers.
func (c *ClusterImage) Len() int {
	if c == nil {
		return 0
	}
	return len(c.brokers)
}

// Broker returns broker id's registration.
func (c *ClusterImage) Broker(id int32) (Broker, bool) {
	if c == nil {
		return Broker{}, false
	}
	if b, ok := c.brokers[id]; ok {
		return *b, true
	}
	return Broker{}, false
}

// Brokers returns every registered broker, by ascending id.
func (c *ClusterImage) Brokers() []Broker { return c.brokersWhere(func(*Broker) bool { return true }) }

// LiveBrokers returns the unfenced brokers, by ascending id.
func (c *ClusterImage) LiveBrokers() []Broker {
	return c.brokersWhere(func(b *Broker) bool { return !b.Fenced })
}

func (c *ClusterImage) brokersWhere(keep func(*Broker) bool) []Broker {
	if c == nil {
		return nil
	}
	var out []Broker
	for _, id := range slices.Sorted(maps.Keys(c.brokers)) {
		if b := c.brokers[id]; keep(b) {
			out = append(out, *b)
		}
	}
	return out
}

// newBroker builds the registration a RegisterBrokerRecord describes
// (Kafka's BrokerRegistration.fromRecord), copying what it keeps. Kafka
// keys listeners and features by name; a record naming one twice is
// rejected rather than letting the last one win.
func newBroker(r *protocol.RegisterBrokerRecord) (*Broker, error) {
	if r.BrokerID < 0 {
		return nil, invalid(r, "negative broker id %d", r.BrokerID)
	}
	b := &Broker{
		ID:            r.BrokerID,
		Epoch:         r.BrokerEpoch,
		IncarnationID: r.IncarnationID,
		Fenced:        r.Fenced,

		InControlledShutdown: r.InControlledShutdown,
		LogDirs:              sortedDirs(r.LogDirs),
	}
	if r.Rack != nil {
		rack := *r.Rack
		b.Rack = &rack
	}
	for _, e := range r.EndPoints {
		b.Endpoints = append(b.Endpoints, Endpoint{Name: e.Name, Host: e.Host, Port: e.Port, SecurityProtocol: e.SecurityProtocol})
	}
	slices.SortFunc(b.Endpoints, func(x, y Endpoint) int { return strings.Compare(x.Name, y.Name) })
	for i := 1; i < len(b.Endpoints); i++ {
		if b.Endpoints[i].Name == b.Endpoints[i-1].Name {
			return nil, invalid(r, "broker %d lists endpoint %q twice", r.BrokerID, b.Endpoints[i].Name)
		}
	}
	for _, f := range r.Features {
		b.Features = append(b.Features, SupportedFeature{Name: f.Name, Min: f.MinSupportedVersion, Max: f.MaxSupportedVersion})
	}
	slices.SortFunc(b.Features, func(x, y SupportedFeature) int { return strings.Compare(x.Name, y.Name) })
	for i := 1; i < len(b.Features); i++ {
		if b.Features[i].Name == b.Features[i-1].Name {
			return nil, invalid(r, "broker %d lists feature %q twice", r.BrokerID, b.Features[i].Name)
		}
	}
	return b, nil
}

// sortedDirs copies and sorts directory ids, as Kafka's BrokerRegistration
// does; empty is nil.
func sortedDirs(dirs []protocol.UUID) []protocol.UUID {
	if len(dirs) == 0 {
		return nil
	}
	out := slices.Clone(dirs)
	slices.SortFunc(out, func(a, b protocol.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}
