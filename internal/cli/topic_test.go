package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/admin"
)

var topicID = regexp.MustCompile(`id [A-Za-z0-9_-]{22}`)

// TestTopicCommands drives every topic command against a node and checks
// the tables, the JSON and the exit codes.
func TestTopicCommands(t *testing.T) {
	b := startNode(t)
	must := mustOn(t, b)
	must("created topic orders", "topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=3600000")
	must("created topic audit", "topic", "create", "--partitions", "1", "audit")
	if got, want := must("orders", "topic", "list"), `TOPIC   PARTITIONS  REPLICATION  UNDER-REPLICATED  OFFLINE
audit   1           1            0                 0
orders  3           1            0                 0
`; got != want {
		t.Fatalf("list:\n%s\nwant:\n%s", got, want)
	}
	got := topicID.ReplaceAllString(must("orders", "topic", "describe", "orders"), "id ID")
	if want := `topic orders  id ID  partitions 3  replication factor 1
configs retention.ms=3600000
PARTITION  LEADER  EPOCH  REPLICAS  ISR  OFFLINE
0          1       0      1         1    -
1          1       0      1         1    -
2          1       0      1         1    -
`; got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}
	must("altered the config of topic orders", "topic", "alter-config", "orders", "--set", "cleanup.policy=compact", "--delete", "retention.ms")
	must("now has 5 partitions", "topic", "add-partitions", "orders", "--total", "5")
	var ts []admin.TopicInfo
	if err := json.Unmarshal([]byte(must("orders", "topic", "describe", "orders", "--json")), &ts); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Partitions != 5 || len(ts[0].PartitionList) != 5 || ts[0].PartitionList[4].Leader != 1 ||
		len(ts[0].Configs) != 1 || ts[0].Configs[0] != (admin.ConfigEntry{Name: "cleanup.policy", Value: "compact", Source: "topic"}) {
		t.Fatalf("describe --json: %+v", ts)
	}
	must("deleted audit", "topic", "delete", "audit")
	var list []admin.TopicSummary
	if err := json.Unmarshal([]byte(must("[", "topic", "list", "--json")), &list); err != nil || len(list) != 1 || list[0].Name != "orders" {
		t.Fatalf("list --json after delete: %v %+v", err, list)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"topic", "create", "orders", "-b", b}, 1, "TOPIC_ALREADY_EXISTS"},
		{[]string{"topic", "describe", "nope", "-b", b}, 1, "topic nope: UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"topic", "create", "bad", "--config", "retention.bytes=x", "-b", b}, 1, "INVALID_CONFIG"},
		{[]string{"topic", "add-partitions", "orders", "--total", "2", "-b", b}, 1, "INVALID_PARTITIONS"},
		{[]string{"topic", "alter-config", "orders", "-b", b}, 1, "nothing to change"},
		{[]string{"topic", "list", "-b", "127.0.0.1:1", "--timeout", "2s"}, 1, "cannot reach the cluster at 127.0.0.1:1"},
		{[]string{"topic", "create", "-b", b}, 2, "wrong number of topic names"},
		{[]string{"topic", "frobnicate"}, 2, `unknown command "frobnicate"`},
	} {
		code, _, errs := run(c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.err)
		}
	}
}
