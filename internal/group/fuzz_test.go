package group

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to what a load reads from disk: a record
// (key, value) and a region of batches. Nothing may panic; a record that
// decodes must survive an encode and decode unchanged; and the groups
// rebuilt from the records must take a tick, a description, a join and a
// retention check.
func FuzzLoad(f *testing.F) {
	g := newGroup("g", 5)
	g.generation, g.protocolType, g.protocol, g.leader = 2, "consumer", ptr("range"), "m"
	g.add(&member{id: "m", protocolType: "consumer", instanceID: "i", static: true, sessionTimeout: 10e9,
		protocols: []protocolEntry{{"range", subscriptionV0([]string{"t"})}}, assignment: []byte("A")})
	meta := encodeOp(g.metadataOp(nil))
	commit := encodeOp(op{group: "g", tp: topicPartition{"t", 1}, offset: &offsetEntry{offset: 3, leaderEpoch: 1, commitTime: 2, expireTime: -1}})
	batch, _ := buildBatch([]kv{meta, commit}, 9)
	f.Add(meta.key, meta.value, batch)
	f.Add(commit.key, commit.value, []byte{})
	f.Add(commit.key, []byte(nil), batch[:40])
	f.Add(binary.BigEndian.AppendUint16(nil, 3), []byte{0, 0}, append(batch, batch...))

	now := time.Unix(1_000_000, 0)
	f.Fuzz(func(t *testing.T, key, value, data []byte) {
		if o, err := decodeOp(key, value); err == nil {
			enc := encodeOp(o)
			back, err := decodeOp(enc.key, enc.value)
			if err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			if describeOp(back) != describeOp(o) {
				t.Fatalf("round trip: %s, want %s", describeOp(back), describeOp(o))
			}
		}
		l := newLoader()
		l.batch(data, func(string, error) {})
		if b, err := buildBatch([]kv{{key: key, value: value}}, 0); err == nil {
			l.batch(b, func(string, error) {})
		}
		s := newShard(0, Config{MaxSize: 1}.withDefaults(), func() string { return "x" }, now)
		s.install(l, now)
		for id := range s.groups {
			s.describe(now, id)
			s.join(now, joinRequest{groupID: id, clientID: "c", protocolType: "consumer", sessionTimeout: 10e9,
				protocols: []protocolEntry{{name: "range"}}}, 1)
		}
		s.tick(now.Add(time.Hour))
		s.tick(now.Add(30 * 24 * time.Hour))
		s.drain()
	})
}
