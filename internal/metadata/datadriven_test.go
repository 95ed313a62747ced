package metadata

import (
	"encoding/binary"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestApplyDataDriven runs the scripts of testdata/apply: sequences of log
// entries applied to an image, with what each entry changed and the whole
// image printed at the interesting points. Each script says at its top what
// it demonstrates.
//
// Commands:
//
//	apply [offset=N] [local=B,…]
//	<record>
//	…
//	    Applies one log entry holding the records (one per line; none is
//	    an empty entry) at offset N (default: the image's offset + 1).
//	    Prints the delta's report: topics created, changed (with the
//	    partitions) and removed, brokers, configs and features changed,
//	    producer ids; with local=, each broker's LocalChanges. On error,
//	    prints it; the image stays as it was.
//	print | live-brokers | led-by broker=N | on broker=N
//	configs topic=NAME | configs broker=N
//	reset
//
// Records (ids are small integers; an id N is the UUID whose last 8 bytes
// hold N; lists are comma-separated, "x=" is an empty list, an absent key
// leaves a PartitionChangeRecord field unchanged):
//
//	topic name=S id=N
//	partition topic=N p=N replicas=L isr=L [leader=N] [leader-epoch=N]
//	          [partition-epoch=N] [adding=L] [removing=L] [lrs=N] [dirs=L]
//	          [elr=L] [last-known-elr=L]
//	change topic=N p=N [isr=L] [leader=N] [replicas=L] [adding=L]
//	       [removing=L] [lrs=N] [dirs=L] [elr=L] [last-known-elr=L]
//	remove-topic id=N
//	register-broker id=N epoch=N incarnation=N [host=S port=N]
//	                [endpoints=NAME:HOST:PORT[:PROTO],…] [rack=S]
//	                [fenced=BOOL] [shutdown=BOOL] [features=NAME:MIN-MAX,…]
//	                [dirs=L]
//	unregister-broker id=N epoch=N | fence id=N epoch=N | unfence id=N epoch=N
//	broker-change id=N epoch=N [fenced=1|0|-1] [shutdown=N] [dirs=L]
//	config type=topic|broker|N name=S key=S [value=S]   (no value: delete)
//	producer-ids next=N
//	feature name=S level=N
//	noop | quota | begin-txn
//
// Every record is framed with EncodeRecord and decoded with DecodeRecord
// before it is applied, and after every apply the previous image must
// print as it did before.
func TestApplyDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/apply", func(t *testing.T, path string) {
		img := &Image{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var out string
			img, out = runDD(t, d, img)
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			return out
		})
	})
}

