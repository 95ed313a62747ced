package handler

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// fsTP names a partition in the fake logs the session tests read.
type fsTP struct {
	topic     string
	partition int32
}

// fsLog is a fake partition's state.
type fsLog struct {
	hw, lso, logStart int64
	err               protocol.ErrorCode
}

// fsLogs is a fake broker: records are there when the fetch offset is
// below the high watermark.
type fsLogs map[fsTP]*fsLog

func (l fsLogs) set(topic string, partition int32, hw int64) {
	l[fsTP{topic, partition}] = &fsLog{hw: hw, lso: hw}
}

// read answers every partition of fc as fetch.go would.
func (l fsLogs) read(fc *FetchContext) []protocol.FetchResponsePartitionData {
	parts := fc.Partitions()
	out := make([]protocol.FetchResponsePartitionData, len(parts))
	for i, p := range parts {
		pd := &out[i]
		pd.Default()
		pd.PartitionIndex = p.Partition
		pd.HighWatermark, pd.Records = -1, []byte{}
		lg := l[fsTP{p.Topic, p.Partition}]
		switch {
		case p.Topic == "":
			pd.ErrorCode = int16(protocol.ErrUnknownTopicID)
		case lg == nil:
			pd.ErrorCode = int16(protocol.ErrUnknownTopicOrPartition)
		case lg.err != 0:
			pd.ErrorCode = int16(lg.err)
		default:
			pd.HighWatermark, pd.LastStableOffset, pd.LogStartOffset = lg.hw, lg.lso, lg.logStart
			if p.FetchOffset < lg.hw {
				pd.Records = []byte(fmt.Sprintf("%s-%d@%d", p.Topic, p.Partition, p.FetchOffset))
			}
		}
	}
	return out
}

// fsPart is a partition of a request: topic, partition, fetch offset.
type fsPart struct {
	topic     string
	partition int32
	offset    int64
}

// fsReq builds a v12 Fetch of parts (grouped by topic) forgetting forget.
func fsReq(id, epoch int32, parts []fsPart, forget ...fsTP) *protocol.FetchRequest {
	req := &protocol.FetchRequest{}
	req.Default()
	req.SessionID, req.SessionEpoch = id, epoch
	for _, p := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != p.topic {
			req.Topics = append(req.Topics, protocol.FetchRequestFetchTopic{Topic: p.topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, protocol.FetchRequestFetchPartition{Partition: p.partition,
			FetchOffset: p.offset, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1})
	}
	for _, f := range forget {
		req.ForgottenTopicsData = append(req.ForgottenTopicsData, protocol.FetchRequestForgottenTopic{Topic: f.topic, Partitions: []int32{f.partition}})
	}
	return req
}

// fsAnswered lists the partitions of a response as "topic-partition".
func fsAnswered(resp *protocol.FetchResponse) []string {
	var out []string
	for _, t := range resp.Responses {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s-%d", t.Topic, p.PartitionIndex))
		}
	}
	return out
}

func fsNames(fc *FetchContext) []string {
	var out []string
	for _, p := range fc.Partitions() {
		out = append(out, fmt.Sprintf("%s-%d@%d", p.Topic, p.Partition, p.FetchOffset))
	}
	return out
}

// fsFetch runs one Fetch through the sessions against logs.
func fsFetch(t *testing.T, s *FetchSessions, logs fsLogs, req *protocol.FetchRequest, version int16) (*FetchContext, *protocol.FetchResponse) {
	t.Helper()
	fc, code := s.Begin(req, version, nil)
	if code != protocol.ErrNone {
		t.Fatalf("Begin(%d, %d): error %d", req.SessionID, req.SessionEpoch, code)
	}
	resp := fc.Filter(logs.read(fc))
	if resp.ErrorCode != 0 {
		t.Fatalf("Filter(%d, %d): error %d", req.SessionID, req.SessionEpoch, resp.ErrorCode)
	}
	return fc, resp
}

func wantAnswered(t *testing.T, resp *protocol.FetchResponse, want ...string) {
	t.Helper()
	if got := fsAnswered(resp); !slices.Equal(got, want) {
		t.Fatalf("answered %q, want %q", got, want)
	}
}

