package handler

import (
	"context"
	"strconv"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/group"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// OffsetsTopic is the internal topic that holds committed offsets and
// group metadata.
const OffsetsTopic = "__consumer_offsets"

// transactionStateTopic is Kafka's internal topic of transaction state.
// Transactions are not served, so Metadata never creates it.
const transactionStateTopic = "__transaction_state"

// internalTopic reports whether name is one of Kafka's internal topics,
// which clients may not produce to or delete records of.
func internalTopic(name string) bool { return name == OffsetsTopic || name == transactionStateTopic }

// SetGroupCoordinator gives the handler the group coordinator of this
// broker; until it is set, FindCoordinator answers
// COORDINATOR_NOT_AVAILABLE.
func (h *Handler) SetGroupCoordinator(c *group.Coordinator) { h.groups = c }

// FindCoordinator answers where a group's coordinator is: the leader of
// the partition of __consumer_offsets the group id hashes to
// (abs(String.hashCode) % partitions, as Kafka). The topic is created on
// the first request, as Kafka does. Versions 0-5; v4+ batch keys. Only
// group keys are served: transaction coordinators (key type 1) are
// refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as InitProducerId
// and Produce refuse transactional ids (transactions are not supported),
// so a transactional producer fails with that error rather than an
// unexpected one; any other key type is INVALID_REQUEST.
func (h *Handler) FindCoordinator(ctx context.Context, req *protocol.FindCoordinatorRequest, version int16) *protocol.FindCoordinatorResponse {
	keys := req.CoordinatorKeys
	if version < 4 {
		keys = []string{req.Key}
	}
	resp := &protocol.FindCoordinatorResponse{}
	for _, key := range keys {
		c := h.findCoordinator(ctx, key, req.KeyType)
		if version < 4 {
			resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
			break
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp
}

func (h *Handler) findCoordinator(ctx context.Context, key string, keyType int8) protocol.FindCoordinatorResponseCoordinator {
	out := protocol.FindCoordinatorResponseCoordinator{Key: key, NodeID: -1, Port: -1}
	fail := func(code protocol.ErrorCode, msg string) protocol.FindCoordinatorResponseCoordinator {
		out.ErrorCode = int16(code)
		if msg != "" {
			out.ErrorMessage = &msg
		}
		return out
	}
	switch {
	case keyType == 1:
		return fail(protocol.ErrTransactionalIDAuthorizationFailed, "transactions are not supported")
	case keyType != 0:
		return fail(protocol.ErrInvalidRequest, "unknown coordinator key type")
	case h.groups == nil:
		return fail(protocol.ErrCoordinatorNotAvailable, "")
	}
	img := h.image()
	t := img.TopicByName(OffsetsTopic)
	if t == nil {
		var err error
		if img, err = h.createOffsetsTopic(ctx); err != nil {
			return fail(protocol.ErrCoordinatorNotAvailable, err.Error())
		}
		if t = img.TopicByName(OffsetsTopic); t == nil {
			return fail(protocol.ErrCoordinatorNotAvailable, "")
		}
	}
	part, ok := t.Partition(group.PartitionFor(key, int32(t.NumPartitions())))
	if !ok || part.Leader < 0 {
		return fail(protocol.ErrCoordinatorNotAvailable, "")
	}
	// A fenced coordinator is not named, as Kafka names only live brokers.
	b, ok := brokerEndpoint(img, part.Leader, h.cfg.ListenerName)
	if !ok {
		return fail(protocol.ErrCoordinatorNotAvailable, "")
	}
	out.NodeID, out.Host, out.Port = part.Leader, b.ep.Host, int32(b.ep.Port)
	return out
}

// offsetsTopicSpec is __consumer_offsets as the broker creates it, on the
// first FindCoordinator or when a client's Metadata request names it:
// the offsets.topic.* settings, compacted.
func (h *Handler) offsetsTopicSpec() controller.CreateTopic {
	segment := strconv.Itoa(int(h.cfg.OffsetsTopicSegmentBytes))
	compact := "compact"
	return controller.CreateTopic{Name: OffsetsTopic, NumPartitions: h.cfg.OffsetsTopicPartitions,
		ReplicationFactor: h.cfg.OffsetsTopicReplicationFactor,
		Configs:           map[string]*string{"cleanup.policy": &compact, "segment.bytes": &segment}}
}

// createOffsetsTopic creates __consumer_offsets (offsetsTopicSpec) and
// returns the image that holds it.
func (h *Handler) createOffsetsTopic(ctx context.Context) (*metadata.Image, error) {
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	reply, err := h.submit(ctx, controller.CreateTopics([]controller.CreateTopic{h.offsetsTopicSpec()}, false, h.defaults()))
	if err != nil {
		return nil, err
	}
	if r := reply.([]controller.CreateTopicResult)[0]; r.Err != nil && r.Err.Code != protocol.ErrTopicAlreadyExists {
		return nil, r.Err
	}
	return h.image(), nil
}

// clientKey carries the requesting client's id and host in a context.
type clientKey struct{}

type clientInfo struct{ id, host string }

// WithClient returns ctx carrying the client id and host of the
// connection a request came on (JoinGroup records them per member).
func WithClient(ctx context.Context, clientID, host string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientInfo{clientID, host})
}

func clientFrom(ctx context.Context) clientInfo {
	ci, _ := ctx.Value(clientKey{}).(clientInfo)
	return ci
}

// The group APIs: the coordinator answers, or COORDINATOR_NOT_AVAILABLE
// before it is set.

func (h *Handler) JoinGroup(ctx context.Context, req *protocol.JoinGroupRequest, version int16) *protocol.JoinGroupResponse {
	if h.groups == nil {
		return &protocol.JoinGroupResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable), GenerationID: -1, Members: []protocol.JoinGroupResponseJoinGroupResponseMember{}}
	}
	ci := clientFrom(ctx)
	return h.groups.JoinGroup(ctx, req, version, ci.id, ci.host)
}

