package handler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
)

func batchOf(t testing.TB, values ...string) []byte {
	t.Helper()
	b := record.NewBuilder(record.CodecNone)
	b.BaseTimestamp = time.Now().UnixMilli()
	for i, v := range values {
		b.Append(int32(i), int64(i), []byte("k"), []byte(v))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) createTopic(t testing.TB, name string, partitions int32) {
	t.Helper()
	resp := f.h.CreateTopics(context.Background(), &protocol.CreateTopicsRequest{TimeoutMs: 5000,
		Topics: []protocol.CreateTopicsRequestCreatableTopic{{Name: name, NumPartitions: partitions, ReplicationFactor: 1}}}, 7)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %d", name, resp.Topics[0].ErrorCode)
	}
}

func (f *fixture) produce(t testing.TB, acks int16, topic string, partition int32, records []byte) ProduceResult {
	t.Helper()
	return f.h.Produce(context.Background(), &protocol.ProduceRequest{Acks: acks, TimeoutMs: 5000,
		TopicData: []protocol.ProduceRequestTopicProduceData{{Name: topic,
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: partition, Records: records}}}}}, 9)
}

func produceResponse(r ProduceResult) *protocol.ProduceResponsePartitionProduceResponse {
	resp := r.Resp
	if r.Wait != nil {
		resp = r.Wait(context.Background())
	}
	return &resp.Responses[0].PartitionResponses[0]
}

