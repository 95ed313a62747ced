package metadata

import (
	"encoding/base64"
	"fmt"
	"maps"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Apply returns the image after log entry offset, whose records are recs,
// or an error if offset does not follow img.Offset (ErrStaleOffset) or a
// record does not apply (ErrInvalidRecord; the error says which record).
// It is pure: img and everything reachable from it are left untouched, and
// on error there is no new image — the entry is rejected as a whole. The
// new image shares what the entry did not change with img.
//
// An entry may hold no records (a Raft entry carrying no metadata); its
// image differs from img only in Offset.
func (img *Image) Apply(offset int64, recs []Record) (*Image, error) {
	if offset <= img.Offset {
		return nil, fmt.Errorf("%w: entry %d does not follow %d", ErrStaleOffset, offset, img.Offset)
	}
	d := NewDelta(img)
	for i, r := range recs {
		if err := d.Replay(r.Message); err != nil {
			return nil, fmt.Errorf("entry %d, record %d: %w", offset, i, err)
		}
	}
	return d.Apply(offset)
}

// Apply returns the image of the base with every record replayed so far,
// as of log entry offset, which must be above the base's. Parts of the
// image nothing changed are the base's own; a changed part is a new map
// sharing the unchanged entries. Building it copies the top-level map of
// each changed part (all topics if any topic changed), so its cost grows
// with the cluster, not only with the delta.
func (d *Delta) Apply(offset int64) (*Image, error) {
	if offset <= d.base.Offset {
		return nil, fmt.Errorf("%w: entry %d does not follow %d", ErrStaleOffset, offset, d.base.Offset)
	}
	return &Image{
		Offset:      offset,
		Features:    d.applyFeatures(),
		Cluster:     d.applyCluster(),
		Topics:      d.applyTopics(),
		Configs:     d.applyConfigs(),
		ProducerIDs: ProducerIDsImage{NextProducerID: d.nextProducerID},
	}, nil
}

func (d *Delta) applyTopics() *TopicsImage {
	if len(d.topics) == 0 && len(d.removed) == 0 {
		return d.base.Topics
	}
	byID := make(map[protocol.UUID]*TopicImage)
	byName := make(map[string]*TopicImage)
	if b := d.base.Topics; b != nil {
		byID, byName = maps.Clone(b.byID), maps.Clone(b.byName)
	}
	for id, t := range d.removed {
		delete(byID, id)
		delete(byName, t.name)
	}
	for id, tc := range d.topics {
		byID[id] = tc.topic
		byName[tc.topic.name] = tc.topic
		tc.owned = false
	}
	if len(byID) == 0 {
		return nil
	}
	return &TopicsImage{byID: byID, byName: byName}
}

func (d *Delta) applyCluster() *ClusterImage {
	if len(d.brokers) == 0 {
		return d.base.Cluster
	}
	brokers := make(map[int32]*Broker)
	if d.base.Cluster != nil {
		brokers = maps.Clone(d.base.Cluster.brokers)
	}
	for id, b := range d.brokers {
		if b == nil {
			delete(brokers, id)
		} else {
			brokers[id] = b
		}
	}
	if len(brokers) == 0 {
		return nil
	}
	return &ClusterImage{brokers: brokers}
}

func (d *Delta) applyConfigs() *ConfigsImage {
	if len(d.configs) == 0 {
		return d.base.Configs
	}
	data := make(map[ConfigResource]map[string]string)
	if d.base.Configs != nil {
		data = maps.Clone(d.base.Configs.data)
	}
	for res, cc := range d.configs {
		if len(cc.data) == 0 {
			delete(data, res)
		} else {
			data[res] = cc.data
			cc.owned = false
		}
	}
	if len(data) == 0 {
		return nil
	}
	return &ConfigsImage{data: data}
}

func (d *Delta) applyFeatures() *FeaturesImage {
	if len(d.features) == 0 {
		return d.base.Features
	}
	levels := make(map[string]int16)
	if d.base.Features != nil {
		levels = maps.Clone(d.base.Features.levels)
	}
	for name, l := range d.features {
		if l == 0 {
			delete(levels, name)
		} else {
			levels[name] = l
		}
	}
	if len(levels) == 0 {
		return nil
	}
	return &FeaturesImage{levels: levels}
}

// formatUUID formats an id as Kafka prints Uuids: URL-safe base64 without
// padding.
func formatUUID(u protocol.UUID) string { return base64.RawURLEncoding.EncodeToString(u[:]) }