func (h *Handler) SyncGroup(ctx context.Context, req *protocol.SyncGroupRequest, version int16) *protocol.SyncGroupResponse {
	if h.groups == nil {
		return &protocol.SyncGroupResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable), Assignment: []byte{}}
	}
	return h.groups.SyncGroup(ctx, req, version)
}

func (h *Handler) Heartbeat(ctx context.Context, req *protocol.HeartbeatRequest, version int16) *protocol.HeartbeatResponse {
	if h.groups == nil {
		return &protocol.HeartbeatResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)}
	}
	return h.groups.Heartbeat(ctx, req, version)
}

func (h *Handler) LeaveGroup(ctx context.Context, req *protocol.LeaveGroupRequest, version int16) *protocol.LeaveGroupResponse {
	if h.groups == nil {
		return &protocol.LeaveGroupResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)}
	}
	return h.groups.LeaveGroup(ctx, req, version)
}

// OffsetCommit commits offsets; partitions of topics that do not exist
// are refused with UNKNOWN_TOPIC_OR_PARTITION before the coordinator sees
// them, as Kafka does.
func (h *Handler) OffsetCommit(ctx context.Context, req *protocol.OffsetCommitRequest, version int16) *protocol.OffsetCommitResponse {
	if h.groups == nil {
		resp := &protocol.OffsetCommitResponse{}
		for _, t := range req.Topics {
			rt := protocol.OffsetCommitResponseOffsetCommitResponseTopic{Name: t.Name}
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, protocol.OffsetCommitResponseOffsetCommitResponsePartition{
					PartitionIndex: p.PartitionIndex, ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)})
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	img := h.image()
	known := *req
	known.Topics = nil
	var unknown []protocol.OffsetCommitResponseOffsetCommitResponseTopic
	for _, t := range req.Topics {
		in, out := splitKnown(img, t.Name, t.Partitions,
			func(p protocol.OffsetCommitRequestOffsetCommitRequestPartition) int32 { return p.PartitionIndex },
			func(i int32, code int16) protocol.OffsetCommitResponseOffsetCommitResponsePartition {
				return protocol.OffsetCommitResponseOffsetCommitResponsePartition{PartitionIndex: i, ErrorCode: code}
			})
		if len(in) > 0 {
			kt := t
			kt.Partitions = in
			known.Topics = append(known.Topics, kt)
		}
		if len(out) > 0 {
			unknown = append(unknown, protocol.OffsetCommitResponseOffsetCommitResponseTopic{Name: t.Name, Partitions: out})
		}
	}
	resp := h.groups.OffsetCommit(ctx, &known, version)
	resp.Topics = mergeTopics(resp.Topics, unknown, func(t *protocol.OffsetCommitResponseOffsetCommitResponseTopic) (string, *[]protocol.OffsetCommitResponseOffsetCommitResponsePartition) {
		return t.Name, &t.Partitions
	})
	return resp
}

