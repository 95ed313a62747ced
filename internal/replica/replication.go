package replica

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/internal/controller"
	"github.com/sluice-mq/sluice/internal/storage"
)

// ReplicationOptions configure followers' fetchers, the leaders' ISR
// maintenance and the high watermark checkpoint. Zero values are Kafka's
// defaults.
type ReplicationOptions struct {
	// Listener names the endpoint followers connect to leaders on
	// (the inter-broker listener); the leader's first endpoint if absent.
	Listener string
	// Fetchers is num.replica.fetchers: fetch loops per source broker.
	Fetchers int
	// replica.fetch.max.bytes, replica.fetch.response.max.bytes,
	// replica.fetch.min.bytes, replica.fetch.wait.max.ms,
	// replica.fetch.backoff.ms, replica.socket.timeout.ms.
	FetchMaxBytes         int32
	FetchResponseMaxBytes int32
	FetchMinBytes         int32
	FetchWaitMax          time.Duration
	FetchBackoff          time.Duration
	SocketTimeout         time.Duration
	// LagTimeMax is replica.lag.time.max.ms: a follower not caught up for
	// longer leaves the ISR.
	LagTimeMax time.Duration
	// CheckpointInterval is replica.high.watermark.checkpoint.interval.ms.
	CheckpointInterval time.Duration
	// AlterISR proposes an ISR change to the active controller
	// (controller.AlterPartition); BrokerEpoch is this broker's epoch.
	AlterISR    func(ctx context.Context, req controller.AlterISRRequest) (controller.AlterISRReply, error)
	BrokerEpoch func() int64
	// LeaderThrottleRate and FollowerThrottleRate are the static
	// leader.replication.throttled.rate and follower.replication.throttled.rate
	// (dynamic broker configs in the image override them);
	// QuotaWindow and QuotaSamples are replication.quota.window.size.seconds
	// and replication.quota.window.num.
	LeaderThrottleRate   int64
	FollowerThrottleRate int64
	QuotaWindow          time.Duration
	QuotaSamples         int
	// Dial connects to a leader (net.Dialer's by default).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	clientID string
}

func (o *ReplicationOptions) fill() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Fetchers <= 0 {
		o.Fetchers = 1
	}
	if o.FetchMaxBytes <= 0 {
		o.FetchMaxBytes = 1 << 20
	}
	if o.FetchResponseMaxBytes <= 0 {
		o.FetchResponseMaxBytes = 10 << 20
	}
	if o.FetchMinBytes <= 0 {
		o.FetchMinBytes = 1
	}
	def(&o.FetchWaitMax, 500*time.Millisecond)
	def(&o.FetchBackoff, time.Second)
	def(&o.SocketTimeout, 30*time.Second)
	def(&o.LagTimeMax, 30*time.Second)
	def(&o.CheckpointInterval, 5*time.Second)
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	if o.LeaderThrottleRate <= 0 {
		o.LeaderThrottleRate = math.MaxInt64
	}
	if o.FollowerThrottleRate <= 0 {
		o.FollowerThrottleRate = math.MaxInt64
	}
	def(&o.QuotaWindow, time.Second)
	if o.QuotaSamples <= 0 {
		o.QuotaSamples = 11
	}
	if o.BrokerEpoch == nil {
		o.BrokerEpoch = func() int64 { return -1 }
	}
	o.clientID = "sluice-replica-fetcher"
}

// StartReplication starts the follower fetchers (from the next image
// applied), the ISR maintenance of the partitions this broker leads and
// the high watermark checkpoint. Without it the manager neither fetches
// nor changes ISRs (tests of the single-replica paths).
func (m *Manager) StartReplication(o ReplicationOptions) {
	o.fill()
	m.fmu.Lock()
	m.o = o
	m.leaderQuota = newQuota(o.QuotaWindow, o.QuotaSamples, func() int64 { return m.throttlesFor(m.Image()).leaderRate })
	m.followerQuota = newQuota(o.QuotaWindow, o.QuotaSamples, func() int64 { return m.throttlesFor(m.Image()).follower })
	m.replicating = true
	m.fmu.Unlock()
	m.wg.Add(2)
	go m.every(max(o.LagTimeMax/2, 10*time.Millisecond), m.shrinkISRs)
	go m.every(o.CheckpointInterval, func() {
		if err := m.checkpointHW(); err != nil {
			m.logger.Warn("high watermark checkpoint failed", "err", err)
		}
	})
}

// Close stops the fetchers and the background loops and writes the high
// watermark checkpoint a last time. The logs stay open (the storage
// manager owns them).
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		m.bgCancel()
	})
	m.wg.Wait()
	m.fmu.Lock()
	fetchers := m.fetchers
	m.fetchers = map[fetcherKey]*fetcher{}
	m.following = map[*Partition]fetcherKey{}
	replicating := m.replicating
	m.replicating = false
	m.fmu.Unlock()
	for _, f := range fetchers {
		f.stop()
	}
	if !replicating {
		return nil
	}
	return m.checkpointHW()
}

// follow hands p to the fetcher for its leader.
func (m *Manager) follow(p *Partition, leader int32, fs *fetchState) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	if !m.replicating {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(p.TP.Topic))
	key := fetcherKey{leader: leader, index: int((h.Sum32() + uint32(p.TP.Partition)) % uint32(m.o.Fetchers))}
	if old, ok := m.following[p]; ok && old != key {
		m.unfollowLocked(p)
	}
	f := m.fetchers[key]
	if f == nil {
		f = newFetcher(m, key)
		m.fetchers[key] = f
	}
	m.following[p] = key
	f.add(p, fs)
}

// unfollow stops fetching p.
func (m *Manager) unfollow(p *Partition) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.unfollowLocked(p)
}

