package handler

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// TestFetchInconsistentTopicID: while the replica this broker holds under
// a topic's name is of another topic than the one the image gives that
// name (a topic deleted and created again, the broker between the two),
// a Fetch that names the topic's id gets INCONSISTENT_TOPIC_ID and no
// records, a consumer's (v13) and a follower's (v15) alike, as Kafka's
// broker answers; a Fetch by name (v12) names no id and is served.
func TestFetchInconsistentTopicID(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	epoch2 := f.registerBrokers(t, 2)[2]
	topicID := f.createAssigned(t, assigned{"t", []int32{1, 2}})[0]
	if pr := produceResponse(f.produce(t, 1, "t", 0, batchOf(t, "a", "b"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %+v", pr)
	}
	fetch := func(version int16, replicaID int32, brokerEpoch, offset int64) protocol.FetchResponsePartitionData {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.MaxBytes = 1 << 20
		if replicaID >= 0 {
			req.ReplicaState = protocol.FetchRequestReplicaState{ReplicaID: replicaID, ReplicaEpoch: brokerEpoch}
		}
		ft := protocol.FetchRequestFetchTopic{Partitions: []protocol.FetchRequestFetchPartition{{
			Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: offset, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}
		if version >= 13 {
			ft.TopicID = topicID
		} else {
			ft.Topic = "t"
		}
		req.Topics = []protocol.FetchRequestFetchTopic{ft}
		resp, wait := f.h.Fetch(ctx, req, version)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		return resp.Responses[0].Partitions[0]
	}
	// Consistent: served, to the follower and, once it has fetched to
	// the end (the high watermark 2), to a consumer.
	if pd := fetch(15, 2, epoch2, 0); pd.ErrorCode != 0 || len(pd.Records) == 0 {
		t.Fatalf("follower fetch by id: error %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
	if pd := fetch(15, 2, epoch2, 2); pd.ErrorCode != 0 || pd.HighWatermark != 2 {
		t.Fatalf("follower fetch at the end: error %d, high watermark %d", pd.ErrorCode, pd.HighWatermark)
	}
	if pd := fetch(13, -1, -1, 0); pd.ErrorCode != 0 || len(pd.Records) == 0 {
		t.Fatalf("consumer fetch by id: error %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
	part, ok := f.reps.Partition(storage.TopicPartition{Topic: "t", Partition: 0})
	if !ok {
		t.Fatal("no replica of t-0")
	}
	// Another topic named t. (The fixture applies images only when a
	// test waits for one, so nothing replaces this replica meanwhile; the
	// long-poll test below makes the same state for real.)
	part.TopicID = protocol.UUID{0xee}
	t.Cleanup(func() { part.TopicID = topicID })
	for _, c := range []struct {
		what      string
		version   int16
		replicaID int32
		epoch     int64
		want      protocol.ErrorCode
	}{
		{"consumer v13", 13, -1, -1, protocol.ErrInconsistentTopicID},
		{"follower v15", 15, 2, epoch2, protocol.ErrInconsistentTopicID},
		{"consumer v12, by name", 12, -1, -1, protocol.ErrNone},
	} {
		pd := fetch(c.version, c.replicaID, c.epoch, 0)
		if protocol.ErrorCode(pd.ErrorCode) != c.want || (c.want != protocol.ErrNone) != (len(pd.Records) == 0) {
			t.Errorf("%s: error %d, %d bytes; want error %d", c.what, pd.ErrorCode, len(pd.Records), c.want)
		}
	}
}

// longPoll is a consumer's Fetch by topic id of partition 0 from offset
// 0 that waits up to 10 s for a byte.
func longPoll(topicID protocol.UUID) *protocol.FetchRequest {
	req := &protocol.FetchRequest{}
	req.Default()
	req.MaxBytes, req.MinBytes, req.MaxWaitMs = 1<<20, 1, 10000
	req.Topics = []protocol.FetchRequestFetchTopic{{TopicID: topicID, Partitions: []protocol.FetchRequestFetchPartition{{
		Partition: 0, CurrentLeaderEpoch: -1, FetchOffset: 0, LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: 1 << 20}}}}
	return req
}

// TestLongPollTopicRecreated: a consumer's Fetch v13 by topic id finds
// nothing to read and is to wait on the topic's partition; before the
// wait starts, the topic is deleted and created again, the broker
// applying both at once, and the new topic takes a record. The wait ends
// at once with INCONSISTENT_TOPIC_ID, as Kafka's delayed fetch answers
// when it reads afresh: not with the new topic's record, nor after
// MaxWaitMs, nor with NOT_LEADER_OR_FOLLOWER.
func TestLongPollTopicRecreated(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	create := func() controller.Command {
		return controller.CreateTopics([]controller.CreateTopic{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false, controller.TopicDefaults{})
	}
	if _, err := f.h.submit(ctx, create()); err != nil {
		t.Fatal(err)
	}
	oldID := f.h.image().TopicByName("t").ID()
	resp, wait := f.h.Fetch(ctx, longPoll(oldID), 13)
	if wait == nil {
		t.Fatalf("an empty topic answered at once: %+v", resp)
	}
	if _, _, err := f.ctl.Submit(ctx, controller.DeleteTopics([]string{"t"}, nil)); err != nil {
		t.Fatal(err)
	}
	off, _, err := f.ctl.Submit(ctx, create())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.waitImage(ctx, off); err != nil {
		t.Fatal(err)
	}
	if newID := f.h.image().TopicByName("t").ID(); newID == oldID {
		t.Fatal("the topic kept its id")
	}
	if pr := produceResponse(f.produce(t, 1, "t", 0, batchOf(t, "new"))); pr.ErrorCode != 0 {
		t.Fatalf("produce to the new topic: %+v", pr)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r := wait(wctx)
	if wctx.Err() != nil {
		t.Fatal("the long poll waited on the replaced replica")
	}
	loadFiles(t, r)
	pd := r.Responses[0].Partitions[0]
	if protocol.ErrorCode(pd.ErrorCode) != protocol.ErrInconsistentTopicID || len(pd.Records) != 0 {
		t.Fatalf("long poll: error %d, %d bytes; want INCONSISTENT_TOPIC_ID and no records", pd.ErrorCode, len(pd.Records))
	}
}

// TestDeletedTopicEndsWaits: an acks=all produce waiting for a follower
// that never fetches, and a consumer's long poll, both on a topic that
// is deleted before they start to wait, are answered at once (as Kafka's
// delayed operations complete once they are watched), not at their
// timeouts: the produce with NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION, the fetch with an error and no records.
// (A wait under way when the partition goes is woken as its log closes.)
func TestDeletedTopicEndsWaits(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	f.registerBrokers(t, 2)
	topicID := f.createAssigned(t, assigned{"d", []int32{1, 2}})[0]
	pending := f.produce(t, -1, "d", 0, batchOf(t, "a"))
	if pending.Wait == nil {
		t.Fatal("acks=all answered before the follower fetched")
	}
	_, wait := f.h.Fetch(ctx, longPoll(topicID), 13)
	if wait == nil {
		t.Fatal("a fetch past the high watermark answered at once")
	}
	if _, err := f.h.submit(ctx, controller.DeleteTopics([]string{"d"}, nil)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	presp := pending.Wait(wctx)
	if wctx.Err() != nil {
		t.Fatal("the acks=all produce waited on the deleted partition")
	}
	if c := protocol.ErrorCode(presp.Responses[0].PartitionResponses[0].ErrorCode); c != protocol.ErrNotLeaderOrFollower && c != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("produce to the deleted topic: error %d", c)
	}
	r := wait(wctx)
	if wctx.Err() != nil {
		t.Fatal("the long poll waited on the deleted partition")
	}
	loadFiles(t, r)
	if pd := r.Responses[0].Partitions[0]; pd.ErrorCode == 0 || len(pd.Records) != 0 {
		t.Fatalf("fetch from the deleted topic: error %d, %d bytes", pd.ErrorCode, len(pd.Records))
	}
}

// TestFetchSessionTopicRecreated: a consumer's fetch session (v13) keeps
// the name its topic id had when the partition joined it. Once the topic
// is deleted and made anew under that name, the session's next fetch is
// answered INCONSISTENT_TOPIC_ID for it, with none of the new topic's
// records; once the name is gone too, UNKNOWN_TOPIC_OR_PARTITION. Both
// are Kafka's answers (a session that resolved ids afresh would say
// UNKNOWN_TOPIC_ID to both).
func TestFetchSessionTopicRecreated(t *testing.T) {
	f := newFixture(t, false)
	f.h.sessions = NewFetchSessions(10, nil) // the fixture keeps none
	ctx := context.Background()
	create := controller.CreateTopics([]controller.CreateTopic{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false, controller.TopicDefaults{})
	if _, err := f.h.submit(ctx, create); err != nil {
		t.Fatal(err)
	}
	oldID := f.h.image().TopicByName("t").ID()
	if pr := produceResponse(f.produce(t, 1, "t", 0, batchOf(t, "old"))); pr.ErrorCode != 0 {
		t.Fatalf("produce: %+v", pr)
	}
	full := longPoll(oldID)
	full.SessionEpoch = 0 // open a session
	resp, wait := f.h.Fetch(ctx, full, 13)
	if wait != nil || resp.SessionID == 0 {
		t.Fatalf("full fetch: waits %v, session %d", wait != nil, resp.SessionID)
	}
	loadFiles(t, resp)
	session := resp.SessionID
	next := func(epoch int32) protocol.FetchResponsePartitionData {
		t.Helper()
		req := &protocol.FetchRequest{}
		req.Default()
		req.SessionID, req.SessionEpoch, req.MaxBytes, req.MaxWaitMs = session, epoch, 1<<20, 0
		resp, wait := f.h.Fetch(ctx, req, 13)
		if wait != nil {
			resp = wait(ctx)
		}
		loadFiles(t, resp)
		if resp.ErrorCode != 0 || len(resp.Responses) != 1 || resp.Responses[0].TopicID != oldID {
			t.Fatalf("incremental fetch %d: %+v", epoch, resp)
		}
		return resp.Responses[0].Partitions[0]
	}
	if _, err := f.h.submit(ctx, controller.DeleteTopics([]string{"t"}, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.submit(ctx, create); err != nil {
		t.Fatal(err)
	}
	if f.h.image().TopicByName("t").ID() == oldID {
		t.Fatal("the topic kept its id")
	}
	if pr := produceResponse(f.produce(t, 1, "t", 0, batchOf(t, "new", "newer"))); pr.ErrorCode != 0 {
		t.Fatalf("produce to the new topic: %+v", pr)
	}
	if pd := next(1); protocol.ErrorCode(pd.ErrorCode) != protocol.ErrInconsistentTopicID || len(pd.Records) != 0 {
		t.Fatalf("made anew: error %d, %d bytes; want INCONSISTENT_TOPIC_ID and no records", pd.ErrorCode, len(pd.Records))
	}
	if _, err := f.h.submit(ctx, controller.DeleteTopics([]string{"t"}, nil)); err != nil {
		t.Fatal(err)
	}
	if pd := next(2); protocol.ErrorCode(pd.ErrorCode) != protocol.ErrUnknownTopicOrPartition || len(pd.Records) != 0 {
		t.Fatalf("deleted: error %d, %d bytes; want UNKNOWN_TOPIC_OR_PARTITION", pd.ErrorCode, len(pd.Records))
	}
}
