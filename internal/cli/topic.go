package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-mq/sluice/internal/admin"
)

const topicUsage = `usage: sluice topic <command> [flags] [topic ...]

commands:
  list             the topics, their partitions and replication (--internal: with internal topics)
  describe TOPIC…  partitions, leaders, replicas, in-sync replicas and the topic's own configs
  create TOPIC     --partitions N --replication-factor R --config key=value (repeatable)
  delete TOPIC…    delete topics
  alter-config TOPIC  --set key=value (repeatable) --delete key (repeatable)
  add-partitions TOPIC  --total N

every command: -b/--bootstrap-server host:port[,host:port] (default 127.0.0.1:9092),
--json, --timeout (default 15s)
`

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	bootstrap string
	json      bool
	timeout   time.Duration
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.bootstrap, "bootstrap-server", "127.0.0.1:9092", "brokers to bootstrap from, comma-separated")
	fs.StringVar(&a.bootstrap, "b", "127.0.0.1:9092", "short for --bootstrap-server")
	fs.BoolVar(&a.json, "json", false, "print JSON instead of a table")
	fs.DurationVar(&a.timeout, "timeout", 15*time.Second, "how long to wait for the cluster")
}

// brokers are the bootstrap addresses.
func (a *adminFlags) brokers() []string { return strings.Split(a.bootstrap, ",") }

func (a *adminFlags) dial() (*admin.Client, error) {
	return admin.Dial(a.brokers(), a.timeout)
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runTopic runs `sluice topic …`.
func runTopic(args []string, stdout, stderr io.Writer) int {
	a := newAdminCmd("topic", topicUsage, args, stdout, stderr)
	if a == nil {
		return 2
	}
	fs := a.fs
	var (
		internal   bool
		partitions int
		rf         int
		total      int
		configs    setFlags
		sets       setFlags
		deletes    listFlag
	)
	switch a.cmd {
	case "list":
		fs.BoolVar(&internal, "internal", false, "list internal topics too")
	case "create":
		fs.IntVar(&partitions, "partitions", -1, "partitions (-1: the broker's num.partitions)")
		fs.IntVar(&rf, "replication-factor", -1, "replication factor (-1: the broker's default.replication.factor)")
		fs.Var(&configs, "config", "a topic config, key=value (repeatable)")
	case "alter-config":
		fs.Var(&sets, "set", "set a config, key=value (repeatable)")
		fs.Var(&deletes, "delete", "return a config to its default (repeatable)")
	case "add-partitions":
		fs.IntVar(&total, "total", 0, "the partition count to reach")
	case "describe", "delete":
	default:
		return a.unknown()
	}
	wantNames := map[string]int{"list": 0, "describe": -1, "delete": -1, "create": 1, "alter-config": 1, "add-partitions": 1}[a.cmd]
	names, ok := a.names(args[1:], wantNames)
	if !ok {
		return 2
	}
	if a.cmd == "add-partitions" && total <= 0 {
		fmt.Fprintln(stderr, "sluice topic add-partitions: --total N (the partition count to reach) is required")
		return 2
	}
	cl := a.dial()
	if cl == nil {
		return 1
	}
	defer cl.Close()
	ctx := context.Background()
	switch a.cmd {
	case "list":
		ts, err := cl.ListTopics(ctx, internal)
		if err != nil {
			return a.fail(err)
		}
		return a.emit(ts, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION\tUNDER-REPLICATED\tOFFLINE")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", t.Name, t.Partitions, t.ReplicationFactor, t.UnderReplicated, t.Offline)
			}
			tw.Flush()
		})
	case "describe":
		ts, err := cl.DescribeTopics(ctx, names...)
		return a.emitFound(len(ts), ts, func(w io.Writer) { printTopics(w, ts) }, err)
	case "create":
		if err := cl.CreateTopic(ctx, names[0], int32(partitions), int16(rf), configs.m()); err != nil {
			return a.fail(err)
		}
		return a.done(names, "created topic %s", names[0])
	case "delete":
		if err := cl.DeleteTopics(ctx, names...); err != nil {
			return a.fail(err)
		}
		return a.done(names, "deleted %s", joinNames(names))
	case "alter-config":
		if err := cl.AlterTopicConfig(ctx, names[0], sets.m(), deletes); err != nil {
			return a.fail(err)
		}
		return a.done(names, "altered the config of topic %s", names[0])
	case "add-partitions":
		if err := cl.AddPartitions(ctx, names[0], total); err != nil {
			return a.fail(err)
		}
		return a.done(names, "topic %s now has %d partitions", names[0], total)
	}
	return 2
}

func printTopics(w io.Writer, ts []admin.TopicInfo) {
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var cfg []string
		for _, c := range t.Configs {
			cfg = append(cfg, c.Name+"="+c.Value)
		}
		fmt.Fprintf(w, "topic %s  id %s  partitions %d  replication factor %d", t.Name, t.ID, t.Partitions, t.ReplicationFactor)
		if t.Internal {
			fmt.Fprint(w, "  internal")
		}
		fmt.Fprintln(w)
		if len(cfg) > 0 {
			fmt.Fprintf(w, "configs %s\n", strings.Join(cfg, ", "))
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PARTITION\tLEADER\tEPOCH\tREPLICAS\tISR\tOFFLINE")
		for _, p := range t.PartitionList {
			leader := strconv.Itoa(int(p.Leader))
			if p.Leader < 0 {
				leader = "none"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", p.Partition, leader, p.LeaderEpoch, ids(p.Replicas), ids(p.ISR), ids(p.OfflineReplicas))
		}
		tw.Flush()
	}
}

func ids(s []int32) string {
	if len(s) == 0 {
		return "-"
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
