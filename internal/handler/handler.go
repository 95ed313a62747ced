package handler

import (
	"context"
	"github.com/sluice-mq/sluice/internal/group"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
)

// Controller is what handlers need of the metadata quorum.
type Controller interface {
	// Execute runs cmd on the active controller, wherever it is, and
	// returns the metadata offset that holds its records and its reply.
	Execute(ctx context.Context, cmd controller.Command) (int64, any, error)
}

// Config is what handlers need of the broker's configuration.
type Config struct {
	NodeID    int32
	ClusterID string
	// ListenerName names the listener clients use; Metadata advertises
	// each broker's endpoint of that name.
	ListenerName       string
	AutoCreateTopics   bool
	DefaultPartitions  int32
	DefaultReplication int16
	DeleteTopicEnable  bool
	// The offsets.topic.* settings __consumer_offsets is created with.
	OffsetsTopicPartitions        int32
	OffsetsTopicReplicationFactor int16
	OffsetsTopicSegmentBytes      int32
	// FetchMaxBytes is fetch.max.bytes: the most a fetch response carries
	// (the first batch excepted, KIP-74), whatever the request asks; 0 for
	// no bound.
	FetchMaxBytes int32
	// RackAwareReads: replica.selector.class is Kafka's
	// RackAwareReplicaSelector; a leader sends a consumer that names its
	// rack to an in-sync follower in that rack (KIP-392).
	RackAwareReads bool
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots.
	FetchSessionCacheSlots int
	RequestTimeoutDefault  time.Duration
	ControllerTimeoutLimit time.Duration
	// QuorumVoters are the metadata quorum's voters at their controller
	// endpoints (controller.quorum.voters), for DescribeQuorum.
	QuorumVoters []QuorumVoter
}

// Handler answers requests for one broker.
type Handler struct {
	cfg      Config
	replicas *replica.Manager
	ctl      Controller
	// waitImage blocks until the broker has applied an image at or past
	// an offset (after a controller change), bounded by ctx.
	waitImage func(ctx context.Context, offset int64) error
	logger    *slog.Logger
	// stopping closes when the broker shuts down: long polls answer at
	// once instead of holding the shutdown up.
	stopping chan struct{}
	stopOnce sync.Once
	// configs is the broker configuration DescribeConfigs reports (see
	// SetConfigs); logDir and logDirUsage describe the log directory for
	// DescribeLogDirs (see SetLogDir).
	configs     ConfigSource
	logDir      string
	logDirUsage func() (total, usable int64)
	sessions    *FetchSessions
	pids        *producerIDs
	groups      *group.Coordinator
}

// FetchSessionCount returns the incremental fetch sessions open.
func (h *Handler) FetchSessionCount() int { return h.sessions.Len() }

// Stop makes waiting requests (long-polling fetches) answer now.
func (h *Handler) Stop() { h.stopOnce.Do(func() { close(h.stopping) }) }

// New returns a Handler.
func New(cfg Config, replicas *replica.Manager, ctl Controller, waitImage func(ctx context.Context, offset int64) error, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ControllerTimeoutLimit <= 0 {
		cfg.ControllerTimeoutLimit = 30 * time.Second
	}
	return &Handler{cfg: cfg, replicas: replicas, ctl: ctl, waitImage: waitImage, logger: logger, stopping: make(chan struct{}),
		sessions: NewFetchSessions(cfg.FetchSessionCacheSlots, nil), pids: newProducerIDs()}
}

func (h *Handler) image() *metadata.Image { return h.replicas.Image() }