// fsOpen opens a session of a-0, a-1, b-0 (all caught up at 10).
func fsOpen(t *testing.T, s *FetchSessions, logs fsLogs) int32 {
	t.Helper()
	for _, tp := range []fsTP{{"a", 0}, {"a", 1}, {"b", 0}} {
		if logs[tp] == nil {
			logs.set(tp.topic, tp.partition, 10)
		}
	}
	_, resp := fsFetch(t, s, logs, fsReq(0, 0, []fsPart{{"a", 0, 10}, {"a", 1, 10}, {"b", 0, 10}}), 12)
	if resp.SessionID == 0 {
		t.Fatal("no session created")
	}
	wantAnswered(t, resp, "a-0", "a-1", "b-0")
	return resp.SessionID
}

func TestFetchSessionSessionless(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	logs.set("a", 0, 5)
	logs.set("a", 1, 0)
	req := fsReq(0, -1, []fsPart{{"a", 0, 0}, {"a", 1, 0}, {"zz", 0, 0}})
	fc, resp := fsFetch(t, s, logs, req, 12)
	if resp.SessionID != 0 || fc.SessionID() != 0 || s.Len() != 0 {
		t.Fatalf("sessionless fetch: session %d, %d cached", resp.SessionID, s.Len())
	}
	wantAnswered(t, resp, "a-0", "a-1", "zz-0")
	if p := resp.Responses[0].Partitions[0]; string(p.Records) != "a-0@0" || p.HighWatermark != 5 {
		t.Fatalf("a-0: %+v", p)
	}
	if resp.Responses[1].Partitions[0].ErrorCode != int16(protocol.ErrUnknownTopicOrPartition) {
		t.Fatal("zz-0 error lost")
	}
	// Below v7 there are no sessions, whatever the fields say.
	_, resp = fsFetch(t, s, logs, fsReq(0, 0, []fsPart{{"a", 0, 0}}), 6)
	if resp.SessionID != 0 || s.Len() != 0 {
		t.Fatalf("v6 fetch made session %d", resp.SessionID)
	}
	// A partition named twice is read once, with its last parameters.
	req = fsReq(0, -1, []fsPart{{"a", 0, 0}, {"a", 1, 0}})
	req.Topics = append(req.Topics, protocol.FetchRequestFetchTopic{Topic: "a",
		Partitions: []protocol.FetchRequestFetchPartition{{Partition: 0, FetchOffset: 3}}})
	fc, resp = fsFetch(t, s, logs, req, 12)
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@3", "a-1@0"}) {
		t.Fatalf("deduplicated partitions %q", got)
	}
	wantAnswered(t, resp, "a-0", "a-1")
}

func TestFetchSessionIncremental(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	id := fsOpen(t, s, logs)
	if s.Len() != 1 {
		t.Fatalf("%d sessions cached", s.Len())
	}
	// Nothing changed: nothing answered, but every partition read.
	fc, resp := fsFetch(t, s, logs, fsReq(id, 1, nil), 12)
	if fc.SessionID() != id || resp.SessionID != id {
		t.Fatalf("incremental session %d/%d, want %d", fc.SessionID(), resp.SessionID, id)
	}
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@10", "a-1@10", "b-0@10"}) {
		t.Fatalf("read %q", got)
	}
	wantAnswered(t, resp)

	// New records on a-1: answered with them and its new high watermark.
	logs.set("a", 1, 12)
	_, resp = fsFetch(t, s, logs, fsReq(id, 2, nil), 12)
	wantAnswered(t, resp, "a-1")
	if p := resp.Responses[0].Partitions[0]; string(p.Records) != "a-1@10" || p.HighWatermark != 12 {
		t.Fatalf("a-1: %+v", p)
	}
	// The client moves its fetch offset; the high watermark was sent.
	fc, resp = fsFetch(t, s, logs, fsReq(id, 3, []fsPart{{"a", 1, 12}}), 12)
	wantAnswered(t, resp)
	// a-1 had records, so it is read last now (round-robin).
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@10", "b-0@10", "a-1@12"}) {
		t.Fatalf("read %q", got)
	}

	// Last stable offset and log start offset changes are answered once.
	logs[fsTP{"b", 0}].lso = 8
	logs[fsTP{"a", 0}].logStart = 4
	_, resp = fsFetch(t, s, logs, fsReq(id, 4, nil), 12)
	wantAnswered(t, resp, "a-0", "b-0")
	_, resp = fsFetch(t, s, logs, fsReq(id, 5, nil), 12)
	wantAnswered(t, resp)

	// A high watermark change without records (fetch offset at it).
	logs[fsTP{"b", 0}].hw = 11
	_, resp = fsFetch(t, s, logs, fsReq(id, 6, []fsPart{{"b", 0, 11}}), 12)
	wantAnswered(t, resp, "b-0")
	if p := resp.Responses[0].Partitions[0]; len(p.Records) != 0 || p.HighWatermark != 11 {
		t.Fatalf("b-0: %+v", p)
	}

	// Errors are always answered; once cleared, the partition once more.
	logs[fsTP{"a", 0}].err = protocol.ErrNotLeaderOrFollower
	for epoch := int32(7); epoch <= 8; epoch++ {
		_, resp = fsFetch(t, s, logs, fsReq(id, epoch, nil), 12)
		wantAnswered(t, resp, "a-0")
	}
	logs[fsTP{"a", 0}].err = 0
	_, resp = fsFetch(t, s, logs, fsReq(id, 9, nil), 12)
	wantAnswered(t, resp, "a-0")
	_, resp = fsFetch(t, s, logs, fsReq(id, 10, nil), 12)
	wantAnswered(t, resp)
}

