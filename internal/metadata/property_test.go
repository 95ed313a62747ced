package metadata

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestApplyProperties applies random valid entries and checks:
//
//   - Image.Apply never changes an earlier image: every image deep-equals
//     a deep copy taken when it was built, after all later entries;
//   - applying the entries one at a time equals applying all their records
//     as one entry, and equals one long-lived Delta replaying everything
//     and building an image after each entry (whose images must not change
//     either as it goes on);
//   - copy on write: a topic, partition, broker, resource's configuration
//     the delta does not report changed is the very same object in the
//     new image, and what it reports changed is a new one;
//   - an image's Records, framed and decoded, rebuild an equal image;
//   - a bad record rejects its entry and leaves the image as it was.
func TestApplyProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		g := &gen{rt: rt}
		img := &Image{}
		long := NewDelta(nil)
		var images, longImages, saved []*Image
		var all []Record
		for range rapid.IntRange(1, 25).Draw(rt, "entries") {
			entry := g.entry(img)
			offset := img.Offset + rapid.Int64Range(1, 3).Draw(rt, "gap")

			next, err := img.Apply(offset, entry)
			if err != nil {
				rt.Fatalf("valid entry rejected: %v", err)
			}
			d := NewDelta(img)
			for _, r := range entry {
				if err := d.Replay(r.Message); err != nil {
					rt.Fatalf("delta: %v", err)
				}
			}
			viaDelta, err := d.Apply(offset)
			if err != nil || !reflect.DeepEqual(viaDelta, next) {
				rt.Fatalf("Delta.Apply differs from Image.Apply (%v)", err)
			}
			checkSharing(rt, img, next, d)
			checkSnapshot(rt, next)

			for _, r := range entry {
				if err := long.Replay(r.Message); err != nil {
					rt.Fatalf("long delta: %v", err)
				}
			}
			longImg, err := long.Apply(offset)
			if err != nil || !reflect.DeepEqual(longImg, next) {
				rt.Fatalf("long-lived delta differs at %d (%v):\n%s\nwant:\n%s", offset, err, dumpImage(longImg), dumpImage(next))
			}

			images = append(images, next)
			longImages = append(longImages, longImg)
			saved = append(saved, cloneImage(next))
			all = append(all, entry...)
			img = next
		}
		for i := range images {
			if !reflect.DeepEqual(images[i], saved[i]) {
				rt.Fatalf("image %d changed:\n%s\nwas:\n%s", images[i].Offset, dumpImage(images[i]), dumpImage(saved[i]))
			}
			if !reflect.DeepEqual(longImages[i], saved[i]) {
				rt.Fatalf("long-lived delta's image %d changed:\n%s\nwas:\n%s", images[i].Offset, dumpImage(longImages[i]), dumpImage(saved[i]))
			}
		}
		once, err := (&Image{}).Apply(img.Offset, all)
		if err != nil || !reflect.DeepEqual(once, img) {
			rt.Fatalf("all at once (%v):\n%s\none at a time:\n%s", err, dumpImage(once), dumpImage(img))
		}

		// A bad record after valid ones rejects the whole entry.
		entry := g.entry(img)
		bad := g.invalid(img, entry)
		if _, err := img.Apply(img.Offset+1, append(entry, NewRecord(bad))); !errors.Is(err, ErrInvalidRecord) {
			rt.Fatalf("bad %s accepted (%v)", recordName(bad), err)
		}
		if !reflect.DeepEqual(img, saved[len(saved)-1]) {
			rt.Fatalf("a rejected entry changed the image")
		}
	})
}

// checkSnapshot checks that img.Records(), through the framing, rebuild img.
func checkSnapshot(rt *rapid.T, img *Image) {
	var framed []Record
	for _, r := range img.Records() {
		dec, err := DecodeRecord(EncodeRecord(nil, r.Message, r.Version))
		if err != nil {
			rt.Fatalf("snapshot record %s: %v", recordName(r.Message), err)
		}
		framed = append(framed, dec)
	}
	rebuilt, err := (&Image{}).Apply(img.Offset, framed)
	if err != nil || !reflect.DeepEqual(rebuilt, img) {
		rt.Fatalf("snapshot rebuilds (%v):\n%s\nwant:\n%s", err, dumpImage(rebuilt), dumpImage(img))
	}
}

