package group

import (
	"context"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// The membership requests: JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
// Each resolves the group's partition, hands the request to its state
// machine under the lock, and waits (JoinGroup, SyncGroup) outside it.

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

// JoinGroup handles a JoinGroup of any version. It blocks until the
// rebalance completes (or the member must rejoin first) or ctx ends.
func (c *Coordinator) JoinGroup(ctx context.Context, req *protocol.JoinGroupRequest, version int16, clientID, clientHost string) *protocol.JoinGroupResponse {
	if req == nil {
		return joinResponse(joinError("", protocol.ErrInvalidRequest), version)
	}
	if req.GroupID == "" {
		return joinResponse(joinError(req.MemberID, protocol.ErrInvalidGroupID), version)
	}
	jr := joinRequest{
		groupID:               req.GroupID,
		memberID:              req.MemberID,
		clientID:              clientID,
		clientHost:            clientHost,
		protocolType:          req.ProtocolType,
		sessionTimeout:        ms(req.SessionTimeoutMs),
		rebalanceTimeout:      ms(req.RebalanceTimeoutMs),
		supportSkipAssignment: version >= 9,
	}
	if version < 1 {
		jr.rebalanceTimeout = jr.sessionTimeout
	}
	if version >= 5 && req.GroupInstanceID != nil {
		jr.instanceID = ptr(*req.GroupInstanceID)
	}
	jr.requireKnownMemberID = version >= 4 && jr.instanceID == nil
	if req.Reason != nil {
		jr.reason = *req.Reason
	}
	jr.protocols = make([]protocolEntry, len(req.Protocols))
	for i, p := range req.Protocols {
		// The request's bytes alias its buffer; the member keeps them.
		jr.protocols[i] = protocolEntry{name: p.Name, metadata: nonNil(clone(p.Metadata))}
	}

	c.mu.Lock()
	p, code := c.partitionLocked(req.GroupID)
	if code != protocol.ErrNone {
		c.mu.Unlock()
		return joinResponse(joinError(req.MemberID, code), version)
	}
	id, ch := c.registerLocked(p.id)
	p.shard.join(c.now(), jr, id)
	c.applyLocked(p)
	c.mu.Unlock()

	r := c.await(ctx, id, ch)
	if r.join == nil {
		return joinResponse(joinError(req.MemberID, r.code), version)
	}
	return joinResponse(r.join, version)
}

func joinResponse(r *joinResult, version int16) *protocol.JoinGroupResponse {
	resp := &protocol.JoinGroupResponse{}
	resp.Default()
	resp.ErrorCode = int16(r.err)
	resp.GenerationID = r.generation
	resp.Leader = r.leader
	resp.MemberID = r.memberID
	resp.SkipAssignment = r.skipAssignment && version >= 9
	if version >= 7 {
		resp.ProtocolType = r.protocolType
		resp.ProtocolName = r.protocolName
	} else {
		name := ""
		if r.protocolName != nil {
			name = *r.protocolName
		}
		resp.ProtocolName = &name
	}
	resp.Members = make([]protocol.JoinGroupResponseJoinGroupResponseMember, 0, len(r.members))
	for _, m := range r.members {
		jm := protocol.JoinGroupResponseJoinGroupResponseMember{MemberID: m.id, Metadata: nonNil(m.metadata)}
		if version >= 5 {
			jm.GroupInstanceID = m.instanceID
		}
		resp.Members = append(resp.Members, jm)
	}
	return resp
}

// SyncGroup handles a SyncGroup of any version. A member blocks until the
// leader's assignment is stored, or ctx ends.
func (c *Coordinator) SyncGroup(ctx context.Context, req *protocol.SyncGroupRequest, version int16) *protocol.SyncGroupResponse {
	if req == nil {
		return syncResponse(&syncResult{err: protocol.ErrInvalidRequest}, version)
	}
	if req.GroupID == "" {
		return syncResponse(&syncResult{err: protocol.ErrInvalidGroupID}, version)
	}
	if version >= 5 && (req.ProtocolType == nil || req.ProtocolName == nil) {
		// Mandatory from version 5 on.
		return syncResponse(&syncResult{err: protocol.ErrInconsistentGroupProtocol}, version)
	}
	sr := syncRequest{groupID: req.GroupID, memberID: req.MemberID, generation: req.GenerationID}
	if version >= 3 && req.GroupInstanceID != nil {
		sr.instanceID = ptr(*req.GroupInstanceID)
	}
	if version >= 5 {
		sr.protocolType, sr.protocolName = ptr(*req.ProtocolType), ptr(*req.ProtocolName)
	}
	if len(req.Assignments) > 0 {
		sr.assignments = make(map[string][]byte, len(req.Assignments))
		for _, a := range req.Assignments {
			sr.assignments[a.MemberID] = nonNil(clone(a.Assignment))
		}
	}

	c.mu.Lock()
	p, code := c.partitionLocked(req.GroupID)
	if code != protocol.ErrNone {
		c.mu.Unlock()
		if code == protocol.ErrCoordinatorLoadInProgress {
			// The rebalance state is lost with a load: rejoin, which
			// older clients understand better than a load error.
			code = protocol.ErrRebalanceInProgress
		}
		return syncResponse(&syncResult{err: code}, version)
	}
	id, ch := c.registerLocked(p.id)
	p.shard.sync(c.now(), sr, id)
	c.applyLocked(p)
	c.mu.Unlock()

	r := c.await(ctx, id, ch)
	if r.sync == nil {
		return syncResponse(&syncResult{err: r.code}, version)
	}
	return syncResponse(r.sync, version)
}

func syncResponse(r *syncResult, version int16) *protocol.SyncGroupResponse {
	resp := &protocol.SyncGroupResponse{}
	resp.Default()
	resp.ErrorCode = int16(r.err)
	if version >= 5 {
		resp.ProtocolType, resp.ProtocolName = r.protocolType, r.protocolName
	}
	resp.Assignment = nonNil(r.assignment)
	return resp
}

// Heartbeat handles a Heartbeat of any version.
func (c *Coordinator) Heartbeat(ctx context.Context, req *protocol.HeartbeatRequest, version int16) *protocol.HeartbeatResponse {
	resp := &protocol.HeartbeatResponse{}
	resp.Default()
	if req == nil {
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	if req.GroupID == "" {
		resp.ErrorCode = int16(protocol.ErrInvalidGroupID)
		return resp
	}
	var instanceID *string
	if version >= 3 && req.GroupInstanceID != nil {
		instanceID = ptr(*req.GroupInstanceID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, code := c.partitionLocked(req.GroupID)
	switch code {
	case protocol.ErrNone:
		code = p.shard.heartbeat(c.now(), req.GroupID, req.MemberID, instanceID, req.GenerationID)
		c.applyLocked(p)
	case protocol.ErrCoordinatorLoadInProgress:
		// The group is loading: answer blindly, as Kafka does.
		code = protocol.ErrNone
	}
	resp.ErrorCode = int16(code)
	return resp
}

// LeaveGroup handles a LeaveGroup of any version: one member before
// version 3, a batch with an error each from version 3 on.
func (c *Coordinator) LeaveGroup(ctx context.Context, req *protocol.LeaveGroupRequest, version int16) *protocol.LeaveGroupResponse {
	resp := &protocol.LeaveGroupResponse{}
	resp.Default()
	if req == nil {
		resp.ErrorCode = int16(protocol.ErrInvalidRequest)
		return resp
	}
	var leaving []leaveMember
	if version < 3 {
		leaving = []leaveMember{{memberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			l := leaveMember{memberID: m.MemberID}
			if m.GroupInstanceID != nil {
				l.instanceID = ptr(*m.GroupInstanceID)
			}
			if m.Reason != nil {
				l.reason = *m.Reason
			}
			leaving = append(leaving, l)
		}
	}
	top, errs := protocol.ErrInvalidGroupID, []protocol.ErrorCode(nil)
	if req.GroupID != "" {
		c.mu.Lock()
		p, code := c.partitionLocked(req.GroupID)
		top = code
		if code == protocol.ErrNone {
			top, errs = p.shard.leave(c.now(), req.GroupID, leaving)
			c.applyLocked(p)
		}
		c.mu.Unlock()
	}
	if version < 3 {
		resp.ErrorCode = int16(top)
		if top == protocol.ErrNone && len(errs) > 0 {
			resp.ErrorCode = int16(errs[0])
		}
		return resp
	}
	resp.ErrorCode = int16(top)
	resp.Members = []protocol.LeaveGroupResponseMemberResponse{}
	if top != protocol.ErrNone {
		return resp
	}
	for i, l := range leaving {
		resp.Members = append(resp.Members, protocol.LeaveGroupResponseMemberResponse{
			MemberID:        l.memberID,
			GroupInstanceID: l.instanceID,
			ErrorCode:       int16(errs[i]),
		})
	}
	return resp
}
