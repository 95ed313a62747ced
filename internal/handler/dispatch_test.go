package handler

import (
	"context"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestEveryAdvertisedAPIIsHandled: ApiVersions advertises exactly the
// APIs Dispatch answers, so an advertised API never reaches its default
// branch (which closes the connection).
func TestEveryAdvertisedAPIIsHandled(t *testing.T) {
	f := newFixture(t, false)
	for key := range versions {
		lo, hi, ok := Versions(key)
		if !ok || lo > hi {
			t.Errorf("%s: advertised range %d-%d", key, lo, hi)
			continue
		}
		req := protocol.NewRequest(key)
		res := f.h.Dispatch(context.Background(), hi, req)
		if res.Close && res.None && key != protocol.KeyProduce {
			t.Errorf("%s: advertised but not handled", key)
		}
		var resp protocol.Message = res.Msg
		if res.Wait != nil {
			resp = res.Wait(context.Background())
		}
		if !res.None && (resp == nil || resp.APIKey() != key || !resp.IsResponse()) {
			t.Errorf("%s: answered with %v", key, resp)
		}
	}
	// The advertised table matches Versions.
	for _, k := range ApiVersionsResponse(protocol.ErrNone).ApiKeys {
		if _, _, ok := Versions(protocol.APIKey(k.ApiKey)); !ok {
			t.Errorf("ApiVersions lists %d, which is not served", k.ApiKey)
		}
	}
}
