package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Metadata answers a Metadata request from the broker's image. Unknown
// topics are created when the request allows it and
// auto.create.topics.enable is set. As in Kafka, topics are asked for by
// id from v12 only (a v10 or v11 request with an id or a null name is
// refused whole, INVALID_REQUEST), and a request that names any topic by
// id is answered for its ids alone.
func (h *Handler) Metadata(ctx context.Context, req *protocol.MetadataRequest, version int16) *protocol.MetadataResponse {
	img := h.image()
	all := req.Topics == nil || (version == 0 && len(req.Topics) == 0)
	var names []string
	var byID []protocol.UUID
	if all {
		names = img.Topics.Names()
	} else {
		byIDOnly := false
		for _, t := range req.Topics {
			if version < 12 && (t.Name == nil || t.TopicID != protocol.UUID{}) {
				return metadataRefused(req, protocol.ErrInvalidRequest)
			}
			byIDOnly = byIDOnly || t.TopicID != protocol.UUID{}
		}
		// Each topic once, as Kafka answers a set of them.
		seenName, seenID := map[string]bool{}, map[protocol.UUID]bool{}
		addID := func(id protocol.UUID) {
			if !seenID[id] {
				seenID[id] = true
				byID = append(byID, id)
			}
		}
		for _, t := range req.Topics {
			switch {
			case byIDOnly:
				if t.TopicID != (protocol.UUID{}) {
					addID(t.TopicID)
				} // a name beside ids is not looked at, as in Kafka
			case t.Name != nil:
				if !seenName[*t.Name] {
					seenName[*t.Name] = true
					names = append(names, *t.Name)
				}
			default: // v12: neither a name nor an id
				addID(t.TopicID)
			}
		}
	}
	allowCreate := version < 4 || req.AllowAutoTopicCreation
	if !all && allowCreate && h.cfg.AutoCreateTopics {
		img = h.autoCreate(ctx, img, names)
	}

	clusterID := h.cfg.ClusterID
	rbs := reachableBrokers(img, h.cfg.ListenerName)
	resp := &protocol.MetadataResponse{
		ClusterID:                   &clusterID,
		ControllerID:                h.controllerID(rbs),
		ClusterAuthorizedOperations: authorizedOps(version >= 8 && version <= 10 && req.IncludeClusterAuthorizedOperations, clusterOps),
	}
	v := metadataView{img: img, reachable: make(map[int32]bool, len(rbs)), version: version, opsAsked: version >= 8 && req.IncludeTopicAuthorizedOperations}
	for _, rb := range rbs {
		v.reachable[rb.ID] = true
		resp.Brokers = append(resp.Brokers, protocol.MetadataResponseMetadataResponseBroker{NodeID: rb.ID, Host: rb.ep.Host, Port: int32(rb.ep.Port), Rack: rb.Rack})
	}
	for _, name := range names {
		resp.Topics = append(resp.Topics, v.topic(img.TopicByName(name), name))
	}
	for _, id := range byID {
		t := img.TopicByID(id)
		name := ""
		if t != nil {
			name = t.Name()
		}
		tm := v.topic(t, name)
		if t == nil {
			tm.ErrorCode = int16(protocol.ErrUnknownTopicID)
			tm.Name = nil
			tm.TopicID = id
		}
		resp.Topics = append(resp.Topics, tm)
	}
	return resp
}

// metadataRefused is Kafka's answer to a Metadata request refused whole:
// each topic asked for, by its name ("" for none) and id, with code.
func metadataRefused(req *protocol.MetadataRequest, code protocol.ErrorCode) *protocol.MetadataResponse {
	resp := &protocol.MetadataResponse{}
	resp.Default()
	for _, t := range req.Topics {
		name := ""
		if t.Name != nil {
			name = *t.Name
		}
		tm := protocol.MetadataResponseMetadataResponseTopic{}
		tm.Default()
		tm.Name, tm.TopicID, tm.ErrorCode = &name, t.TopicID, int16(code)
		resp.Topics = append(resp.Topics, tm)
	}
	return resp
}

// reachableBroker is a broker a client can reach on a listener:
// registered, unfenced and listening there.
type reachableBroker struct {
	metadata.Broker
	ep metadata.Endpoint
}

// brokerEndpoint returns broker id with its endpoint on listener, if a
// client can reach it there.
func brokerEndpoint(img *metadata.Image, id int32, listener string) (reachableBroker, bool) {
	b, ok := img.Broker(id)
	if !ok || b.Fenced {
		return reachableBroker{}, false
	}
	ep, ok := b.Endpoint(listener)
	return reachableBroker{b, ep}, ok
}

// reachableBrokers lists the brokers a client can reach on listener, by
// id: those Metadata and DescribeCluster answer.
func reachableBrokers(img *metadata.Image, listener string) []reachableBroker {
	var out []reachableBroker
	for _, b := range img.LiveBrokers() {
		if ep, ok := b.Endpoint(listener); ok {
			out = append(out, reachableBroker{b, ep})
		}
	}
	return out
}

// controllerID is the id Metadata and DescribeCluster answer as the
// controller's, given the brokers clients can reach (reachableBrokers).
// Clients cannot reach the quorum, so, as Kafka in KRaft mode, it is a
// broker they can reach: this one when they can, else the first such
// broker, else -1.
func (h *Handler) controllerID(rbs []reachableBroker) int32 {
	for _, rb := range rbs {
		if rb.ID == h.cfg.NodeID {
			return rb.ID
		}
	}
	if len(rbs) > 0 {
		return rbs[0].ID
	}
	return -1
}

// metadataView answers the topics of one Metadata request.
type metadataView struct {
	img *metadata.Image
	// reachable holds the brokers a client can reach on the request's
	// listener (reachableBrokers); replicas on others are offline.
	reachable map[int32]bool
	version   int16
	opsAsked  bool
}

func (v *metadataView) topic(t *metadata.TopicImage, name string) protocol.MetadataResponseMetadataResponseTopic {
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
	tm.TopicAuthorizedOperations = authorizedOps(v.opsAsked, topicOps)
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
			if !v.reachable[r] {
				pm.OfflineReplicas = append(pm.OfflineReplicas, r)
			}
		}
		// As Kafka: no leader, or one without the request's listener,
		// is answered with leader -1 (LISTENER_NOT_FOUND from v6 for the
		// second, which points at a configuration mistake).
		if !v.reachable[p.Leader] {
			pm.ErrorCode, pm.LeaderID = int16(protocol.ErrLeaderNotAvailable), -1
			if b, registered := v.img.Broker(p.Leader); registered && !b.Fenced && v.version >= 6 {
				pm.ErrorCode = int16(protocol.ErrListenerNotFound)
			}
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
