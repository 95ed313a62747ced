package handler

import (
	"sort"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// ApiVersionsResponse lists every API served with its version range.
// Versions above the maximum are answered by the server before decoding
// (KIP-511); this is the reply to the versions it decodes.
func ApiVersionsResponse(errorCode protocol.ErrorCode) *protocol.ApiVersionsResponse {
	resp := &protocol.ApiVersionsResponse{}
	resp.Default() // FinalizedFeaturesEpoch -1: no finalized features to report
	resp.ErrorCode = int16(errorCode)
	keys := make([]int, 0, len(versions))
	for k := range versions {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	for _, k := range keys {
		lo, hi, ok := Versions(protocol.APIKey(k))
		if !ok {
			continue
		}
		resp.ApiKeys = append(resp.ApiKeys, protocol.ApiVersionsResponseApiVersion{ApiKey: int16(k), MinVersion: lo, MaxVersion: hi})
	}
	return resp
}
