package metadata

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-mq/sluice/internal/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustApply(t *testing.T, img *Image, ms ...protocol.MetadataRecord) *Image {
	t.Helper()
	next, err := img.Apply(img.Offset+1, recs(ms...))
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// TestEmptyImage: the zero Image and its nil sub-images answer every
// accessor as an empty cluster.
func TestEmptyImage(t *testing.T) {
	img := &Image{}
	if img.TopicByName("x") != nil || img.TopicByID(protocol.UUID{1}) != nil || img.Topics.Len() != 0 || img.Topics.Names() != nil {
		t.Error("empty image has topics")
	}
	if _, ok := img.Partition(protocol.UUID{1}, 0); ok {
		t.Error("empty image has a partition")
	}
	if _, ok := img.Broker(1); ok || img.Brokers() != nil || img.LiveBrokers() != nil || img.Cluster.Len() != 0 {
		t.Error("empty image has brokers")
	}
	if img.TopicConfigs("x") != nil || img.BrokerConfigs(1) != nil || img.Configs.Resources() != nil {
		t.Error("empty image has configs")
	}
	if _, ok := img.Configs.Get(TopicResource("x"), "k"); ok {
		t.Error("empty image has a config")
	}
	if _, ok := img.Feature(MetadataVersionFeature); ok || img.Features.All() != nil {
		t.Error("empty image has features")
	}
	if img.PartitionsLedBy(1) != nil || img.PartitionsOn(1) != nil {
		t.Error("empty image has partitions")
	}
	for range img.Topics.All() {
		t.Error("empty image yields a topic")
	}
	// A nil base is the empty image.
	if next, err := NewDelta(nil).Apply(1); err != nil || next.Offset != 1 || next.Topics != nil {
		t.Errorf("NewDelta(nil).Apply(1) = %+v, %v", next, err)
	}
}

// TestApplyKeepsNothingOfTheRecords: the caller may reuse its records; the
// image copied everything it keeps.
func TestApplyKeepsNothingOfTheRecords(t *testing.T) {
	rack, value := "r1", "v"
	topic := &protocol.TopicRecord{Name: "foo", TopicID: protocol.UUID{15: 1}}
	part := &protocol.PartitionRecord{TopicID: topic.TopicID, PartitionID: 0, Replicas: []int32{1, 2}, Isr: []int32{1, 2}, Leader: 1,
		Directories: []protocol.UUID{{1}, {2}}, EligibleLeaderReplicas: []int32{2}}
	broker := &protocol.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 1, Rack: &rack,
		EndPoints: []protocol.RegisterBrokerRecordBrokerEndpoint{{Name: "A", Host: "h", Port: 1}}, LogDirs: []protocol.UUID{{3}}}
	config := &protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "k", Value: &value}
	img := mustApply(t, &Image{}, topic, part, broker, config)
	change := &protocol.PartitionChangeRecord{TopicID: topic.TopicID, PartitionID: 0, Isr: []int32{1}, Leader: -2, LeaderRecoveryState: -1}
	img = mustApply(t, img, change)
	want := dumpImage(img)

	part.Replicas[0], part.Directories[0], part.EligibleLeaderReplicas[0] = 9, protocol.UUID{9}, 9
	change.Isr[0] = 9
	rack, value = "changed", "changed"
	broker.EndPoints[0].Host, broker.LogDirs[0] = "changed", protocol.UUID{9}
	if got := dumpImage(img); got != want {
		t.Errorf("image changed with its records:\n%s\nwas:\n%s", got, want)
	}
}

// TestReadersGetCopies: maps an accessor returns are the caller's.
func TestReadersGetCopies(t *testing.T) {
	value := "1"
	img := mustApply(t, &Image{},
		&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "k", Value: &value},
		&protocol.ConfigRecord{ResourceType: 4, ResourceName: "1", Name: "k", Value: &value},
		&protocol.FeatureLevelRecord{Name: "x", FeatureLevel: 1})
	img.TopicConfigs("foo")["k"] = "changed"
	img.BrokerConfigs(1)["k"] = "changed"
	img.Features.All()["x"] = 7
	if v, _ := img.Configs.Get(TopicResource("foo"), "k"); v != "1" {
		t.Error("TopicConfigs aliases the image")
	}
	if v, _ := img.Configs.Get(BrokerResource(1), "k"); v != "1" {
		t.Error("BrokerConfigs aliases the image")
	}
	if l, _ := img.Feature("x"); l != 1 {
		t.Error("Features.All aliases the image")
	}
}