// checkSharing checks the copy-on-write structure of next, built from prev
// by d, against what d reports.
func checkSharing(rt *rapid.T, prev, next *Image, d *Delta) {
	changed := map[protocol.UUID]TopicChange{}
	for _, tc := range d.ChangedTopics() {
		changed[tc.ID] = tc
	}
	removed := map[protocol.UUID]bool{}
	for _, r := range d.RemovedTopics() {
		removed[r.ID] = true
		if prev.Topics.ByID(r.ID) == nil {
			rt.Fatalf("removed topic %s was not in the image", r.Name)
		}
	}
	if len(changed) == 0 && len(removed) == 0 && next.Topics != prev.Topics {
		rt.Fatalf("topics unchanged but not shared")
	}
	for t := range prev.Topics.All() {
		nt := next.Topics.ByID(t.id)
		tc, isChanged := changed[t.id]
		switch {
		case removed[t.id]:
			if nt == t || (nt != nil && !isChanged) {
				rt.Fatalf("removed topic %s still there", t.name)
			}
		case isChanged:
			if tc.Created {
				rt.Fatalf("topic %s was there, reported created", t.name)
			}
			for p, part := range t.partitions {
				if shared := nt.partitions[p] == part; shared == slices.Contains(tc.Partitions, p) {
					rt.Fatalf("topic %s partition %d: shared=%v, reported changed=%v", t.name, p, shared, !shared)
				}
			}
		default:
			if nt != t {
				rt.Fatalf("topic %s unchanged but not shared", t.name)
			}
		}
	}
	for nt := range next.Topics.All() {
		if tc, ok := changed[nt.id]; ok != (prev.Topics.ByID(nt.id) != nt) || (ok && tc.Name != nt.name) {
			rt.Fatalf("topic %s: new=%v, reported=%v", nt.name, prev.Topics.ByID(nt.id) != nt, ok)
		}
	}

	brokerIDs := map[int32]bool{}
	if prev.Cluster != nil {
		for id := range prev.Cluster.brokers {
			brokerIDs[id] = true
		}
	}
	if next.Cluster != nil {
		for id := range next.Cluster.brokers {
			brokerIDs[id] = true
		}
	}
	reported := d.ChangedBrokers()
	for id := range brokerIDs {
		var pb, nb *Broker
		if prev.Cluster != nil {
			pb = prev.Cluster.brokers[id]
		}
		if next.Cluster != nil {
			nb = next.Cluster.brokers[id]
		}
		if pb != nb && !slices.Contains(reported, id) {
			rt.Fatalf("broker %d changed, not reported", id)
		}
		if pb == nb && slices.Contains(reported, id) && pb != nil {
			rt.Fatalf("broker %d reported changed, but shared", id)
		}
	}

	resources := map[ConfigResource]bool{}
	for _, img := range []*Image{prev, next} {
		if img.Configs != nil {
			for res := range img.Configs.data {
				resources[res] = true
			}
		}
	}
	for res := range resources {
		pm, nm := prev.Configs.get(res), next.Configs.get(res)
		same := reflect.ValueOf(pm).UnsafePointer() == reflect.ValueOf(nm).UnsafePointer()
		if !same && !slices.Contains(d.ChangedConfigs(), res) {
			rt.Fatalf("config %s changed, not reported", res)
		}
	}
	for _, name := range slices.Concat(prev.Features.Names(), next.Features.Names()) {
		pl, pok := prev.Features.Level(name)
		nl, nok := next.Features.Level(name)
		if (pl != nl || pok != nok) && !slices.Contains(d.ChangedFeatures(), name) {
			rt.Fatalf("feature %s changed, not reported", name)
		}
	}
	if prev.ProducerIDs != next.ProducerIDs && !d.ProducerIDsChanged() {
		rt.Fatalf("producer ids changed, not reported")
	}
}

