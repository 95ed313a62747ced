package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/server"
	"github.com/sluice-mq/sluice/internal/storage"
)

// Sources are what the collector reads at each scrape. Every field may
// be nil: a controller-only node has no server, logs or groups.
type Sources struct {
	NodeID int32
	// PartitionLabels keeps the per-partition series
	// (metrics.partition.labels); without them, per-topic and per-group
	// sums remain.
	PartitionLabels bool
	Server          func() server.Stats
	Logs            func() []*storage.Log
	// RecoveryCorruptions counts the corrupt batches log recovery found
	// in this process (storage.CorruptionsDetected).
	RecoveryCorruptions func() int64
	// Image is the metadata image the broker serves from.
	Image func() *metadata.Image
	// HighWatermark returns the high watermark of a partition this broker
	// hosts a replica of (ok=false otherwise).
	HighWatermark func(tp storage.TopicPartition) (int64, bool)
	// ISRChanges counts ISR shrinks and expansions this broker made as a
	// leader.
	ISRChanges func() (shrinks, expands uint64)
	Controller func() ControllerState
	Groups     GroupSource
}

// ControllerState is the metadata quorum as this node sees it.
type ControllerState struct {
	// Active is set on the active controller.
	Active bool
	// Leader is the active controller's id (0: none known).
	Leader uint64
}

// GroupStats are the group coordinator's counts.
type GroupStats struct {
	ByState    map[string]int
	Members    int
	Rebalances uint64
	// Loading counts offsets partitions being loaded; Loaded those loaded.
	Loading, Loaded int
}

// GroupSource is the group coordinator as the collector reads it.
type GroupSource interface {
	GroupStats() GroupStats
	// Committed visits every committed offset of the groups coordinated
	// here.
	Committed(visit func(group, topic string, partition int32, offset int64))
}

// collector turns Sources into series at scrape time.
type collector struct {
	src Sources

	connections, accepted, rejected, inFlight *prometheus.Desc
	bytesIn, bytesOut, bytesSendfile          *prometheus.Desc

	logSize, logSegments, logEnd *prometheus.Desc
	recoveryCorruptions          *prometheus.Desc
	topicSize, topicSegments     *prometheus.Desc

	leaders, replicas, underReplicated, offline *prometheus.Desc
	isrShrinks, isrExpands                      *prometheus.Desc
	brokers, metadataOffset                     *prometheus.Desc
	controllerActive, controllerLeader          *prometheus.Desc

	groups, members, rebalances, coordLoading, coordLoaded *prometheus.Desc
	committed, lag, lagSum                                 *prometheus.Desc
}