func TestAccessors(t *testing.T) {
	id := protocol.UUID{15: 1}
	img := mustApply(t, &Image{},
		&protocol.RegisterBrokerRecord{BrokerID: 2, BrokerEpoch: 1, Fenced: false,
			EndPoints: []protocol.RegisterBrokerRecordBrokerEndpoint{{Name: "B", Host: "h", Port: 2}, {Name: "A", Host: "h", Port: 1}}},
		&protocol.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 1, Fenced: true},
		&protocol.RegisterBrokerRecord{BrokerID: 3, BrokerEpoch: 1, Fenced: false},
		&protocol.TopicRecord{Name: "foo", TopicID: id},
		&protocol.PartitionRecord{TopicID: id, PartitionID: 2, Replicas: []int32{3, 2}, Leader: 3, Directories: []protocol.UUID{{7}, {}}},
		&protocol.PartitionRecord{TopicID: id, PartitionID: 0, Replicas: []int32{2, 3}, Leader: 2},
		&protocol.PartitionRecord{TopicID: id, PartitionID: 1, Replicas: []int32{3}, Leader: 3},
	)
	var ids []int32
	for _, b := range img.Brokers() {
		ids = append(ids, b.ID)
	}
	if !slices.Equal(ids, []int32{1, 2, 3}) {
		t.Errorf("Brokers: %v", ids)
	}
	ids = nil
	for _, b := range img.LiveBrokers() {
		ids = append(ids, b.ID)
	}
	if !slices.Equal(ids, []int32{2, 3}) {
		t.Errorf("LiveBrokers: %v", ids)
	}
	b, _ := img.Broker(2)
	if e, ok := b.Endpoint("B"); !ok || e.Port != 2 {
		t.Errorf("Endpoint(B) = %+v, %v", e, ok)
	}
	if _, ok := b.Endpoint("C"); ok {
		t.Error("Endpoint(C) found")
	}

	foo := img.TopicByName("foo")
	if foo != img.TopicByID(id) || foo.Name() != "foo" || foo.ID() != id || foo.NumPartitions() != 3 {
		t.Fatalf("topic foo: %+v", foo)
	}
	var order []int32
	for p := range foo.Partitions() {
		order = append(order, p)
	}
	if !slices.Equal(order, []int32{0, 1, 2}) || !slices.Equal(foo.PartitionIDs(), order) {
		t.Errorf("partition order %v", order)
	}
	p2, _ := img.Partition(id, 2)
	if d, ok := p2.Directory(3); !ok || d != (protocol.UUID{7}) {
		t.Errorf("Directory(3) = %v, %v", d, ok)
	}
	if d, ok := p2.Directory(2); !ok || d != (protocol.UUID{}) {
		t.Errorf("Directory(2) = %v, %v", d, ok)
	}
	if _, ok := p2.Directory(1); ok {
		t.Error("Directory(1) of a non-replica")
	}
	p0, _ := img.Partition(id, 0)
	if d, ok := p0.Directory(3); !ok || d != (protocol.UUID{}) {
		t.Errorf("Directory without directories = %v, %v", d, ok)
	}
	led := img.PartitionsLedBy(3)
	if len(led) != 2 || led[0].Partition != 1 || led[1].Partition != 2 || led[0].Topic != "foo" || led[0].TopicID != id {
		t.Errorf("PartitionsLedBy(3) = %+v", led)
	}
	if on := img.PartitionsOn(2); len(on) != 2 || on[0].Partition != 0 || on[1].Partition != 2 {
		t.Errorf("PartitionsOn(2) = %+v", on)
	}
}

// TestDeltaContinuesAfterApply: a delta may keep replaying after Apply; the
// images it built before do not change.
func TestDeltaContinuesAfterApply(t *testing.T) {
	id := protocol.UUID{15: 1}
	value := "1"
	d := NewDelta(nil)
	for _, m := range []protocol.MetadataRecord{
		&protocol.TopicRecord{Name: "foo", TopicID: id},
		&protocol.PartitionRecord{TopicID: id, PartitionID: 0, Replicas: []int32{1}, Isr: []int32{1}, Leader: 1},
		&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "k", Value: &value},
	} {
		if err := d.Replay(m); err != nil {
			t.Fatal(err)
		}
	}
	first, err := d.Apply(1)
	if err != nil {
		t.Fatal(err)
	}
	want := dumpImage(first)
	for _, m := range []protocol.MetadataRecord{
		&protocol.PartitionChangeRecord{TopicID: id, PartitionID: 0, Isr: []int32{}, Leader: -1, LeaderRecoveryState: -1},
		&protocol.PartitionRecord{TopicID: id, PartitionID: 1, Replicas: []int32{1}, Leader: 1},
		&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "k2", Value: &value},
	} {
		if err := d.Replay(m); err != nil {
			t.Fatal(err)
		}
	}
	second, err := d.Apply(2)
	if err != nil {
		t.Fatal(err)
	}
	if got := dumpImage(first); got != want {
		t.Errorf("first image changed:\n%s\nwas:\n%s", got, want)
	}
	// The record set epochs 0 and 0; the change elected "no leader".
	if p, _ := second.Partition(id, 0); p.Leader != -1 || p.LeaderEpoch != 1 || p.PartitionEpoch != 1 || p.ISR != nil {
		t.Errorf("second image partition 0: %+v", p)
	}
	if second.TopicByID(id).NumPartitions() != 2 || len(second.TopicConfigs("foo")) != 2 {
		t.Errorf("second image:\n%s", dumpImage(second))
	}
	if _, err := d.Apply(0); !errors.Is(err, ErrStaleOffset) {
		t.Errorf("Apply(0) = %v", err)
	}
}

