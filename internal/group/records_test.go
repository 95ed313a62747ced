package group

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
)

// TestRecordsReadByFranzGo checks our records against franz-go's decoders
// of __consumer_offsets, an independent reading of Kafka's formats.
func TestRecordsReadByFranzGo(t *testing.T) {
	commit := encodeOp(op{group: "g", tp: topicPartition{"orders", 3},
		offset: &offsetEntry{offset: 42, leaderEpoch: 7, metadata: "md", commitTime: 1234, expireTime: -1}})
	var ck kmsg.OffsetCommitKey
	if err := ck.ReadFrom(commit.key); err != nil {
		t.Fatal(err)
	}
	if ck.Version != 1 || ck.Group != "g" || ck.Topic != "orders" || ck.Partition != 3 {
		t.Errorf("offset key = %+v", ck)
	}
	var cv kmsg.OffsetCommitValue
	if err := cv.ReadFrom(commit.value); err != nil {
		t.Fatal(err)
	}
	if cv.Version != 3 || cv.Offset != 42 || cv.LeaderEpoch != 7 || cv.Metadata != "md" || cv.CommitTimestamp != 1234 {
		t.Errorf("offset value = %+v", cv)
	}

	expiring := encodeOp(op{group: "g", tp: topicPartition{"orders", 3},
		offset: &offsetEntry{offset: 1, leaderEpoch: -1, commitTime: 10, expireTime: 99}})
	if err := cv.ReadFrom(expiring.value); err != nil {
		t.Fatal(err)
	}
	if cv.Version != 1 || cv.ExpireTimestamp != 99 {
		t.Errorf("expiring offset value = %+v", cv)
	}

	g := newGroup("g", 555)
	g.generation, g.protocolType, g.protocol, g.leader = 4, "consumer", ptr("range"), "m1"
	g.add(&member{id: "m1", protocolType: "consumer", clientID: "c1", clientHost: "/h1", rebalanceTimeout: 30e9, sessionTimeout: 10e9,
		protocols: []protocolEntry{{"range", []byte("sub1")}}, assignment: []byte("as1")})
	g.add(&member{id: "m2", protocolType: "consumer", instanceID: "i2", static: true, clientID: "c2", clientHost: "/h2", rebalanceTimeout: 30e9,
		sessionTimeout: 10e9, protocols: []protocolEntry{{"rr", nil}, {"range", []byte("sub2")}}})
	meta := encodeOp(g.metadataOp(map[string][]byte{"m1": []byte("A"), "m2": []byte("B")}))
	var gk kmsg.GroupMetadataKey
	if err := gk.ReadFrom(meta.key); err != nil {
		t.Fatal(err)
	}
	if gk.Version != 2 || gk.Group != "g" {
		t.Errorf("group key = %+v", gk)
	}
	var gv kmsg.GroupMetadataValue
	if err := gv.ReadFrom(meta.value); err != nil {
		t.Fatal(err)
	}
	if gv.Version != 3 || gv.ProtocolType != "consumer" || gv.Generation != 4 || *gv.Protocol != "range" ||
		*gv.Leader != "m1" || gv.CurrentStateTimestamp != 555 || len(gv.Members) != 2 {
		t.Fatalf("group value = %+v", gv)
	}
	m1, m2 := gv.Members[0], gv.Members[1]
	if m1.MemberID != "m1" || m1.InstanceID != nil || m1.ClientID != "c1" || m1.ClientHost != "/h1" ||
		m1.RebalanceTimeoutMillis != 30000 || m1.SessionTimeoutMillis != 10000 ||
		string(m1.Subscription) != "sub1" || string(m1.Assignment) != "A" {
		t.Errorf("member 1 = %+v", m1)
	}
	if m2.MemberID != "m2" || m2.InstanceID == nil || *m2.InstanceID != "i2" || string(m2.Subscription) != "sub2" ||
		string(m2.Assignment) != "B" {
		t.Errorf("member 2 = %+v", m2)
	}

	tomb := encodeOp(op{group: "g", isGroup: true})
	if tomb.value != nil || !bytes.Equal(tomb.key, meta.key) {
		t.Errorf("tombstone = %x / %x", tomb.key, tomb.value)
	}
}

