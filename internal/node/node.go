package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/group"
	"github.com/sluice-mq/sluice/internal/handler"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/metrics"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/server"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// metadataLogName is the metadata log's directory inside metadata.log.dir,
// as KRaft names it (the storage manager skips it among the partitions).
var metadataLogName = storage.TopicPartition{Topic: storage.MetadataTopic}.String()

// Node is one running Sluice process.
type Node struct {
	cfg      *config.Broker
	logger   *slog.Logger
	fs       vfs.FS
	logs     *storage.Manager
	ctl      quorum
	replicas *replica.Manager
	handler  *handler.Handler
	srv      *server.Server
	ln       net.Listener
	// transport carries the metadata quorum's traffic when there are
	// several voters; nil for a single voter.
	transport *controller.TCPTransport
	// incarnation identifies this process to the controller; epoch is the
	// broker epoch of its registration.
	incarnation protocol.UUID
	epoch       atomic.Int64
	// leaving is set by a controlled shutdown: the broker stays fenced.
	leaving atomic.Bool

	// cleaner is the log cleaner's settings last asked for: the static
	// ones with the dynamic broker configs over them; image loop only.
	// cleanerChanges carries the latest change to runCleanerChanges.
	cleaner        config.Cleaner
	cleanerChanges chan storage.CleanerOptions

	groups     *group.Coordinator
	groupParts map[int32]context.CancelFunc // offsets partitions handed to groups, each stopping its loader; image loop only
	// groupTopics are the topics of the last image followGroups saw (nil
	// before the first, or while there are none); image loop only.
	groupTopics *metadata.TopicsImage

	// metrics and metricsSrv serve metrics.listen; nil when it is unset.
	metrics    *metrics.Metrics
	metricsSrv *metrics.Server
	// bg is cancelled by close: background work of the node ends.
	bg       context.Context
	bgCancel context.CancelFunc

	applied atomic.Pointer[chan struct{}] // closed when the replica manager applies an image
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// Start opens the node's storage and controller, registers the broker,
// and starts serving clients on its listener.
func Start(cfg *config.Broker, logger *slog.Logger) (*Node, error) {
	return StartOn(cfg, logger, vfs.Default)
}

// StartOn is Start with every file of the node (logs, metadata log,
// checkpoints) on fsys: tests pass a MemFS to cut the power (drop
// unsynced writes) and restart on what survives.
func StartOn(cfg *config.Broker, logger *slog.Logger, fsys vfs.FS) (*Node, error) {
	return StartWith(cfg, Options{FS: fsys, Logger: logger})
}

// Options are what a test may replace in a node.
type Options struct {
	// FS holds every file of the node (vfs.Default when nil).
	FS vfs.FS
	// Transport, when set, carries the metadata quorum's traffic instead
	// of the controller listener (an in-memory network in tests).
	Transport controller.Transport
	// ReplicaDial, when set, connects followers to leaders (tests route
	// replication over a network they can partition).
	ReplicaDial func(ctx context.Context, network, addr string) (net.Conn, error)
	Logger      *slog.Logger
}

// StartWith is Start with Options.
func StartWith(cfg *config.Broker, o Options) (*Node, error) {
	logger, fsys := o.Logger, o.FS
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if fsys == nil {
		fsys = vfs.Default
	}
	if !cfg.Roles.Broker && !cfg.Roles.Controller {
		return nil, fmt.Errorf("process.roles=%s: a node must be a broker, a controller or both", cfg.Roles)
	}
	n := &Node{cfg: cfg, logger: logger, fs: fsys, stop: make(chan struct{}), groupParts: map[int32]context.CancelFunc{},
		cleaner: cfg.StaticCleaner(), cleanerChanges: make(chan storage.CleanerOptions, 1)}
	n.bg, n.bgCancel = context.WithCancel(context.Background())
	ch := make(chan struct{})
	n.applied.Store(&ch)
	ok := false
	defer func() {
		if !ok {
			n.close()
		}
	}()

	clusterID, err := n.ensureFormatted()
	if err != nil {
		return nil, err
	}
	if cfg.MetricsListen != "" {
		n.metrics = metrics.New(func(k protocol.APIKey) bool {
			_, _, ok := handler.Versions(k)
			return ok
		})
	}
	if cfg.Roles.Controller {
		if err := n.openController(o); err != nil {
			return nil, err
		}
	} else {
		voters := map[uint64]string{}
		for _, v := range cfg.Voters {
			voters[uint64(v.ID)] = v.Addr()
		}
		n.ctl = controller.NewObserver(voters, logger)
	}
	if !cfg.Roles.Broker {
		if err := n.serveMetrics(); err != nil {
			return nil, err
		}
		ok = true
		logger.Info("started as a controller", "node_id", cfg.NodeID, "cluster_id", clusterID)
		return n, nil
	}
	// Retention and compaction stop at the high watermark: what is above
	// it may still be truncated away, and a record compacted or deleted
	// because of one that then goes would be lost with it. The replica
	// manager comes after the logs; until it is there, nothing is removed.
	var replicas atomic.Pointer[replica.Manager]
	retentionBound := func(l *storage.Log) int64 {
		if r := replicas.Load(); r != nil {
			return r.RetentionBound(l)
		}
		return l.StartOffset()
	}
	n.logs, err = storage.OpenManager(storage.ManagerOptions{
		FS: n.fs, Dir: cfg.LogDir, ClusterID: clusterID, NodeID: cfg.NodeID,
		RetentionBound:            retentionBound,
		FlushThreads:              8,
		RetentionCheckInterval:    cfg.RetentionCheckInterval,
		CheckpointInterval:        cfg.FlushOffsetCheckpointInterval,
		ProducerIDExpiration:      cfg.ProducerIDExpiration,
		ProducerIDExpirationCheck: cfg.ProducerIDExpirationCheckInterval,
		Cleaner:                   cleanerOptions(cfg, n.cleaner),
		OnSync:                    n.observeSync(),
		Logger:                    logger,
	})
	if err != nil {
		return nil, err
	}
	n.replicas = replica.NewManager(cfg.NodeID, n.logs, cfg.TopicDefaults(), logger)
	n.replicas.SetKeepFollowerPages(cfg.RackAwareReads)
	replicas.Store(n.replicas)
	rebalanceDelay := cfg.GroupInitialRebalanceDelay
	if rebalanceDelay == 0 {
		rebalanceDelay = -1 // group.Config reads 0 as Kafka's default, negative as none
	}
	n.groups = group.New(group.Config{
		Partitions:            cfg.OffsetsTopicNumPartitions,
		MinSessionTimeout:     cfg.GroupMinSessionTimeout,
		MaxSessionTimeout:     cfg.GroupMaxSessionTimeout,
		InitialRebalanceDelay: rebalanceDelay,
		MaxSize:               int(cfg.GroupMaxSize),
		OffsetsRetention:      cfg.OffsetsRetention,
		OffsetsRetentionCheck: cfg.OffsetsRetentionCheckInterval,
		MaxMetadataBytes:      int(cfg.OffsetMetadataMaxBytes),
		CommitTimeout:         cfg.OffsetsCommitTimeout,
		Logger:                logger,
	}, offsetsLog{n.replicas})

	listener, err := clientListener(cfg)
	if err != nil {
		return nil, err
	}
	n.ln, err = net.Listen("tcp", net.JoinHostPort(listener.Host, strconv.Itoa(listener.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", listener.Name, err)
	}

	n.replicas.StartReplication(replica.ReplicationOptions{
		Listener: listener.Name, Fetchers: int(cfg.NumReplicaFetchers),
		FetchMaxBytes: cfg.ReplicaFetchMaxBytes, FetchResponseMaxBytes: cfg.ReplicaFetchResponseMaxBytes,
		FetchMinBytes: cfg.ReplicaFetchMinBytes, FetchWaitMax: cfg.ReplicaFetchWaitMax, FetchBackoff: cfg.ReplicaFetchBackoff,
		SocketTimeout: cfg.ReplicaSocketTimeout, LagTimeMax: cfg.ReplicaLagTimeMax,
		CheckpointInterval: cfg.ReplicaHighWatermarkCheckpointInterval,
		AlterISR: func(ctx context.Context, req controller.AlterISRRequest) (controller.AlterISRReply, error) {
			_, reply, err := n.ctl.Execute(ctx, controller.AlterPartition(req))
			if err != nil {
				return controller.AlterISRReply{}, err
			}
			return reply.(controller.AlterISRReply), nil
		},
		BrokerEpoch:        n.epoch.Load,
		Dial:               o.ReplicaDial,
		LeaderThrottleRate: cfg.LeaderReplicationThrottledRate, FollowerThrottleRate: cfg.FollowerReplicationThrottledRate,
		QuotaWindow: cfg.ReplicationQuotaWindowSize, QuotaSamples: int(cfg.ReplicationQuotaWindowNum),
	})
	n.wg.Add(2)
	go n.followImage()
	go n.runCleanerChanges()

	if err := n.register(listener); err != nil {
		return nil, err
	}
	n.wg.Add(1)
	go n.heartbeat(listener)
	n.handler = handler.New(handler.Config{
		NodeID: cfg.NodeID, ClusterID: clusterID, ListenerName: listener.Name,
		AutoCreateTopics: cfg.AutoCreateTopics, DefaultPartitions: cfg.NumPartitions,
		DefaultReplication: int16(cfg.DefaultReplicationFactor), DeleteTopicEnable: cfg.DeleteTopicEnable,
		ControllerTimeoutLimit: cfg.RequestTimeout,
		FetchSessionCacheSlots: int(cfg.FetchSessionCacheSlots), FetchMaxBytes: cfg.FetchMaxBytes,
		RackAwareReads:         cfg.RackAwareReads,
		OffsetsTopicPartitions: cfg.OffsetsTopicNumPartitions, OffsetsTopicReplicationFactor: cfg.OffsetsTopicReplicationFactor,
		OffsetsTopicSegmentBytes: cfg.OffsetsTopicSegmentBytes, QuorumVoters: quorumVoters(cfg),
	}, n.replicas, n.ctl, n.waitImage, logger)
	n.handler.SetGroupCoordinator(n.groups)
	n.handler.SetConfigs(cfg)
	n.handler.SetLogDir(cfg.LogDir, func() (int64, int64) {
		total, usable, err := vfs.DiskUsage(cfg.LogDir)
		if err != nil {
			return -1, -1
		}
		return total, usable
	})
	n.srv = server.New(server.Config{
		Listener:      n.ln,
		MaxFrameBytes: cfg.SocketRequestMaxBytes,
		IdleTimeout:   cfg.ConnectionsMaxIdle,
		MaxConnectionsNow: func() int {
			img := n.replicas.Image()
			if img == nil {
				return int(cfg.MaxConnections)
			}
			return int(min(cfg.DynamicInt("max.connections", img.BrokerDefaultConfigs(), img.BrokerConfigs(cfg.NodeID)), math.MaxInt32))
		},
		Versions:   handler.Versions,
		Handler:    adapter{n.handler},
		Logger:     logger,
		NoSendfile: cfg.NoSendfile,
		Observer:   n.requestObserver(),
	})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(); err != nil && !errors.Is(err, server.ErrServerClosed) {
			logger.Error("listener stopped", "err", err)
		}
	}()
	if err := n.serveMetrics(); err != nil {
		return nil, err
	}
	ok = true
	logger.Info("started", "node_id", cfg.NodeID, "cluster_id", clusterID, "listener", n.ln.Addr().String(), "data_dir", cfg.LogDir)
	return n, nil
}

// Addr returns the address clients connect to.
func (n *Node) Addr() net.Addr {
	if n.ln == nil {
		return nil // a controller-only node serves no clients
	}
	return n.ln.Addr()
}

// ServerStats returns the client listener's counters.
func (n *Node) ServerStats() server.Stats {
	if n.srv == nil {
		return server.Stats{}
	}
	return n.srv.Stats()
}

// DuplicateBatches returns how many retried batches of idempotent
// producers the node recognised and answered with their original offsets
// since it started.
func (n *Node) DuplicateBatches() uint64 {
	if n.logs == nil {
		return 0
	}
	return n.logs.DuplicateBatches()
}

// quorum is the node's view of the metadata quorum: its own voter
// (*controller.Controller) or, on a broker-only node, an observer of the
// voters (*controller.Observer).
type quorum interface {
	Image() *metadata.Image
	Updated() <-chan struct{}
	Execute(ctx context.Context, cmd controller.Command) (int64, any, error)
	WaitFor(ctx context.Context, offset int64) error
	IsLeader() bool
	// Leader is the active controller's id, 0 when none is known.
	Leader() uint64
	Close() error
}

// Replicas returns the broker's partitions (nil on a controller-only
// node): tests compare replicas' logs through it.
func (n *Node) Replicas() *replica.Manager { return n.replicas }

// Metadata returns the node's latest committed metadata image.
func (n *Node) Metadata() *metadata.Image { return n.ctl.Image() }

// ActiveController reports whether this node's voter is the active
// controller.
func (n *Node) ActiveController() bool { return n.ctl.IsLeader() }

// Kill stops the node at once, as a crash would seen from the network:
// no controlled shutdown, no waiting for clients. (Its files are closed
// as Shutdown closes them; tests that cut the power copy them first.)
func (n *Node) Kill() error { return n.close() }

// ensureFormatted returns the cluster id of the data directory, formatting
// a fresh one with a new cluster id when this is the single-node default.
func (n *Node) ensureFormatted() (string, error) {
	mp, err := storage.ReadMetaProperties(n.fs, n.cfg.LogDir)
	switch {
	case err == nil:
		return mp.ClusterID, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("data directory %s: %w", n.cfg.LogDir, err)
	case n.cfg.Profile() != config.ProfileSingleNode || len(n.cfg.Voters) > 1:
		// Every node of a cluster must share the cluster id.
		return "", fmt.Errorf("data directory %s is not formatted: run sluice format --cluster-id … first", n.cfg.LogDir)
	}
	id := storage.UUIDString(storage.RandomUUID())
	if err := storage.FormatDir(n.fs, n.cfg.LogDir, id, n.cfg.NodeID); err != nil {
		return "", err
	}
	n.logger.Info("formatted data directory", "data_dir", n.cfg.LogDir, "cluster_id", id)
	return id, nil
}

// clientListener is the first listener that is not a controller listener.
func clientListener(cfg *config.Broker) (config.Listener, error) {
	controllers := map[string]bool{}
	for _, l := range cfg.ControllerListeners() {
		controllers[l.Name] = true
	}
	for _, l := range cfg.Listeners() {
		if !controllers[l.Name] {
			return l, nil
		}
	}
	return config.Listener{}, errors.New("no client listener: listeners names only controller listeners")
}

// openController opens the node's voter of the metadata quorum, on the
// controller listener when there are other voters or brokers to serve
// (any cluster profile), on none for the embedded single node.
func (n *Node) openController(o Options) error {
	cfg := n.cfg
	voters := make([]uint64, len(cfg.Voters))
	for i, v := range cfg.Voters {
		voters[i] = uint64(v.ID)
	}
	var rebalanceEvery time.Duration
	if cfg.AutoLeaderRebalance {
		rebalanceEvery = cfg.LeaderImbalanceCheckInterval
	}
	transport := o.Transport
	if transport == nil && (len(voters) > 1 || cfg.Profile() != config.ProfileSingleNode) {
		var err error
		if transport, err = n.listenController(); err != nil {
			return err
		}
	}
	// Raft counts time in ticks: the election timeout
	// (controller.quorum.election.timeout.ms) is a number of them, and
	// raft randomizes it up to twice that.
	const tick = 50 * time.Millisecond
	ctl, err := controller.Open(controller.Config{
		TickInterval: tick, ElectionTicks: max(int(cfg.ElectionTimeout/tick), 4), HeartbeatTicks: 2,
		NodeID: uint64(cfg.NodeID), Voters: voters, Transport: transport, SessionTimeout: cfg.SessionTimeout,
		LeaderImbalanceCheckInterval: rebalanceEvery, LeaderImbalancePercent: int(cfg.LeaderImbalancePerBrokerPercentage),
		UncleanLeaderElection: cfg.UncleanLeaderElection, UncleanElectionCheckInterval: cfg.UncleanElectionCheckInterval,
		FS: n.fs, Dir: n.fs.PathJoin(cfg.MetadataLogDir, metadataLogName), Logger: n.logger,
	})
	if err != nil {
		return err
	}
	n.ctl = ctl
	return nil
}

// listenController listens on the controller listener and returns the
// transport of the metadata quorum over it: raft messages and commands
// forwarded to the active controller.
func (n *Node) listenController() (controller.Transport, error) {
	ls := n.cfg.ControllerListeners()
	if len(ls) == 0 {
		return nil, errors.New("no controller listener: controller.listener.names names none of the listeners")
	}
	l := ls[0]
	ln, err := net.Listen("tcp", net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", l.Name, err)
	}
	peers := map[uint64]string{}
	for _, v := range n.cfg.Voters {
		peers[uint64(v.ID)] = v.Addr()
	}
	t := controller.NewTCPTransport(uint64(n.cfg.NodeID), ln, peers, n.logger)
	n.transport = t
	return t, nil
}

// register registers the broker with its listener's advertised address
// and unfences it, then waits until the replica manager has the result.
func (n *Node) register(listener config.Listener) error {
	timeout := n.cfg.InitialRegistrationTimeout // initial.broker.registration.timeout.ms
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(n.bg, timeout)
	defer cancel()
	host, port := listener.Host, n.ln.Addr().(*net.TCPAddr).Port
	for _, a := range n.cfg.AdvertisedListeners() {
		if a.Name == listener.Name {
			host = a.Host
			if a.Port != 0 {
				port = a.Port
			}
		}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	var rack *string
	if n.cfg.Rack != "" {
		rack = &n.cfg.Rack
	}
	reg := controller.BrokerRegistration{ID: n.cfg.NodeID, IncarnationID: protocol.UUID(storage.RandomUUID()), Rack: rack,
		Endpoints: []metadata.Endpoint{{Name: listener.Name, Host: host, Port: uint16(port), SecurityProtocol: 0}}}
	if n.incarnation == (protocol.UUID{}) {
		n.incarnation = protocol.UUID(storage.RandomUUID())
	}
	reg.IncarnationID = n.incarnation
	off, epoch, err := n.ctl.Execute(ctx, controller.RegisterBroker(reg))
	if err != nil {
		return fmt.Errorf("register broker: %w", err)
	}
	n.epoch.Store(epoch.(int64))
	// Unfenced once this node's metadata has caught up with its
	// registration, as Kafka's controller unfences a broker.
	if err := n.ctl.WaitFor(ctx, off); err != nil {
		return fmt.Errorf("register broker: %w", err)
	}
	off, _, err = n.ctl.Execute(ctx, controller.UnfenceBroker(n.cfg.NodeID, epoch.(int64)))
	if err != nil {
		return fmt.Errorf("unfence broker: %w", err)
	}
	return n.waitImage(ctx, off)
}

// followImage applies every new controller image to the replica manager.
func (n *Node) followImage() {
	defer n.wg.Done()
	for {
		updated := n.ctl.Updated()
		img := n.ctl.Image()
		if err := n.replicas.Apply(img); err != nil {
			n.logger.Error("applying metadata failed", "err", err)
		}
		n.followGroups(img)
		n.followCleaner(img)
		n.logs.SetProducerIDExpiration(time.Duration(n.cfg.DynamicInt("producer.id.expiration.ms",
			img.BrokerDefaultConfigs(), img.BrokerConfigs(n.cfg.NodeID))) * time.Millisecond)
		ch := make(chan struct{})
		close(*n.applied.Swap(&ch))
		select {
		case <-updated:
		case <-n.stop:
			return
		}
	}
}

// waitImage blocks until the replica manager has applied an image at or
// past offset.
func (n *Node) waitImage(ctx context.Context, offset int64) error {
	for {
		ch := *n.applied.Load()
		if n.replicas.Image().Offset >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stop:
			return errors.New("node stopping")
		}
	}
}

// Shutdown stops accepting connections, lets in-flight requests finish
// (bounded by ctx), then closes everything; the logs close cleanly.
func (n *Node) Shutdown(ctx context.Context) error {
	var err error
	if n.handler != nil {
		n.handler.Stop()
	}
	n.leaveCluster(ctx)
	if n.srv != nil {
		err = n.srv.Shutdown(ctx)
	}
	return errors.Join(err, n.close())
}

func (n *Node) close() error {
	var errs []error
	n.once.Do(func() {
		close(n.stop)
		n.bgCancel()
		if n.metricsSrv != nil {
			errs = append(errs, n.metricsSrv.Close())
		}
		if n.srv != nil {
			errs = append(errs, n.srv.Close())
		} else if n.ln != nil {
			n.ln.Close()
		}
		n.wg.Wait()
		if n.groups != nil {
			n.groups.Close()
		}
		if n.replicas != nil {
			errs = append(errs, n.replicas.Close())
		}
		if n.ctl != nil {
			errs = append(errs, n.ctl.Close())
		}
		if n.transport != nil {
			n.transport.Close()
		}
		if n.logs != nil {
			dups := n.logs.DuplicateBatches()
			errs = append(errs, n.logs.Close())
			n.logger.Info("stopped", "duplicate_batches", dups)
		}
	})
	return errors.Join(errs...)
}

// adapter serves the handler's results to the server.
type adapter struct{ h *handler.Handler }

func (a adapter) Handle(ctx context.Context, c *server.Conn, hdr *protocol.RequestHeader, req protocol.Message) server.Response {
	if _, ok := req.(*protocol.JoinGroupRequest); ok {
		// The coordinator records each member's client id and host.
		host := ""
		if addr, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			host = "/" + addr.IP.String()
		}
		ctx = handler.WithClient(ctx, c.ClientID(), host)
	}
	r := a.h.Dispatch(ctx, hdr.RequestApiVersion, req)
	return server.Response{Msg: r.Msg, Wait: r.Wait, None: r.None, Close: r.Close}
}

// CreateTopic creates a topic with partitions (-1: num.partitions) and
// topic configs, replication factor 1, through the controller as a
// CreateTopics request would; it returns once this broker hosts it.
func (n *Node) CreateTopic(ctx context.Context, name string, partitions int32, configs map[string]string) error {
	if n.handler == nil {
		return errors.New("create topic: a controller-only node serves no clients")
	}
	t := protocol.CreateTopicsRequestCreatableTopic{Name: name, NumPartitions: partitions, ReplicationFactor: -1}
	for k, v := range configs {
		t.Configs = append(t.Configs, protocol.CreateTopicsRequestCreatableTopicConfig{Name: k, Value: &v})
	}
	resp := n.handler.CreateTopics(ctx, &protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestCreatableTopic{t}, TimeoutMs: 30000}, 7)
	if r := resp.Topics[0]; r.ErrorCode != 0 {
		msg := protocol.ErrorCode(r.ErrorCode).Error()
		if r.ErrorMessage != nil {
			msg += ": " + *r.ErrorMessage
		}
		return fmt.Errorf("create topic %s: %s", name, msg)
	}
	return nil
}

// quorumVoters lists the voters at their controller endpoints, named by
// the first of controller.listener.names.
func quorumVoters(cfg *config.Broker) []handler.QuorumVoter {
	name := "CONTROLLER"
	if len(cfg.ControllerListenerNames) > 0 {
		name = cfg.ControllerListenerNames[0]
	}
	out := make([]handler.QuorumVoter, len(cfg.Voters))
	for i, v := range cfg.Voters {
		out[i] = handler.QuorumVoter{ID: v.ID, Listener: name, Host: v.Host, Port: uint16(v.Port)}
	}
	return out
}
