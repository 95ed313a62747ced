// Package embedded runs a real Sluice broker inside a Go program, for
// tests above all: a persistent, fsyncing, Kafka-compatible broker on a
// loopback port that any Kafka client can use, started and stopped from
// Go, with no JVM and no container.
//
//	b, err := embedded.Start(embedded.Config{})
//	if err != nil { … }
//	defer b.Close()
//	b.CreateTopic(ctx, "orders", 3, nil)
//	client, _ := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
//
// The broker is a single node (broker and controller in one), configured
// with Kafka's configuration keys. Its data lives in Config.DataDir, or in
// a new temporary directory that Close removes.
package embedded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/node"
)

// Config configures an embedded broker. The zero value is a broker on a
// free loopback port with its data in a temporary directory.
type Config struct {
	// DataDir holds the broker's data (log.dir). Empty: a new temporary
	// directory, removed by Close. A directory given here is kept, so a
	// broker started on it again finds its topics and records.
	DataDir string
	// Listen is the client listener's host:port; empty means 127.0.0.1
	// and a free port (see Addr).
	Listen string
	// Settings are Kafka configuration keys (e.g. "num.partitions": "3",
	// "log.flush.interval.messages": "10000" for page-cache mode). A key
	// Sluice rejects or does not know makes Start fail.
	Settings map[string]string
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	node    *node.Node
	tempDir string
}

// Start starts a broker and returns once it accepts clients.
func Start(cfg Config) (*Broker, error) {
	b := &Broker{}
	dir := cfg.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sluice-embedded-")
		if err != nil {
			return nil, err
		}
		dir, b.tempDir = tmp, tmp
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	overrides := []string{
		"log.dir=" + dir,
		// A single voter never dials its controller listener; it is named
		// so controller.quorum.voters can be derived.
		"listeners=PLAINTEXT://" + listen + ",CONTROLLER://127.0.0.1:9093",
	}
	keys := make([]string, 0, len(cfg.Settings))
	for k := range cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		overrides = append(overrides, k+"="+cfg.Settings[k])
	}
	bc, err := config.Load(nil, overrides, config.ProfileSingleNode)
	if err != nil {
		b.removeTemp()
		return nil, err
	}
	n, err := node.Start(bc, cfg.Logger)
	if err != nil {
		b.removeTemp()
		return nil, err
	}
	b.node = n
	return b, nil
}

// Addr is the address Kafka clients connect to (host:port).
func (b *Broker) Addr() string { return b.node.Addr().String() }

// DuplicateBatches returns how many retried batches of idempotent
// producers the broker recognised (and answered with their original
// offsets, writing nothing) since it started.
func (b *Broker) DuplicateBatches() uint64 { return b.node.DuplicateBatches() }

// CreateTopic creates a topic with the given number of partitions (-1
// for num.partitions) and topic configs (nil for none), and returns once
// the broker serves it.
func (b *Broker) CreateTopic(ctx context.Context, name string, partitions int32, configs map[string]string) error {
	return b.node.CreateTopic(ctx, name, partitions, configs)
}

// Close stops the broker cleanly (in-flight requests finish, logs close)
// and removes its data directory if Start created it.
func (b *Broker) Close() error {
	err := b.node.Shutdown(context.Background())
	return errors.Join(err, b.removeTemp())
}

func (b *Broker) removeTemp() error {
	if b.tempDir == "" {
		return nil
	}
	return os.RemoveAll(b.tempDir)
}
