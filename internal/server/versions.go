package server

import (
	"slices"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// VersionsFunc returns the versions of key a server advertises and
// accepts; ok=false means key is not served.
type VersionsFunc func(key protocol.APIKey) (min, max int16, ok bool)

// DefaultVersions serves every API Kafka's brokers serve, at every stable
// version the codec implements.
func DefaultVersions(key protocol.APIKey) (lo, hi int16, ok bool) {
	info, found := protocol.LookupAPI(key)
	if !found || !slices.Contains(info.Listeners, "broker") || info.MaxStable < info.MinVersion {
		return 0, 0, false
	}
	return info.MinVersion, info.MaxStable, true
}

// servedRange returns the versions of key we accept: Versions clamped to
// what the codec decodes, so an accepted request always has a decoder.
func servedRange(versions VersionsFunc, key protocol.APIKey) (lo, hi int16, ok bool) {
	info, found := protocol.LookupAPI(key)
	if !found {
		return 0, 0, false
	}
	lo, hi, ok = versions(key)
	if !ok {
		return 0, 0, false
	}
	lo, hi = max(lo, info.MinVersion), min(hi, info.MaxVersion)
	return lo, hi, lo <= hi
}

// APIVersions returns the ranges versions serves, by ascending key, as an
// ApiVersions response lists them. Handlers answering ApiVersions use it
// so that what is advertised is what the server accepts.
func APIVersions(versions VersionsFunc) []protocol.ApiVersionsResponseApiVersion {
	if versions == nil {
		versions = DefaultVersions
	}
	var out []protocol.ApiVersionsResponseApiVersion
	for _, info := range protocol.APIs() {
		if lo, hi, ok := servedRange(versions, info.Key); ok {
			out = append(out, protocol.ApiVersionsResponseApiVersion{ApiKey: int16(info.Key), MinVersion: lo, MaxVersion: hi})
		}
	}
	return out
}

// unsupportedAPIVersions is the KIP-511 answer to an ApiVersions request
// at a version we do not serve, to be encoded at v0.
func unsupportedAPIVersions(versions VersionsFunc) *protocol.ApiVersionsResponse {
	r := protocol.NewResponse(protocol.KeyApiVersions).(*protocol.ApiVersionsResponse)
	r.ErrorCode = int16(protocol.ErrUnsupportedVersion)
	r.ApiKeys = APIVersions(versions)
	return r
}