// cloneImage returns a deep copy of img sharing no memory with it.
func cloneImage(img *Image) *Image {
	c := *img
	if img.Features != nil {
		c.Features = &FeaturesImage{levels: maps.Clone(img.Features.levels)}
	}
	if img.Cluster != nil {
		c.Cluster = &ClusterImage{brokers: map[int32]*Broker{}}
		for id, b := range img.Cluster.brokers {
			nb := *b
			nb.Endpoints = slices.Clone(b.Endpoints)
			nb.Features = slices.Clone(b.Features)
			nb.LogDirs = slices.Clone(b.LogDirs)
			if b.Rack != nil {
				rack := *b.Rack
				nb.Rack = &rack
			}
			c.Cluster.brokers[id] = &nb
		}
	}
	if img.Topics != nil {
		c.Topics = &TopicsImage{byID: map[protocol.UUID]*TopicImage{}, byName: map[string]*TopicImage{}}
		for id, t := range img.Topics.byID {
			nt := &TopicImage{name: t.name, id: t.id, partitions: map[int32]*Partition{}}
			for p, part := range t.partitions {
				np := *part
				for _, s := range []*[]int32{&np.Replicas, &np.ISR, &np.AddingReplicas, &np.RemovingReplicas, &np.ELR, &np.LastKnownELR} {
					*s = slices.Clone(*s)
				}
				np.Directories = slices.Clone(part.Directories)
				nt.partitions[p] = &np
			}
			c.Topics.byID[id] = nt
			c.Topics.byName[t.name] = nt
		}
	}
	if img.Configs != nil {
		c.Configs = &ConfigsImage{data: map[ConfigResource]map[string]string{}}
		for res, m := range img.Configs.data {
			c.Configs.data[res] = maps.Clone(m)
		}
	}
	return &c
}

// gen draws records that apply to a given image.
type gen struct {
	rt    *rapid.T
	epoch int64
}

var topicNames = []string{"t0", "t1", "t2", "t3", "t4"}

// entry draws up to four records, each valid after the ones before it.
func (g *gen) entry(img *Image) []Record {
	cur := img
	var out []Record
	for range rapid.IntRange(0, 4).Draw(g.rt, "records") {
		r := NewRecord(g.record(cur))
		next, err := cur.Apply(cur.Offset+1, []Record{r})
		if err != nil {
			g.rt.Fatalf("generated an invalid record: %v", err)
		}
		cur = next
		out = append(out, r)
	}
	return out
}

func (g *gen) ints(label string, minLen, maxLen int) []int32 {
	return rapid.SliceOfNDistinct(rapid.Int32Range(0, 5), minLen, maxLen, rapid.ID[int32]).Draw(g.rt, label)
}

// subset returns a random subset of s, in s's order.
func (g *gen) subset(label string, s []int32) []int32 {
	out := []int32{}
	for _, n := range s {
		if rapid.Bool().Draw(g.rt, label) {
			out = append(out, n)
		}
	}
	return out
}

func (g *gen) dirs(label string, n int) []protocol.UUID {
	out := make([]protocol.UUID, n)
	for i := range out {
		out[i] = idUUID(rapid.Int64Range(0, 3).Draw(g.rt, label))
	}
	return out
}

