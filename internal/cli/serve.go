package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/node"
)

// shutdownGrace bounds how long SIGTERM waits for in-flight requests.
const shutdownGrace = 10 * time.Second

// runServe starts a node and serves until SIGINT or SIGTERM, then shuts
// down gracefully: stop accepting, finish in-flight requests, close the
// logs cleanly.
func runServe(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var cf configFlags
	cf.register(fset)
	listen := fset.String("listen", "", "client listener host:port (listeners=PLAINTEXT://host:port)")
	debugAddr := fset.String("debug-addr", "", "serve Go's profiles (/debug/pprof/) on this host:port (off when empty)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if *listen != "" {
		// The single voter never dials its own controller listener; it
		// names one so controller.quorum.voters can be derived.
		cf.sets = append(cf.sets, "listeners=PLAINTEXT://"+*listen+",CONTROLLER://127.0.0.1:9093")
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if *debugAddr != "" {
		d, err := startDebug(*debugAddr, logger)
		if err != nil {
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return 1
		}
		defer d.Close()
	}
	n, err := node.Start(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return 1
	}
	if cfg.Roles.Broker {
		fmt.Fprintf(stdout, "sluice is serving Kafka clients on %s (data in %s)\n", n.Addr(), cfg.LogDir)
	} else {
		fmt.Fprintf(stdout, "sluice is serving as a controller (data in %s)\n", cfg.LogDir)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "sluice serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}
