package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// Names of the files a log directory holds besides partition directories.
const (
	lockFile                   = ".lock"
	deleteDirSuffix            = "-delete"
	defaultIdleTimeout         = time.Minute
	defaultCheckpointInterval  = time.Minute
	defaultRetentionCheck      = 5 * time.Minute
	defaultBackgroundTickEvery = time.Second
)

// ManagerOptions configures a log directory.
type ManagerOptions struct {
	FS  vfs.FS
	Dir string
	// ClusterID and NodeID must match meta.properties; a fresh directory
	// is formatted with them.
	ClusterID string
	NodeID    int32
	// OnSync, when set, is told the duration of every log's segment
	// fdatasyncs (see OpenOptions.OnSync).
	OnSync func(time.Duration)
	// FlushThreads is the size of the fsync pool shared by every log.
	FlushThreads int
	// RetentionCheckInterval is log.retention.check.interval.ms;
	// CheckpointInterval is log.flush.offset.checkpoint.interval.ms.
	RetentionCheckInterval time.Duration
	CheckpointInterval     time.Duration
	// IdleTimeout closes the files of a partition unused for this long
	// (default one minute).
	IdleTimeout time.Duration
	// RetentionBound returns the offset retention may delete up to (the
	// high watermark); nil means the log's durable end.
	RetentionBound func(*Log) int64
	// ProducerIDExpiration forgets an idempotent producer that has not
	// appended to a partition for this long (producer.id.expiration.ms;
	// default one day), checked every ProducerIDExpirationCheck
	// (producer.id.expiration.check.interval.ms; default ten minutes).
	ProducerIDExpiration      time.Duration
	ProducerIDExpirationCheck time.Duration
	// Cleaner configures the compaction of cleanup.policy=compact logs.
	Cleaner CleanerOptions
	Logger  *slog.Logger
	Now     func() time.Time
}

// Manager owns one log directory: its lock, meta.properties, checkpoints,
// clean-shutdown marker and every partition log in it, plus the shared
// flusher pool and one background goroutine for retention, checkpoints,
// page-cache flushes and file cleanup.
type Manager struct {
	o ManagerOptions
	// pidExpiration is producer.id.expiration.ms in force, which may
	// change at runtime (SetProducerIDExpiration).
	pidExpiration atomic.Int64
	fs            vfs.FS
	dir           string
	logger        *slog.Logger
	lock          io.Closer
	flusher       *Flusher

	// CleanShutdown tells whether the previous run shut down cleanly.
	CleanShutdown bool

	checkpointMu sync.Mutex // one Checkpoint at a time: they write the same files

	mu             sync.Mutex
	logs           map[TopicPartition]*Log
	topicIDs       map[TopicPartition][16]byte
	recoveryPoints map[TopicPartition]int64
	startOffsets   map[TopicPartition]int64

	stop chan struct{}
	done chan struct{}

	cleaner *cleaner

	duplicates atomic.Uint64 // retried batches recognised by every log
}

// DuplicateBatches returns how many retried batches of idempotent
// producers the logs recognised and answered with their original offsets
// since the manager opened.
func (m *Manager) DuplicateBatches() uint64 { return m.duplicates.Load() }