func newCollector(src Sources) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		src:           src,
		connections:   d("sluice_connections", "Client connections open."),
		accepted:      d("sluice_connections_accepted_total", "Client connections accepted."),
		rejected:      d("sluice_connections_rejected_total", "Client connections refused at max.connections."),
		inFlight:      d("sluice_requests_in_flight", "Requests read and not yet answered."),
		bytesIn:       d("sluice_network_receive_bytes_total", "Bytes read from client connections."),
		bytesOut:      d("sluice_network_transmit_bytes_total", "Bytes written to client connections (sendfile included)."),
		bytesSendfile: d("sluice_network_sendfile_bytes_total", "Bytes of fetched records sent from segment files with sendfile."),

		logSize:       d("sluice_log_size_bytes", "Bytes in a partition's segments.", "topic", "partition"),
		logSegments:   d("sluice_log_segments", "Segments of a partition's log.", "topic", "partition"),
		logEnd:        d("sluice_log_end_offset", "A partition's log end offset on this broker.", "topic", "partition"),
		topicSize:     d("sluice_topic_log_size_bytes", "Bytes in the segments of a topic's partitions on this broker.", "topic"),
		topicSegments: d("sluice_topic_log_segments", "Segments of a topic's partitions on this broker.", "topic"),
		recoveryCorruptions: d("sluice_log_recovery_corruptions_total",
			"Corrupt batches log recovery found since the process started: each cut a log short, or kept it from opening."),

		leaders:         d("sluice_partition_leaders", "Partitions this broker leads."),
		replicas:        d("sluice_partition_replicas", "Partition replicas this broker holds (led or followed)."),
		underReplicated: d("sluice_under_replicated_partitions", "Partitions this broker leads whose ISR is smaller than their replica set."),
		offline:         d("sluice_offline_partitions", "Partitions of the cluster without a leader (the same on every broker)."),
		isrShrinks:      d("sluice_isr_shrinks_total", "ISR shrinks this broker made as a leader."),
		isrExpands:      d("sluice_isr_expands_total", "ISR expansions this broker made as a leader."),
		brokers:         d("sluice_cluster_brokers", "Registered brokers in the metadata, fenced or not.", "state"),
		metadataOffset:  d("sluice_metadata_offset", "Offset of the metadata image this broker serves from."),

		controllerActive: d("sluice_controller_active", "1 when this node is the active controller."),
		controllerLeader: d("sluice_controller_leader_id", "The active controller's node id as this node knows it (0: none)."),

		groups:       d("sluice_groups", "Consumer groups coordinated here, by state.", "state"),
		members:      d("sluice_group_members", "Members of the groups coordinated here."),
		rebalances:   d("sluice_group_rebalances_total", "Rebalances completed (generations formed) by the groups coordinated here."),
		coordLoading: d("sluice_group_coordinator_partitions_loading", "__consumer_offsets partitions being loaded."),
		coordLoaded:  d("sluice_group_coordinator_partitions_loaded", "__consumer_offsets partitions loaded and coordinated here."),
		committed:    d("sluice_consumer_group_committed_offset", "A group's committed offset.", "group", "topic", "partition"),
		lag:          d("sluice_consumer_group_lag", "High watermark minus the group's committed offset, for partitions this broker holds.", "group", "topic", "partition"),
		lagSum:       d("sluice_consumer_group_lag_sum", "A group's lag summed over a topic's partitions this broker holds.", "group", "topic"),
	}
}

// describeAll sends every descriptor the collector may use.
func (c *collector) describeAll(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connections, c.accepted, c.rejected, c.inFlight, c.bytesIn, c.bytesOut, c.bytesSendfile,
		c.logSize, c.logSegments, c.logEnd, c.topicSize, c.topicSegments, c.recoveryCorruptions,
		c.leaders, c.replicas, c.underReplicated, c.offline, c.isrShrinks, c.isrExpands, c.brokers, c.metadataOffset,
		c.controllerActive, c.controllerLeader,
		c.groups, c.members, c.rebalances, c.coordLoading, c.coordLoaded, c.committed, c.lag, c.lagSum,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if s.Server != nil {
		st := s.Server()
		gauge(c.connections, float64(st.ConnectionsOpen))
		counter(c.accepted, float64(st.ConnectionsAccepted))
		counter(c.rejected, float64(st.ConnectionsRejected))
		gauge(c.inFlight, float64(st.InFlight))
		counter(c.bytesIn, float64(st.BytesIn))
		counter(c.bytesOut, float64(st.BytesOut))
		counter(c.bytesSendfile, float64(st.BytesSendfile))
	}
	if s.Logs != nil {
		c.collectLogs(gauge)
	}
	if s.RecoveryCorruptions != nil {
		counter(c.recoveryCorruptions, float64(s.RecoveryCorruptions()))
	}
	if s.Image != nil {
		c.collectImage(gauge)
	}
	if s.ISRChanges != nil {
		shrinks, expands := s.ISRChanges()
		counter(c.isrShrinks, float64(shrinks))
		counter(c.isrExpands, float64(expands))
	}
	if s.Controller != nil {
		cs := s.Controller()
		active := 0.0
		if cs.Active {
			active = 1
		}
		gauge(c.controllerActive, active)
		gauge(c.controllerLeader, float64(cs.Leader))
	}
	if s.Groups != nil {
		c.collectGroups(gauge, counter)
	}
}

