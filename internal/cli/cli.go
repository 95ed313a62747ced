package cli

import (
	"fmt"
	"io"
)

const usage = `usage: sluice <command> [flags]

commands:
  serve              run a broker (single node: --data-dir, --listen, --config, --set, --debug-addr)
  verify             run a broker, or a cluster (--nodes 3), under a workload and faults (kill -9,
                     pauses, partitions) and check for lost, duplicated or reordered records
                     (--duration, --faults, --short, --json)
  perf               measure a broker: perf produce | consume | e2e (--bootstrap, --topic, --create,
                     --record-size, --records, --duration, --rate, --acks, --json)
  topic              list, describe, create, delete, alter-config, add-partitions (-b host:port)
  produce            write stdin's lines to a topic as records (--key-separator, --header, --format json)
  consume            print a topic's records (--group, --offset, --count, -e, --format value|kv|json|template)
  group              list, describe, reset-offsets, delete consumer groups (-b host:port)
  cluster            describe: cluster id, brokers, active controller, unhealthy partitions (-b host:port)
  format             write meta.properties into a node's data directories (for clusters)
  random-cluster-id  print a new cluster id for format
  version            print the version
`

// Version is the release this binary was built from.
var Version = "0.0.0-dev"

// Main runs the command named by args[0] and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "sluice", Version)
		return 0
	case "format":
		return runFormat(args[1:], stdout, stderr)
	case "random-cluster-id":
		return runRandomClusterID(stdout)
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "perf":
		return runPerf(args[1:], stdout, stderr)
	case "topic":
		return runTopic(args[1:], stdout, stderr)
	case "produce":
		return runProduce(args[1:], stdin, stdout, stderr)
	case "consume":
		return runConsume(args[1:], stdout, stderr)
	case "group":
		return runGroup(args[1:], stdout, stderr)
	case "cluster":
		return runCluster(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
