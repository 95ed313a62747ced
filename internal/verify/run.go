package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Options configure a verify run against a broker that verify starts.
type Options struct {
	// Binary is the sluice executable to run (`sluice serve`).
	Binary string
	// DataDir is the broker's data directory; it must not be in use. A
	// cluster run puts each node's in it.
	DataDir string
	// Nodes is the number of nodes: 1 runs a single broker on loopback;
	// more run a cluster of combined nodes, each in its own network
	// namespace (root only), with the topic replicated over up to three
	// of them and min.insync.replicas=2.
	Nodes int
	// Settings are extra broker keys (key=value), passed with --set.
	Settings []string
	// Duration is how long the workload runs with faults.
	Duration time.Duration
	// Faults are the fault kinds to inject (FaultKill, FaultPause).
	Faults   []string
	Interval time.Duration // mean time between faults
	Pause    time.Duration // length of a pause
	Seed     uint64

	Partitions      int32
	Producers       int
	Consumers       int // with assigned partitions
	GroupConsumers  int // members of one consumer group; negative for none
	InFlight        int
	DeliveryTimeout time.Duration

	Logger    *slog.Logger
	BrokerLog io.Writer // the broker's stderr; nil discards
}

func (o *Options) defaults() {
	if o.Duration <= 0 {
		o.Duration = 60 * time.Second
	}
	if o.Nodes <= 0 {
		o.Nodes = 1
	}
	if o.Interval <= 0 {
		o.Interval = 6 * time.Second
	}
	if o.Pause <= 0 {
		o.Pause = 4 * time.Second
	}
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Producers <= 0 {
		o.Producers = 4
	}
	if o.Consumers <= 0 {
		o.Consumers = 2
	}
	if o.GroupConsumers == 0 {
		o.GroupConsumers = 2
	}
	o.GroupConsumers = max(o.GroupConsumers, 0)
	if o.InFlight <= 0 {
		o.InFlight = 64
	}
	if o.DeliveryTimeout <= 0 {
		o.DeliveryTimeout = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BrokerLog == nil {
		o.BrokerLog = io.Discard
	}
}

// settle is how long the workload goes on after the last fault window,
// so that sends resume and consumers catch up before the final read.
const settle = 3 * time.Second

// Run starts a broker, runs the workload against it for o.Duration while
// injecting faults, stops the faults, lets the workload settle, reads
// every partition, stops the broker and returns the history.
func Run(ctx context.Context, o Options) (*History, error) {
	o.defaults()
	w := &Workload{Topic: "verify", Partitions: o.Partitions, Producers: o.Producers, Consumers: o.Consumers,
		GroupConsumers: o.GroupConsumers, InFlight: o.InFlight, DeliveryTimeout: o.DeliveryTimeout, Logger: o.Logger}
	in := &Injector{Kinds: o.Faults, Interval: o.Interval, Pause: o.Pause, Seed: o.Seed, MaxFaults: 1000}
	var inject func(ctx context.Context) ([]FaultEvent, error)
	if o.Nodes > 1 {
		c, err := startCluster(o)
		if err != nil {
			return nil, err
		}
		defer c.stop()
		w.Seeds, w.Replication, w.MinInsync = c.seeds, int16(min(o.Nodes, 3)), 2
		inject = func(ctx context.Context) ([]FaultEvent, error) { return in.runCluster(ctx, c, w.Topic) }
	} else {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		b := &broker{bin: o.Binary, dataDir: o.DataDir, addr: addr, sets: o.Settings, stderr: o.BrokerLog, logger: o.Logger}
		if err := b.start(); err != nil {
			return nil, err
		}
		defer func() { _ = b.stop() }()
		w.Addr = addr
		inject = func(ctx context.Context) ([]FaultEvent, error) { return in.run(ctx, b) }
	}
	setupCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err := w.createTopic(setupCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	rec := &recorder{h: History{Partitions: o.Partitions}}

	// Three horizons: faults end at Duration; producers at Duration +
	// settle; consumers once the producers are done and have caught up.
	faultCtx, stopFaults := context.WithTimeout(ctx, o.Duration)
	defer stopFaults()
	prodCtx, stopProducers := context.WithTimeout(ctx, o.Duration+settle)
	defer stopProducers()
	consCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()

	var errMu sync.Mutex
	var errs []error
	fail := func(err error) {
		if err != nil {
			errMu.Lock()
			errs = append(errs, err)
			errMu.Unlock()
		}
	}
	var consumers, producers sync.WaitGroup
	for i := range o.Consumers {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			fail(w.consume(consCtx, i, rec))
		}()
	}
	for i := range o.GroupConsumers {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			fail(w.consumeGroup(consCtx, o.Consumers+i, rec))
		}()
	}
	for i := range o.Producers {
		producers.Add(1)
		go func() {
			defer producers.Done()
			fail(w.produce(prodCtx, i, rec))
		}()
	}
	events, ferr := inject(faultCtx)
	fail(ferr)
	producers.Wait()
	time.Sleep(settle) // consumers catch up
	stopConsumers()
	consumers.Wait()
	rec.h.Faults = events

	readCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	fail(w.finalRead(readCtx, rec))
	if len(errs) > 0 {
		return &rec.h, errors.Join(errs...)
	}
	return &rec.h, nil
}

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Executable returns the path of the running binary, for Options.Binary.
func Executable() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the sluice binary: %w", err)
	}
	return p, nil
}
