package handler

import (
	"context"
	"strings"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// configResourceKey identifies a resource of an alter request.
type configResourceKey struct {
	typ  int8
	name string
}

// cfgAlterResult is one resource's outcome, in the request's order.
type cfgAlterResult struct {
	code protocol.ErrorCode
	msg  *string
}

// cfgDuplicates marks the resources named more than once in a request:
// Kafka refuses each of them with INVALID_REQUEST.
func cfgDuplicates(keys []configResourceKey) []bool {
	n := map[configResourceKey]int{}
	for _, k := range keys {
		n[k]++
	}
	dup := make([]bool, len(keys))
	for i, k := range keys {
		dup[i] = n[k] > 1
	}
	return dup
}

// cfgAlter submits the resources not refused already (pre[i] set) as one
// controller command built by cmd from their indexes, and returns a
// result per resource.
func (h *Handler) cfgAlter(ctx context.Context, pre []*cfgAlterResult, cmd func(idx []int) controller.Command) []cfgAlterResult {
	out := make([]cfgAlterResult, len(pre))
	var idx []int
	for i, p := range pre {
		if p != nil {
			out[i] = *p
		} else {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return out
	}
	ctx, cancel := h.timeout(ctx, 0)
	defer cancel()
	reply, err := h.submit(ctx, cmd(idx))
	if err != nil {
		code, msg := controllerErrorCode(err), err.Error()
		for _, i := range idx {
			out[i] = cfgAlterResult{code: code, msg: &msg}
		}
		return out
	}
	for j, r := range reply.([]controller.AlterConfigsResult) {
		out[idx[j]] = cfgAlterResult{code: protocol.ErrorCode(errorCode(r.Err)), msg: errorMessage(r.Err)}
	}
	return out
}

func cfgRefused(code protocol.ErrorCode, msg string) *cfgAlterResult {
	return &cfgAlterResult{code: code, msg: &msg}
}

const cfgDuplicateResource = "Each resource must appear at most once in a request"

// IncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT
// operations to topic configurations through the controller (versions
// 0-1): one result per resource, in request order; a resource's changes
// apply all or nothing; validateOnly changes nothing. Broker resources
// (this broker's, or the cluster-wide defaults') take dynamic broker
// configs, checked here first as Kafka's broker checks them
// (cfgBrokerCheck).
func (h *Handler) IncrementalAlterConfigs(ctx context.Context, req *protocol.IncrementalAlterConfigsRequest, version int16) *protocol.IncrementalAlterConfigsResponse {
	keys := make([]configResourceKey, len(req.Resources))
	for i, r := range req.Resources {
		keys[i] = configResourceKey{r.ResourceType, r.ResourceName}
	}
	dup := cfgDuplicates(keys)
	pre := make([]*cfgAlterResult, len(req.Resources))
	all := make([]controller.IncrementalAlterConfigsResource, len(req.Resources))
	for i, r := range req.Resources {
		changes := make([]controller.ConfigChange, len(r.Configs))
		for k, c := range r.Configs {
			changes[k] = controller.ConfigChange{Key: c.Name, Op: controller.ConfigOp(c.ConfigOperation), Value: c.Value}
		}
		all[i] = controller.IncrementalAlterConfigsResource{Type: metadata.ResourceType(r.ResourceType), Name: r.ResourceName, Changes: changes}
		switch {
		case dup[i]:
			pre[i] = cfgRefused(protocol.ErrInvalidRequest, cfgDuplicateResource)
		case all[i].Type == metadata.ResourceBroker:
			current := h.image().Configs.Resource(metadata.ConfigResource{Type: metadata.ResourceBroker, Name: r.ResourceName})
			next, _ := controller.NextConfigs(current, all[i]) // nil when refused: the controller says why
			pre[i] = h.cfgBrokerCheck(r.ResourceName, next)
		}
	}
	results := h.cfgAlter(ctx, pre, func(idx []int) controller.Command {
		res := make([]controller.IncrementalAlterConfigsResource, len(idx))
		for j, i := range idx {
			res[j] = all[i]
		}
		return controller.IncrementalAlterConfigs(res, req.ValidateOnly)
	})
	resp := &protocol.IncrementalAlterConfigsResponse{Responses: make([]protocol.IncrementalAlterConfigsResponseAlterConfigsResourceResponse, len(results))}
	for i, r := range results {
		resp.Responses[i] = protocol.IncrementalAlterConfigsResponseAlterConfigsResourceResponse{
			ErrorCode: int16(r.code), ErrorMessage: r.msg, ResourceType: keys[i].typ, ResourceName: keys[i].name,
		}
	}
	return resp
}

// AlterConfigs replaces topic configurations through the controller (the
// legacy API, versions 0-2): each resource's listed keys become its whole
// configuration (leaving a key out deletes it); one result per resource,
// in request order; validateOnly changes nothing. As in Kafka, a key
// listed twice, or with a null value, refuses the resource with
// INVALID_REQUEST.
func (h *Handler) AlterConfigs(ctx context.Context, req *protocol.AlterConfigsRequest, version int16) *protocol.AlterConfigsResponse {
	keys := make([]configResourceKey, len(req.Resources))
	for i, r := range req.Resources {
		keys[i] = configResourceKey{r.ResourceType, r.ResourceName}
	}
	dup := cfgDuplicates(keys)
	pre := make([]*cfgAlterResult, len(req.Resources))
	configs := make([]map[string]*string, len(req.Resources))
	for i, r := range req.Resources {
		if dup[i] {
			pre[i] = cfgRefused(protocol.ErrInvalidRequest, cfgDuplicateResource)
			continue
		}
		configs[i] = make(map[string]*string, len(r.Configs))
		var nulls []string
		for _, c := range r.Configs {
			if _, seen := configs[i][c.Name]; seen {
				pre[i] = cfgRefused(protocol.ErrInvalidRequest, "Error due to duplicate config keys")
				break
			}
			configs[i][c.Name] = c.Value
			if c.Value == nil {
				nulls = append(nulls, c.Name)
			}
		}
		if pre[i] == nil && len(nulls) > 0 {
			pre[i] = cfgRefused(protocol.ErrInvalidRequest, "Null value not supported for : "+strings.Join(nulls, ", "))
		}
		if pre[i] == nil && metadata.ResourceType(r.ResourceType) == metadata.ResourceBroker {
			next := make(map[string]string, len(configs[i]))
			for k, v := range configs[i] {
				next[k] = *v
			}
			pre[i] = h.cfgBrokerCheck(r.ResourceName, next)
		}
	}
	results := h.cfgAlter(ctx, pre, func(idx []int) controller.Command {
		res := make([]controller.AlterConfigsResource, len(idx))
		for j, i := range idx {
			r := req.Resources[i]
			res[j] = controller.AlterConfigsResource{Type: metadata.ResourceType(r.ResourceType), Name: r.ResourceName, Configs: configs[i]}
		}
		return controller.AlterConfigs(res, req.ValidateOnly)
	})
	resp := &protocol.AlterConfigsResponse{Responses: make([]protocol.AlterConfigsResponseAlterConfigsResourceResponse, len(results))}
	for i, r := range results {
		resp.Responses[i] = protocol.AlterConfigsResponseAlterConfigsResourceResponse{
			ErrorCode: int16(r.code), ErrorMessage: r.msg, ResourceType: keys[i].typ, ResourceName: keys[i].name,
		}
	}
	return resp
}