func TestFetchSessionAddUpdateForget(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	id := fsOpen(t, s, logs)
	logs.set("c", 0, 3)
	// Add c-0 (new partitions are always answered), rewind a-0 (records),
	// forget b-0.
	fc, resp := fsFetch(t, s, logs, fsReq(id, 1, []fsPart{{"a", 0, 7}, {"c", 0, 3}}, fsTP{"b", 0}), 12)
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@7", "a-1@10", "c-0@3"}) {
		t.Fatalf("read %q", got)
	}
	wantAnswered(t, resp, "a-0", "c-0")
	if p := resp.Responses[0].Partitions[0]; string(p.Records) != "a-0@7" {
		t.Fatalf("a-0: %+v", p)
	}
	// The updated offset sticks; forgetting an unknown partition is a no-op.
	fc, resp = fsFetch(t, s, logs, fsReq(id, 2, nil, fsTP{"nope", 3}), 12)
	if got := fsNames(fc); !slices.Equal(got, []string{"a-1@10", "c-0@3", "a-0@7"}) {
		t.Fatalf("read %q", got)
	}
	wantAnswered(t, resp, "a-0")
	// Forgetting every partition closes the session: answered sessionless.
	fc, resp = fsFetch(t, s, logs, fsReq(id, 3, nil, fsTP{"a", 0}, fsTP{"a", 1}, fsTP{"c", 0}), 12)
	if len(fc.Partitions()) != 0 || resp.SessionID != 0 || s.Len() != 0 {
		t.Fatalf("emptied session: %d partitions, session %d, %d cached", len(fc.Partitions()), resp.SessionID, s.Len())
	}
	if _, code := s.Begin(fsReq(id, 4, nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("emptied session still there: %d", code)
	}
}

func TestFetchSessionErrors(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	id := fsOpen(t, s, logs)
	check := func(req *protocol.FetchRequest, version int16, want protocol.ErrorCode) {
		t.Helper()
		fc, code := s.Begin(req, version, nil)
		if code != want || fc.Err() != want || len(fc.Partitions()) != 0 {
			t.Fatalf("Begin(%d, %d) v%d: %d, want %d", req.SessionID, req.SessionEpoch, version, code, want)
		}
		resp := fc.Filter(nil)
		if resp.ErrorCode != int16(want) || resp.SessionID != 0 || len(resp.Responses) != 0 {
			t.Fatalf("error response %+v", resp)
		}
	}
	check(fsReq(id+1, 1, nil), 12, protocol.ErrFetchSessionIDNotFound)
	check(fsReq(0, 1, nil), 12, protocol.ErrFetchSessionIDNotFound)
	check(fsReq(id, 2, nil), 12, protocol.ErrInvalidFetchSessionEpoch)
	check(fsReq(id, -2, nil), 12, protocol.ErrInvalidFetchSessionEpoch)
	check(fsReq(id, 1, nil), 13, protocol.ErrFetchSessionTopicIDError)
	// Errors leave the session as it was.
	fsFetch(t, s, logs, fsReq(id, 1, nil), 12)
	check(fsReq(id, 1, nil), 12, protocol.ErrInvalidFetchSessionEpoch)

	// A duplicate of epoch 2 answered after epoch 3 began: the first
	// response sees the epoch moved and answers 71 with the session id.
	first, code := s.Begin(fsReq(id, 2, nil), 12, nil)
	if code != 0 {
		t.Fatal(code)
	}
	fsFetch(t, s, logs, fsReq(id, 3, nil), 12)
	resp := first.Filter(logs.read(first))
	if resp.ErrorCode != int16(protocol.ErrInvalidFetchSessionEpoch) || resp.SessionID != id || len(resp.Responses) != 0 {
		t.Fatalf("stale context response %+v", resp)
	}
	fsFetch(t, s, logs, fsReq(id, 4, nil), 12)

	defer func() {
		if recover() == nil {
			t.Fatal("Filter with the wrong number of partitions did not panic")
		}
	}()
	fc, _ := s.Begin(fsReq(id, 5, nil), 12, nil)
	fc.Filter(nil)
}