// TestReplayFailureLeavesDelta: a rejected record changes nothing.
func TestReplayFailureLeavesDelta(t *testing.T) {
	base := fuzzBase(t)
	d := NewDelta(base)
	if err := d.Replay(&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: 0, Isr: []int32{1}, Leader: -2, LeaderRecoveryState: -1}); err != nil {
		t.Fatal(err)
	}
	before, _ := d.Apply(base.Offset + 1)
	for _, m := range []protocol.MetadataRecord{
		&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: 0, Isr: []int32{2}, Leader: -2, LeaderRecoveryState: 5},
		&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: 1, Replicas: []int32{1}, Directories: []protocol.UUID{{1}, {2}}, Leader: 1},
		&protocol.PartitionRecord{TopicID: fuzzTopicID, PartitionID: 5, Replicas: []int32{1}, LeaderRecoveryState: 3},
		&protocol.RegisterBrokerRecord{BrokerID: 5, Features: []protocol.RegisterBrokerRecordBrokerFeature{{Name: "a"}, {Name: "a"}}},
		&protocol.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 10, Fenced: 1, InControlledShutdown: 2},
		&protocol.FeatureLevelRecord{Name: ""},
	} {
		if err := d.Replay(m); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v", recordName(m), err)
		}
	}
	after, _ := d.Apply(base.Offset + 1)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("failed replays changed the delta:\n%s\nwas:\n%s", dumpImage(after), dumpImage(before))
	}
}

type fakeRecord struct{ protocol.NoOpRecord }

func (*fakeRecord) RecordType() int16 { return 999 }

func TestReplayOddRecords(t *testing.T) {
	d := NewDelta(nil)
	for name, m := range map[string]protocol.MetadataRecord{
		"nil":       nil,
		"typed nil": (*protocol.TopicRecord)(nil),
		"unknown":   &fakeRecord{},
		"end txn":   &protocol.EndTransactionRecord{},
		"abort txn": &protocol.AbortTransactionRecord{},
	} {
		if err := d.Replay(m); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := (&Image{}).Apply(1, []Record{{}}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("Apply of a zero Record: %v", err)
	}
	for _, m := range []protocol.MetadataRecord{
		&protocol.AccessControlEntryRecord{}, &protocol.RemoveAccessControlEntryRecord{},
		&protocol.UserScramCredentialRecord{}, &protocol.RemoveUserScramCredentialRecord{},
		&protocol.DelegationTokenRecord{}, &protocol.RemoveDelegationTokenRecord{},
		&protocol.ClientQuotaRecord{}, &protocol.RegisterControllerRecord{}, &protocol.ZkMigrationStateRecord{},
	} {
		if err := d.Replay(m); err != nil {
			t.Errorf("%s: %v", recordName(m), err)
		}
	}
	img, err := d.Apply(1)
	if err != nil || !reflect.DeepEqual(img, &Image{Offset: 1}) {
		t.Errorf("ignored records changed the image: %+v, %v", img, err)
	}
}

// TestConcurrentReaders publishes each new image to readers that walk all
// of it while the next is built from it, as brokers use images; under the
// race detector this shows Apply writes nothing a reader can see.
func TestConcurrentReaders(t *testing.T) {
	img := fuzzBase(t)
	var cur atomic.Pointer[Image]
	cur.Store(img)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				dumpImage(cur.Load())
			}
		}()
	}
	value := "v"
	for i := range 300 {
		b, _ := img.Broker(1)
		ms := []protocol.MetadataRecord{
			&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: int32(i % 2), Isr: []int32{1, 2}[:1+i%2], Leader: int32(1 + i%2), LeaderRecoveryState: -1},
			&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "k" + strconv.Itoa(i%5), Value: &value},
		}
		if b.Fenced {
			ms = append(ms, &protocol.UnfenceBrokerRecord{ID: 1, Epoch: b.Epoch})
		} else {
			ms = append(ms, &protocol.FenceBrokerRecord{ID: 1, Epoch: b.Epoch})
		}
		if i%50 == 0 {
			ms = append(ms, &protocol.PartitionRecord{TopicID: fuzzTopicID, PartitionID: int32(2 + i/50), Replicas: []int32{1}, Leader: 1})
		}
		img = mustApply(t, img, ms...)
		cur.Store(img)
	}
	close(done)
	wg.Wait()
	if p, _ := img.Partition(fuzzTopicID, 0); p.PartitionEpoch != 150 || img.TopicByID(fuzzTopicID).NumPartitions() != 8 {
		t.Errorf("final image:\n%s", dumpImage(img))
	}
}
