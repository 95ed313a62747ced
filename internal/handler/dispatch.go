package handler

import (
	"context"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Result is a handler's answer to one request: the response now, or a
// Wait that produces it later (called in request order by the
// connection's writer); None when no response is sent, Close when the
// connection must close afterwards.
type Result struct {
	Msg   protocol.Message
	Wait  func(ctx context.Context) protocol.Message
	None  bool
	Close bool
}

// Dispatch answers req, an already decoded request at version, with the
// handler of its API. The server has checked that the API and version are
// served (see Versions).
func (h *Handler) Dispatch(ctx context.Context, version int16, req protocol.Message) Result {
	switch r := req.(type) {
	case *protocol.ApiVersionsRequest:
		return Result{Msg: ApiVersionsResponse(protocol.ErrNone)}
	case *protocol.MetadataRequest:
		return Result{Msg: h.Metadata(ctx, r, version)}
	case *protocol.CreateTopicsRequest:
		return Result{Msg: h.CreateTopics(ctx, r, version)}
	case *protocol.ProduceRequest:
		pr := h.Produce(ctx, r, version)
		res := Result{None: pr.None, Close: pr.Close}
		if pr.Resp != nil {
			res.Msg = pr.Resp
		}
		if pr.Wait != nil {
			res.Wait = func(ctx context.Context) protocol.Message { return pr.Wait(ctx) }
		}
		return res
	case *protocol.FetchRequest:
		resp, wait := h.Fetch(ctx, r, version)
		if wait != nil {
			return Result{Wait: func(ctx context.Context) protocol.Message { return wait(ctx) }}
		}
		return Result{Msg: resp}
	case *protocol.DescribeQuorumRequest:
		return Result{Msg: h.DescribeQuorum(ctx, r, version)}
	case *protocol.ListOffsetsRequest:
		return Result{Msg: h.ListOffsets(ctx, r, version)}
	case *protocol.DeleteTopicsRequest:
		return Result{Msg: h.DeleteTopics(ctx, r, version)}
	case *protocol.OffsetForLeaderEpochRequest:
		return Result{Msg: h.OffsetForLeaderEpoch(ctx, r, version)}
	case *protocol.FindCoordinatorRequest:
		return Result{Msg: h.FindCoordinator(ctx, r, version)}
	case *protocol.JoinGroupRequest:
		return Result{Msg: h.JoinGroup(ctx, r, version)}
	case *protocol.SyncGroupRequest:
		return Result{Msg: h.SyncGroup(ctx, r, version)}
	case *protocol.HeartbeatRequest:
		return Result{Msg: h.Heartbeat(ctx, r, version)}
	case *protocol.LeaveGroupRequest:
		return Result{Msg: h.LeaveGroup(ctx, r, version)}
	case *protocol.OffsetCommitRequest:
		return Result{Msg: h.OffsetCommit(ctx, r, version)}
	case *protocol.OffsetFetchRequest:
		return Result{Msg: h.OffsetFetch(ctx, r, version)}
	case *protocol.OffsetDeleteRequest:
		return Result{Msg: h.OffsetDelete(ctx, r, version)}
	case *protocol.ListGroupsRequest:
		return Result{Msg: h.ListGroups(ctx, r, version)}
	case *protocol.DescribeGroupsRequest:
		return Result{Msg: h.DescribeGroups(ctx, r, version)}
	case *protocol.DeleteGroupsRequest:
		return Result{Msg: h.DeleteGroups(ctx, r, version)}
	case *protocol.InitProducerIdRequest:
		return Result{Msg: h.InitProducerId(ctx, r, version)}
	case *protocol.CreatePartitionsRequest:
		return Result{Msg: h.CreatePartitions(ctx, r, version)}
	case *protocol.AlterPartitionReassignmentsRequest:
		return Result{Msg: h.AlterPartitionReassignments(ctx, r, version)}
	case *protocol.ListPartitionReassignmentsRequest:
		return Result{Msg: h.ListPartitionReassignments(ctx, r, version)}
	case *protocol.ElectLeadersRequest:
		return Result{Msg: h.ElectLeaders(ctx, r, version)}
	case *protocol.DeleteRecordsRequest:
		return Result{Msg: h.DeleteRecords(ctx, r, version)}
	case *protocol.DescribeClusterRequest:
		return Result{Msg: h.DescribeCluster(ctx, r, version)}
	case *protocol.DescribeLogDirsRequest:
		return Result{Msg: h.DescribeLogDirs(ctx, r, version)}
	case *protocol.DescribeProducersRequest:
		return Result{Msg: h.DescribeProducers(ctx, r, version)}
	case *protocol.DescribeConfigsRequest:
		return Result{Msg: h.DescribeConfigs(ctx, r, version)}
	case *protocol.AlterConfigsRequest:
		return Result{Msg: h.AlterConfigs(ctx, r, version)}
	case *protocol.IncrementalAlterConfigsRequest:
		return Result{Msg: h.IncrementalAlterConfigs(ctx, r, version)}
	default:
		// Unreachable while Versions lists only the APIs above; close
		// rather than answer wrongly.
		h.logger.Error("request for an api without a handler", "api_key", int(req.APIKey()))
		return Result{None: true, Close: true}
	}
}