// OpenManager opens (or formats) a log directory and loads its logs. It
// refuses a directory whose meta.properties names another cluster or node.
func OpenManager(o ManagerOptions) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushThreads <= 0 {
		o.FlushThreads = 8
	}
	if o.ProducerIDExpiration <= 0 {
		o.ProducerIDExpiration = 24 * time.Hour
	}
	if o.ProducerIDExpirationCheck <= 0 {
		o.ProducerIDExpirationCheck = 10 * time.Minute
	}
	if o.RetentionCheckInterval <= 0 {
		o.RetentionCheckInterval = defaultRetentionCheck
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = defaultCheckpointInterval
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	m := &Manager{
		o: o, fs: o.FS, dir: o.Dir, logger: o.Logger.With("log_dir", o.Dir),
		logs: map[TopicPartition]*Log{}, topicIDs: map[TopicPartition][16]byte{},
	}
	m.pidExpiration.Store(int64(o.ProducerIDExpiration))
	if err := vfs.MkdirAllDurable(m.fs, m.dir); err != nil {
		return nil, fmt.Errorf("log dir %s: %w", m.dir, err)
	}
	lock, err := m.fs.Lock(m.fs.PathJoin(m.dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("log dir %s: %w", m.dir, err)
	}
	m.lock = lock
	if err := m.open(); err != nil {
		m.closeLogs()
		lock.Close()
		return nil, err
	}
	m.flusher = NewFlusher(o.FlushThreads)
	for _, l := range m.logs {
		l.flusher = m.flusher
	}
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.background()
	m.cleaner = newCleaner(m, o.Cleaner, m.readCheckpoint(CleanerOffsetCheckpointFile))
	if !o.Cleaner.Disabled {
		m.cleaner.start()
	}
	return m, nil
}

func (m *Manager) open() error {
	want := MetaProperties{Version: 1, ClusterID: m.o.ClusterID, NodeID: m.o.NodeID}
	have, err := ReadMetaProperties(m.fs, m.dir)
	switch {
	case errors.Is(err, errNotExist):
		want.DirectoryID = RandomUUID()
		if err := WriteMetaProperties(m.fs, m.dir, want); err != nil {
			return fmt.Errorf("format log dir %s: %w", m.dir, err)
		}
		m.logger.Info("formatted log directory", "cluster_id", want.ClusterID, "node_id", want.NodeID)
	case err != nil:
		return fmt.Errorf("log dir %s: %w", m.dir, err)
	default:
		if err := CheckMetaProperties(have, want); err != nil {
			return fmt.Errorf("log dir %s: %w", m.dir, err)
		}
	}

	_, clean, err := ReadCleanShutdown(m.fs, m.dir)
	if err != nil {
		m.logger.Warn("unreadable clean shutdown marker; recovering", "err", err)
		clean = false
	}
	m.CleanShutdown = clean
	// The marker goes before anything is written, so a crash from now on
	// is seen as unclean.
	if err := RemoveCleanShutdown(m.fs, m.dir); err != nil {
		return fmt.Errorf("log dir %s: %w", m.dir, err)
	}
	m.recoveryPoints = m.readCheckpoint(RecoveryPointCheckpointFile)
	m.startOffsets = m.readCheckpoint(LogStartOffsetCheckpointFile)

	entries, err := m.fs.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("list log dir %s: %w", m.dir, err)
	}
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		path := m.fs.PathJoin(m.dir, e.Name)
		if strings.HasSuffix(e.Name, deleteDirSuffix) {
			if err := m.fs.RemoveAll(path); err != nil {
				return fmt.Errorf("remove deleted partition %s: %w", e.Name, err)
			}
			continue
		}
		tp, ok := ParsePartitionDir(e.Name)
		if !ok {
			m.logger.Warn("ignoring unknown directory", "name", e.Name)
			continue
		}
		if tp.Topic == MetadataTopic {
			continue // the metadata log, which is not a partition's
		}
		if _, err := m.openLog(tp, DefaultConfig()); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) readCheckpoint(name string) map[TopicPartition]int64 {
	offsets, err := ReadOffsetCheckpoint(m.fs, m.fs.PathJoin(m.dir, name))
	if err != nil {
		if !errors.Is(err, errNotExist) {
			m.logger.Warn("unreadable checkpoint; recovering from the start", "file", name, "err", err)
		}
		return map[TopicPartition]int64{}
	}
	return offsets
}

// MetadataTopic is the metadata log's topic name. Its directory,
// __cluster_metadata-0, sits among the partitions' (metadata.log.dir is
// log.dir by default) and holds the Raft log: the manager neither opens
// nor creates a log of that topic, as Kafka's log manager skips it.
const MetadataTopic = "__cluster_metadata"

