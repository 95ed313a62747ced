package replica

import (
	"context"
	"errors"
	"fmt"
	"github.com/sluice-mq/sluice/internal/config"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// Errors returned to handlers.
var (
	// ErrUnknownPartition: the image has no such partition.
	ErrUnknownPartition = errors.New("replica: unknown topic or partition")
	// ErrNotLeader: this broker does not lead the partition.
	ErrNotLeader = errors.New("replica: not the leader")
)

// Manager holds the partitions of one broker.
type Manager struct {
	nodeID        int32
	logs          *storage.Manager
	topicDefaults map[string]string
	logger        *slog.Logger

	mu       sync.RWMutex
	parts    map[storage.TopicPartition]*Partition
	image    atomic.Pointer[metadata.Image]
	defaults atomic.Pointer[imageDefaults]    // TopicDefaults of the latest image asked about
	hwCkpt   map[storage.TopicPartition]int64 // checkpointed high watermarks, read once

	// fmu guards the replication options and the fetchers.
	fmu         sync.Mutex
	o           ReplicationOptions
	replicating bool
	fetchers    map[fetcherKey]*fetcher
	following   map[*Partition]fetcherKey

	// The replication throttles (throttle.go).
	leaderQuota, followerQuota *Quota
	throttleCache              atomic.Pointer[throttles]

	// keepFollowerPages: consumers read followers (KIP-392's rack-aware
	// reads), so followers keep their synced pages (SetKeepFollowerPages).
	keepFollowerPages atomic.Bool

	// isrShrinks and isrExpands count the ISR changes the controller
	// accepted from this broker as a leader.
	isrShrinks, isrExpands atomic.Uint64

	bg        context.Context // cancelled by Close
	bgCancel  context.CancelFunc
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewManager returns a manager for broker nodeID over the log directory
// logs. topicDefaults are the broker's topic-level defaults (log.* keys
// mapped to topic keys), applied under each topic's own configs.
func NewManager(nodeID int32, logs *storage.Manager, topicDefaults map[string]string, logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{nodeID: nodeID, logs: logs, topicDefaults: topicDefaults, logger: logger, parts: map[storage.TopicPartition]*Partition{},
		hwCkpt: logs.ReadHighWatermarks(), fetchers: map[fetcherKey]*fetcher{}, following: map[*Partition]fetcherKey{}, stop: make(chan struct{})}
	m.bg, m.bgCancel = context.WithCancel(context.Background())
	m.image.Store(&metadata.Image{})
	return m
}

// Image returns the latest image applied.
func (m *Manager) Image() *metadata.Image { return m.image.Load() }

// Partition returns the partition tp if this broker holds it.
func (m *Manager) Partition(tp storage.TopicPartition) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.parts[tp]
	return p, ok
}

// RetentionBound is the offset below which retention and compaction may
// remove records of l: its partition's high watermark, at most l's
// durable end. Above it records may still be truncated away, and one
// removed because of a later record that then goes would be lost with it.
// A log that no partition of the image holds gives its start: nothing.
func (m *Manager) RetentionBound(l *storage.Log) int64 {
	p, ok := m.Partition(l.TopicPartition())
	if !ok || p.Log != l {
		return l.StartOffset()
	}
	return max(min(p.HighWatermark(), l.DurableEnd()), l.StartOffset())
}

// Leading returns the partition tp if this broker leads it, or an error
// saying why not.
func (m *Manager) Leading(tp storage.TopicPartition) (*Partition, error) {
	p, ok := m.Partition(tp)
	if !ok {
		if t := m.Image().TopicByName(tp.Topic); t != nil {
			if _, exists := t.Partition(tp.Partition); exists {
				return nil, ErrNotLeader
			}
		}
		return nil, ErrUnknownPartition
	}
	if leader, _ := p.Leader(); leader != m.nodeID {
		return nil, ErrNotLeader
	}
	return p, nil
}

// SetKeepFollowerPages, on, keeps the pages a follower synced in the page
// cache, as a leader's: consumers read followers in their rack
// (replica.selector.class RackAwareReplicaSelector). Call it before the
// first Apply.
func (m *Manager) SetKeepFollowerPages(on bool) { m.keepFollowerPages.Store(on) }

// TopicDefaults returns the topic defaults in force with img: the
// broker's static ones with the dynamic broker configs of img laid over
// them (the cluster-wide default's, then this broker's own). They are
// computed once per image (produce checks them on every acks=all append);
// the map is shared and must not be modified.
func (m *Manager) TopicDefaults(img *metadata.Image) map[string]string {
	if c := m.defaults.Load(); c != nil && c.img == img {
		return c.defaults
	}
	d := config.OverlayDynamic(m.topicDefaults, img.BrokerDefaultConfigs(), img.BrokerConfigs(m.nodeID))
	m.defaults.Store(&imageDefaults{img: img, defaults: d})
	return d
}

// MinInsyncReplicas returns the min.insync.replicas in force for topic:
// its own override, else the broker's default (TopicDefaults, dynamic
// configs included), else 1.
func (m *Manager) MinInsyncReplicas(topic string) int {
	img := m.Image()
	v, ok := img.TopicConfigs(topic)["min.insync.replicas"]
	if !ok {
		v = m.TopicDefaults(img)["min.insync.replicas"]
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n
	}
	return 1
}

// CheckMinISR returns the min.insync.replicas in force for p's topic, or
// ErrNotEnoughReplicas when p's ISR is smaller: an acks=all append must
// not begin (a produce's, or the group coordinator's).
func (m *Manager) CheckMinISR(p *Partition) (int, error) {
	minISR := m.MinInsyncReplicas(p.TP.Topic)
	if isr := p.ISRSize(); isr < minISR {
		return minISR, fmt.Errorf("%w: %s has %d in-sync replicas, min.insync.replicas is %d", ErrNotEnoughReplicas, p.TP, isr, minISR)
	}
	return minISR, nil
}

// imageDefaults are the topic defaults in force with one image.
type imageDefaults struct {
	img      *metadata.Image
	defaults map[string]string
}

// LogConfig returns the storage configuration of topic in img: storage
// defaults, then the broker's topic defaults in force (TopicDefaults),
// then the topic's configs.
// Keys storage does not own (min.insync.replicas, …) are skipped.
func (m *Manager) LogConfig(img *metadata.Image, topic string) (storage.Config, error) {
	cfg := storage.DefaultConfig()
	apply := func(kv map[string]string) error {
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, err := cfg.SetTopicConfig(k, kv[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := apply(m.TopicDefaults(img)); err != nil {
		return cfg, fmt.Errorf("broker topic defaults: %w", err)
	}
	if err := apply(img.TopicConfigs(topic)); err != nil {
		return cfg, fmt.Errorf("topic %s: %w", topic, err)
	}
	return cfg, cfg.Validate()
}

// Apply reconciles the local partitions with img: it creates the logs of
// partitions placed on this broker, updates their configuration and
// leadership, and deletes the logs of partitions no longer here.
func (m *Manager) Apply(img *metadata.Image) error {
	want := map[storage.TopicPartition]bool{}
	var errs []error
	for _, name := range img.Topics.Names() {
		t := img.TopicByName(name)
		cfg, cfgErr := m.LogConfig(img, name)
		for id, part := range t.Partitions() {
			if !contains(part.Replicas, m.nodeID) {
				continue
			}
			tp := storage.TopicPartition{Topic: name, Partition: id}
			want[tp] = true
			if cfgErr != nil {
				errs = append(errs, cfgErr)
				continue
			}
			if err := m.ensure(tp, t.ID(), cfg, part); err != nil {
				errs = append(errs, err)
			}
		}
	}
	m.mu.Lock()
	var gone []storage.TopicPartition
	var goneParts []*Partition
	for tp, p := range m.parts {
		if !want[tp] {
			gone = append(gone, tp)
			goneParts = append(goneParts, p)
			delete(m.parts, tp)
		}
	}
	m.mu.Unlock()
	for _, p := range goneParts {
		m.unfollow(p)
		p.stopFollowing()
	}
	for _, tp := range gone {
		m.logger.Info("deleting partition", "topic", tp.Topic, "partition", tp.Partition)
		if err := m.logs.Delete(tp); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", tp, err))
		}
	}
	old := m.image.Swap(img)
	if livenessChanged(old, img) {
		// DeleteRecords waits on the replicas of live brokers
		// (BrokerAlive): a broker fenced or back changes what it waits on.
		for _, p := range m.Partitions() {
			p.Log.Wake()
		}
	}
	return errors.Join(errs...)
}

// BrokerAlive reports whether broker id is registered and unfenced in the
// latest image (Kafka's hasAliveBroker).
func (m *Manager) BrokerAlive(id int32) bool {
	b, ok := m.Image().Broker(id)
	return ok && !b.Fenced
}

// livenessChanged reports whether a broker registered and unfenced in one
// image is not in the other.
func livenessChanged(old, img *metadata.Image) bool {
	if old == nil {
		return false
	}
	return !slices.EqualFunc(old.LiveBrokers(), img.LiveBrokers(), func(a, b metadata.Broker) bool { return a.ID == b.ID })
}

// ensure creates or updates one local partition.
func (m *Manager) ensure(tp storage.TopicPartition, topicID protocol.UUID, cfg storage.Config, part metadata.Partition) error {
	m.mu.RLock()
	p := m.parts[tp]
	m.mu.RUnlock()
	if p != nil && p.TopicID != topicID {
		// The topic was deleted and created again between two images we
		// applied: the old log goes.
		m.logger.Info("replacing the log of a recreated topic", "topic", tp.Topic, "partition", tp.Partition)
		m.mu.Lock()
		delete(m.parts, tp)
		m.mu.Unlock()
		m.unfollow(p)
		p.stopFollowing()
		if err := m.logs.Delete(tp); err != nil {
			return fmt.Errorf("delete %s of the old topic: %w", tp, err)
		}
		p = nil
	}
	if p == nil {
		if have := m.logs.Log(tp); have != nil {
			if id := m.logs.TopicID(tp); id != [16]byte(topicID) && id != ([16]byte{}) {
				// A log left from an earlier topic of the same name.
				m.logger.Warn("replacing a stray log of a deleted topic", "topic", tp.Topic, "partition", tp.Partition)
				if err := m.logs.Delete(tp); err != nil {
					return fmt.Errorf("delete stray %s: %w", tp, err)
				}
			}
		}
		l, err := m.logs.GetOrCreate(tp, [16]byte(topicID), cfg)
		if err != nil {
			return fmt.Errorf("create %s: %w", tp, err)
		}
		p = &Partition{TP: tp, TopicID: topicID, Log: l}
		p.leader.Store(-1)
		p.leaderEpoch.Store(-1)
		p.partitionEpoch = -1
		// Kafka's rule: the checkpointed high watermark, at least the
		// log start, at most the log end; never the log end by default.
		hw := max(m.hwCkpt[tp], l.StartOffset())
		p.hw.Store(min(hw, l.EndOffset()))
		m.mu.Lock()
		m.parts[tp] = p
		m.mu.Unlock()
		m.logger.Info("created partition", "topic", tp.Topic, "partition", tp.Partition, "leader", part.Leader, "leader_epoch", part.LeaderEpoch)
	} else if err := p.Log.SetConfig(cfg); err != nil {
		return fmt.Errorf("configure %s: %w", tp, err)
	}
	r, fs := p.applyImage(part, m.nodeID, time.Now())
	// A follower's copy is read by no consumer (unless consumers read
	// followers by rack): once synced, its pages leave the page cache,
	// which the leaders' data keeps.
	p.Log.SetDropCache(r == roleFollower && !m.keepFollowerPages.Load())
	switch {
	case fs != nil:
		m.follow(p, part.Leader, fs)
	case r != roleFollower:
		m.unfollow(p)
	}
	return nil
}

// Partitions returns every partition held, by topic and partition.
func (m *Manager) Partitions() []*Partition {
	m.mu.RLock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Partition) int { return a.TP.Compare(b.TP) })
	return out
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
