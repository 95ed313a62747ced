package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/perf"
)

// runPerf runs `sluice perf produce|consume|e2e`.
func runPerf(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "produce" && args[0] != "consume" && args[0] != "e2e") {
		fmt.Fprintln(stderr, "usage: sluice perf produce|consume|e2e [flags] (sluice perf produce -h for the flags)")
		return 2
	}
	mode := args[0]
	fset := flag.NewFlagSet("perf "+mode, flag.ContinueOnError)
	fset.SetOutput(stderr)
	var o perf.Options
	bootstrap := fset.String("bootstrap", "127.0.0.1:9092", "bootstrap brokers, comma-separated")
	fset.StringVar(&o.Topic, "topic", "sluice-perf", "topic")
	fset.BoolVar(&o.Create, "create", false, "create the topic first (kept if it exists), then wait until every partition takes a record")
	partitions := fset.Int("partitions", -1, "partitions of a created topic (-1: the broker's num.partitions)")
	rf := fset.Int("replication-factor", -1, "replication factor of a created topic (-1: the broker's default)")
	var configs setFlags
	fset.Var(&configs, "config", "a topic config of a created topic, key=value (repeatable)")
	fset.IntVar(&o.RecordSize, "record-size", 100, "record value size in bytes")
	fset.Int64Var(&o.Records, "records", 0, "records to produce or consume (0 with --duration: no limit; default 1,000,000)")
	fset.DurationVar(&o.Duration, "duration", 0, "how long to run (0: until --records)")
	fset.Float64Var(&o.Rate, "rate", 0, "target records per second over all producers (0: as fast as possible)")
	fset.StringVar(&o.Acks, "acks", "all", "acks: all, 1 or 0")
	fset.BoolVar(&o.Idempotent, "idempotent", true, "idempotent producers (acks=all only)")
	fset.StringVar(&o.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	fset.DurationVar(&o.Linger, "linger", 10*time.Millisecond, "producer linger (franz-go's default)")
	fset.IntVar(&o.Producers, "producers", 1, "producer clients")
	fset.IntVar(&o.Consumers, "consumers", 1, "consumer clients (each reads every partition)")
	jsonOut := fset.String("json", "", "write the result as JSON to this file")
	quiet := fset.Bool("quiet", false, "no progress lines")
	if err := fset.Parse(args[1:]); err != nil {
		return 2
	}
	o.Bootstrap = strings.Split(*bootstrap, ",")
	o.Partitions, o.ReplicationFactor = int32(*partitions), int16(*rf)
	if o.Acks != "all" && o.Acks != "-1" {
		o.Idempotent = false // only meaningful with acks=all
	}
	if len(configs) > 0 {
		o.Configs = configs.m()
	}
	if !*quiet {
		o.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var res *perf.Result
	var err error
	switch mode {
	case "produce":
		res, err = perf.Produce(ctx, o)
	case "consume":
		res, err = perf.Consume(ctx, o)
	case "e2e":
		res, err = perf.E2E(ctx, o)
	}
	if res != nil {
		fmt.Fprintf(stdout, "%s: %d records in %.2f s: %.0f records/s, %.2f MB/s", res.Mode, res.Records, res.Seconds, res.RecordsPerSec, res.MBPerSec)
		if l := res.Latency; l != nil {
			what := "acknowledgement"
			if mode == "e2e" {
				what = "end-to-end"
			}
			fmt.Fprintf(stdout, "; %s latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms", what, l.P50, l.P99, l.P999, l.Max)
		}
		if res.Failed > 0 {
			fmt.Fprintf(stdout, "; %d failed (first: %s)", res.Failed, res.FirstError)
		}
		fmt.Fprintln(stdout)
		if *jsonOut != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); werr != nil {
				fmt.Fprintf(stderr, "sluice perf: %v\n", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice perf: %v\n", err)
		return 1
	}
	if res.Failed > 0 || res.Records == 0 {
		return 1
	}
	return 0
}