// ParsePartitionDir splits "<topic>-<partition>" (the topic may contain
// dashes).
func ParsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || name[i+1:] != strconv.FormatInt(p, 10) {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// PartitionDir is the directory name of a partition.
func PartitionDir(tp TopicPartition) string {
	return tp.Topic + "-" + strconv.Itoa(int(tp.Partition))
}

// openLog opens an existing partition directory. Called before the
// manager is shared, or with mu held.
func (m *Manager) openLog(tp TopicPartition, cfg Config) (*Log, error) {
	dir := m.fs.PathJoin(m.dir, PartitionDir(tp))
	id, err := ReadPartitionMetadata(m.fs, dir)
	if err != nil && !errors.Is(err, errNotExist) {
		return nil, fmt.Errorf("partition %s: %w", tp, err)
	}
	l, err := Open(OpenOptions{
		FS: m.fs, Dir: dir, TP: tp, Config: cfg,
		RecoveryPoint:        m.recoveryPoints[tp],
		LogStartOffset:       m.startOffsets[tp],
		CleanShutdown:        m.CleanShutdown,
		Flusher:              m.flusher,
		Logger:               m.o.Logger,
		DuplicateCounter:     &m.duplicates,
		Now:                  m.o.Now,
		OnSync:               m.o.OnSync,
		PersistRecoveryPoint: m.Checkpoint,
	})
	if err != nil {
		return nil, fmt.Errorf("partition %s: %w", tp, err)
	}
	m.logs[tp] = l
	m.topicIDs[tp] = id
	return l, nil
}

// Log returns the log of tp, or nil.
func (m *Manager) Log(tp TopicPartition) *Log {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs[tp]
}

// TopicID returns the topic ID recorded in tp's partition.metadata (zero
// if none), so the caller can spot a stray log of a deleted topic.
func (m *Manager) TopicID(tp TopicPartition) [16]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.topicIDs[tp]
}

// Logs returns every log, ordered by topic and partition.
func (m *Manager) Logs() []*Log {
	m.mu.Lock()
	out := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		out = append(out, l)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *Log) int { return a.tp.Compare(b.tp) })
	return out
}

// GetOrCreate returns tp's log, creating it with cfg and topicID if it does
// not exist. A new partition's directory and partition.metadata are
// durable before it returns. An existing log gets cfg.
func (m *Manager) GetOrCreate(tp TopicPartition, topicID [16]byte, cfg Config) (*Log, error) {
	if tp.Topic == MetadataTopic {
		return nil, fmt.Errorf("create partition %s: %s is the metadata log's name", tp, MetadataTopic)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.logs[tp]; l != nil {
		if err := l.SetConfig(cfg); err != nil {
			return nil, err
		}
		return l, nil
	}
	dir := m.fs.PathJoin(m.dir, PartitionDir(tp))
	if err := m.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create partition %s: %w", tp, err)
	}
	if err := WritePartitionMetadata(m.fs, dir, topicID); err != nil {
		return nil, fmt.Errorf("create partition %s: %w", tp, err)
	}
	if err := m.fs.SyncDir(m.dir); err != nil {
		return nil, fmt.Errorf("create partition %s: %w", tp, err)
	}
	l, err := m.openLog(tp, cfg)
	if err != nil {
		return nil, err
	}
	m.topicIDs[tp] = topicID
	return l, nil
}

// Delete closes tp's log and removes its directory: it is renamed to
// "<topic>-<partition>.<id>-delete" at once (durably) and removed in the
// background; a restart finishes a removal cut short.
func (m *Manager) Delete(tp TopicPartition) error {
	m.mu.Lock()
	l := m.logs[tp]
	delete(m.logs, tp)
	delete(m.topicIDs, tp)
	delete(m.recoveryPoints, tp)
	delete(m.startOffsets, tp)
	m.mu.Unlock()
	if l == nil {
		return nil
	}
	m.cleaner.forget(tp)
	l.Close()
	dir := l.Dir()
	gone := dir + "." + UUIDString(RandomUUID()) + deleteDirSuffix
	if err := m.fs.Rename(dir, gone); err != nil {
		return fmt.Errorf("delete partition %s: %w", tp, err)
	}
	if err := m.fs.SyncDir(m.dir); err != nil {
		return fmt.Errorf("delete partition %s: %w", tp, err)
	}
	return m.fs.RemoveAll(gone)
}

// Checkpoint writes the recovery points and log start offsets of every
// log. Besides the periodic and final ones, a log's Sync calls it after a
// truncation lowered that log's recovery point.
func (m *Manager) Checkpoint() error {
	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	rp := map[TopicPartition]int64{}
	so := map[TopicPartition]int64{}
	for _, l := range m.Logs() {
		rp[l.tp] = l.RecoveryPoint()
		so[l.tp] = l.StartOffset()
	}
	if err := WriteOffsetCheckpoint(m.fs, m.fs.PathJoin(m.dir, RecoveryPointCheckpointFile), rp); err != nil {
		return err
	}
	return WriteOffsetCheckpoint(m.fs, m.fs.PathJoin(m.dir, LogStartOffsetCheckpointFile), so)
}

