package group

import (
	"cmp"
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// OffsetCommit handles an OffsetCommit of any version. The answer comes
// once the offsets are durable (or their write failed, or ctx ended).
// Topics are not checked here: the handler may filter unknown ones first.
func (c *Coordinator) OffsetCommit(ctx context.Context, req *protocol.OffsetCommitRequest, version int16) *protocol.OffsetCommitResponse {
	if req == nil {
		return commitResponse(&protocol.OffsetCommitRequest{}, func(int) protocol.ErrorCode { return protocol.ErrInvalidRequest })
	}
	cr := commitRequest{groupID: req.GroupID, memberID: req.MemberID, generation: req.GenerationIDOrMemberEpoch, retentionMs: -1}
	if version < 1 {
		cr.memberID, cr.generation = "", -1
	}
	if version >= 7 && req.GroupInstanceID != nil {
		cr.instanceID = ptr(*req.GroupInstanceID)
	}
	if version >= 2 && version <= 4 {
		cr.retentionMs = req.RetentionTimeMs
	}
	for _, t := range req.Topics {
		for _, pt := range t.Partitions {
			co := commitOffset{
				tp:          topicPartition{t.Name, pt.PartitionIndex},
				offset:      pt.CommittedOffset,
				leaderEpoch: -1,
				commitTime:  -1,
				metadata:    pt.CommittedMetadata,
			}
			if version >= 6 {
				co.leaderEpoch = pt.CommittedLeaderEpoch
			}
			if version == 1 {
				co.commitTime = pt.CommitTimestamp
			}
			cr.offsets = append(cr.offsets, co)
		}
	}
	if len(cr.offsets) == 0 {
		return commitResponse(req, nil)
	}

	c.mu.Lock()
	p, code := c.partitionLocked(req.GroupID)
	if code != protocol.ErrNone {
		c.mu.Unlock()
		return commitResponse(req, func(int) protocol.ErrorCode { return code })
	}
	id, ch := c.registerLocked(p.id)
	d := p.shard.commit(c.now(), cr, id)
	if !d.waiting {
		delete(c.mu.waiters, id)
	}
	c.applyLocked(p)
	c.mu.Unlock()

	if d.err != protocol.ErrNone {
		return commitResponse(req, func(int) protocol.ErrorCode { return d.err })
	}
	written := protocol.ErrNone
	if d.waiting {
		written = c.await(ctx, id, ch).code
	}
	return commitResponse(req, func(i int) protocol.ErrorCode {
		if d.tooLarge[i] {
			return protocol.ErrOffsetMetadataTooLarge
		}
		return written
	})
}

// commitResponse answers every partition of req, in order, with code(i)
// for the i-th.
func commitResponse(req *protocol.OffsetCommitRequest, code func(i int) protocol.ErrorCode) *protocol.OffsetCommitResponse {
	resp := &protocol.OffsetCommitResponse{}
	resp.Default()
	resp.Topics = make([]protocol.OffsetCommitResponseOffsetCommitResponseTopic, 0, len(req.Topics))
	i := 0
	for _, t := range req.Topics {
		rt := protocol.OffsetCommitResponseOffsetCommitResponseTopic{Name: t.Name}
		for _, pt := range t.Partitions {
			rp := protocol.OffsetCommitResponseOffsetCommitResponsePartition{PartitionIndex: pt.PartitionIndex}
			if code != nil {
				rp.ErrorCode = int16(code(i))
			}
			rt.Partitions = append(rt.Partitions, rp)
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// fetchTopic is a topic of an OffsetFetch.
type fetchTopic struct {
	name       string
	partitions []int32
}

// OffsetFetch handles an OffsetFetch of any version: one group before
// version 8, a batch of groups from version 8 on. A nil topic list (v2+)
// asks for every offset of the group. Partitions without an offset answer
// -1 and no error. With RequireStable (v7+), a partition whose commit is
// still being written answers UNSTABLE_OFFSET_COMMIT.
func (c *Coordinator) OffsetFetch(ctx context.Context, req *protocol.OffsetFetchRequest, version int16) *protocol.OffsetFetchResponse {
	resp := &protocol.OffsetFetchResponse{}
	resp.Default()
	if req == nil {
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	if version < 8 {
		var topics []fetchTopic
		all := req.Topics == nil && version >= 2
		for _, t := range req.Topics {
			topics = append(topics, fetchTopic{t.Name, t.PartitionIndexes})
		}
		code, offsets := c.fetchGroup(req.GroupID, topics, all, req.RequireStable)
		resp.Topics = []protocol.OffsetFetchResponseOffsetFetchResponseTopic{}
		if code != protocol.ErrNone && version >= 2 {
			resp.ErrorCode = int16(code)
			return resp
		}
		if code != protocol.ErrNone {
			// Versions 0 and 1 carry errors on the partitions only.
			offsets = nil
			for _, t := range topics {
				for _, p := range t.partitions {
					offsets = append(offsets, fetchedOffset{tp: topicPartition{t.name, p}, offset: -1, leaderEpoch: -1})
				}
			}
		}
		for _, f := range offsets {
			n := len(resp.Topics)
			if n == 0 || resp.Topics[n-1].Name != f.tp.topic {
				resp.Topics = append(resp.Topics, protocol.OffsetFetchResponseOffsetFetchResponseTopic{Name: f.tp.topic})
				n++
			}
			resp.Topics[n-1].Partitions = append(resp.Topics[n-1].Partitions, protocol.OffsetFetchResponseOffsetFetchResponsePartition{
				PartitionIndex:       f.tp.partition,
				CommittedOffset:      f.offset,
				CommittedLeaderEpoch: f.leaderEpoch,
				Metadata:             ptr(f.metadata),
				ErrorCode:            int16(cmp.Or(code, f.err)),
			})
		}
		return resp
	}
	resp.Groups = make([]protocol.OffsetFetchResponseOffsetFetchResponseGroup, 0, len(req.Groups))
	for _, rg := range req.Groups {
		var topics []fetchTopic
		for _, t := range rg.Topics {
			topics = append(topics, fetchTopic{t.Name, t.PartitionIndexes})
		}
		code, offsets := c.fetchGroup(rg.GroupID, topics, rg.Topics == nil, req.RequireStable)
		g := protocol.OffsetFetchResponseOffsetFetchResponseGroup{
			GroupID:   rg.GroupID,
			ErrorCode: int16(code),
			Topics:    []protocol.OffsetFetchResponseOffsetFetchResponseTopics{},
		}
		for _, f := range offsets {
			n := len(g.Topics)
			if n == 0 || g.Topics[n-1].Name != f.tp.topic {
				g.Topics = append(g.Topics, protocol.OffsetFetchResponseOffsetFetchResponseTopics{Name: f.tp.topic})
				n++
			}
			g.Topics[n-1].Partitions = append(g.Topics[n-1].Partitions, protocol.OffsetFetchResponseOffsetFetchResponsePartitions{
				PartitionIndex:       f.tp.partition,
				CommittedOffset:      f.offset,
				CommittedLeaderEpoch: f.leaderEpoch,
				Metadata:             ptr(f.metadata),
				ErrorCode:            int16(f.err),
			})
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

// fetchGroup fetches the offsets of one group: the requested partitions in
// request order, or all of them.
func (c *Coordinator) fetchGroup(groupID string, topics []fetchTopic, all, stable bool) (protocol.ErrorCode, []fetchedOffset) {
	var tps []topicPartition
	for _, t := range topics {
		for _, p := range t.partitions {
			tps = append(tps, topicPartition{t.name, p})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, code := c.partitionLocked(groupID)
	if code != protocol.ErrNone {
		return code, nil
	}
	offsets := p.shard.fetch(c.now(), groupID, tps, all, stable)
	c.applyLocked(p)
	return protocol.ErrNone, offsets
}

// OffsetDelete handles an OffsetDelete: offsets of an Empty group, or of
// topics a consumer group no longer subscribes to, are deleted.
func (c *Coordinator) OffsetDelete(ctx context.Context, req *protocol.OffsetDeleteRequest, version int16) *protocol.OffsetDeleteResponse {
	resp := &protocol.OffsetDeleteResponse{}
	resp.Default()
	resp.Topics = []protocol.OffsetDeleteResponseOffsetDeleteResponseTopic{}
	if req == nil {
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	if req.GroupID == "" {
		resp.ErrorCode = int16(protocol.ErrInvalidGroupID)
		return resp
	}
	var tps []topicPartition
	for _, t := range req.Topics {
		for _, pt := range t.Partitions {
			tps = append(tps, topicPartition{t.Name, pt.PartitionIndex})
		}
	}
	c.mu.Lock()
	p, code := c.partitionLocked(req.GroupID)
	if code != protocol.ErrNone {
		c.mu.Unlock()
		resp.ErrorCode = int16(code)
		return resp
	}
	id, ch := c.registerLocked(p.id)
	code, errs, waiting := p.shard.deleteOffsets(c.now(), req.GroupID, tps, id)
	if !waiting {
		delete(c.mu.waiters, id)
	}
	c.applyLocked(p)
	c.mu.Unlock()
	if code != protocol.ErrNone {
		resp.ErrorCode = int16(code)
		return resp
	}
	written := protocol.ErrNone
	if waiting {
		written = c.await(ctx, id, ch).code
	}
	i := 0
	for _, t := range req.Topics {
		rt := protocol.OffsetDeleteResponseOffsetDeleteResponseTopic{Name: t.Name}
		for _, pt := range t.Partitions {
			e := errs[i]
			if e == protocol.ErrNone {
				e = written
			}
			rt.Partitions = append(rt.Partitions, protocol.OffsetDeleteResponseOffsetDeleteResponsePartition{
				PartitionIndex: pt.PartitionIndex,
				ErrorCode:      int16(e),
			})
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