func runDD(t *testing.T, d *datadriven.TestData, img *Image) (*Image, string) {
	switch d.Cmd {
	case "reset":
		return &Image{}, "ok"
	case "print":
		return img, dumpImage(img)
	case "live-brokers":
		var ids []string
		for _, b := range img.LiveBrokers() {
			ids = append(ids, strconv.Itoa(int(b.ID)))
		}
		return img, "live: " + strings.Join(ids, ",")
	case "led-by", "on":
		var broker int
		d.ScanArgs(t, "broker", &broker)
		list := img.PartitionsLedBy(int32(broker))
		if d.Cmd == "on" {
			list = img.PartitionsOn(int32(broker))
		}
		var parts []string
		for _, tp := range list {
			parts = append(parts, fmtTP(tp))
		}
		return img, d.Cmd + " " + strconv.Itoa(broker) + ": " + strings.Join(parts, " ")
	case "configs":
		var m map[string]string
		if d.HasArg("topic") {
			var name string
			d.ScanArgs(t, "topic", &name)
			m = img.TopicConfigs(name)
		} else {
			var id int
			d.ScanArgs(t, "broker", &id)
			m = img.BrokerConfigs(int32(id))
		}
		return img, fmtConfig(m)
	case "apply":
		offset := img.Offset + 1
		if d.HasArg("offset") {
			d.ScanArgs(t, "offset", &offset)
		}
		var records []Record
		for _, line := range strings.Split(d.Input, "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			m := parseRecord(t, d, line)
			rec, err := DecodeRecord(EncodeRecord(nil, m, LatestVersion(m)))
			if err != nil {
				d.Fatalf(t, "%s: framing: %v", line, err)
			}
			records = append(records, rec)
		}
		before := dumpImage(img)
		// Build through a Delta for the report, and check Image.Apply
		// agrees with it.
		next, err := img.Apply(offset, records)
		var sb strings.Builder
		if err != nil {
			fmt.Fprintf(&sb, "error: %v\n", err)
		} else {
			delta := NewDelta(img)
			for _, r := range records {
				if err := delta.Replay(r.Message); err != nil {
					d.Fatalf(t, "delta replay: %v", err)
				}
			}
			viaDelta, err := delta.Apply(offset)
			if err != nil || !reflect.DeepEqual(viaDelta, next) {
				d.Fatalf(t, "Delta.Apply differs from Image.Apply (%v)", err)
			}
			sb.WriteString(dumpDelta(delta))
			if d.HasArg("local") {
				var brokers []string
				d.ScanArgs(t, "local", &brokers)
				for _, b := range brokers {
					id, err := strconv.Atoi(b)
					if err != nil {
						d.Fatalf(t, "local: %v", err)
					}
					sb.WriteString(dumpLocal(int32(id), delta.LocalChanges(int32(id))))
				}
			}
		}
		if after := dumpImage(img); after != before {
			d.Fatalf(t, "apply changed its base image:\n%s\nwas:\n%s", after, before)
		}
		if err != nil {
			return img, sb.String()
		}
		return next, sb.String()
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return nil, ""
}

// idUUID returns the UUID standing for the small id n.
func idUUID(n int64) protocol.UUID {
	var u protocol.UUID
	binary.BigEndian.PutUint64(u[8:], uint64(n))
	return u
}

// fmtID prints a UUID as its small id when it is one, else as Kafka would.
func fmtID(u protocol.UUID) string {
	if binary.BigEndian.Uint64(u[:8]) == 0 {
		return strconv.FormatUint(binary.BigEndian.Uint64(u[8:]), 10)
	}
	return formatUUID(u)
}

// recordArgs is a record line's key=value pairs; each must be used once.
type recordArgs struct {
	t    *testing.T
	d    *datadriven.TestData
	line string
	kv   map[string]string
}

func (a *recordArgs) fatalf(format string, args ...any) {
	a.d.Fatalf(a.t, "%s: %s", a.line, fmt.Sprintf(format, args...))
}

func (a *recordArgs) take(key string) (string, bool) {
	v, ok := a.kv[key]
	delete(a.kv, key)
	return v, ok
}

func (a *recordArgs) str(key string) string {
	v, ok := a.take(key)
	if !ok {
		a.fatalf("missing %s=", key)
	}
	return v
}

func (a *recordArgs) int(key string, def int64) int64 {
	v, ok := a.take(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		a.fatalf("%s: %v", key, err)
	}
	return n
}

func (a *recordArgs) must(key string) int64 {
	if _, ok := a.kv[key]; !ok {
		a.fatalf("missing %s=", key)
	}
	return a.int(key, 0)
}

func (a *recordArgs) bool(key string, def bool) bool {
	v, ok := a.take(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		a.fatalf("%s: %v", key, err)
	}
	return b
}

// list returns the list under key: nil when absent, empty when "key=".
func (a *recordArgs) list(key string) []int32 {
	v, ok := a.take(key)
	if !ok {
		return nil
	}
	out := []int32{}
	for _, s := range strings.Split(v, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			a.fatalf("%s: %v", key, err)
		}
		out = append(out, int32(n))
	}
	return out
}

func (a *recordArgs) uuids(key string) []protocol.UUID {
	l := a.list(key)
	if l == nil {
		return nil
	}
	out := []protocol.UUID{}
	for _, n := range l {
		out = append(out, idUUID(int64(n)))
	}
	return out
}