func TestProduceFetchListOffsets(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "events", 2)
	for i := range 3 {
		pr := produceResponse(f.produce(t, -1, "events", 1, batchOf(t, fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i))))
		if pr.ErrorCode != 0 || pr.BaseOffset != int64(2*i) {
			t.Fatalf("produce %d: %+v", i, pr)
		}
	}
	// Errors: unknown partition, bad acks, garbage records.
	if pr := produceResponse(f.produce(t, 1, "events", 9, batchOf(t, "x"))); protocol.ErrorCode(pr.ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown partition: %d", pr.ErrorCode)
	}
	if pr := produceResponse(f.produce(t, 2, "events", 0, batchOf(t, "x"))); protocol.ErrorCode(pr.ErrorCode) != protocol.ErrInvalidRequiredAcks {
		t.Fatalf("acks=2: %d", pr.ErrorCode)
	}
	if pr := produceResponse(f.produce(t, 1, "events", 0, []byte("garbage bytes that are not a batch at all, long enough to parse"))); protocol.ErrorCode(pr.ErrorCode) != protocol.ErrCorruptMessage {
		t.Fatalf("garbage: %d", pr.ErrorCode)
	}
	// acks=0 answers nothing, and closes only on failure.
	if r := f.produce(t, 0, "events", 0, batchOf(t, "quiet")); !r.None || r.Close {
		t.Fatalf("acks=0: %+v", r)
	}
	if r := f.produce(t, 0, "nope", 0, batchOf(t, "quiet")); !r.None || !r.Close {
		t.Fatalf("failed acks=0: %+v", r)
	}

	fetch := func(offset int64, maxWait int32) *protocol.FetchResponse {
		resp, wait := f.h.Fetch(context.Background(), &protocol.FetchRequest{ReplicaID: -1, MaxWaitMs: maxWait, MinBytes: 1, MaxBytes: 1 << 20,
			Topics: []protocol.FetchRequestFetchTopic{{Topic: "events", Partitions: []protocol.FetchRequestFetchPartition{
				{Partition: 1, FetchOffset: offset, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}}}}}, 11)
		if wait != nil {
			resp = wait(context.Background())
		}
		loadFiles(t, resp)
		return resp
	}
	pd := fetch(2, 0).Responses[0].Partitions[0]
	if pd.ErrorCode != 0 || pd.HighWatermark != 6 {
		t.Fatalf("fetch: %+v", pd)
	}
	var got []string
	it := record.NewBatches(pd.Records)
	for it.Next() {
		var recs record.Records
		if err := recs.Reset(it.Batch(), record.Options{}); err != nil {
			t.Fatal(err)
		}
		for recs.Next() {
			got = append(got, fmt.Sprintf("%d:%s", recs.Offset(), recs.Record().Value))
		}
		recs.Close()
	}
	if fmt.Sprint(got) != "[2:a1 3:b1 4:a2 5:b2]" {
		t.Fatalf("fetched %v", got)
	}
	if pd := fetch(99, 0).Responses[0].Partitions[0]; protocol.ErrorCode(pd.ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("out of range: %d", pd.ErrorCode)
	}

	// Long polling: a fetch at the end waits until an append arrives.
	done := make(chan *protocol.FetchResponse)
	go func() { done <- fetch(6, 5000) }()
	time.Sleep(50 * time.Millisecond) // let the fetch start waiting; the assertion below does not depend on it
	produceResponse(f.produce(t, -1, "events", 1, batchOf(t, "late")))
	select {
	case resp := <-done:
		if pd := resp.Responses[0].Partitions[0]; len(pd.Records) == 0 || pd.HighWatermark != 7 {
			t.Fatalf("long poll returned %+v", pd)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("long poll was not woken by the append")
	}
	// A long poll with nothing arriving returns empty after MaxWaitMs.
	start := time.Now()
	pd = fetch(7, 100).Responses[0].Partitions[0]
	if len(pd.Records) != 0 || time.Since(start) < 90*time.Millisecond {
		t.Fatalf("empty long poll: %d bytes after %v", len(pd.Records), time.Since(start))
	}
	// Regression: no records is an empty record set, never null, which
	// librdkafka rejects ("invalid MessageSetSize -1").
	if pd.Records == nil {
		t.Fatal("empty fetch answered with null records")
	}

	list := func(ts int64, leaderEpoch int32) protocol.ListOffsetsResponseListOffsetsPartitionResponse {
		t.Helper()
		lo := f.h.ListOffsets(context.Background(), &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestListOffsetsTopic{{Name: "events",
			Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{{PartitionIndex: 1, Timestamp: ts, CurrentLeaderEpoch: leaderEpoch}}}}}, 8)
		return lo.Topics[0].Partitions[0]
	}
	if p := list(-2, -1); p.ErrorCode != 0 || p.Offset != 0 || p.LeaderEpoch != 0 {
		t.Fatalf("earliest %+v", p)
	}
	if p := list(-1, -1); p.ErrorCode != 0 || p.Offset != 7 || p.LeaderEpoch != 0 {
		t.Fatalf("latest %+v", p)
	}
	if p := list(0, -1); p.ErrorCode != 0 || p.Offset != 0 {
		t.Fatalf("by timestamp 0 %+v", p)
	}
	if p := list(-3, -1); p.ErrorCode != 0 || p.Offset < 0 {
		t.Fatalf("max timestamp %+v", p)
	}
	if p := list(-1, 5); protocol.ErrorCode(p.ErrorCode) != protocol.ErrUnknownLeaderEpoch {
		t.Fatalf("newer leader epoch: %+v", p)
	}
	// None found: offset, timestamp and leader epoch all -1, as Kafka.
	if p := list(time.Now().Add(time.Hour).UnixMilli(), -1); p.ErrorCode != 0 || p.Offset != -1 || p.LeaderEpoch != -1 {
		t.Fatalf("by a timestamp after every record %+v", p)
	}
}

