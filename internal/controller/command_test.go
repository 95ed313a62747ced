package controller

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestCommandsSurviveForwarding encodes every forwardable command,
// decodes it as the active controller does, runs both forms against the
// same image and checks they produce the same records and reply, and that
// the reply survives its own encoding.
func TestCommandsSurviveForwarding(t *testing.T) {
	tc := newTestController(t)
	epoch := tc.submit(RegisterBroker(registration(1, 1))).(int64)
	tc.submit(UnfenceBroker(1, epoch))
	tc.createTopics(TopicDefaults{NumPartitions: 1, ReplicationFactor: 1}, false, topic("existing", 2, 1))
	img := tc.c.Image()
	one := "1"
	cmds := []Command{
		AllocateProducerIDs(1, epoch),
		RegisterBroker(registration(2, 3)),
		UnfenceBroker(1, epoch),
		FenceBroker(1, epoch),
		CreateTopics([]CreateTopic{topic("a", 3, 1), {Name: "b", NumPartitions: -1, ReplicationFactor: -1, Configs: map[string]*string{"retention.ms": &one}},
			{Name: "c", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}}}, topic("existing", 1, 1)}, false, TopicDefaults{NumPartitions: 2, ReplicationFactor: 1}),
		DeleteTopics([]string{"existing", "missing"}, []protocol.UUID{{9}}),
		CreatePartitions([]CreatePartitionsRequest{{Name: "existing", Count: 4}, {Name: "missing", Count: 2}}, true),
		IncrementalAlterConfigs([]IncrementalAlterConfigsResource{{Type: metadata.ResourceTopic, Name: "existing",
			Changes: []ConfigChange{{Key: "retention.ms", Op: ConfigSet, Value: &one}}}}, false),
		AlterConfigs([]AlterConfigsResource{{Type: metadata.ResourceTopic, Name: "existing", Configs: map[string]*string{"segment.ms": &one}}}, false),
	}
	for _, cmd := range cmds {
		b, err := EncodeCommand(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.op, err)
		}
		back, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", cmd.op, err)
		}
		recs1, reply1, err1 := cmd.run(img)
		recs2, reply2, err2 := back.run(img)
		if !reflect.DeepEqual(err1, err2) || !sameRecords(recs1, recs2) || !reflect.DeepEqual(withoutIDs(reply1), withoutIDs(reply2)) {
			t.Fatalf("%s: direct %v %v %v\nforwarded %v %v %v", cmd.op, recs1, reply1, err1, recs2, reply2, err2)
		}
		rb, err := json.Marshal(reply1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeReplyOf(cmd.op, rb)
		if err != nil || !reflect.DeepEqual(got, reply1) {
			t.Fatalf("%s: reply %#v came back as %#v (%v)", cmd.op, reply1, got, err)
		}
	}
	if _, err := EncodeCommand(createTopic("x")); !errors.Is(err, ErrNotForwardable) {
		t.Fatalf("a local command encoded: %v", err)
	}
	for _, bad := range []string{``, `{`, `{"op":"Nope","args":{}}`, `{"op":"CreateTopics","args":[1]}`} {
		if _, err := DecodeCommand([]byte(bad)); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
}

// withoutIDs clears the random topic ids of a CreateTopics reply.
func withoutIDs(reply any) any {
	if rs, ok := reply.([]CreateTopicResult); ok {
		out := append([]CreateTopicResult(nil), rs...)
		for i := range out {
			out[i].TopicID = protocol.UUID{}
		}
		return out
	}
	return reply
}

// sameRecords compares records by type and version: topic ids are random
// in each run, so the records' contents differ.
func sameRecords(a, b []metadata.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if reflect.TypeOf(a[i].Message) != reflect.TypeOf(b[i].Message) || a[i].Version != b[i].Version {
			return false
		}
	}
	return true
}

// FuzzDecodeCommand: a forwarded command is bytes from the network.
func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range []Command{RegisterBroker(registration(1, 1)), CreateTopics([]CreateTopic{topic("a", 1, 1)}, false, TopicDefaults{})} {
		b, _ := EncodeCommand(cmd)
		f.Add(b)
	}
	img := &metadata.Image{}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			return
		}
		cmd.run(img) // must not panic
	})
}
