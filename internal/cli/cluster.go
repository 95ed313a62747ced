package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"text/tabwriter"

	"github.com/sluice-mq/sluice/internal/admin"
)

const clusterUsage = `usage: sluice cluster <command> [flags]

commands:
  describe  the cluster id, the brokers, the active controller (from DescribeQuorum)
            and the under-replicated and offline partitions

every command: -b/--bootstrap-server host:port[,host:port] (default 127.0.0.1:9092),
--json, --timeout (default 15s)
`

// noQuorum is printed when the broker asked does not serve
// DescribeQuorum. Metadata's controller id is no substitute: KRaft
// brokers put a random broker there.
const noQuorum = "controller: unknown (the broker does not answer DescribeQuorum)"

// runCluster runs `sluice cluster …`.
func runCluster(args []string, stdout, stderr io.Writer) int {
	a := newAdminCmd("cluster", clusterUsage, args, stdout, stderr)
	if a == nil {
		return 2
	}
	if a.cmd != "describe" {
		return a.unknown()
	}
	pos, err := parseInterleaved(a.fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		return a.usageErr("unexpected arguments %q", pos)
	}
	cl := a.dial()
	if cl == nil {
		return 1
	}
	defer cl.Close()
	info, err := cl.DescribeCluster(context.Background())
	if err != nil {
		return a.fail(err)
	}
	return a.emit(info, func(w io.Writer) { printCluster(w, info) })
}

func printCluster(w io.Writer, info admin.ClusterInfo) {
	fmt.Fprintf(w, "cluster id: %s\n", info.ClusterID)
	if q := info.Controller; q == nil {
		fmt.Fprintln(w, noQuorum)
	} else {
		leader := strconv.Itoa(int(q.LeaderID))
		if q.LeaderID < 0 {
			leader = "none (the quorum has no leader)"
		}
		fmt.Fprintf(w, "controller: %s  leader epoch %d  high watermark %d\n", leader, q.LeaderEpoch, q.HighWatermark)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUORUM-NODE\tROLE\tLOG-END-OFFSET")
		for _, v := range q.Voters {
			role := "voter"
			if v.ID == q.LeaderID {
				role = "leader"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", v.ID, role, offset(v.LogEndOffset))
		}
		for _, o := range q.Observers {
			fmt.Fprintf(tw, "%d\tobserver\t%s\n", o.ID, offset(o.LogEndOffset))
		}
		tw.Flush()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tRACK\tHOST:PORT")
	for _, b := range info.Brokers {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", b.ID, dash(b.Rack), net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	tw.Flush()
	printPartitionStates(w, "under-replicated", info.UnderReplicated)
	printPartitionStates(w, "offline", info.Offline)
}

func printPartitionStates(w io.Writer, what string, ps []admin.PartitionState) {
	fmt.Fprintf(w, "%s partitions: %d\n", what, len(ps))
	if len(ps) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tLEADER\tREPLICAS\tISR")
	for _, p := range ps {
		leader := strconv.Itoa(int(p.Leader))
		if p.Leader < 0 {
			leader = "none"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", p.Topic, p.Partition, leader, ids(p.Replicas), ids(p.ISR))
	}
	tw.Flush()
}