func TestDeleteTopicsAndOffsetForLeaderEpoch(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.createTopic(t, "gone", 1)
	f.createTopic(t, "kept", 1)
	produceResponse(f.produce(t, -1, "kept", 0, batchOf(t, "a", "b", "c")))

	ofl := f.h.OffsetForLeaderEpoch(ctx, &protocol.OffsetForLeaderEpochRequest{ReplicaID: -1, Topics: []protocol.OffsetForLeaderEpochRequestOffsetForLeaderTopic{{Topic: "kept",
		Partitions: []protocol.OffsetForLeaderEpochRequestOffsetForLeaderPartition{
			{Partition: 0, CurrentLeaderEpoch: -1, LeaderEpoch: 0},
			{Partition: 0, CurrentLeaderEpoch: 3, LeaderEpoch: 0},
			{Partition: 7, CurrentLeaderEpoch: -1, LeaderEpoch: 0}}}}}, 4)
	ps := ofl.Topics[0].Partitions
	if ps[0].ErrorCode != 0 || ps[0].LeaderEpoch != 0 || ps[0].EndOffset != 3 {
		t.Fatalf("epoch 0 ends at %+v", ps[0])
	}
	if protocol.ErrorCode(ps[1].ErrorCode) != protocol.ErrUnknownLeaderEpoch || protocol.ErrorCode(ps[2].ErrorCode) != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("errors %+v", ps[1:])
	}

	id := f.h.image().TopicByName("kept").ID()
	del := f.h.DeleteTopics(ctx, &protocol.DeleteTopicsRequest{TimeoutMs: 5000, Topics: []protocol.DeleteTopicsRequestDeleteTopicState{
		{Name: str("gone")}, {Name: str("missing")}, {TopicID: id}}}, 6)
	want := []protocol.ErrorCode{protocol.ErrNone, protocol.ErrUnknownTopicOrPartition, protocol.ErrNone}
	for i, r := range del.Responses {
		if protocol.ErrorCode(r.ErrorCode) != want[i] {
			t.Errorf("result %d: %d, want %d", i, r.ErrorCode, want[i])
		}
	}
	if f.h.image().TopicByName("gone") != nil || f.h.image().TopicByName("kept") != nil || len(f.reps.Partitions()) != 0 {
		t.Fatal("topics or their logs survived deletion")
	}
}

func TestDeleteTopicsDisabled(t *testing.T) {
	f := newFixture(t, false)
	f.h.cfg.DeleteTopicEnable = false
	f.createTopic(t, "stays", 1)
	del := f.h.DeleteTopics(context.Background(), &protocol.DeleteTopicsRequest{TopicNames: []string{"stays"}}, 3)
	if protocol.ErrorCode(del.Responses[0].ErrorCode) != protocol.ErrTopicDeletionDisabled || f.h.image().TopicByName("stays") == nil {
		t.Fatalf("deletion disabled: %+v", del.Responses[0])
	}
	// Before v3 clients do not know TOPIC_DELETION_DISABLED: Kafka answers
	// INVALID_REQUEST.
	del = f.h.DeleteTopics(context.Background(), &protocol.DeleteTopicsRequest{TopicNames: []string{"stays"}}, 2)
	if protocol.ErrorCode(del.Responses[0].ErrorCode) != protocol.ErrInvalidRequest || f.h.image().TopicByName("stays") == nil {
		t.Fatalf("deletion disabled, v2: %+v", del.Responses[0])
	}
}

// TestDeleteTopicsNameAndID: a v6 entry naming both a topic and an id is
// INVALID_REQUEST, as in Kafka, and deletes nothing, even where the two
// name different topics; the request's other entries are carried out.
func TestDeleteTopicsNameAndID(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "a", 1)
	f.createTopic(t, "b", 1)
	idB := f.h.image().TopicByName("b").ID()
	del := f.h.DeleteTopics(context.Background(), &protocol.DeleteTopicsRequest{Topics: []protocol.DeleteTopicsRequestDeleteTopicState{
		{Name: ptr("a"), TopicID: idB}, {Name: ptr("b")}}, TimeoutMs: 5000}, 6)
	codes := map[string]protocol.ErrorCode{}
	for _, r := range del.Responses {
		codes[*r.Name] = protocol.ErrorCode(r.ErrorCode)
	}
	if codes["a"] != protocol.ErrInvalidRequest || codes["b"] != protocol.ErrNone || len(del.Responses) != 2 {
		t.Fatalf("responses %+v", del.Responses)
	}
	if f.h.image().TopicByName("a") == nil {
		t.Fatal("topic a was deleted by the entry that also named b's id")
	}
}