func (g *gen) record(cur *Image) protocol.MetadataRecord {
	rt := g.rt
	names := cur.Topics.Names()
	brokers := cur.Brokers()
	kinds := []string{"topic", "topic", "register", "config", "producer-ids", "feature", "noop", "ignored"}
	if len(names) > 0 {
		kinds = append(kinds, "partition", "partition", "change", "change", "change", "remove-topic")
	}
	if len(brokers) > 0 {
		kinds = append(kinds, "fence", "unfence", "broker-change", "unregister")
	}
	switch rapid.SampledFrom(kinds).Draw(rt, "kind") {
	case "topic":
		var free []string
		for _, n := range topicNames {
			if cur.TopicByName(n) == nil {
				free = append(free, n)
			}
		}
		var ids []int64
		for id := range int64(8) {
			if cur.TopicByID(idUUID(id+1)) == nil {
				ids = append(ids, id+1)
			}
		}
		if len(free) == 0 || len(ids) == 0 {
			return &protocol.NoOpRecord{}
		}
		return &protocol.TopicRecord{Name: rapid.SampledFrom(free).Draw(rt, "name"), TopicID: idUUID(rapid.SampledFrom(ids).Draw(rt, "id"))}
	case "partition":
		t := cur.TopicByName(rapid.SampledFrom(names).Draw(rt, "topic"))
		replicas := g.ints("replicas", 1, 3)
		isr := g.subset("isr", replicas)
		leader := NoLeader
		if len(isr) > 0 {
			leader = rapid.SampledFrom(isr).Draw(rt, "leader")
		}
		r := &protocol.PartitionRecord{
			TopicID: t.id, PartitionID: rapid.Int32Range(0, 3).Draw(rt, "p"),
			Replicas: replicas, Isr: isr, Leader: leader,
			LeaderEpoch:         rapid.Int32Range(0, 5).Draw(rt, "leader-epoch"),
			PartitionEpoch:      rapid.Int32Range(0, 5).Draw(rt, "partition-epoch"),
			LeaderRecoveryState: rapid.Int8Range(0, 1).Draw(rt, "lrs"),
		}
		if rapid.Bool().Draw(rt, "with-dirs") {
			r.Directories = g.dirs("dirs", len(replicas))
		}
		if rapid.Bool().Draw(rt, "with-elr") {
			r.EligibleLeaderReplicas = g.subset("elr", replicas)
		}
		return r
	case "change":
		t := cur.TopicByName(rapid.SampledFrom(names).Draw(rt, "topic"))
		ids := t.PartitionIDs()
		if len(ids) == 0 {
			return &protocol.NoOpRecord{}
		}
		p := rapid.SampledFrom(ids).Draw(rt, "p")
		part, _ := t.Partition(p)
		r := &protocol.PartitionChangeRecord{TopicID: t.id, PartitionID: p, Leader: noLeaderChange, LeaderRecoveryState: noRecoveryChange}
		replicas := part.Replicas
		if rapid.Bool().Draw(rt, "change-replicas") {
			replicas = g.ints("replicas", 0, 3)
			r.Replicas = replicas
			if part.Directories != nil {
				r.Directories = g.dirs("dirs", len(replicas))
			}
		}
		if rapid.Bool().Draw(rt, "change-isr") {
			r.Isr = g.subset("isr", replicas)
		}
		if rapid.Bool().Draw(rt, "change-leader") {
			r.Leader = rapid.SampledFrom(append([]int32{NoLeader}, replicas...)).Draw(rt, "leader")
		}
		if rapid.Bool().Draw(rt, "change-reassignment") {
			r.AddingReplicas = g.subset("adding", replicas)
			r.RemovingReplicas = g.subset("removing", replicas)
		}
		if rapid.Bool().Draw(rt, "change-lrs") {
			r.LeaderRecoveryState = rapid.Int8Range(0, 1).Draw(rt, "lrs")
		}
		if r.Directories == nil && rapid.Bool().Draw(rt, "change-dirs") {
			r.Directories = g.dirs("dirs", len(replicas))
		}
		if rapid.Bool().Draw(rt, "change-elr") {
			r.EligibleLeaderReplicas = g.subset("elr", replicas)
			r.LastKnownElr = g.subset("last-known-elr", replicas)
		}
		return r
	case "remove-topic":
		return &protocol.RemoveTopicRecord{TopicID: cur.TopicByName(rapid.SampledFrom(names).Draw(rt, "topic")).id}
	case "register":
		g.epoch++
		r := &protocol.RegisterBrokerRecord{
			BrokerID: rapid.Int32Range(0, 4).Draw(rt, "broker"), BrokerEpoch: g.epoch,
			IncarnationID:        idUUID(rapid.Int64Range(1, 3).Draw(rt, "incarnation")),
			Fenced:               rapid.Bool().Draw(rt, "fenced"),
			InControlledShutdown: rapid.Bool().Draw(rt, "shutdown"),
		}
		if rapid.Bool().Draw(rt, "rack") {
			rack := rapid.SampledFrom([]string{"", "r1", "r2"}).Draw(rt, "rack-name")
			r.Rack = &rack
		} else {
			r.Rack = nil
		}
		for _, name := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"A", "B", "C"}), 0, 2, rapid.ID[string]).Draw(rt, "endpoints") {
			r.EndPoints = append(r.EndPoints, protocol.RegisterBrokerRecordBrokerEndpoint{Name: name, Host: "h", Port: 9092})
		}
		if rapid.Bool().Draw(rt, "features") {
			r.Features = []protocol.RegisterBrokerRecordBrokerFeature{{Name: MetadataVersionFeature, MinSupportedVersion: 1, MaxSupportedVersion: 21}}
		}
		if rapid.Bool().Draw(rt, "log-dirs") {
			r.LogDirs = g.dirs("log-dirs", 2)
		}
		return r
	case "fence", "unfence", "broker-change", "unregister":
		b := rapid.SampledFrom(brokers).Draw(rt, "broker")
		switch rapid.SampledFrom([]string{"fence", "unfence", "broker-change", "unregister"}).Draw(rt, "op") {
		case "fence":
			return &protocol.FenceBrokerRecord{ID: b.ID, Epoch: b.Epoch}
		case "unfence":
			return &protocol.UnfenceBrokerRecord{ID: b.ID, Epoch: b.Epoch}
		case "unregister":
			return &protocol.UnregisterBrokerRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch}
		}
		r := &protocol.BrokerRegistrationChangeRecord{
			BrokerID: b.ID, BrokerEpoch: b.Epoch,
			Fenced:               rapid.Int8Range(-1, 1).Draw(rt, "fenced"),
			InControlledShutdown: rapid.Int8Range(0, 1).Draw(rt, "shutdown"),
		}
		if rapid.Bool().Draw(rt, "log-dirs") {
			r.LogDirs = g.dirs("log-dirs", rapid.IntRange(0, 2).Draw(rt, "n"))
		}
		return r
	case "config":
		r := &protocol.ConfigRecord{Name: rapid.SampledFrom([]string{"k0", "k1", "k2"}).Draw(rt, "key")}
		if rapid.Bool().Draw(rt, "topic-config") {
			r.ResourceType, r.ResourceName = int8(ResourceTopic), rapid.SampledFrom(topicNames).Draw(rt, "name")
		} else {
			r.ResourceType, r.ResourceName = int8(ResourceBroker), rapid.SampledFrom([]string{"", "0", "1"}).Draw(rt, "name")
		}
		if rapid.IntRange(0, 2).Draw(rt, "delete") == 0 {
			r.Value = nil
		} else {
			v := strconv.Itoa(rapid.IntRange(0, 9).Draw(rt, "value"))
			r.Value = &v
		}
		return r
	case "producer-ids":
		return &protocol.ProducerIdsRecord{NextProducerID: cur.ProducerIDs.NextProducerID + rapid.Int64Range(1, 1000).Draw(rt, "step"), BrokerEpoch: -1}
	case "feature":
		name := rapid.SampledFrom([]string{MetadataVersionFeature, "a", "b"}).Draw(rt, "feature")
		lo := int16(0)
		if name == MetadataVersionFeature {
			lo = 1
		}
		return &protocol.FeatureLevelRecord{Name: name, FeatureLevel: rapid.Int16Range(lo, 3).Draw(rt, "level")}
	case "ignored":
		return &protocol.ClientQuotaRecord{Key: "producer_byte_rate", Value: 1}
	}
	return &protocol.NoOpRecord{}
}