// TestRecordsFromFranzGo decodes records as Kafka (here franz-go) writes
// them, in the versions our writer does not use.
func TestRecordsFromFranzGo(t *testing.T) {
	key := (&kmsg.OffsetCommitKey{Version: 0, Group: "g", Topic: "t", Partition: 1}).AppendTo(nil)
	v0 := (&kmsg.OffsetCommitValue{Version: 0, Offset: 5, Metadata: "x", CommitTimestamp: 9}).AppendTo(nil)
	o, err := decodeOp(key, v0)
	if err != nil {
		t.Fatal(err)
	}
	if o.group != "g" || o.tp != (topicPartition{"t", 1}) || o.offset.offset != 5 || o.offset.leaderEpoch != -1 {
		t.Errorf("v0 offset = %+v %+v", o, *o.offset)
	}
	v4 := kmsg.OffsetCommitValue{Version: 4, Offset: 6, LeaderEpoch: 2, CommitTimestamp: 9}
	if o, err = decodeOp(key, v4.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if o.offset.offset != 6 || o.offset.leaderEpoch != 2 {
		t.Errorf("v4 offset = %+v", *o.offset)
	}
	gv := kmsg.GroupMetadataValue{Version: 0, ProtocolType: "consumer", Generation: 2, Protocol: ptr("range"),
		Leader: ptr("m"), Members: []kmsg.GroupMetadataValueMember{{MemberID: "m", SessionTimeoutMillis: 6000,
			Subscription: []byte("s"), Assignment: []byte("a")}}}
	gkey := (&kmsg.GroupMetadataKey{Version: 2, Group: "g"}).AppendTo(nil)
	if o, err = decodeOp(gkey, gv.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if !o.isGroup || o.meta.Generation != 2 || len(o.meta.Members) != 1 || o.meta.CurrentStateTimestamp != -1 {
		t.Errorf("v0 group = %+v", o.meta)
	}
	g := loadGroup("g", o.meta, timeZero)
	if m := g.members["m"]; m == nil || m.rebalanceTimeout != m.sessionTimeout || string(m.metadataFor("range")) != "s" {
		t.Errorf("loaded v0 member = %+v", g.members["m"])
	}
}

func TestDecodeOpRejects(t *testing.T) {
	key := encodeOp(op{group: "g", tp: topicPartition{"t", 0}}).key
	for _, tt := range []struct {
		name       string
		key, value []byte
		want       error
	}{
		{"short key", []byte{0}, nil, errBadRecord},
		{"negative key version", []byte{0xff, 0xff}, nil, errBadRecord},
		{"newer group type", binary.BigEndian.AppendUint16(nil, 5), []byte{0, 0}, errForeignRecord},
		{"truncated key", key[:len(key)-1], nil, errBadRecord},
		{"trailing key bytes", append(append([]byte{}, key...), 0), nil, errBadRecord},
		{"short value", key, []byte{0}, errBadRecord},
		{"unknown value version", key, []byte{0, 9, 0, 0}, errBadRecord},
		{"truncated value", key, []byte{0, 3, 0, 0, 0}, errBadRecord},
		{"bad group value", encodeOp(op{group: "g", isGroup: true}).key, []byte{0, 3, 0xff}, errBadRecord},
	} {
		if _, err := decodeOp(tt.key, tt.value); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSubscriptionTopics(t *testing.T) {
	if ts, ok := subscriptionTopics(subscriptionV0([]string{"a", "bb"})); !ok || len(ts) != 2 || ts[1] != "bb" {
		t.Errorf("v0 = %v %v", ts, ok)
	}
	// Version 3 (owned partitions, generation, rack): read as its v0 prefix.
	v3 := protocol.ConsumerProtocolSubscription{Topics: []string{"x"}, GenerationID: 4, RackID: ptr("r")}
	b := v3.AppendTo(binary.BigEndian.AppendUint16(nil, 3), 3)
	if ts, ok := subscriptionTopics(b); !ok || len(ts) != 1 || ts[0] != "x" {
		t.Errorf("v3 = %v %v", ts, ok)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0, 0, 0, 1}, {0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, {0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'}, {0, 0, 0, 0, 0, 0}} {
		if _, ok := subscriptionTopics(bad); ok {
			t.Errorf("%x parsed", bad)
		}
	}
}

// TestLoaderReplay replays a log: the last value of a key wins, tombstones
// delete, a group deleted and recommitted to comes back with the new
// offsets only, and bad batches and records are skipped.
func TestLoaderReplay(t *testing.T) {
	off := func(g, topic string, p int32, o int64) op {
		return op{group: g, tp: topicPartition{topic, p}, offset: &offsetEntry{offset: o, leaderEpoch: -1, commitTime: 1, expireTime: -1}}
	}
	g := newGroup("g", 100)
	g.generation, g.protocolType, g.protocol, g.leader = 3, "consumer", ptr("range"), "m"
	g.add(&member{id: "m", protocolType: "consumer", clientID: "c", sessionTimeout: 10e9, rebalanceTimeout: 20e9,
		protocols: []protocolEntry{{"range", subscriptionV0([]string{"t"})}}, assignment: []byte("A")})
	batches := [][]kv{
		{encodeOp(off("g", "t", 0, 1)), encodeOp(off("g", "t", 1, 2)), encodeOp(g.metadataOp(nil))},
		{encodeOp(off("g", "t", 0, 5)), encodeOp(op{group: "g", tp: topicPartition{"t", 1}})},
		{encodeOp(off("gone", "t", 0, 1)), encodeOp(op{group: "gone", isGroup: true, meta: newGroup("gone", 1).metadataOp(nil).meta})},
		{encodeOp(op{group: "gone", tp: topicPartition{"t", 0}}), encodeOp(op{group: "gone", isGroup: true})},
		{encodeOp(off("back", "t", 0, 1)), encodeOp(op{group: "back", isGroup: true}), encodeOp(off("back", "u", 0, 2))},
		{{key: []byte{0}, value: []byte{1}}, {key: binary.BigEndian.AppendUint16(nil, 7), value: nil}},
	}
	var data []byte
	for i, recs := range batches {
		b, err := buildBatch(recs, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	corrupt, _ := buildBatch([]kv{encodeOp(off("g", "t", 0, 99))}, 0)
	corrupt[len(corrupt)-1] ^= 0xff // CRC mismatch
	var warnings int
	l := newLoader()
	l.batch(data, func(string, error) { warnings++ })
	l.batch(corrupt, func(string, error) { warnings++ })
	l.batch([]byte{1, 2, 3}, func(string, error) { warnings++ })
	if warnings != 3 {
		t.Errorf("warnings = %d, want 3 (a bad record, a corrupt batch, a torn one)", warnings)
	}
	s := newShard(0, Config{}.withDefaults(), func() string { return "x" }, timeZero)
	s.install(l, timeZero)
	if len(s.groups) != 2 {
		t.Fatalf("groups = %v", keys(s.groups))
	}
	lg := s.groups["g"]
	if lg.state != stateStable || lg.generation != 3 || lg.leader != "m" || lg.stateTime != 100 ||
		len(lg.offsets) != 1 || lg.offsets[topicPartition{"t", 0}].offset != 5 || !lg.subscribed["t"] {
		t.Errorf("g = %+v", lg)
	}
	if m := lg.members["m"]; m == nil || string(m.assignment) != "A" || m.deadline != timeZero.Add(10e9) {
		t.Errorf("member = %+v", lg.members["m"])
	}
	back := s.groups["back"]
	if back.state != stateEmpty || back.protocolType != "" || len(back.offsets) != 2 {
		t.Errorf("back = %+v", back)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBuildBatch(t *testing.T) {
	recs := []kv{encodeOp(op{group: "g", tp: topicPartition{"t", 0}}), {key: []byte("k"), value: []byte("v")}}
	b, err := buildBatch(recs, 77)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := record.Validate(b, record.Options{ProducerChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := record.ParseHeader(b)
	if h.ProducerID != -1 || h.BaseOffset != 0 || h.NumRecords != 2 || h.BaseTimestamp != 77 || h.Attributes.Codec() != record.CodecNone {
		t.Errorf("header = %+v (summary %+v)", h, sum)
	}
}
