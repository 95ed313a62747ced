package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestRequestErrorsCountEveryCode checks that each partition's error
// code in a response counts once, under its API and Kafka name, and that
// successes count nothing.
func TestRequestErrorsCountEveryCode(t *testing.T) {
	m := New(nil)
	resp := &protocol.ProduceResponse{Responses: []protocol.ProduceResponseTopicProduceResponse{
		{Name: "a", PartitionResponses: []protocol.ProduceResponsePartitionProduceResponse{
			{Index: 0, ErrorCode: int16(protocol.ErrNotLeaderOrFollower)},
			{Index: 1},
			{Index: 2, ErrorCode: int16(protocol.ErrNotLeaderOrFollower)},
		}},
		{Name: "b", PartitionResponses: []protocol.ProduceResponsePartitionProduceResponse{
			{Index: 0, ErrorCode: int16(protocol.ErrCorruptMessage)},
		}},
	}}
	m.Requests.ObserveRequest(protocol.KeyProduce, time.Millisecond, resp)
	m.Requests.ObserveRequest(protocol.KeyProduce, time.Millisecond, nil) // acks=0
	if got := testutil.ToFloat64(m.Requests.errors.WithLabelValues("Produce", "NOT_LEADER_OR_FOLLOWER")); got != 2 {
		t.Errorf("NOT_LEADER_OR_FOLLOWER: %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Requests.errors.WithLabelValues("Produce", "CORRUPT_MESSAGE")); got != 1 {
		t.Errorf("CORRUPT_MESSAGE: %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.Requests.errors); got != 2 {
		t.Errorf("%d error series, want 2", got)
	}
	if got := testutil.ToFloat64(m.Requests.count[protocol.KeyProduce]); got != 2 {
		t.Errorf("produce requests %v, want 2", got)
	}
	// A top-level code counts too.
	m.Requests.ObserveRequest(protocol.KeyFindCoordinator, time.Millisecond, &protocol.FindCoordinatorResponse{ErrorCode: int16(protocol.ErrCoordinatorNotAvailable)})
	if got := testutil.ToFloat64(m.Requests.errors.WithLabelValues("FindCoordinator", "COORDINATOR_NOT_AVAILABLE")); got != 1 {
		t.Errorf("top-level code: %v, want 1", got)
	}
}

// TestObserveAllocatesNothing checks the produce path's observation of
// a successful response allocates nothing.
func TestObserveAllocatesNothing(t *testing.T) {
	m := New(nil)
	resp := &protocol.ProduceResponse{Responses: []protocol.ProduceResponseTopicProduceResponse{
		{Name: "a", PartitionResponses: make([]protocol.ProduceResponsePartitionProduceResponse, 6)}}}
	m.Requests.ObserveRequest(protocol.KeyProduce, time.Millisecond, resp)
	if a := testing.AllocsPerRun(100, func() { m.Requests.ObserveRequest(protocol.KeyProduce, time.Millisecond, resp) }); a != 0 {
		t.Errorf("%v allocations per observation", a)
	}
}

func TestHealthEndpoints(t *testing.T) {
	var unhealthy error
	var notReady []string
	h := Handler(New(nil), Health{Healthy: func() error { return unhealthy }, NotReady: func() []string { return notReady }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	check := func(path string, code int, body string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != code || !strings.Contains(string(b), body) {
			t.Errorf("%s: %d %q, want %d with %q", path, resp.StatusCode, b, code, body)
		}
	}
	check("/healthz", 200, "ok")
	check("/readyz", 200, "ready")
	notReady = []string{"broker fenced: catching up with the metadata", "loading 2 __consumer_offsets partitions"}
	check("/healthz", 200, "ok")
	check("/readyz", 503, "not ready: broker fenced: catching up with the metadata; loading 2 __consumer_offsets partitions")
	unhealthy = errors.New("raft log write failed")
	check("/healthz", 503, "unhealthy: raft log write failed")
	check("/readyz", 503, "unhealthy")
	check("/metrics", 200, "sluice_log_fsync_duration_seconds")
}

// TestRequestSeriesOnlyForServedAPIs checks the request counters start
// with a zero series for each served API and none for the others.
func TestRequestSeriesOnlyForServedAPIs(t *testing.T) {
	m := New(func(k protocol.APIKey) bool { return k == protocol.KeyProduce || k == protocol.KeyFetch })
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var apis []string
	for _, f := range fams {
		if f.GetName() != "sluice_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			apis = append(apis, s.GetLabel()[0].GetValue())
		}
	}
	if strings.Join(apis, ",") != "Fetch,Produce" {
		t.Errorf("request series for %v, want Fetch and Produce", apis)
	}
}

// TestRecoveryCorruptionsSeries: the counter of corrupt batches recovery
// found reads its source at each scrape, and is absent without one.
func TestRecoveryCorruptionsSeries(t *testing.T) {
	const name = "sluice_log_recovery_corruptions_total"
	value := func(m *Metrics) (float64, bool) {
		t.Helper()
		fams, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name {
				return f.GetMetric()[0].GetCounter().GetValue(), true
			}
		}
		return 0, false
	}
	m := New(nil)
	if _, ok := value(m); ok {
		t.Fatalf("%s without a source", name)
	}
	var n int64 = 2
	m.SetSources(Sources{RecoveryCorruptions: func() int64 { return n }})
	if v, ok := value(m); !ok || v != 2 {
		t.Fatalf("%s = %v, %t; want 2", name, v, ok)
	}
	n = 5
	if v, ok := value(m); !ok || v != 5 {
		t.Fatalf("%s = %v, %t; want 5", name, v, ok)
	}
}
