package handler

import (
	"context"
	"fmt"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// DescribeCluster endpoint types (v1+).
const (
	endpointTypeBrokers     = 1
	endpointTypeControllers = 2
)

// DescribeCluster answers the cluster id, a reachable broker (this one
// when it can) as the controller id (clients cannot reach the quorum
// directly; Metadata answers the same) and the live brokers' endpoints
// on the client listener (v0-1).
// Brokers answer endpoint type 1 only: asking one for controllers is
// MISMATCHED_ENDPOINT_TYPE, an unknown type UNSUPPORTED_ENDPOINT_TYPE.
// Asked for authorized operations, it answers every cluster operation
// (there is no authorizer).
func (h *Handler) DescribeCluster(ctx context.Context, req *protocol.DescribeClusterRequest, version int16) *protocol.DescribeClusterResponse {
	resp := &protocol.DescribeClusterResponse{
		EndpointType:                endpointTypeBrokers,
		ClusterID:                   h.cfg.ClusterID,
		ControllerID:                -1,
		Brokers:                     []protocol.DescribeClusterResponseDescribeClusterBroker{},
		ClusterAuthorizedOperations: authorizedOps(req.IncludeClusterAuthorizedOperations, clusterOps),
	}
	want := int8(endpointTypeBrokers)
	if version >= 1 {
		want = req.EndpointType
	}
	switch want {
	case endpointTypeBrokers:
	case endpointTypeControllers:
		resp.ErrorCode = int16(protocol.ErrMismatchedEndpointType)
		resp.ErrorMessage = ptr("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
		return resp
	default:
		resp.ErrorCode = int16(protocol.ErrUnsupportedEndpointType)
		resp.ErrorMessage = ptr(fmt.Sprintf("Unsupported endpoint type %d", want))
		return resp
	}
	rbs := reachableBrokers(h.image(), h.cfg.ListenerName)
	resp.ControllerID = h.controllerID(rbs)
	for _, rb := range rbs {
		resp.Brokers = append(resp.Brokers, protocol.DescribeClusterResponseDescribeClusterBroker{BrokerID: rb.ID, Host: rb.ep.Host, Port: int32(rb.ep.Port), Rack: rb.Rack})
	}
	return resp
}
