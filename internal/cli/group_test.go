package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/internal/admin"
)

// memberID matches the member ids the coordinator gives the client
// "reader": its client id and a random UUID.
var memberID = regexp.MustCompile(`reader-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// produceAt writes n[p] records to each partition p of topic, the i-th
// of a partition stamped base+i seconds.
func produceAt(t *testing.T, addr, topic string, base time.Time, n map[int32]int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for p, count := range n {
		for i := range count {
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * time.Second)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// joinAndCommit starts a consumer of group "readers" with client id
// "reader", reads want records and commits the offsets given; the
// consumer stays in the group until the test closes it.
func joinAndCommit(t *testing.T, addr string, want int, commit map[int32]int64) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("reader"), kgo.ConsumerGroup("readers"),
		kgo.ConsumeTopics("orders"), kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for got := 0; got < want; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		got += fs.NumRecords()
	}
	offsets := map[string]map[int32]kgo.EpochOffset{"orders": {}}
	for p, o := range commit {
		offsets["orders"][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil && commitErr == nil {
					commitErr = err
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}
	return cl
}

// TestGroupCommands drives every group command against a node with a
// real consumer group: the tables while it has a member and once it is
// empty, lag, the JSON, resets (dry run and executed) and the errors.
func TestGroupCommands(t *testing.T) {
	b := startNode(t)
	must := mustOn(t, b)
	fails := func(code int, want string, args ...string) {
		t.Helper()
		got, out, errs := run(append(args, "-b", b)...)
		if got != code || !strings.Contains(errs, want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", args, got, out, errs, code, want)
		}
	}
	expect := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s:\n%s\nwant:\n%s", what, got, want)
		}
	}

	must("created topic orders", "topic", "create", "orders", "--partitions", "3")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	produceAt(t, b, "orders", base, map[int32]int{0: 5, 1: 3})
	expect("list with no groups", must("GROUP", "group", "list"), "GROUP  STATE  PROTOCOL-TYPE  MEMBERS\n")

	consumer := joinAndCommit(t, b, 8, map[int32]int64{0: 3, 1: 3})
	expect("list", must("readers", "group", "list"), `GROUP    STATE   PROTOCOL-TYPE  MEMBERS
readers  Stable  consumer       1
`)
	expect("describe", memberID.ReplaceAllString(must("readers", "group", "describe", "readers"), "MEMBER"),
		`group readers  state Stable  protocol-type consumer  protocol cooperative-sticky  coordinator 1
CLIENT-ID  HOST        ASSIGNMENT    MEMBER-ID
reader     /127.0.0.1  orders:0,1,2  MEMBER
TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID
orders  0          3               5               2    MEMBER
orders  1          3               3               0    MEMBER
orders  2          -               0               -    MEMBER
`)
	var gs []admin.GroupInfo
	if err := json.Unmarshal([]byte(must("readers", "group", "describe", "readers", "--json")), &gs); err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || len(gs[0].Members) != 1 || len(gs[0].Partitions) != 3 {
		t.Fatalf("describe --json: %+v", gs)
	}
	m := gs[0].Members[0]
	if !memberID.MatchString(m.MemberID) || m.ClientID != "reader" || len(m.Assignment) != 1 ||
		m.Assignment[0].Topic != "orders" || ids(m.Assignment[0].Partitions) != "0,1,2" {
		t.Fatalf("describe --json member: %+v", m)
	}
	for i, want := range []admin.GroupPartition{
		{Topic: "orders", Partition: 0, Committed: 3, LogEndOffset: 5, Lag: 2, MemberID: m.MemberID},
		{Topic: "orders", Partition: 1, Committed: 3, LogEndOffset: 3, Lag: 0, MemberID: m.MemberID},
		{Topic: "orders", Partition: 2, Committed: -1, LogEndOffset: 0, Lag: -1, MemberID: m.MemberID},
	} {
		if got := gs[0].Partitions[i]; got != want {
			t.Errorf("describe --json partition %d: %+v, want %+v", i, got, want)
		}
	}

	// A live member: no reset (not even a dry run, as Kafka) and no delete.
	fails(1, "group is active (state Stable, 1 member): stop its consumers first", "group", "reset-offsets", "readers", "--all-topics", "--to-earliest")
	fails(1, "delete group readers: NON_EMPTY_GROUP", "group", "delete", "readers")

	consumer.Close() // leaves the group
	expect("describe empty", must("readers", "group", "describe", "readers"),
		`group readers  state Empty  protocol-type consumer  coordinator 1
no active members
TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID
orders  0          3               5               2    -
orders  1          3               3               0    -
`)
	describeEmpty := must("readers", "group", "describe", "readers")

	// A dry run prints the plan and changes nothing.
	expect("dry run", must("dry run", "group", "reset-offsets", "readers", "--topic", "orders", "--to-earliest"),
		`TOPIC   PARTITION  CURRENT  NEW
orders  0          3        0
orders  1          3        0
orders  2          -        0
dry run: nothing committed (--execute commits these offsets)
`)
	expect("describe after a dry run", must("readers", "group", "describe", "readers"), describeEmpty)

	// Executed: out of range offsets are clamped to [log start, end].
	expect("to-offset", must("committed", "group", "reset-offsets", "readers", "--topic", "orders:0,2", "--to-offset", "100", "--execute"),
		`TOPIC   PARTITION  CURRENT  NEW
orders  0          3        5
orders  2          -        0
committed the new offsets of group readers
`)
	expect("shift-by", must("committed", "group", "reset-offsets", "--all-topics", "readers", "--shift-by", "-4", "--execute"),
		`TOPIC   PARTITION  CURRENT  NEW
orders  0          5        1
orders  1          3        0
orders  2          0        0
committed the new offsets of group readers
`)
	at := base.Add(2 * time.Second).UTC().Format(time.RFC3339)
	var plan admin.ResetPlan
	if err := json.Unmarshal([]byte(must("executed", "group", "reset-offsets", "readers", "--topic", "orders:0,1", "--to-datetime", at, "--execute", "--json")), &plan); err != nil {
		t.Fatal(err)
	}
	if want := (admin.ResetPlan{Group: "readers", Executed: true, Offsets: []admin.OffsetReset{
		{Topic: "orders", Partition: 0, Current: 1, New: 2},
		{Topic: "orders", Partition: 1, Current: 0, New: 2},
	}}); !plansEqual(plan, want) {
		t.Fatalf("to-datetime --json: %+v, want %+v", plan, want)
	}
	must("committed", "group", "reset-offsets", "readers", "--topic", "orders:1", "--to-latest", "--execute")
	expect("describe after resets", must("readers", "group", "describe", "readers"),
		`group readers  state Empty  protocol-type consumer  coordinator 1
no active members
TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID
orders  0          2               5               3    -
orders  1          3               3               0    -
orders  2          0               0               0    -
`)

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"group", "describe", "nope"}, 1, "group nope: GROUP_ID_NOT_FOUND"},
		{[]string{"group", "reset-offsets", "readers", "--topic", "nope", "--to-earliest"}, 1, "topic nope: UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"group", "reset-offsets", "readers", "--topic", "orders:7", "--to-earliest"}, 1, "topic orders has no partition 7"},
		{[]string{"group", "reset-offsets", "fresh", "--topic", "orders", "--shift-by", "1"}, 1, "cannot shift the offset of orders-0"},
		{[]string{"group", "reset-offsets", "fresh", "--all-topics", "--to-latest"}, 1, "group fresh has no committed offsets"},
		{[]string{"group", "reset-offsets", "readers", "--topic", "orders"}, 2, "want exactly one of --to-earliest"},
		{[]string{"group", "reset-offsets", "readers", "--topic", "orders", "--to-earliest", "--to-offset", "3"}, 2, "(got 2)"},
		{[]string{"group", "reset-offsets", "readers", "--to-earliest"}, 2, "want either --topic (repeatable) or --all-topics"},
		{[]string{"group", "reset-offsets", "readers", "--all-topics", "--topic", "orders", "--to-earliest"}, 2, "want either --topic"},
		{[]string{"group", "reset-offsets", "readers", "--topic", "orders:x", "--to-earliest"}, 2, `"x" is not a partition number`},
		{[]string{"group", "reset-offsets", "readers", "--all-topics", "--to-datetime", "yesterday"}, 2, "want an RFC3339 time"},
		{[]string{"group", "reset-offsets", "--all-topics", "--to-earliest"}, 2, "wrong number of group names (0)"},
		{[]string{"group", "describe"}, 2, "wrong number of group names (0)"},
		{[]string{"group", "frobnicate"}, 2, `unknown command "frobnicate"`},
	} {
		fails(c.code, c.err, c.args...)
	}
	// A group that never existed has nothing to describe afterwards.
	fails(1, "group fresh: GROUP_ID_NOT_FOUND", "group", "describe", "fresh")

	must("deleted readers", "group", "delete", "readers")
	fails(1, "group readers: GROUP_ID_NOT_FOUND", "group", "describe", "readers")
	fails(1, "delete group readers: GROUP_ID_NOT_FOUND", "group", "delete", "readers")
	var list []admin.GroupSummary
	if err := json.Unmarshal([]byte(must("[]", "group", "list", "--json")), &list); err != nil || len(list) != 0 {
		t.Fatalf("list --json after delete: %v %+v", err, list)
	}

	for _, args := range [][]string{
		{"group", "list"},
		{"group", "describe", "readers"},
		{"group", "reset-offsets", "readers", "--all-topics", "--to-latest"},
		{"group", "delete", "readers"},
	} {
		code, _, errs := run(append(args, "-b", "127.0.0.1:1", "--timeout", "2s")...)
		if code != 1 || !strings.Contains(errs, "cannot reach the cluster at 127.0.0.1:1: unable to dial") {
			t.Errorf("%q unreachable: exit %d, stderr %q", args, code, errs)
		}
	}
}

func plansEqual(a, b admin.ResetPlan) bool {
	if a.Group != b.Group || a.Executed != b.Executed || len(a.Offsets) != len(b.Offsets) {
		return false
	}
	for i := range a.Offsets {
		if a.Offsets[i] != b.Offsets[i] {
			return false
		}
	}
	return true
}

func TestParseResetTime(t *testing.T) {
	utc := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	local := time.Date(2030, 1, 2, 3, 4, 5, 0, time.Local)
	for in, want := range map[string]time.Time{
		"2030-01-02T03:04:05Z":          utc,
		"2030-01-02T05:04:05+02:00":     utc,
		"2030-01-02T03:04:05.000":       local,
		"2030-01-02T03:04:05":           local,
		"2030-01-02T03:04:05.000+00:00": utc,
	} {
		got, err := parseResetTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseResetTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2030-01-02", "2030-13-02T03:04:05"} {
		if _, err := parseResetTime(bad); err == nil {
			t.Errorf("parseResetTime(%q) accepted", bad)
		}
	}
}
