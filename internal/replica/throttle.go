package replica

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/config"
	"github.com/sluice-mq/sluice/internal/metadata"
)

// Replication throttles (Kafka's replication quotas, KIP-73): a leader
// limits the bytes it sends to the followers its topics list in
// leader.replication.throttled.replicas to leader.replication.throttled.rate,
// and a follower the bytes it fetches for the replicas listed in
// follower.replication.throttled.replicas to
// follower.replication.throttled.rate, both measured over
// replication.quota.window.num windows of
// replication.quota.window.size.seconds. Only replicas outside the ISR
// are throttled (a reassignment's new replicas, a broker catching up), so
// a throttle never holds back the high watermark. When the rate is over,
// the throttled partitions are left out of the fetch (follower) or
// answered without records (leader) until it falls back. A rate of 0, as
// in Kafka, lets a throttled fetch through only when the window has
// counted nothing.

// Quota measures one direction's throttled bytes.
type Quota struct {
	mu      sync.Mutex
	window  time.Duration // one sample
	samples []int64
	first   int64 // index (time/window) of samples[0]'s slot
	started time.Time
	limit   func() int64
}

func newQuota(window time.Duration, samples int, limit func() int64) *Quota {
	return &Quota{window: window, samples: make([]int64, samples), started: time.Now(), limit: limit}
}

// slot returns the sample for now, zeroing those that fell out.
func (q *Quota) slot(now time.Time) *int64 {
	idx := now.UnixNano() / int64(q.window)
	n := int64(len(q.samples))
	if idx-q.first >= n {
		// Everything older than the window goes.
		drop := min(idx-q.first-n+1, n)
		for i := range drop {
			q.samples[(q.first+i)%n] = 0
		}
		q.first = idx - n + 1
	}
	return &q.samples[idx%n]
}

// Record counts n throttled bytes now.
func (q *Quota) Record(n int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	*q.slot(time.Now()) += n
}

// Rate is the throttled bytes per second over the window (over the time
// since the quota started, while that is shorter, and at least one
// sample).
func (q *Quota) Rate() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	q.slot(now)
	var sum int64
	for _, s := range q.samples {
		sum += s
	}
	span := min(time.Duration(len(q.samples))*q.window, max(now.Sub(q.started), q.window))
	return float64(sum) / span.Seconds()
}

// Exceeded reports whether the rate is over the limit.
func (q *Quota) Exceeded() bool {
	l := q.limit()
	return l < math.MaxInt64 && q.Rate() > float64(l)
}

// throttles are the throttle settings in force with one image.
type throttles struct {
	img                  *metadata.Image
	leaderRate, follower int64
	// lists caches each topic's parsed lists.
	mu    sync.Mutex
	lists map[string]throttleLists
}

type throttleLists struct {
	leader, follower       map[[2]int32]bool
	leaderAll, followerAll bool
}

// throttlesFor returns the throttle settings of img: the rates from the
// static configuration with the dynamic broker configs over them (the
// cluster-wide default's, then this broker's own).
func (m *Manager) throttlesFor(img *metadata.Image) *throttles {
	if t := m.throttleCache.Load(); t != nil && t.img == img {
		return t
	}
	t := &throttles{img: img, leaderRate: m.o.LeaderThrottleRate, follower: m.o.FollowerThrottleRate, lists: map[string]throttleLists{}}
	for _, layer := range []map[string]string{img.BrokerDefaultConfigs(), img.BrokerConfigs(m.nodeID)} {
		if v, err := strconv.ParseInt(layer["leader.replication.throttled.rate"], 10, 64); err == nil && v >= 0 {
			t.leaderRate = v
		}
		if v, err := strconv.ParseInt(layer["follower.replication.throttled.rate"], 10, 64); err == nil && v >= 0 {
			t.follower = v
		}
	}
	m.throttleCache.Store(t)
	return t
}

// listsOf returns topic's throttled replica lists.
func (t *throttles) listsOf(topic string) throttleLists {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.lists[topic]; ok {
		return l
	}
	var l throttleLists
	cfg := t.img.TopicConfigs(topic)
	l.leader, l.leaderAll, _ = config.ParseThrottledReplicas(cfg["leader.replication.throttled.replicas"])
	l.follower, l.followerAll, _ = config.ParseThrottledReplicas(cfg["follower.replication.throttled.replicas"])
	t.lists[topic] = l
	return l
}

// LeaderThrottled reports whether the leader's sends to follower of p
// count against leader.replication.throttled.rate: the topic lists the
// replica and it is not in the ISR.
func (m *Manager) LeaderThrottled(p *Partition, follower int32) bool {
	if m.leaderQuota == nil {
		return false // not replicating
	}
	t := m.throttlesFor(m.Image())
	if t.leaderRate == math.MaxInt64 {
		return false
	}
	l := t.listsOf(p.TP.Topic)
	if !l.leaderAll && !l.leader[[2]int32{p.TP.Partition, follower}] {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ls != nil && !contains(p.ls.maximalISR(), follower)
}

// LeaderQuota is the leader side's quota.
func (m *Manager) LeaderQuota() *Quota { return m.leaderQuota }

// followerThrottled reports whether this broker's fetches of p count
// against follower.replication.throttled.rate.
func (m *Manager) followerThrottled(p *Partition) bool {
	img := m.Image()
	t := m.throttlesFor(img)
	if t.follower == math.MaxInt64 {
		return false
	}
	l := t.listsOf(p.TP.Topic)
	if !l.followerAll && !l.follower[[2]int32{p.TP.Partition, m.nodeID}] {
		return false
	}
	if ti := img.TopicByName(p.TP.Topic); ti != nil {
		if part, ok := ti.Partition(p.TP.Partition); ok && contains(part.ISR, m.nodeID) {
			return false
		}
	}
	return true
}
