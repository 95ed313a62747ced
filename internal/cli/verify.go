package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/verify"
)

// runVerify runs `sluice verify`: a broker it starts itself, a workload of
// idempotent producers and consumers, faults, and the checker. Exit 0
// when the history has no anomaly and the faults bit, 1 otherwise, 2 on
// usage errors.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("verify", flag.ContinueOnError)
	fset.SetOutput(stderr)
	duration := fset.Duration("duration", 60*time.Second, "how long the workload runs with faults")
	faults := fset.String("faults", "kill,pause", "faults to inject, comma-separated: kill, pause, partition (clusters only); or none")
	nodes := fset.Int("nodes", 1, "nodes: 1 runs one broker; 3 runs a cluster, each node in its own network namespace (needs root and iproute2), the topic replicated 3 times with min.insync.replicas=2")
	short := fset.Bool("short", false, "a short run for CI: 20s, a fault every 4s on average, 4s pauses, a 2s delivery timeout")
	interval := fset.Duration("fault-interval", 6*time.Second, "mean time between faults")
	pause := fset.Duration("pause", 4*time.Second, "how long a pause lasts")
	seed := fset.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the fault schedule")
	producers := fset.Int("producers", 4, "producers (idempotent, acks=all)")
	consumers := fset.Int("consumers", 2, "consumers (each assigned every partition)")
	groupConsumers := fset.Int("group-consumers", 2, "consumers in one consumer group (subscribe, auto-commit); 0 for none")
	partitions := fset.Int("partitions", 6, "partitions of the topic")
	timeout := fset.Duration("delivery-timeout", 3*time.Second, "a send unanswered for this long is indeterminate")
	dataDir := fset.String("data-dir", "", "the broker's data directory (default: a temporary one, removed after a passing run)")
	jsonOut := fset.String("json", "", "write the result as JSON to this file")
	historyOut := fset.String("history", "", "write the recorded history to this file")
	check := fset.String("check", "", "check a history written by --history instead of running")
	brokerLog := fset.Bool("broker-log", false, "copy the broker's log to stderr")
	var sets setFlags
	fset.Var(&sets, "set", "a broker configuration key for the broker verify starts: --set key=value (repeatable)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	kinds, err := parseFaults(*faults)
	if err != nil {
		fmt.Fprintf(stderr, "sluice verify: %v\n", err)
		return 2
	}
	if *nodes < 1 || (*nodes == 1 && slices.Contains(kinds, verify.FaultPartition)) {
		fmt.Fprintln(stderr, "sluice verify: --nodes must be at least 1, and the partition fault needs a cluster (--nodes 3)")
		return 2
	}
	if *short {
		// Pauses outlast the delivery timeout, so every pause leaves sends
		// indeterminate and the run cannot be vacuous by bad luck.
		*duration, *interval, *pause, *timeout = 20*time.Second, 4*time.Second, 4*time.Second, 2*time.Second
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	var h *verify.History
	if *check != "" {
		if h, err = readHistory(*check); err != nil {
			fmt.Fprintf(stderr, "sluice verify: %v\n", err)
			return 1
		}
	} else {
		bin, err := verify.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "sluice verify: %v\n", err)
			return 1
		}
		dir, temp := *dataDir, false
		if dir == "" {
			if dir, err = os.MkdirTemp("", "sluice-verify-"); err != nil {
				fmt.Fprintf(stderr, "sluice verify: %v\n", err)
				return 1
			}
			dir, temp = filepath.Join(dir, "data"), true
		}
		o := verify.Options{Binary: bin, DataDir: dir, Nodes: *nodes, Settings: sets, Duration: *duration, Faults: kinds,
			Interval: *interval, Pause: *pause, Seed: *seed, Partitions: int32(*partitions),
			Producers: *producers, Consumers: *consumers, GroupConsumers: *groupConsumers, DeliveryTimeout: *timeout, Logger: logger}
		if *groupConsumers == 0 {
			o.GroupConsumers = -1
		}
		if *brokerLog {
			o.BrokerLog = stderr
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		logger.Info("verify run", "nodes", *nodes, "duration", *duration, "faults", strings.Join(kinds, ","), "seed", *seed, "data_dir", dir)
		h, err = verify.Run(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "sluice verify: run: %v\n", err)
			if h == nil {
				return 1
			}
		}
		if *historyOut != "" {
			if werr := writeFileWith(*historyOut, func(w io.Writer) error { return verify.WriteHistory(w, h) }); werr != nil {
				fmt.Fprintf(stderr, "sluice verify: %v\n", werr)
			}
		}
		defer func() {
			if temp {
				_ = os.RemoveAll(filepath.Dir(dir))
			}
		}()
		if err != nil {
			temp = false // keep the data of a run that went wrong
			return 1
		}
	}
	res := verify.Check(h, verify.CheckOptions{RequireFaults: *check == "" && len(kinds) > 0})
	if err := res.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "sluice verify: %v\n", err)
		return 1
	}
	if *jsonOut != "" {
		if err := writeFileWith(*jsonOut, res.WriteJSON); err != nil {
			fmt.Fprintf(stderr, "sluice verify: %v\n", err)
			return 1
		}
	}
	if !res.OK() {
		return 1
	}
	return 0
}

func parseFaults(s string) ([]string, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		switch k = strings.TrimSpace(k); k {
		case verify.FaultKill, verify.FaultPause, verify.FaultPartition:
			out = append(out, k)
		default:
			return nil, fmt.Errorf("unknown fault %q (kill, pause, partition, or none)", k)
		}
	}
	return out, nil
}

func readHistory(name string) (*verify.History, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return verify.ReadHistory(f)
}

func writeFileWith(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