// TestDeleteTopicsDuplicates: a name or id given twice gets one
// INVALID_REQUEST result and its topic stays; the others are deleted.
func TestDeleteTopicsDuplicates(t *testing.T) {
	f := newFixture(t, false)
	for _, n := range []string{"a", "b", "c"} {
		f.createTopic(t, n, 1)
	}
	idC := f.h.image().TopicByName("c").ID()
	del := f.h.DeleteTopics(context.Background(), &protocol.DeleteTopicsRequest{Topics: []protocol.DeleteTopicsRequestDeleteTopicState{
		{Name: ptr("a")}, {Name: ptr("b")}, {Name: ptr("a")}, {TopicID: idC}, {TopicID: idC}}, TimeoutMs: 5000}, 6)
	if len(del.Responses) != 3 {
		t.Fatalf("%d results, want one per distinct name or id: %+v", len(del.Responses), del.Responses)
	}
	for _, r := range del.Responses {
		want := protocol.ErrInvalidRequest
		if r.Name != nil && *r.Name == "b" {
			want = protocol.ErrNone
		}
		if protocol.ErrorCode(r.ErrorCode) != want {
			t.Errorf("result %+v, want %s", r, want.Name())
		}
	}
	img := f.h.image()
	if img.TopicByName("a") == nil || img.TopicByName("c") == nil || img.TopicByName("b") != nil {
		t.Fatalf("after deletion: a %t, b %t, c %t; want a and c kept", img.TopicByName("a") != nil, img.TopicByName("b") != nil, img.TopicByName("c") != nil)
	}
	// Before v6, by name only.
	del = f.h.DeleteTopics(context.Background(), &protocol.DeleteTopicsRequest{TopicNames: []string{"a", "a"}, TimeoutMs: 5000}, 5)
	if len(del.Responses) != 1 || protocol.ErrorCode(del.Responses[0].ErrorCode) != protocol.ErrInvalidRequest || f.h.image().TopicByName("a") == nil {
		t.Fatalf("v5 duplicate: %+v", del.Responses)
	}
}

// TestProduceLegacyFormatRefused: Produce v0-2 is advertised (librdkafka
// needs it to compress), but their message formats v0/v1 are refused per
// partition, not by closing the connection.
func TestProduceLegacyFormatRefused(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "old", 1)
	legacy := make([]byte, 40)
	legacy[11] = 28 // message size
	legacy[16] = 1  // magic 1
	r := f.h.Produce(context.Background(), &protocol.ProduceRequest{Acks: 1, TimeoutMs: 1000,
		TopicData: []protocol.ProduceRequestTopicProduceData{{Name: "old",
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: legacy}}}}}, 2)
	if pr := produceResponse(r); protocol.ErrorCode(pr.ErrorCode) != protocol.ErrUnsupportedForMessageFormat {
		t.Fatalf("legacy records: error %d, want %d", pr.ErrorCode, protocol.ErrUnsupportedForMessageFormat)
	}
	if lo, hi, ok := Versions(protocol.KeyProduce); !ok || lo != 0 || hi != 11 {
		t.Fatalf("Produce advertised %d-%d", lo, hi)
	}
}

// Regressions from review: a long poll whose MinBytes can't be met ends
// at its deadline (it used to spin forever); a partition error answers at
// once; acks=1 never answers with a timeout after a successful append.
func TestFetchLongPollEdges(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "edge", 2)
	produceResponse(f.produce(t, -1, "edge", 0, batchOf(t, "a", "b")))
	fetch := func(parts []protocol.FetchRequestFetchPartition, minBytes, maxWait int32) (*protocol.FetchResponse, time.Duration) {
		start := time.Now()
		resp, wait := f.h.Fetch(context.Background(), &protocol.FetchRequest{ReplicaID: -1, MaxWaitMs: maxWait, MinBytes: minBytes, MaxBytes: 1 << 20,
			Topics: []protocol.FetchRequestFetchTopic{{Topic: "edge", Partitions: parts}}}, 11)
		if wait != nil {
			done := make(chan *protocol.FetchResponse, 1)
			go func() { done <- wait(context.Background()) }()
			select {
			case resp = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("long poll did not end")
			}
		}
		loadFiles(t, resp)
		return resp, time.Since(start)
	}
	p0 := protocol.FetchRequestFetchPartition{Partition: 0, FetchOffset: 0, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}
	p1 := protocol.FetchRequestFetchPartition{Partition: 1, FetchOffset: 0, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}
	resp, took := fetch([]protocol.FetchRequestFetchPartition{p0}, 1<<20, 300)
	if took < 250*time.Millisecond || len(resp.Responses[0].Partitions[0].Records) == 0 {
		t.Fatalf("unmet MinBytes: answered after %v with %d bytes", took, len(resp.Responses[0].Partitions[0].Records))
	}
	bad := p0
	bad.FetchOffset = 99
	resp, took = fetch([]protocol.FetchRequestFetchPartition{bad, p1}, 1, 2000)
	if took > time.Second || protocol.ErrorCode(resp.Responses[0].Partitions[0].ErrorCode) != protocol.ErrOffsetOutOfRange {
		t.Fatalf("partition error: answered after %v with %+v", took, resp.Responses[0].Partitions[0])
	}
	r := f.h.Produce(context.Background(), &protocol.ProduceRequest{Acks: 1, TimeoutMs: 0,
		TopicData: []protocol.ProduceRequestTopicProduceData{{Name: "edge",
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 1, Records: batchOf(t, "once")}}}}}, 9)
	if pr := produceResponse(r); pr.ErrorCode != 0 || pr.BaseOffset != 0 {
		t.Fatalf("acks=1 with timeout 0: %+v", pr)
	}
}