func parseRecord(t *testing.T, d *datadriven.TestData, line string) protocol.MetadataRecord {
	fields := strings.Fields(line)
	a := &recordArgs{t: t, d: d, line: line, kv: map[string]string{}}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			a.fatalf("%q is not key=value", f)
		}
		a.kv[k] = v
	}
	m := buildRecord(a, fields[0])
	if len(a.kv) > 0 {
		a.fatalf("unknown keys %v", a.kv)
	}
	return m
}

func buildRecord(a *recordArgs, kind string) protocol.MetadataRecord {
	switch kind {
	case "topic":
		return &protocol.TopicRecord{Name: a.str("name"), TopicID: idUUID(a.must("id"))}
	case "partition":
		r := &protocol.PartitionRecord{
			TopicID:          idUUID(a.must("topic")),
			PartitionID:      int32(a.must("p")),
			Replicas:         a.list("replicas"),
			Isr:              a.list("isr"),
			AddingReplicas:   a.list("adding"),
			RemovingReplicas: a.list("removing"),
			Leader:           int32(a.int("leader", -1)),
			LeaderEpoch:      int32(a.int("leader-epoch", 0)),
			PartitionEpoch:   int32(a.int("partition-epoch", 0)),

			LeaderRecoveryState:    int8(a.int("lrs", 0)),
			Directories:            a.uuids("dirs"),
			EligibleLeaderReplicas: a.list("elr"),
			LastKnownElr:           a.list("last-known-elr"),
		}
		return r
	case "change":
		return &protocol.PartitionChangeRecord{
			TopicID:          idUUID(a.must("topic")),
			PartitionID:      int32(a.must("p")),
			Isr:              a.list("isr"),
			Leader:           int32(a.int("leader", -2)),
			Replicas:         a.list("replicas"),
			AddingReplicas:   a.list("adding"),
			RemovingReplicas: a.list("removing"),

			LeaderRecoveryState:    int8(a.int("lrs", -1)),
			Directories:            a.uuids("dirs"),
			EligibleLeaderReplicas: a.list("elr"),
			LastKnownElr:           a.list("last-known-elr"),
		}
	case "remove-topic":
		return &protocol.RemoveTopicRecord{TopicID: idUUID(a.must("id"))}
	case "register-broker":
		r := &protocol.RegisterBrokerRecord{
			BrokerID:             int32(a.must("id")),
			BrokerEpoch:          a.must("epoch"),
			IncarnationID:        idUUID(a.must("incarnation")),
			Fenced:               a.bool("fenced", true),
			InControlledShutdown: a.bool("shutdown", false),
			LogDirs:              a.uuids("dirs"),
		}
		if rack, ok := a.take("rack"); ok {
			r.Rack = &rack
		} else {
			r.Rack = nil
		}
		if host, ok := a.take("host"); ok {
			r.EndPoints = append(r.EndPoints, protocol.RegisterBrokerRecordBrokerEndpoint{
				Name: "PLAINTEXT", Host: host, Port: uint16(a.must("port"))})
		}
		if eps, ok := a.take("endpoints"); ok {
			for _, ep := range strings.Split(eps, ",") {
				parts := strings.Split(ep, ":")
				if len(parts) < 3 {
					a.fatalf("endpoint %q is not NAME:HOST:PORT[:PROTO]", ep)
				}
				port, _ := strconv.Atoi(parts[2])
				proto := 0
				if len(parts) > 3 {
					proto, _ = strconv.Atoi(parts[3])
				}
				r.EndPoints = append(r.EndPoints, protocol.RegisterBrokerRecordBrokerEndpoint{
					Name: parts[0], Host: parts[1], Port: uint16(port), SecurityProtocol: int16(proto)})
			}
		}
		if fs, ok := a.take("features"); ok {
			for _, f := range strings.Split(fs, ",") {
				name, rng, _ := strings.Cut(f, ":")
				lo, hi, _ := strings.Cut(rng, "-")
				l, _ := strconv.Atoi(lo)
				h, _ := strconv.Atoi(hi)
				r.Features = append(r.Features, protocol.RegisterBrokerRecordBrokerFeature{
					Name: name, MinSupportedVersion: int16(l), MaxSupportedVersion: int16(h)})
			}
		}
		return r
	case "unregister-broker":
		return &protocol.UnregisterBrokerRecord{BrokerID: int32(a.must("id")), BrokerEpoch: a.must("epoch")}
	case "fence":
		return &protocol.FenceBrokerRecord{ID: int32(a.must("id")), Epoch: a.must("epoch")}
	case "unfence":
		return &protocol.UnfenceBrokerRecord{ID: int32(a.must("id")), Epoch: a.must("epoch")}
	case "broker-change":
		return &protocol.BrokerRegistrationChangeRecord{
			BrokerID:             int32(a.must("id")),
			BrokerEpoch:          a.must("epoch"),
			Fenced:               int8(a.int("fenced", 0)),
			InControlledShutdown: int8(a.int("shutdown", 0)),
			LogDirs:              a.uuids("dirs"),
		}
	case "config":
		r := &protocol.ConfigRecord{ResourceName: a.str("name"), Name: a.str("key")}
		switch typ := a.str("type"); typ {
		case "topic":
			r.ResourceType = int8(ResourceTopic)
		case "broker":
			r.ResourceType = int8(ResourceBroker)
		default:
			n, err := strconv.Atoi(typ)
			if err != nil {
				a.fatalf("type: %v", err)
			}
			r.ResourceType = int8(n)
		}
		if v, ok := a.take("value"); ok {
			r.Value = &v
		} else {
			r.Value = nil
		}
		return r
	case "producer-ids":
		return &protocol.ProducerIdsRecord{NextProducerID: a.must("next"), BrokerEpoch: -1}
	case "feature":
		return &protocol.FeatureLevelRecord{Name: a.str("name"), FeatureLevel: int16(a.must("level"))}
	case "noop":
		return &protocol.NoOpRecord{}
	case "quota":
		return &protocol.ClientQuotaRecord{Key: "producer_byte_rate", Value: 1024}
	case "begin-txn":
		return &protocol.BeginTransactionRecord{}
	}
	a.fatalf("unknown record kind %q", kind)
	return nil
}

