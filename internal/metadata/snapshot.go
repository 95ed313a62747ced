package metadata

import (
	"maps"
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Records returns records that rebuild the image: applied to the empty
// image as one entry at img.Offset, they give an image equal to img. This
// is what a snapshot of the metadata log holds (Kafka's MetadataImage.write):
// features (metadata.version first), brokers, topics each followed by its
// partitions, configuration, producer ids; each in a deterministic order
// and at its record's latest version. What the image does not model (see
// Delta.Replay) is not in it. The records share nothing with the image.
func (img *Image) Records() []Record {
	var out []Record
	add := func(m protocol.MetadataRecord) { out = append(out, NewRecord(m)) }

	if l, ok := img.Features.Level(MetadataVersionFeature); ok {
		add(&protocol.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: l})
	}
	for _, name := range img.Features.Names() {
		if name != MetadataVersionFeature {
			l, _ := img.Features.Level(name)
			add(&protocol.FeatureLevelRecord{Name: name, FeatureLevel: l})
		}
	}

	for _, b := range img.Brokers() {
		r := &protocol.RegisterBrokerRecord{ // Rack: nil, not the spec's ""
			BrokerID:             b.ID,
			IncarnationID:        b.IncarnationID,
			BrokerEpoch:          b.Epoch,
			Fenced:               b.Fenced,
			InControlledShutdown: b.InControlledShutdown,
			LogDirs:              slices.Clone(b.LogDirs),
		}
		if b.Rack != nil {
			rack := *b.Rack
			r.Rack = &rack
		}
		for _, e := range b.Endpoints {
			r.EndPoints = append(r.EndPoints, protocol.RegisterBrokerRecordBrokerEndpoint{
				Name: e.Name, Host: e.Host, Port: e.Port, SecurityProtocol: e.SecurityProtocol})
		}
		for _, f := range b.Features {
			r.Features = append(r.Features, protocol.RegisterBrokerRecordBrokerFeature{
				Name: f.Name, MinSupportedVersion: f.Min, MaxSupportedVersion: f.Max})
		}
		add(r)
	}

	for t := range img.Topics.All() {
		add(&protocol.TopicRecord{Name: t.name, TopicID: t.id})
		for id, p := range t.Partitions() {
			add(&protocol.PartitionRecord{
				PartitionID:            id,
				TopicID:                t.id,
				Replicas:               slices.Clone(p.Replicas),
				Isr:                    slices.Clone(p.ISR),
				RemovingReplicas:       slices.Clone(p.RemovingReplicas),
				AddingReplicas:         slices.Clone(p.AddingReplicas),
				Leader:                 p.Leader,
				LeaderRecoveryState:    int8(p.LeaderRecoveryState),
				LeaderEpoch:            p.LeaderEpoch,
				PartitionEpoch:         p.PartitionEpoch,
				Directories:            slices.Clone(p.Directories),
				EligibleLeaderReplicas: slices.Clone(p.ELR),
				LastKnownElr:           slices.Clone(p.LastKnownELR),
			})
		}
	}

	for _, res := range img.Configs.Resources() {
		data := img.Configs.get(res)
		for _, key := range slices.Sorted(maps.Keys(data)) {
			value := data[key]
			add(&protocol.ConfigRecord{ResourceType: int8(res.Type), ResourceName: res.Name, Name: key, Value: &value})
		}
	}

	if next := img.ProducerIDs.NextProducerID; next != 0 {
		add(&protocol.ProducerIdsRecord{NextProducerID: next, BrokerEpoch: -1})
	}
	return out
}
