package node

import (
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/storage"
)

// cleanerOptions are the storage options of the log cleaner with
// settings c. Whether it runs at all is static (log.cleaner.enable).
func cleanerOptions(cfg *config.Broker, c config.Cleaner) storage.CleanerOptions {
	return storage.CleanerOptions{
		Disabled:            !cfg.CleanerEnable || cfg.CleanerThreads == 0,
		Threads:             int(c.Threads),
		DedupeBufferSize:    c.DedupeBufferSize,
		LoadFactor:          c.LoadFactor,
		IOBufferSize:        int(c.IOBufferSize),
		MaxIOBytesPerSecond: c.MaxIOBytesPerSecond,
		Backoff:             max(c.Backoff, time.Millisecond),
	}
}

// followCleaner applies the dynamic log.cleaner.* configs of img (the
// cluster-wide default's, then this broker's own, over the static file)
// when they change: the cleaner's threads restart with them, as Kafka's
// LogCleaner.reconfigure does.
func (n *Node) followCleaner(img *metadata.Image) {
	c := n.cfg.StaticCleaner().With(img.BrokerDefaultConfigs(), img.BrokerConfigs(n.cfg.NodeID))
	if c == n.cleaner {
		return
	}
	n.cleaner = c
	n.logs.ReconfigureCleaner(cleanerOptions(n.cfg, c))
	n.logger.Info("log cleaner reconfigured", "threads", c.Threads, "dedupe_buffer_size", c.DedupeBufferSize,
		"io_buffer_size", c.IOBufferSize, "load_factor", c.LoadFactor,
		"max_io_bytes_per_second", c.MaxIOBytesPerSecond, "backoff", c.Backoff)
}