func TestFetchSessionCloseAndRecreate(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	id := fsOpen(t, s, logs)
	fsFetch(t, s, logs, fsReq(id, 1, nil), 12)
	// Epoch -1 closes the session and answers sessionless, in full.
	_, resp := fsFetch(t, s, logs, fsReq(id, -1, []fsPart{{"a", 0, 10}}), 12)
	if resp.SessionID != 0 || s.Len() != 0 {
		t.Fatalf("close: session %d, %d cached", resp.SessionID, s.Len())
	}
	wantAnswered(t, resp, "a-0")
	if _, code := s.Begin(fsReq(id, 2, nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("closed session: %d", code)
	}

	// Epoch 0 with an id closes that session and opens another.
	id = fsOpen(t, s, logs)
	_, resp = fsFetch(t, s, logs, fsReq(id, 0, []fsPart{{"b", 0, 10}}), 12)
	id2 := resp.SessionID
	if id2 == 0 || id2 == id || s.Len() != 1 {
		t.Fatalf("re-create: session %d (was %d), %d cached", id2, id, s.Len())
	}
	wantAnswered(t, resp, "b-0")
	if _, code := s.Begin(fsReq(id, 1, nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("replaced session: %d", code)
	}
	fc, resp := fsFetch(t, s, logs, fsReq(id2, 1, nil), 12)
	if got := fsNames(fc); !slices.Equal(got, []string{"b-0@10"}) {
		t.Fatalf("new session reads %q", got)
	}
	wantAnswered(t, resp)
}

func TestFetchSessionEpochWraps(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	id := fsOpen(t, s, logs)
	s.mu.Lock()
	s.sessions[id].epoch = math.MaxInt32 - 1
	s.mu.Unlock()
	fsFetch(t, s, logs, fsReq(id, math.MaxInt32-1, nil), 12)
	fsFetch(t, s, logs, fsReq(id, math.MaxInt32, nil), 12)
	// After MaxInt32 comes 1 (0 and -1 are full requests).
	if _, code := s.Begin(fsReq(id, math.MaxInt32, nil), 12, nil); code != protocol.ErrInvalidFetchSessionEpoch {
		t.Fatalf("epoch MaxInt32 again: %d", code)
	}
	fsFetch(t, s, logs, fsReq(id, 1, nil), 12)
	fsFetch(t, s, logs, fsReq(id, 2, nil), 12)
}

func TestFetchSessionTopicIDs(t *testing.T) {
	s := NewFetchSessions(10, nil)
	logs := fsLogs{}
	logs.set("a", 0, 10)
	logs.set("b", 0, 10)
	idA, idB, idX := protocol.UUID{1}, protocol.UUID{2}, protocol.UUID{9}
	var mu sync.Mutex
	names := map[protocol.UUID]string{idA: "a", idB: "b"}
	resolve := func(id protocol.UUID) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		n, ok := names[id]
		return n, ok
	}
	req := func(id, epoch int32, forget ...protocol.UUID) *protocol.FetchRequest {
		r := &protocol.FetchRequest{}
		r.Default()
		r.SessionID, r.SessionEpoch = id, epoch
		if epoch == 0 {
			for _, tid := range []protocol.UUID{idA, idB, idX} {
				r.Topics = append(r.Topics, protocol.FetchRequestFetchTopic{TopicID: tid,
					Partitions: []protocol.FetchRequestFetchPartition{{Partition: 0, FetchOffset: 10}}})
			}
		}
		for _, tid := range forget {
			r.ForgottenTopicsData = append(r.ForgottenTopicsData, protocol.FetchRequestForgottenTopic{TopicID: tid, Partitions: []int32{0}})
		}
		return r
	}
	fetch := func(r *protocol.FetchRequest) (*FetchContext, *protocol.FetchResponse) {
		t.Helper()
		fc, code := s.Begin(r, 13, resolve)
		if code != 0 {
			t.Fatal(code)
		}
		return fc, fc.Filter(logs.read(fc))
	}
	fc, resp := fetch(req(0, 0))
	id := resp.SessionID
	if got := fsNames(fc); id == 0 || !slices.Equal(got, []string{"a-0@10", "b-0@10", "-0@10"}) {
		t.Fatalf("session %d reads %q", id, got)
	}
	if len(resp.Responses) != 3 || resp.Responses[2].TopicID != idX ||
		resp.Responses[2].Partitions[0].ErrorCode != int16(protocol.ErrUnknownTopicID) {
		t.Fatalf("response %+v", resp.Responses)
	}
	// The unknown id keeps erring; the others are quiet.
	_, resp = fetch(req(id, 1))
	if len(resp.Responses) != 1 || resp.Responses[0].TopicID != idX {
		t.Fatalf("response %+v", resp.Responses)
	}
	// b is deleted (its id no longer resolves) and x's id comes to be
	// known: a partition keeps the name it joined under (the broker
	// answers a topic gone since by that name), and one that had none is
	// resolved once its id is known, as in Kafka's sessions.
	mu.Lock()
	delete(names, idB)
	names[idX] = "a"
	mu.Unlock()
	fc, _ = fetch(req(id, 2))
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@10", "b-0@10", "a-0@10"}) {
		t.Fatalf("reads %q", got)
	}
	// Sent again by id, b keeps its name too.
	rb := req(id, 3)
	rb.Topics = []protocol.FetchRequestFetchTopic{{TopicID: idB, Partitions: []protocol.FetchRequestFetchPartition{{Partition: 0, FetchOffset: 7}}}}
	fc, _ = fetch(rb)
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@10", "b-0@7", "a-0@10"}) {
		t.Fatalf("reads %q", got)
	}
	// Forgotten by id; a v12 request to a v13 session is refused.
	fc, _ = fetch(req(id, 4, idB, idX))
	if got := fsNames(fc); !slices.Equal(got, []string{"a-0@10"}) {
		t.Fatalf("reads %q", got)
	}
	if _, code := s.Begin(fsReq(id, 5, nil), 12, nil); code != protocol.ErrFetchSessionTopicIDError {
		t.Fatal(code)
	}
}