// splitKnown sorts one topic's partitions of a request into those the
// image has, and answers (built by answer) for those it has not (no
// such topic or partition), which Kafka answers
// UNKNOWN_TOPIC_OR_PARTITION before the coordinator sees the request.
func splitKnown[P, R any](img *metadata.Image, topic string, parts []P, index func(P) int32, answer func(partition int32, code int16) R) (known []P, unknown []R) {
	tm := img.TopicByName(topic)
	for _, p := range parts {
		if tm != nil {
			if _, ok := tm.Partition(index(p)); ok {
				known = append(known, p)
				continue
			}
		}
		unknown = append(unknown, answer(index(p), int16(protocol.ErrUnknownTopicOrPartition)))
	}
	return known, unknown
}

// mergeTopics adds extra's topics to topics, one entry per topic name
// (a name already there takes extra's partitions), as Kafka answers.
func mergeTopics[T, P any](topics, extra []T, parts func(*T) (string, *[]P)) []T {
	for i := range extra {
		name, add := parts(&extra[i])
		merged := false
		for j := range topics {
			if n, ps := parts(&topics[j]); n == name {
				*ps = append(*ps, *add...)
				merged = true
				break
			}
		}
		if !merged {
			topics = append(topics, extra[i])
		}
	}
	return topics
}

func (h *Handler) OffsetFetch(ctx context.Context, req *protocol.OffsetFetchRequest, version int16) *protocol.OffsetFetchResponse {
	if h.groups == nil {
		return &protocol.OffsetFetchResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)}
	}
	return h.groups.OffsetFetch(ctx, req, version)
}

// OffsetDelete deletes a group's committed offsets; as in Kafka, a
// partition the metadata does not have is UNKNOWN_TOPIC_OR_PARTITION,
// answered beside whatever the coordinator answers for the rest.
func (h *Handler) OffsetDelete(ctx context.Context, req *protocol.OffsetDeleteRequest, version int16) *protocol.OffsetDeleteResponse {
	if h.groups == nil {
		return &protocol.OffsetDeleteResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)}
	}
	img := h.image()
	known := *req
	known.Topics = nil
	var unknown []protocol.OffsetDeleteResponseOffsetDeleteResponseTopic
	for _, t := range req.Topics {
		in, out := splitKnown(img, t.Name, t.Partitions,
			func(p protocol.OffsetDeleteRequestOffsetDeleteRequestPartition) int32 { return p.PartitionIndex },
			func(i int32, code int16) protocol.OffsetDeleteResponseOffsetDeleteResponsePartition {
				return protocol.OffsetDeleteResponseOffsetDeleteResponsePartition{PartitionIndex: i, ErrorCode: code}
			})
		if len(in) > 0 {
			kt := t
			kt.Partitions = in
			known.Topics = append(known.Topics, kt)
		}
		if len(out) > 0 {
			unknown = append(unknown, protocol.OffsetDeleteResponseOffsetDeleteResponseTopic{Name: t.Name, Partitions: out})
		}
	}
	resp := h.groups.OffsetDelete(ctx, &known, version)
	resp.Topics = mergeTopics(resp.Topics, unknown, func(t *protocol.OffsetDeleteResponseOffsetDeleteResponseTopic) (string, *[]protocol.OffsetDeleteResponseOffsetDeleteResponsePartition) {
		return t.Name, &t.Partitions
	})
	return resp
}

func (h *Handler) ListGroups(ctx context.Context, req *protocol.ListGroupsRequest, version int16) *protocol.ListGroupsResponse {
	if h.groups == nil {
		return &protocol.ListGroupsResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)}
	}
	return h.groups.ListGroups(ctx, req, version)
}

func (h *Handler) DescribeGroups(ctx context.Context, req *protocol.DescribeGroupsRequest, version int16) *protocol.DescribeGroupsResponse {
	if h.groups == nil {
		resp := &protocol.DescribeGroupsResponse{}
		for _, g := range req.Groups {
			resp.Groups = append(resp.Groups, protocol.DescribeGroupsResponseDescribedGroup{GroupID: g, ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)})
		}
		return resp
	}
	resp := h.groups.DescribeGroups(ctx, req, version)
	if version >= 3 && req.IncludeAuthorizedOperations {
		for i := range resp.Groups {
			if resp.Groups[i].ErrorCode == 0 {
				resp.Groups[i].AuthorizedOperations = groupOps
			}
		}
	}
	return resp
}

func (h *Handler) DeleteGroups(ctx context.Context, req *protocol.DeleteGroupsRequest, version int16) *protocol.DeleteGroupsResponse {
	if h.groups == nil {
		resp := &protocol.DeleteGroupsResponse{}
		for _, g := range req.GroupsNames {
			resp.Results = append(resp.Results, protocol.DeleteGroupsResponseDeletableGroupResult{GroupID: g, ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)})
		}
		return resp
	}
	return h.groups.DeleteGroups(ctx, req, version)
}
