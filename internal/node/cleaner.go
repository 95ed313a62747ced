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

// followCleaner hands the dynamic log.cleaner.* configs of img (the
// cluster-wide default's, then this broker's own, over the static file)
// to runCleanerChanges when they change, replacing a change not yet
// taken: the image loop does not wait for the cleaner's passes to stop.
func (n *Node) followCleaner(img *metadata.Image) {
	c := n.cfg.StaticCleaner().With(img.BrokerDefaultConfigs(), img.BrokerConfigs(n.cfg.NodeID))
	if c == n.cleaner {
		return
	}
	n.cleaner = c
	select {
	case <-n.cleanerChanges:
	default:
	}
	n.cleanerChanges <- cleanerOptions(n.cfg, c) // the image loop is the only sender: there is room
}

// runCleanerChanges restarts the log cleaner with each change
// followCleaner hands it, as Kafka's LogCleaner.reconfigure does, until
// the node stops.
func (n *Node) runCleanerChanges() {
	defer n.wg.Done()
	for {
		select {
		case o := <-n.cleanerChanges:
			n.logs.ReconfigureCleaner(o)
			n.logger.Info("log cleaner reconfigured", "threads", o.Threads, "dedupe_buffer_size", o.DedupeBufferSize,
				"io_buffer_size", o.IOBufferSize, "load_factor", o.LoadFactor,
				"max_io_bytes_per_second", o.MaxIOBytesPerSecond, "backoff", o.Backoff)
		case <-n.stop:
			return
		}
	}
}