func (m *Manager) unfollowLocked(p *Partition) {
	key, ok := m.following[p]
	if !ok {
		return
	}
	delete(m.following, p)
	if f := m.fetchers[key]; f != nil && f.remove(p) == 0 {
		delete(m.fetchers, key)
		go f.stop() // it may be inside a fetch; nothing waits on it
	}
}

// every runs fn every d until the manager closes; the caller counted it
// in wg.
func (m *Manager) every(d time.Duration, fn func()) {
	defer m.wg.Done()
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			fn()
		}
	}
}

// shrinkISRs proposes the ISR shrinks of the partitions this broker
// leads, run every half replica.lag.time.max.ms (as Kafka checks).
func (m *Manager) shrinkISRs() {
	now := time.Now()
	for _, p := range m.Partitions() {
		if req, ok := m.shrinkProposal(p, now); ok {
			m.alter(p, req, &m.isrShrinks)
		}
	}
}

// shrinkProposal returns the ISR change to propose for p if some of its
// followers fell behind.
func (m *Manager) shrinkProposal(p *Partition, now time.Time) (alterProposal, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ls == nil || p.altering || m.o.AlterISR == nil {
		return alterProposal{}, false
	}
	isr, ok := p.ls.shrinkTo(now, m.o.LagTimeMax)
	if !ok {
		return alterProposal{}, false
	}
	p.setAlteringLocked(true)
	m.logger.Info("shrinking isr", "topic", p.TP.Topic, "partition", p.TP.Partition, "isr", p.ls.isr, "new_isr", isr)
	return m.alterRequest(p, isr), true
}

// Expand proposes follower id's addition to p's ISR, after a fetch found
// it caught up (Partition.FollowerFetch), if the metadata shows it
// unfenced, not shutting down and on the broker epoch it fetched with
// (-1: unknown, not checked).
func (m *Manager) Expand(p *Partition, id int32, brokerEpoch int64) {
	if m.o.AlterISR == nil {
		return
	}
	b, ok := m.Image().Broker(id)
	if !ok || b.Fenced || b.InControlledShutdown || (brokerEpoch >= 0 && b.Epoch != brokerEpoch) {
		return
	}
	p.mu.Lock()
	if p.ls == nil || p.altering || !slices.Contains(p.ls.expandable(), id) {
		p.mu.Unlock()
		return
	}
	isr := append(p.ls.maximalISR(), id)
	p.ls.propose([]int32{id})
	p.setAlteringLocked(true)
	req := m.alterRequest(p, isr)
	p.mu.Unlock()
	m.logger.Info("expanding isr", "topic", p.TP.Topic, "partition", p.TP.Partition, "new_isr", isr)
	m.alter(p, req, &m.isrExpands)
}

func (m *Manager) alterRequest(p *Partition, isr []int32) alterProposal {
	return alterProposal{seq: p.alterSeq, req: controller.AlterISRRequest{BrokerID: m.nodeID, BrokerEpoch: m.o.BrokerEpoch(),
		TopicID: p.TopicID, Partition: p.TP.Partition, LeaderEpoch: p.leaderEpoch.Load(), PartitionEpoch: p.partitionEpoch, ISR: isr}}
}

// alterProposal is an ISR change to send, and the number of the proposal
// (Partition.alterSeq) its reply answers.
type alterProposal struct {
	seq uint64
	req controller.AlterISRRequest
}

// alter sends an ISR change in the background; p stays altering until
// the metadata shows the change, or the proposal fails. count is
// incremented once the controller accepted the change.
func (m *Manager) alter(p *Partition, prop alterProposal, count *atomic.Uint64) {
	select {
	case <-m.stop:
		m.alterDone(p, prop.seq, controller.AlterISRReply{}, errors.New("stopping"))
		return
	default:
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.bg, m.o.SocketTimeout)
		defer cancel()
		reply, err := m.o.AlterISR(ctx, prop.req)
		if err == nil {
			count.Add(1)
		}
		m.alterDone(p, prop.seq, reply, err)
	}()
}

// alterDone takes the reply to proposal seq. A stale reply (the proposal
// was superseded by an image or a later proposal) changes nothing: it
// must not clear the pending additions of the proposal now in flight,
// which the high watermark still counts (Kafka's maximal ISR).
func (m *Manager) alterDone(p *Partition, seq uint64, reply controller.AlterISRReply, err error) {
	p.mu.Lock()
	if seq != p.alterSeq || !p.altering {
		p.mu.Unlock()
		if err != nil {
			m.logger.Info("stale isr change failed", "topic", p.TP.Topic, "partition", p.TP.Partition, "err", err)
		}
		return
	}
	if err != nil {
		m.logger.Warn("isr change failed", "topic", p.TP.Topic, "partition", p.TP.Partition, "err", err)
		p.setAlteringLocked(false)
		if p.ls != nil {
			p.ls.pending = nil
		}
		p.mu.Unlock()
		p.Log.Wake() // without the pending additions the high watermark may move
		return
	}
	defer p.mu.Unlock()
	if reply.PartitionEpoch > p.partitionEpoch {
		p.alterEpoch = reply.PartitionEpoch // until the image shows it
		return
	}
	p.setAlteringLocked(false)
}

// ISRChanges returns how many ISR shrinks and expansions this broker,
// as a leader, had accepted by the controller.
func (m *Manager) ISRChanges() (shrinks, expands uint64) {
	return m.isrShrinks.Load(), m.isrExpands.Load()
}

// checkpointHW writes every partition's high watermark
// (replication-offset-checkpoint).
func (m *Manager) checkpointHW() error {
	hw := map[storage.TopicPartition]int64{}
	for _, p := range m.Partitions() {
		hw[p.TP] = p.HighWatermark()
	}
	return m.logs.WriteHighWatermarks(hw)
}