func fmtInts(s []int32) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.Itoa(int(n))
	}
	return strings.Join(parts, ",")
}

func fmtIDs(s []protocol.UUID) string {
	parts := make([]string, len(s))
	for i, u := range s {
		parts[i] = fmtID(u)
	}
	return strings.Join(parts, ",")
}

func fmtTP(tp TopicPartition) string {
	return fmt.Sprintf("%s(%s)-%d", tp.Topic, fmtID(tp.TopicID), tp.Partition)
}

func fmtConfig(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	if parts == nil {
		return "(none)"
	}
	return strings.Join(parts, " ")
}

func fmtPartition(p Partition) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "replicas=%s isr=%s leader=%d leader-epoch=%d partition-epoch=%d",
		fmtInts(p.Replicas), fmtInts(p.ISR), p.Leader, p.LeaderEpoch, p.PartitionEpoch)
	if p.AddingReplicas != nil {
		fmt.Fprintf(&sb, " adding=%s", fmtInts(p.AddingReplicas))
	}
	if p.RemovingReplicas != nil {
		fmt.Fprintf(&sb, " removing=%s", fmtInts(p.RemovingReplicas))
	}
	if p.LeaderRecoveryState != Recovered {
		fmt.Fprintf(&sb, " %s", p.LeaderRecoveryState)
	}
	if p.Directories != nil {
		fmt.Fprintf(&sb, " dirs=%s", fmtIDs(p.Directories))
	}
	if p.ELR != nil {
		fmt.Fprintf(&sb, " elr=%s", fmtInts(p.ELR))
	}
	if p.LastKnownELR != nil {
		fmt.Fprintf(&sb, " last-known-elr=%s", fmtInts(p.LastKnownELR))
	}
	return sb.String()
}