// submit runs a controller command and waits until this broker's image
// holds its result.
func (h *Handler) submit(ctx context.Context, cmd controller.Command) (any, error) {
	off, reply, err := h.ctl.Execute(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := h.waitImage(ctx, off); err != nil {
		return nil, err
	}
	return reply, nil
}

// errorCode maps a command error to its Kafka code.
func errorCode(err *controller.CommandError) int16 {
	if err == nil {
		return 0
	}
	return int16(err.Code)
}

func errorMessage(err *controller.CommandError) *string {
	if err == nil {
		return nil
	}
	m := err.Message
	return &m
}

// timeout bounds a request's wait by its own timeout field, when it has
// one, and the broker's limit.
func (h *Handler) timeout(ctx context.Context, ms int32) (context.Context, context.CancelFunc) {
	d := h.cfg.ControllerTimeoutLimit
	if ms > 0 && time.Duration(ms)*time.Millisecond < d {
		d = time.Duration(ms) * time.Millisecond
	}
	return context.WithTimeout(ctx, d)
}

// versions is what this broker serves: the APIs implemented, at the
// versions clients send. Versions the codec marks unstable are never
// listed.
var versions = map[protocol.APIKey][2]int16{
	protocol.KeyApiVersions:  {0, 4},
	protocol.KeyMetadata:     {0, 12},
	protocol.KeyCreateTopics: {0, 7},
	// Produce v0-2 and Fetch v0-3 carry message formats v0/v1, which
	// Sluice does not store. Produce is advertised from v0 all the same,
	// as Kafka 4.0 does (KAFKA-18659): librdkafka compresses with gzip or
	// snappy only when a broker lists Produce v0. A v0-2 request's legacy
	// records are refused per partition (UNSUPPORTED_FOR_MESSAGE_FORMAT).
	protocol.KeyProduce:                     {0, 11},
	protocol.KeyFetch:                       {4, 17},
	protocol.KeyListOffsets:                 {0, 9},
	protocol.KeyDeleteTopics:                {0, 6},
	protocol.KeyOffsetForLeaderEpoch:        {0, 4},
	protocol.KeyCreatePartitions:            {0, 3},
	protocol.KeyElectLeaders:                {0, 2},
	protocol.KeyAlterPartitionReassignments: {0, 0},
	protocol.KeyListPartitionReassignments:  {0, 0},
	protocol.KeyDeleteRecords:               {0, 2},
	protocol.KeyDescribeCluster:             {0, 1},
	protocol.KeyDescribeQuorum:              {0, 2},
	protocol.KeyDescribeLogDirs:             {0, 4},
	protocol.KeyDescribeConfigs:             {0, 4},
	protocol.KeyAlterConfigs:                {0, 2},
	protocol.KeyIncrementalAlterConfigs:     {0, 1},
	protocol.KeyInitProducerId:              {0, 5},
	protocol.KeyDescribeProducers:           {0, 0},
	// The classic group protocol. FindCoordinator v6 (share coordinators)
	// and OffsetCommit and OffsetFetch v9 serve KIP-848 and share groups,
	// which are not supported. ListGroups v5 adds a filter by group type,
	// which the Java admin client needs to filter at all; every group here
	// is "classic".
	protocol.KeyFindCoordinator: {0, 5},
	protocol.KeyJoinGroup:       {0, 9},
	protocol.KeySyncGroup:       {0, 5},
	protocol.KeyHeartbeat:       {0, 4},
	protocol.KeyLeaveGroup:      {0, 5},
	protocol.KeyOffsetCommit:    {0, 8},
	protocol.KeyOffsetFetch:     {0, 8},
	protocol.KeyOffsetDelete:    {0, 0},
	protocol.KeyListGroups:      {0, 5},
	protocol.KeyDescribeGroups:  {0, 5},
	protocol.KeyDeleteGroups:    {0, 2},
}

// Versions reports the version range served for key.
func Versions(key protocol.APIKey) (lo, hi int16, ok bool) {
	v, ok := versions[key]
	if !ok {
		return 0, 0, false
	}
	info, known := protocol.LookupAPI(key)
	if !known {
		return 0, 0, false
	}
	return max(v[0], info.MinVersion), min(v[1], info.MaxStable), true
}
