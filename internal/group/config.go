package group

import (
	"io"
	"log/slog"
	"math"
	"time"
)

// Config configures a Coordinator. Zero fields take Kafka's defaults; the
// field comments name the Kafka setting each one mirrors.
type Config struct {
	Partitions            int32         // offsets.topic.num.partitions (default 50)
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms (6s)
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms (30m)
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms (3s); negative means none
	MaxSize               int           // group.max.size (MaxInt32)
	OffsetsRetention      time.Duration // offsets.retention.minutes (7 days)
	OffsetsRetentionCheck time.Duration // offsets.retention.check.interval.ms (10 min)
	MaxMetadataBytes      int           // offset.metadata.max.bytes (4096)
	CommitTimeout         time.Duration // offsets.commit.timeout.ms (5s): an appended write's wait for the in-sync replicas
	Now                   func() time.Time
	Logger                *slog.Logger
}

// Kafka's defaults for the settings above.
const (
	DefaultPartitions            = 50
	DefaultMinSessionTimeout     = 6 * time.Second
	DefaultMaxSessionTimeout     = 30 * time.Minute
	DefaultInitialRebalanceDelay = 3 * time.Second
	DefaultMaxSize               = math.MaxInt32
	DefaultOffsetsRetention      = 7 * 24 * time.Hour
	DefaultOffsetsRetentionCheck = 10 * time.Minute
	DefaultMaxMetadataBytes      = 4096
	DefaultCommitTimeout         = 5 * time.Second
)

const (
	// newMemberJoinTimeout bounds how long a member that has never
	// completed a join may wait in a rebalance (Kafka's
	// NewMemberJoinTimeoutMs): a client that gave up and retried leaves
	// a defunct member behind otherwise.
	newMemberJoinTimeout = 5 * time.Minute
	// maxWriteBatchBytes bounds how many key and value bytes the writer of
	// a partition coalesces into one batch (a single larger write still
	// goes alone). With each record's framing (7 to 20 bytes) and the
	// batch header on top, half of max.message.bytes' default keeps a
	// coalesced batch well within it.
	maxWriteBatchBytes = 512 << 10
	// minRejoinWait is the shortest wait before a rebalance in which no
	// member rejoined is tried again, so a zero rebalance timeout cannot
	// make the timer spin.
	minRejoinWait = 100 * time.Millisecond
)

// withDefaults returns cfg with zero fields replaced by Kafka's defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.MinSessionTimeout == 0 {
		cfg.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if cfg.MaxSessionTimeout == 0 {
		cfg.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if cfg.InitialRebalanceDelay == 0 {
		cfg.InitialRebalanceDelay = DefaultInitialRebalanceDelay
	} else if cfg.InitialRebalanceDelay < 0 {
		cfg.InitialRebalanceDelay = 0
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.OffsetsRetention <= 0 {
		cfg.OffsetsRetention = DefaultOffsetsRetention
	}
	if cfg.OffsetsRetentionCheck <= 0 {
		cfg.OffsetsRetentionCheck = DefaultOffsetsRetentionCheck
	}
	if cfg.MaxMetadataBytes <= 0 {
		cfg.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = DefaultCommitTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg
}
