package handler

import (
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Leader hints (KIP-951): a partition refused because this broker does
// not lead it (NOT_LEADER_OR_FOLLOWER; for Fetch also
// FENCED_LEADER_EPOCH) names the leader this broker knows and its epoch,
// and the response carries that leader's endpoint on the listener the
// request came in on, so a client moves to it without a metadata round
// trip. Produce carries them from v10, Fetch from v16.

// leaderHint is what the image says of one partition's leader.
type leaderHint struct {
	id, epoch int32
}

// hintCollector gathers the reachable leaders a response names, in the
// order first named.
type hintCollector struct {
	img      *metadata.Image
	listener string
	seen     map[int32]bool
	leaders  []reachableBroker
}

func (h *Handler) newHintCollector() *hintCollector {
	return &hintCollector{img: h.image(), listener: h.cfg.ListenerName}
}

// leader returns the image's leader and epoch of a partition of the
// topic named name, or of the topic with id when name is empty; -1, -1
// when the partition is unknown. A leader a client can reach on the
// request's listener is added to the endpoints.
func (c *hintCollector) leader(name string, id protocol.UUID, partition int32) leaderHint {
	t := c.img.TopicByName(name)
	if name == "" {
		t = c.img.TopicByID(id)
	}
	if t == nil {
		return leaderHint{-1, -1}
	}
	p, ok := t.Partition(partition)
	if !ok {
		return leaderHint{-1, -1}
	}
	if !c.seen[p.Leader] {
		if rb, ok := brokerEndpoint(c.img, p.Leader, c.listener); ok {
			if c.seen == nil {
				c.seen = map[int32]bool{}
			}
			c.seen[p.Leader] = true
			c.leaders = append(c.leaders, rb)
		}
	}
	return leaderHint{p.Leader, p.LeaderEpoch}
}

// hintProduceLeaders fills the leader hints of a Produce response (v10+).
func (h *Handler) hintProduceLeaders(resp *protocol.ProduceResponse, version int16) {
	if version < 10 || resp == nil {
		return
	}
	var c *hintCollector
	for ti := range resp.Responses {
		t := &resp.Responses[ti]
		for pi := range t.PartitionResponses {
			p := &t.PartitionResponses[pi]
			if protocol.ErrorCode(p.ErrorCode) != protocol.ErrNotLeaderOrFollower {
				continue
			}
			if c == nil {
				c = h.newHintCollector()
			}
			hint := c.leader(t.Name, protocol.UUID{}, p.Index)
			p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = hint.id, hint.epoch
		}
	}
	if c != nil {
		resp.NodeEndpoints = endpoints(c, func(id int32, host string, port int32, rack *string) protocol.ProduceResponseNodeEndpoint {
			return protocol.ProduceResponseNodeEndpoint{NodeID: id, Host: host, Port: port, Rack: rack}
		})
	}
}

// hintFetchLeaders fills the leader hints of a Fetch response (v16+).
func (h *Handler) hintFetchLeaders(resp *protocol.FetchResponse, version int16) {
	if version < 16 || resp == nil {
		return
	}
	var c *hintCollector
	for ti := range resp.Responses {
		t := &resp.Responses[ti]
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			switch protocol.ErrorCode(p.ErrorCode) {
			case protocol.ErrNotLeaderOrFollower, protocol.ErrFencedLeaderEpoch:
			default:
				continue
			}
			if c == nil {
				c = h.newHintCollector()
			}
			hint := c.leader(t.Topic, t.TopicID, p.PartitionIndex)
			p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = hint.id, hint.epoch
		}
	}
	if c != nil {
		resp.NodeEndpoints = endpoints(c, func(id int32, host string, port int32, rack *string) protocol.FetchResponseNodeEndpoint {
			return protocol.FetchResponseNodeEndpoint{NodeID: id, Host: host, Port: port, Rack: rack}
		})
	}
}

// endpoints lists the leaders c gathered as a response's node endpoint
// type.
func endpoints[T any](c *hintCollector, mk func(id int32, host string, port int32, rack *string) T) []T {
	out := make([]T, 0, len(c.leaders))
	for _, rb := range c.leaders {
		out = append(out, mk(rb.ID, rb.ep.Host, int32(rb.ep.Port), rb.Rack))
	}
	return out
}