// loadFiles reads the response's file records into memory (the server
// would send them from the segment files) and releases them.
func loadFiles(t *testing.T, resp *protocol.FetchResponse) {
	t.Helper()
	if err := resp.LoadFiles(); err != nil {
		t.Fatalf("reading fetched records: %v", err)
	}
}

// TestFetchMaxBytesBoundsResponses: fetch.max.bytes caps a response below
// what the request asks for (the first batch still whole, KIP-74).
func TestFetchMaxBytesBoundsResponses(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "capped", 1)
	big := strings.Repeat("x", 1000)
	var batchLen int
	for range 10 {
		b := batchOf(t, big)
		batchLen = len(b)
		produceResponse(f.produce(t, -1, "capped", 0, b))
	}
	fetch := func() int {
		resp, wait := f.h.Fetch(context.Background(), &protocol.FetchRequest{ReplicaID: -1, MaxBytes: 1 << 30, Topics: []protocol.FetchRequestFetchTopic{{Topic: "capped",
			Partitions: []protocol.FetchRequestFetchPartition{{Partition: 0, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 30}}}}}, 11)
		if wait != nil {
			t.Fatal("fetch waited")
		}
		loadFiles(t, resp)
		return len(resp.Responses[0].Partitions[0].Records)
	}
	if got := fetch(); got != 10*batchLen {
		t.Fatalf("uncapped: %d bytes, want all %d", got, 10*batchLen)
	}
	// Cut at the bound, the last batch partial, as Kafka sends it (the
	// client drops the partial batch and fetches it again).
	f.h.cfg.FetchMaxBytes = int32(3*batchLen + batchLen/2)
	if got := fetch(); got != int(f.h.cfg.FetchMaxBytes) {
		t.Fatalf("fetch.max.bytes=%d: %d bytes", f.h.cfg.FetchMaxBytes, got)
	}
	f.h.cfg.FetchMaxBytes = 10 // below one batch: the first batch still comes whole
	if got := fetch(); got != batchLen {
		t.Fatalf("fetch.max.bytes=10: %d bytes, want the first batch (%d)", got, batchLen)
	}
}

// TestFetchMinBytesCappedByMaxBytes: a fetch asking for more bytes than
// its response may carry (fetch.min.bytes above fetch.max.bytes) is
// answered once MaxBytes are there, as Kafka caps MinBytes, instead of
// waiting out MaxWaitMs every time.
func TestFetchMinBytesCappedByMaxBytes(t *testing.T) {
	f := newFixture(t, false)
	f.createTopic(t, "big", 1)
	if pr := produceResponse(f.produce(t, -1, "big", 0, batchOf(t, strings.Repeat("x", 4096)))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %d", pr.ErrorCode)
	}
	start := time.Now()
	resp, wait := f.h.Fetch(context.Background(), &protocol.FetchRequest{ReplicaID: -1, MaxWaitMs: 5000, MinBytes: 10 << 20, MaxBytes: 1024,
		Topics: []protocol.FetchRequestFetchTopic{{Topic: "big", Partitions: []protocol.FetchRequestFetchPartition{
			{Partition: 0, FetchOffset: 0, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}}}}}, 11)
	if wait != nil {
		resp = wait(context.Background())
	}
	loadFiles(t, resp)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the fetch waited %v for 10 MiB it could never carry", took)
	}
	if pd := resp.Responses[0].Partitions[0]; pd.ErrorCode != 0 || len(pd.Records) == 0 {
		t.Fatalf("fetch: code %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
}