func TestFetchSessionCacheFull(t *testing.T) {
	clock := time.Unix(1000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }

	s := NewFetchSessions(2, now)
	logs := fsLogs{}
	id1 := fsOpen(t, s, logs)
	advance(time.Second)
	id2 := fsOpen(t, s, logs)
	// Full, and nothing idle long enough: a new fetch is sessionless.
	advance(time.Minute)
	_, resp := fsFetch(t, s, logs, fsReq(0, 0, []fsPart{{"a", 0, 10}}), 12)
	if resp.SessionID != 0 || s.Len() != 2 {
		t.Fatalf("full cache: session %d, %d cached", resp.SessionID, s.Len())
	}
	wantAnswered(t, resp, "a-0")
	// Later, session 1 is used, so session 2 is the least recently used.
	advance(2 * fetchSessionMinIdle)
	fsFetch(t, s, logs, fsReq(id1, 1, nil), 12)
	_, resp = fsFetch(t, s, logs, fsReq(0, 0, []fsPart{{"b", 0, 10}}), 12)
	id3 := resp.SessionID
	if id3 == 0 || s.Len() != 2 {
		t.Fatalf("eviction: session %d, %d cached", id3, s.Len())
	}
	if _, code := s.Begin(fsReq(id2, 1, nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("evicted session: %d", code)
	}
	fsFetch(t, s, logs, fsReq(id1, 2, nil), 12)
	fsFetch(t, s, logs, fsReq(id3, 1, nil), 12)

	// No slots: never a session.
	s = NewFetchSessions(0, now)
	_, resp = fsFetch(t, s, logs, fsReq(0, 0, []fsPart{{"a", 0, 10}}), 12)
	if resp.SessionID != 0 || s.Len() != 0 {
		t.Fatalf("no slots: session %d", resp.SessionID)
	}
}

// TestFetchSessionEvictsSmaller: in a full cache with no session idle
// long enough, a new session takes the place of the one with the fewest
// partitions among those open longer than fetchSessionMinIdle, if it has
// more partitions than that one, as in Kafka's FetchSessionCache; young
// sessions stay.
func TestFetchSessionEvictsSmaller(t *testing.T) {
	clock := time.Unix(1000, 0)
	now := func() time.Time { return clock }
	s := NewFetchSessions(2, now)
	logs := fsLogs{}
	for p := range int32(4) {
		logs.set("c", p, 10)
	}
	parts := func(n int32) []fsPart {
		var out []fsPart
		for p := range n {
			out = append(out, fsPart{"c", p, 10})
		}
		return out
	}
	open := func(n int32) int32 {
		t.Helper()
		_, resp := fsFetch(t, s, logs, fsReq(0, 0, parts(n)), 12)
		return resp.SessionID
	}
	big, small := open(3), open(1)
	if big == 0 || small == 0 {
		t.Fatal("no room for two sessions")
	}
	// Both young: nothing is evicted, however large the new session.
	if id := open(4); id != 0 || s.Len() != 2 {
		t.Fatalf("a young session was evicted for %d", id)
	}
	// Both used all along, and now open longer than the minimum.
	epochs := map[int32]int32{big: 1, small: 1}
	use := func(ids ...int32) {
		t.Helper()
		for _, id := range ids {
			fsFetch(t, s, logs, fsReq(id, epochs[id], nil), 12)
			epochs[id]++
		}
	}
	clock = clock.Add(fetchSessionMinIdle * 3 / 4)
	use(big, small)
	clock = clock.Add(fetchSessionMinIdle / 2)
	use(big, small)
	// No larger than the smallest: sessionless.
	if id := open(1); id != 0 || s.Len() != 2 {
		t.Fatalf("a session as small as the smallest got in: %d", id)
	}
	// Larger: the smallest goes.
	mid := open(2)
	if mid == 0 || s.Len() != 2 {
		t.Fatalf("a larger session did not get in: %d, %d cached", mid, s.Len())
	}
	if _, code := s.Begin(fsReq(small, epochs[small], nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("the smallest session is still there: %d", code)
	}
	use(big)
	// The young two-partition session stays; the old three-partition one
	// is the only candidate, so a session must beat three.
	if id := open(3); id != 0 {
		t.Fatalf("a session no larger than the oldest got in: %d", id)
	}
	last := open(4)
	if last == 0 {
		t.Fatal("a larger session did not get in")
	}
	if _, code := s.Begin(fsReq(big, epochs[big], nil), 12, nil); code != protocol.ErrFetchSessionIDNotFound {
		t.Fatalf("the old session is still there: %d", code)
	}
	fsFetch(t, s, logs, fsReq(mid, 1, nil), 12)
	fsFetch(t, s, logs, fsReq(last, 1, nil), 12)
}

func TestFetchSessionConcurrent(t *testing.T) {
	s := NewFetchSessions(64, nil)
	const clients, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			topic := fmt.Sprintf("t%d", c)
			logs := fsLogs{}
			logs.set(topic, 0, 0)
			logs.set(topic, 1, 0)
			run := func(req *protocol.FetchRequest) (*protocol.FetchResponse, error) {
				fc, code := s.Begin(req, 12, nil)
				if code != 0 {
					return nil, fmt.Errorf("client %d: Begin(%d, %d): %d", c, req.SessionID, req.SessionEpoch, code)
				}
				resp := fc.Filter(logs.read(fc))
				if resp.ErrorCode != 0 {
					return nil, fmt.Errorf("client %d: Filter: %d", c, resp.ErrorCode)
				}
				return resp, nil
			}
			resp, err := run(fsReq(0, 0, []fsPart{{topic, 0, 0}, {topic, 1, 0}}))
			if err != nil || resp.SessionID == 0 {
				errs <- fmt.Errorf("client %d: open: %v", c, err)
				return
			}
			id, epoch, offset := resp.SessionID, int32(1), int64(0)
			for r := range rounds {
				var update []fsPart
				if r%3 == 0 { // a new record on partition 0, consumed next round
					logs[fsTP{topic, 0}].hw++
				} else if offset < logs[fsTP{topic, 0}].hw {
					offset = logs[fsTP{topic, 0}].hw
					update = []fsPart{{topic, 0, offset}}
				}
				resp, err := run(fsReq(id, epoch, update))
				if err != nil {
					errs <- err
					return
				}
				epoch++
				if want := r%3 == 0; want != (len(fsAnswered(resp)) == 1) {
					errs <- fmt.Errorf("client %d round %d: answered %q", c, r, fsAnswered(resp))
					return
				}
			}
			if _, err := run(fsReq(id, -1, nil)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.Len() != 0 {
		t.Fatalf("%d sessions left", s.Len())
	}
}
