package verify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-mq/sluice/internal/ctxtime"
)

// Fault kinds the injector knows.
const (
	FaultKill  = "kill"  // SIGKILL the broker, then restart it on the same data
	FaultPause = "pause" // SIGSTOP the broker for a while, then SIGCONT
	// FaultPartition cuts a cluster node off the network for a while
	// (clients and the other nodes alike), then heals.
	FaultPartition = "partition"
)

// broker is a `sluice serve` process that verify starts and faults.
type broker struct {
	bin, dataDir, addr string
	sets               []string
	// argv, when set, are the arguments after the binary (a cluster
	// node's); prefix runs the binary through another command (its
	// network namespace).
	argv, prefix []string
	stderr       io.Writer
	logger       *slog.Logger

	mu  sync.Mutex
	cmd *exec.Cmd
}

// startTimeout bounds a broker's start (recovery included).
const startTimeout = 60 * time.Second

// start runs the broker and waits until it serves.
func (b *broker) start() error {
	args := []string{"serve", "--data-dir", b.dataDir, "--listen", b.addr}
	for _, s := range b.sets {
		args = append(args, "--set", s)
	}
	if b.argv != nil {
		args = b.argv
	}
	cmd := exec.Command(b.bin, args...)
	if len(b.prefix) > 0 {
		cmd = exec.Command(b.prefix[0], slices.Concat(b.prefix[1:], []string{b.bin}, args)...)
	}
	cmd.Stderr = b.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	ready := make(chan struct{})
	go func() { // ends when the process's stdout closes
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving Kafka clients") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("broker did not start within %v", startTimeout)
	}
	b.mu.Lock()
	b.cmd = cmd
	b.mu.Unlock()
	return nil
}

func (b *broker) signal(sig syscall.Signal) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return errors.New("broker not running")
	}
	return b.cmd.Process.Signal(sig)
}

// take returns the running process, which the caller now ends; nil when
// none runs.
func (b *broker) take() *exec.Cmd {
	b.mu.Lock()
	defer b.mu.Unlock()
	cmd := b.cmd
	b.cmd = nil
	return cmd
}

// kill sends SIGKILL and waits for the process to end.
func (b *broker) kill() error {
	cmd := b.take()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = cmd.Wait()
	return nil
}

// stop shuts the broker down cleanly (SIGTERM, SIGCONT in case it was
// paused) and waits, killing it after a grace period.
func (b *broker) stop() error {
	cmd := b.take()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("broker did not stop within 30s: %w", <-done)
	}
}

// Injector applies faults to a broker it started, one at a time, each
// kind in turn from a seeded start, at jittered intervals, until its
// context ends.
type Injector struct {
	Kinds []string
	// Interval is the mean time between faults; Pause how long a pause
	// lasts.
	Interval time.Duration
	Pause    time.Duration
	Seed     uint64
	// MaxFaults bounds the faults of a run.
	MaxFaults int
}

// loop runs the fault schedule until ctx ends: one fault at a time, each
// kind in turn from a seeded start, at jittered intervals. apply carries
// out fault i of kind and returns the cluster node it hit (0 for the
// single broker) and what that node was chosen as ("" for none).
func (in *Injector) loop(ctx context.Context, logger *slog.Logger,
	apply func(i int, rng *rand.Rand, kind string) (node int, target string, err error)) ([]FaultEvent, error) {
	rng := rand.New(rand.NewPCG(in.Seed, 0x5eed))
	var events []FaultEvent
	first := 0
	if len(in.Kinds) > 0 {
		first = rng.IntN(len(in.Kinds))
	}
	for i := 0; len(in.Kinds) > 0 && i < in.MaxFaults; i++ {
		wait := in.Interval/2 + time.Duration(rng.Int64N(int64(in.Interval)))
		select {
		case <-ctx.Done():
			return events, nil
		case <-time.After(wait):
		}
		kind := in.Kinds[(first+i)%len(in.Kinds)] // every kind in turn
		ev := FaultEvent{Kind: kind, Start: time.Now()}
		node, target, err := apply(i, rng, kind)
		if err != nil {
			return events, err
		}
		ev.Node, ev.End = node, time.Now()
		attrs := []any{"kind", kind}
		if target != "" {
			attrs = append(attrs, "node", node, "target", target)
		}
		logger.Info("fault", append(attrs, "took", ev.End.Sub(ev.Start).Round(time.Millisecond))...)
		events = append(events, ev)
	}
	<-ctx.Done()
	return events, nil
}

// run injects faults into b until ctx ends, returning what it did: a
// kill is a SIGKILL and an immediate restart, a pause a SIGSTOP for
// in.Pause.
func (in *Injector) run(ctx context.Context, b *broker) ([]FaultEvent, error) {
	return in.loop(ctx, b.logger, func(_ int, _ *rand.Rand, kind string) (int, string, error) {
		switch kind {
		case FaultKill:
			if err := b.kill(); err != nil {
				return 0, "", fmt.Errorf("kill: %w", err)
			}
			if err := b.start(); err != nil {
				return 0, "", fmt.Errorf("restart after kill: %w", err)
			}
		case FaultPause:
			if err := b.signal(syscall.SIGSTOP); err != nil {
				return 0, "", fmt.Errorf("pause: %w", err)
			}
			ctxtime.Sleep(ctx, in.Pause)
			if err := b.signal(syscall.SIGCONT); err != nil {
				return 0, "", fmt.Errorf("resume: %w", err)
			}
		default:
			return 0, "", fmt.Errorf("unknown fault %q", kind)
		}
		return 0, "", nil
	})
}