// dumpImage prints the whole image deterministically.
func dumpImage(img *Image) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "offset %d\n", img.Offset)
	if names := img.Features.Names(); names != nil {
		sb.WriteString("features:")
		for _, n := range names {
			l, _ := img.Features.Level(n)
			fmt.Fprintf(&sb, " %s=%d", n, l)
		}
		sb.WriteString("\n")
	}
	if img.ProducerIDs.NextProducerID != 0 {
		fmt.Fprintf(&sb, "producer-ids: next=%d\n", img.ProducerIDs.NextProducerID)
	}
	for _, b := range img.Brokers() {
		fmt.Fprintf(&sb, "broker %d: epoch=%d incarnation=%s", b.ID, b.Epoch, fmtID(b.IncarnationID))
		if b.Fenced {
			sb.WriteString(" fenced")
		}
		if b.InControlledShutdown {
			sb.WriteString(" controlled-shutdown")
		}
		if b.Rack != nil {
			fmt.Fprintf(&sb, " rack=%q", *b.Rack)
		}
		for _, e := range b.Endpoints {
			fmt.Fprintf(&sb, " %s://%s:%d", e.Name, e.Host, e.Port)
			if e.SecurityProtocol != 0 {
				fmt.Fprintf(&sb, "(protocol %d)", e.SecurityProtocol)
			}
		}
		for _, f := range b.Features {
			fmt.Fprintf(&sb, " feature:%s=%d-%d", f.Name, f.Min, f.Max)
		}
		if b.LogDirs != nil {
			fmt.Fprintf(&sb, " dirs=%s", fmtIDs(b.LogDirs))
		}
		sb.WriteString("\n")
	}
	for t := range img.Topics.All() {
		fmt.Fprintf(&sb, "topic %s: id=%s partitions=%d\n", t.Name(), fmtID(t.ID()), t.NumPartitions())
		for p, part := range t.Partitions() {
			fmt.Fprintf(&sb, "  %d: %s\n", p, fmtPartition(part))
		}
	}
	for _, res := range img.Configs.Resources() {
		fmt.Fprintf(&sb, "config %s: %s\n", res, fmtConfig(img.Configs.Resource(res)))
	}
	return sb.String()
}

// dumpDelta prints what a delta reports changed.
func dumpDelta(d *Delta) string {
	var sb strings.Builder
	for _, tc := range d.ChangedTopics() {
		verb := "changed"
		if tc.Created {
			verb = "created"
		}
		fmt.Fprintf(&sb, "%s topic %s (%s)", verb, tc.Name, fmtID(tc.ID))
		if tc.Partitions != nil {
			fmt.Fprintf(&sb, ": partitions %s", fmtInts(tc.Partitions))
		}
		sb.WriteString("\n")
	}
	for _, rt := range d.RemovedTopics() {
		fmt.Fprintf(&sb, "removed topic %s (%s)\n", rt.Name, fmtID(rt.ID))
	}
	if ids := d.ChangedBrokers(); len(ids) > 0 {
		fmt.Fprintf(&sb, "changed brokers %s\n", fmtInts(ids))
	}
	if res := d.ChangedConfigs(); len(res) > 0 {
		parts := make([]string, len(res))
		for i, r := range res {
			parts[i] = r.String()
		}
		fmt.Fprintf(&sb, "changed configs %s\n", strings.Join(parts, " "))
	}
	if fs := d.ChangedFeatures(); len(fs) > 0 {
		fmt.Fprintf(&sb, "changed features %s\n", strings.Join(fs, " "))
	}
	if d.ProducerIDsChanged() {
		sb.WriteString("changed producer ids\n")
	}
	if sb.Len() == 0 {
		return "no changes\n"
	}
	return sb.String()
}

func dumpLocal(broker int32, lc LocalChanges) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "local %d:", broker)
	for _, l := range lc.Leaders {
		fmt.Fprintf(&sb, " lead %s", fmtTP(l.TopicPartition))
		if l.Elected {
			sb.WriteString("(elected)")
		}
	}
	for _, f := range lc.Followers {
		fmt.Fprintf(&sb, " follow %s", fmtTP(f.TopicPartition))
	}
	for _, tp := range lc.Deletes {
		fmt.Fprintf(&sb, " delete %s", fmtTP(tp))
	}
	if len(lc.Leaders)+len(lc.Followers)+len(lc.Deletes) == 0 {
		sb.WriteString(" nothing")
	}
	sb.WriteString("\n")
	return sb.String()
}