func (c *collector) collectLogs(gauge func(*prometheus.Desc, float64, ...string)) {
	type sums struct{ size, segs int64 }
	topics := map[string]*sums{}
	for _, l := range c.src.Logs() {
		tp := l.TopicPartition()
		if tp.Topic == storage.MetadataTopic {
			// The metadata log is raft.log beside it (see
			// sluice_metadata_offset); this one holds nothing.
			continue
		}
		size, segs := l.Size(), int64(l.NumSegments())
		t := topics[tp.Topic]
		if t == nil {
			t = &sums{}
			topics[tp.Topic] = t
		}
		t.size += size
		t.segs += segs
		if c.src.PartitionLabels {
			p := strconv.Itoa(int(tp.Partition))
			gauge(c.logSize, float64(size), tp.Topic, p)
			gauge(c.logSegments, float64(segs), tp.Topic, p)
			gauge(c.logEnd, float64(l.EndOffset()), tp.Topic, p)
		}
	}
	for name, t := range topics {
		gauge(c.topicSize, float64(t.size), name)
		gauge(c.topicSegments, float64(t.segs), name)
	}
}

func (c *collector) collectImage(gauge func(*prometheus.Desc, float64, ...string)) {
	img := c.src.Image()
	if img == nil {
		return
	}
	var leaders, replicas, under, offline int
	for t := range img.Topics.All() {
		for _, p := range t.Partitions() {
			if p.Leader == metadata.NoLeader {
				offline++
			}
			if p.HasReplica(c.src.NodeID) {
				replicas++
			}
			if p.Leader == c.src.NodeID {
				leaders++
				if len(p.ISR) < len(p.Replicas) {
					under++
				}
			}
		}
	}
	gauge(c.leaders, float64(leaders))
	gauge(c.replicas, float64(replicas))
	gauge(c.underReplicated, float64(under))
	gauge(c.offline, float64(offline))
	var fenced, unfenced int
	for _, b := range img.Brokers() {
		if b.Fenced {
			fenced++
		} else {
			unfenced++
		}
	}
	gauge(c.brokers, float64(fenced), "fenced")
	gauge(c.brokers, float64(unfenced), "unfenced")
	gauge(c.metadataOffset, float64(img.Offset))
}

func (c *collector) collectGroups(gauge, counter func(*prometheus.Desc, float64, ...string)) {
	gs := c.src.Groups.GroupStats()
	for _, state := range groupStates {
		gauge(c.groups, float64(gs.ByState[state]), state)
	}
	gauge(c.members, float64(gs.Members))
	counter(c.rebalances, float64(gs.Rebalances))
	gauge(c.coordLoading, float64(gs.Loading))
	gauge(c.coordLoaded, float64(gs.Loaded))

	type key struct{ group, topic string }
	sums := map[key]int64{}
	var order []key
	c.src.Groups.Committed(func(group, topic string, partition int32, offset int64) {
		p := strconv.Itoa(int(partition))
		if c.src.PartitionLabels {
			gauge(c.committed, float64(offset), group, topic, p)
		}
		if c.src.HighWatermark == nil {
			return
		}
		hw, ok := c.src.HighWatermark(storage.TopicPartition{Topic: topic, Partition: partition})
		if !ok {
			return
		}
		lag := max(hw-offset, 0)
		if c.src.PartitionLabels {
			gauge(c.lag, float64(lag), group, topic, p)
		}
		k := key{group, topic}
		if _, seen := sums[k]; !seen {
			order = append(order, k)
		}
		sums[k] += lag
	})
	for _, k := range order {
		gauge(c.lagSum, float64(sums[k]), k.group, k.topic)
	}
}

// groupStates are the classic group states, as Kafka names them.
var groupStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"}
