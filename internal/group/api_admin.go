package group

import (
	"context"
	"slices"
	"strings"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// classicGroupType is the group type ListGroups v5 reports for every group
// of this coordinator.
const classicGroupType = "classic"

// ListGroups handles a ListGroups of any version: the groups of every
// loaded partition, sorted by id, filtered by state (v4+) and type (v5+).
// While a partition loads the error is COORDINATOR_LOAD_IN_PROGRESS, with
// the groups of the others.
func (c *Coordinator) ListGroups(ctx context.Context, req *protocol.ListGroupsRequest, version int16) *protocol.ListGroupsResponse {
	resp := &protocol.ListGroupsResponse{}
	resp.Default()
	resp.Groups = []protocol.ListGroupsResponseListedGroup{}
	if req == nil {
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	var states []string
	if version >= 4 {
		states = req.StatesFilter
	}
	if version >= 5 && len(req.TypesFilter) > 0 && !slices.ContainsFunc(req.TypesFilter, func(t string) bool {
		return strings.EqualFold(t, classicGroupType)
	}) {
		return resp
	}
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		resp.ErrorCode = int16(protocol.ErrCoordinatorNotAvailable)
		return resp
	}
	var listed []listedGroup
	for _, p := range c.mu.parts {
		if p.shard == nil {
			resp.ErrorCode = int16(protocol.ErrCoordinatorLoadInProgress)
			continue
		}
		listed = append(listed, p.shard.list(c.now(), states)...)
		c.applyLocked(p)
	}
	c.mu.Unlock()
	slices.SortFunc(listed, func(a, b listedGroup) int { return strings.Compare(a.id, b.id) })
	for _, g := range listed {
		resp.Groups = append(resp.Groups, protocol.ListGroupsResponseListedGroup{
			GroupID:      g.id,
			ProtocolType: g.protocolType,
			GroupState:   g.state,
			GroupType:    classicGroupType,
		})
	}
	return resp
}

// DescribeGroups handles a DescribeGroups of any version. An unknown group
// is described as Dead, without error.
func (c *Coordinator) DescribeGroups(ctx context.Context, req *protocol.DescribeGroupsRequest, version int16) *protocol.DescribeGroupsResponse {
	resp := &protocol.DescribeGroupsResponse{}
	resp.Default()
	resp.Groups = []protocol.DescribeGroupsResponseDescribedGroup{}
	if req == nil {
		return resp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range req.Groups {
		d := protocol.DescribeGroupsResponseDescribedGroup{}
		d.Default()
		d.GroupID = id
		d.Members = []protocol.DescribeGroupsResponseDescribedGroupMember{}
		p, code := c.partitionLocked(id)
		if code != protocol.ErrNone {
			d.ErrorCode = int16(code)
			resp.Groups = append(resp.Groups, d)
			continue
		}
		sum := p.shard.describe(c.now(), id)
		c.applyLocked(p)
		d.GroupState, d.ProtocolType, d.ProtocolData = sum.state, sum.protocolType, sum.protocolData
		for _, m := range sum.members {
			dm := protocol.DescribeGroupsResponseDescribedGroupMember{
				MemberID:         m.id,
				ClientID:         m.clientID,
				ClientHost:       m.clientHost,
				MemberMetadata:   m.metadata,
				MemberAssignment: m.assignment,
			}
			if version >= 4 {
				dm.GroupInstanceID = m.instanceID
			}
			d.Members = append(d.Members, dm)
		}
		resp.Groups = append(resp.Groups, d)
	}
	return resp
}

// DeleteGroups handles a DeleteGroups of any version: each Empty group
// named is deleted with its offsets, once the tombstones are durable.
func (c *Coordinator) DeleteGroups(ctx context.Context, req *protocol.DeleteGroupsRequest, version int16) *protocol.DeleteGroupsResponse {
	resp := &protocol.DeleteGroupsResponse{}
	resp.Default()
	resp.Results = []protocol.DeleteGroupsResponseDeletableGroupResult{}
	if req == nil {
		return resp
	}
	type pending struct {
		index int
		id    uint64
		ch    chan reply
	}
	var waits []pending
	seen := map[string]bool{}
	c.mu.Lock()
	for _, gid := range req.GroupsNames {
		if seen[gid] {
			continue
		}
		seen[gid] = true
		p, code := c.partitionLocked(gid)
		if code == protocol.ErrNone {
			id, ch := c.registerLocked(p.id)
			var waiting bool
			code, waiting = p.shard.deleteGroup(c.now(), gid, id)
			if waiting {
				waits = append(waits, pending{len(resp.Results), id, ch})
			} else {
				delete(c.mu.waiters, id)
			}
			c.applyLocked(p)
		}
		resp.Results = append(resp.Results, protocol.DeleteGroupsResponseDeletableGroupResult{GroupID: gid, ErrorCode: int16(code)})
	}
	c.mu.Unlock()
	for _, w := range waits {
		resp.Results[w.index].ErrorCode = int16(c.await(ctx, w.id, w.ch).code)
	}
	return resp
}