// invalid draws a record that cannot apply after img and entry.
func (g *gen) invalid(img *Image, entry []Record) protocol.MetadataRecord {
	cur, err := img.Apply(img.Offset+1, entry)
	if err != nil {
		g.rt.Fatalf("entry: %v", err)
	}
	var choices []protocol.MetadataRecord
	for t := range cur.Topics.All() {
		choices = append(choices,
			&protocol.TopicRecord{Name: t.name, TopicID: idUUID(100)},
			&protocol.PartitionChangeRecord{TopicID: t.id, PartitionID: 99, Leader: noLeaderChange, LeaderRecoveryState: noRecoveryChange})
	}
	for _, b := range cur.Brokers() {
		choices = append(choices, &protocol.FenceBrokerRecord{ID: b.ID, Epoch: b.Epoch + 1})
	}
	choices = append(choices,
		&protocol.RemoveTopicRecord{TopicID: idUUID(100)},
		&protocol.UnfenceBrokerRecord{ID: 99, Epoch: 1},
		&protocol.ProducerIdsRecord{NextProducerID: cur.ProducerIDs.NextProducerID},
		&protocol.ConfigRecord{ResourceType: 0, ResourceName: "x", Name: "k"},
	)
	return rapid.SampledFrom(choices).Draw(g.rt, "invalid")
}