// WriteHighWatermarks checkpoints high watermarks
// (replication-offset-checkpoint), supplied by the replica layer.
func (m *Manager) WriteHighWatermarks(hw map[TopicPartition]int64) error {
	return WriteOffsetCheckpoint(m.fs, m.fs.PathJoin(m.dir, ReplicationOffsetCheckpointFile), hw)
}

// ReadHighWatermarks returns the checkpointed high watermarks (empty if
// none or unreadable, which only delays the high watermark).
func (m *Manager) ReadHighWatermarks() map[TopicPartition]int64 {
	return m.readCheckpoint(ReplicationOffsetCheckpointFile)
}

// background runs the periodic work until Close.
func (m *Manager) background() {
	defer close(m.done)
	tick := time.NewTicker(defaultBackgroundTickEvery)
	defer tick.Stop()
	lastRetention, lastCheckpoint, lastExpiry := m.o.Now(), m.o.Now(), m.o.Now()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		now := m.o.Now()
		m.RunMaintenance(now.Sub(lastRetention) >= m.o.RetentionCheckInterval)
		if now.Sub(lastRetention) >= m.o.RetentionCheckInterval {
			lastRetention = now
		}
		if now.Sub(lastExpiry) >= m.o.ProducerIDExpirationCheck {
			lastExpiry = now
			for _, l := range m.Logs() {
				if n := l.ExpireProducers(time.Duration(m.pidExpiration.Load())); n > 0 {
					m.logger.Info("expired idempotent producers", "topic", l.tp.Topic, "partition", l.tp.Partition, "count", n)
				}
			}
		}
		if now.Sub(lastCheckpoint) >= m.o.CheckpointInterval {
			lastCheckpoint = now
			if err := m.Checkpoint(); err != nil {
				m.logger.Error("writing checkpoints failed", "err", err)
			}
		}
	}
}

// RunMaintenance does one round of background work: page-cache flushes
// that are due, reaping deleted segment files, closing idle files,
// and, with retention, deleting segments that retention allows.
func (m *Manager) RunMaintenance(retention bool) {
	for _, l := range m.Logs() {
		l.FlushIfDue()
		if err := l.ReapDeleted(); err != nil {
			m.logger.Warn("removing deleted segments failed", "partition", l.tp.String(), "err", err)
		}
		if err := l.CloseIdle(m.o.IdleTimeout); err != nil {
			m.logger.Error("closing idle files failed", "partition", l.tp.String(), "err", err)
		}
		if !retention {
			continue
		}
		bound := l.DurableEnd()
		if m.o.RetentionBound != nil {
			bound = m.o.RetentionBound(l)
		}
		if _, err := l.EnforceRetention(bound); err != nil {
			m.logger.Error("retention failed", "partition", l.tp.String(), "err", err)
		}
	}
}

// Close stops the background work, syncs and closes every log, writes the
// checkpoints and, if all went well, the clean-shutdown marker.
func (m *Manager) Close() error {
	m.cleaner.stop()
	close(m.stop)
	<-m.done
	m.flusher.Close()
	var errs []error
	for _, l := range m.Logs() {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", l.tp, err))
		}
	}
	errs = append(errs, m.Checkpoint())
	if err := errors.Join(errs...); err == nil {
		errs = append(errs, WriteCleanShutdown(m.fs, m.dir, 0))
	}
	errs = append(errs, m.lock.Close())
	return errors.Join(errs...)
}

func (m *Manager) closeLogs() {
	for _, l := range m.logs {
		l.Close()
	}
}

// SetProducerIDExpiration changes producer.id.expiration.ms at runtime
// (Kafka's is dynamic): the next expiry check uses it. d ≤ 0 is ignored.
func (m *Manager) SetProducerIDExpiration(d time.Duration) {
	if d > 0 {
		m.pidExpiration.Store(int64(d))
	}
}
