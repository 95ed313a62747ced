package node

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeletedTopicTakesItsOffsets: as in Kafka, deleting a topic removes
// every group's committed offsets of it, so a group does not resume a
// topic created again under the same name at the old topic's offset;
// offsets of other topics stay.
func TestDeletedTopicTakesItsOffsets(t *testing.T) {
	n := startNodeWith(t, t.TempDir(), nil, "group.initial.rebalance.delay.ms=0")
	defer n.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"orders", "payments"} {
		if err := n.CreateTopic(ctx, topic, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 500, LeaderEpoch: -1})
	os.Add(kadm.Offset{Topic: "payments", Partition: 0, At: 7, LeaderEpoch: -1})
	if r, err := adm.CommitOffsets(ctx, "app", os); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	if _, err := adm.DeleteTopics(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	var got kadm.OffsetResponses
	waitFor(t, 10*time.Second, "the deleted topic's offsets to go", func() bool {
		got, err = adm.FetchOffsets(ctx, "app")
		if err != nil {
			return false
		}
		o, ok := got.Lookup("orders", 0)
		return !ok || o.At < 0
	})
	if o, ok := got.Lookup("payments", 0); !ok || o.At != 7 {
		t.Fatalf("payments offset %+v (%v), want 7", o, ok)
	}
	if err := n.CreateTopic(ctx, "orders", 1, nil); err != nil {
		t.Fatal(err)
	}
	got, err = adm.FetchOffsets(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("orders", 0); ok && o.At >= 0 {
		t.Fatalf("group app has offset %d for the re-created topic orders", o.At)
	}
}
