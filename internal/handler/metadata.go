package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Metadata answers a Metadata request from the broker's image. Unknown
// topics are created when the request allows it and
// auto.create.topics.enable is set.
func (h *Handler) Metadata(ctx context.Context, req *protocol.MetadataRequest, version int16) *protocol.MetadataResponse {
	img := h.image()
	all := req.Topics == nil || (version == 0 && len(req.Topics) == 0)
	var names []string
	var byID []protocol.UUID
	if all {
		names = img.Topics.Names()
	} else {
		for _, t := range req.Topics {
			switch {
			case t.Name != nil && *t.Name != "":
				names = append(names, *t.Name)
			default:
				byID = append(byID, t.TopicID)
			}
		}
	}
	allowCreate := version < 4 || req.AllowAutoTopicCreation
	if !all && allowCreate && h.cfg.AutoCreateTopics {
		img = h.autoCreate(ctx, img, names)
	}

	clusterID := h.cfg.ClusterID
	resp := &protocol.MetadataResponse{
		ClusterID:                   &clusterID,
		ControllerID:                h.cfg.NodeID,
		ClusterAuthorizedOperations: authorizedOps(version >= 8 && version <= 10 && req.IncludeClusterAuthorizedOperations, clusterOps),
	}
	topicOpsAsked := version >= 8 && req.IncludeTopicAuthorizedOperations
	live := map[int32]bool{}
	for _, b := range img.LiveBrokers() {
		live[b.ID] = true
		ep, ok := b.Endpoint(h.cfg.ListenerName)
		if !ok {
			continue
		}
		resp.Brokers = append(resp.Brokers, protocol.MetadataResponseMetadataResponseBroker{NodeID: b.ID, Host: ep.Host, Port: int32(ep.Port), Rack: b.Rack})
	}
	for _, name := range names {
		resp.Topics = append(resp.Topics, topicMetadata(img, img.TopicByName(name), name, live, topicOpsAsked))
	}
	for _, id := range byID {
		t := img.TopicByID(id)
		name := ""
		if t != nil {
			name = t.Name()
		}
		tm := topicMetadata(img, t, name, live, topicOpsAsked)
		if t == nil {
			tm.ErrorCode = int16(protocol.ErrUnknownTopicID)
			tm.Name = nil
			tm.TopicID = id
		}
		resp.Topics = append(resp.Topics, tm)
	}
	return resp
}

func topicMetadata(img *metadata.Image, t *metadata.TopicImage, name string, live map[int32]bool, opsAsked bool) protocol.MetadataResponseMetadataResponseTopic {
	n := name
	tm := protocol.MetadataResponseMetadataResponseTopic{Name: &n, TopicAuthorizedOperations: authorizedOpsNone, IsInternal: internalTopic(name)}
	if t == nil {
		if controller.ValidTopicName(name) != nil {
			tm.ErrorCode = int16(protocol.ErrInvalidTopicException)
		} else {
			tm.ErrorCode = int16(protocol.ErrUnknownTopicOrPartition)
		}
		tm.Partitions = []protocol.MetadataResponseMetadataResponsePartition{}
		return tm
	}
	tm.TopicID = t.ID()
	tm.TopicAuthorizedOperations = authorizedOps(opsAsked, topicOps)
	for id, p := range t.Partitions() {
		pm := protocol.MetadataResponseMetadataResponsePartition{
			PartitionIndex:  id,
			LeaderID:        p.Leader,
			LeaderEpoch:     p.LeaderEpoch,
			ReplicaNodes:    nonNil(p.Replicas),
			IsrNodes:        nonNil(p.ISR),
			OfflineReplicas: []int32{},
		}
		for _, r := range p.Replicas {
			if !live[r] {
				pm.OfflineReplicas = append(pm.OfflineReplicas, r)
			}
		}
		if p.Leader < 0 || !live[p.Leader] {
			pm.ErrorCode = int16(protocol.ErrLeaderNotAvailable)
		}
		tm.Partitions = append(tm.Partitions, pm)
	}
	return tm
}

// autoCreate creates the unknown, valid names with the broker's defaults
// (__consumer_offsets with its own settings, as Kafka creates it) and
// returns the image that holds them (or img if nothing was created).
func (h *Handler) autoCreate(ctx context.Context, img *metadata.Image, names []string) *metadata.Image {
	var reqs []controller.CreateTopic
	for _, name := range names {
		switch {
		case img.TopicByName(name) != nil || controller.ValidTopicName(name) != nil || name == transactionStateTopic:
		case name == OffsetsTopic:
			reqs = append(reqs, h.offsetsTopicSpec())
		default:
			reqs = append(reqs, controller.CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1})
		}
	}
	if len(reqs) == 0 {
		return img
	}
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	if _, err := h.submit(ctx, controller.CreateTopics(reqs, false, h.defaults())); err != nil {
		h.logger.Warn("auto-creating topics failed", "err", err)
	}
	return h.image()
}

func (h *Handler) defaults() controller.TopicDefaults {
	return controller.TopicDefaults{NumPartitions: h.cfg.DefaultPartitions, ReplicationFactor: h.cfg.DefaultReplication}
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
