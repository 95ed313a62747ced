package node

import (
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/internal/group"
	"github.com/sluice-mq/sluice/internal/metrics"
	"github.com/sluice-mq/sluice/internal/server"
	"github.com/sluice-mq/sluice/internal/storage"
)

// observeSync is the storage hook timing fdatasyncs, nil without metrics.
func (n *Node) observeSync() func(time.Duration) {
	if n.metrics == nil {
		return nil
	}
	return n.metrics.ObserveSync
}

// requestObserver is the server's request hook, nil without metrics.
func (n *Node) requestObserver() server.Observer {
	if n.metrics == nil {
		return nil
	}
	return n.metrics.Requests
}

// serveMetrics starts the metrics.listen listener over the node's
// components, when it is set.
func (n *Node) serveMetrics() error {
	if n.metrics == nil {
		return nil
	}
	src := metrics.Sources{
		NodeID:          n.cfg.NodeID,
		PartitionLabels: n.cfg.MetricsPartitionLabels,
		Controller:      n.controllerState,
	}
	if n.cfg.Roles.Broker {
		src.Server = n.ServerStats
		src.Logs = n.logs.Logs
		src.RecoveryCorruptions = storage.CorruptionsDetected
		src.Image = n.replicas.Image
		src.ISRChanges = n.replicas.ISRChanges
		src.HighWatermark = func(tp storage.TopicPartition) (int64, bool) {
			p, ok := n.replicas.Partition(tp)
			if !ok {
				return 0, false
			}
			return p.HighWatermark(), true
		}
		src.Groups = groupSource{n.groups}
	}
	n.metrics.SetSources(src)
	srv, err := metrics.Listen(n.cfg.MetricsListen, n.metrics, metrics.Health{Healthy: n.healthy, NotReady: n.notReady}, n.logger)
	if err != nil {
		return err
	}
	n.metricsSrv = srv
	return nil
}

// MetricsAddr is the metrics listener's address, nil when metrics.listen
// is unset.
func (n *Node) MetricsAddr() string {
	if n.metricsSrv == nil {
		return ""
	}
	return n.metricsSrv.Addr().String()
}

func (n *Node) controllerState() metrics.ControllerState {
	return metrics.ControllerState{Active: n.ctl.IsLeader(), Leader: n.ctl.Leader()}
}

// healthy is nil while the node works: its metadata quorum member has
// not failed (a voter's raft log can fail; an observer has no such
// state).
func (n *Node) healthy() error {
	if e, ok := n.ctl.(interface{ Err() error }); ok {
		if err := e.Err(); err != nil {
			return fmt.Errorf("metadata quorum: %w", err)
		}
	}
	return nil
}

// notReady says why the node cannot serve yet: a broker must be
// registered and unfenced in the image it serves from (the controller
// unfences a broker once it caught up with the metadata log) and must
// have loaded the __consumer_offsets partitions it leads; a controller
// must know the active controller.
func (n *Node) notReady() []string {
	var why []string
	if n.ctl.Leader() == 0 {
		why = append(why, "no active controller known")
	}
	if !n.cfg.Roles.Broker {
		return why
	}
	img := n.replicas.Image()
	if img == nil {
		return append(why, "no metadata yet")
	}
	switch b, ok := img.Broker(n.cfg.NodeID); {
	case !ok:
		why = append(why, "broker not registered in the metadata yet")
	case b.Fenced:
		why = append(why, "broker fenced: catching up with the metadata")
	}
	if st := n.groups.Stats(); st.Loading > 0 {
		why = append(why, fmt.Sprintf("loading %d __consumer_offsets partitions", st.Loading))
	}
	return why
}

// groupSource reads the group coordinator for the collector.
type groupSource struct{ c *group.Coordinator }

func (g groupSource) GroupStats() metrics.GroupStats {
	st := g.c.Stats()
	return metrics.GroupStats{ByState: st.GroupsByState, Members: st.Members, Rebalances: st.Rebalances, Loading: st.Loading, Loaded: st.Loaded}
}

func (g groupSource) Committed(visit func(group, topic string, partition int32, offset int64)) {
	g.c.Committed(visit)
}
