package replica

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/storage"
)

// fetchVersion is the Fetch version followers send: topic ids (13+) and
// the replica's broker epoch (15+, KIP-903).
const fetchVersion = 15

// maxResponseFrame bounds a fetch response frame a follower accepts
// (replica.fetch.response.max.bytes with room for the first batch that
// may exceed it, KIP-74).
const maxResponseFrame = 256 << 20

// fetcherKey names a fetcher: its source broker and its index among the
// num.replica.fetchers fetchers for that broker.
type fetcherKey struct {
	leader int32
	index  int
}

// fetchItem is a partition a fetcher fetches, with the fetch state it
// was handed; backoffUntil delays it after an error.
type fetchItem struct {
	p            *Partition
	fs           *fetchState
	backoffUntil time.Time
}

// fetcher is one follower fetch loop (Kafka's ReplicaFetcherThread): a
// connection to one leader broker over which it fetches a set of
// partitions, appends what arrives, syncs it (in the durable mode, before
// the next fetch reports the new offsets) and truncates where the
// leader's log diverges, syncing the cut before it fetches again. The manager adds and removes partitions; it
// stops the fetcher when none are left.
type fetcher struct {
	m      *Manager
	key    fetcherKey
	logger *slog.Logger

	mu    sync.Mutex
	items map[*Partition]*fetchItem
	wake  chan struct{} // a partition was added

	conn net.Conn
	rd   *bufio.Reader
	// failures counts consecutive failed fetches: the first is logged,
	// then one in 50, while a leader stays unreachable.
	failures int
	corr     int32
	buf      []byte
	frame    []byte // the last response read, reused by the next

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newFetcher(m *Manager, key fetcherKey) *fetcher {
	f := &fetcher{m: m, key: key, items: map[*Partition]*fetchItem{}, wake: make(chan struct{}, 1), done: make(chan struct{}),
		logger: m.logger.With("fetcher_leader", key.leader, "fetcher", key.index)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	go f.run()
	return f
}

// add hands the fetcher a partition to fetch with fs.
func (f *fetcher) add(p *Partition, fs *fetchState) {
	f.mu.Lock()
	f.items[p] = &fetchItem{p: p, fs: fs}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// remove stops fetching p and reports how many partitions are left.
func (f *fetcher) remove(p *Partition) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, p)
	return len(f.items)
}

// stop ends the loop and waits for it.
func (f *fetcher) stop() {
	f.cancel()
	<-f.done
}

func (f *fetcher) run() {
	defer close(f.done)
	defer f.closeConn()
	for f.ctx.Err() == nil {
		batch, next := f.ready()
		if len(batch) == 0 {
			f.sleep(next)
			continue
		}
		if err := f.fetchOnce(batch); err != nil {
			if f.ctx.Err() != nil {
				return
			}
			if f.failures%50 == 0 {
				f.logger.Warn("replica fetch failed", "err", err, "failures", f.failures+1)
			}
			f.failures++
			f.closeConn()
			f.sleep(time.Now().Add(f.m.o.FetchBackoff))
			continue
		}
		f.failures = 0
	}
}

// ready returns the partitions to fetch now, and when the next backed-off
// one is due (zero if none is).
func (f *fetcher) ready() ([]*fetchItem, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	var out []*fetchItem
	var next time.Time
	for _, it := range f.items {
		if it.fs.awaitingMetadata {
			continue
		}
		if it.backoffUntil.After(now) {
			if next.IsZero() || it.backoffUntil.Before(next) {
				next = it.backoffUntil
			}
			continue
		}
		out = append(out, it)
	}
	return out, next
}

// sleep waits until t (forever if zero), a partition is added, or stop.
func (f *fetcher) sleep(t time.Time) {
	var timer <-chan time.Time
	if !t.IsZero() {
		tm := time.NewTimer(time.Until(t))
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-f.ctx.Done():
	case <-f.wake:
	case <-timer:
	}
}

// fetchOnce sends one Fetch for items and carries out the answer.
func (f *fetcher) fetchOnce(items []*fetchItem) error {
	req := &protocol.FetchRequest{}
	req.Default()
	req.ReplicaID = -1
	req.ReplicaState = protocol.FetchRequestReplicaState{ReplicaID: f.m.nodeID, ReplicaEpoch: f.m.o.BrokerEpoch()}
	req.MaxWaitMs = int32(f.m.o.FetchWaitMax.Milliseconds())
	req.MinBytes = f.m.o.FetchMinBytes
	req.MaxBytes = f.m.o.FetchResponseMaxBytes
	req.SessionID, req.SessionEpoch = 0, -1 // a full fetch every time
	byTopic := map[protocol.UUID]int{}
	type sent struct {
		it  *fetchItem
		req fetchRequest
	}
	index := map[protocol.UUID]map[int32]sent{}
	throttled := map[*fetchItem]bool{}
	skipped := 0
	for _, it := range items {
		if f.m.followerThrottled(it.p) {
			if f.m.followerQuota.Exceeded() {
				skipped++ // over follower.replication.throttled.rate: not this time
				continue
			}
			throttled[it] = true
		}
		it.p.mu.Lock()
		current := it.p.fetch == it.fs
		r := it.fs.request()
		it.p.mu.Unlock()
		if !current {
			continue
		}
		ti, ok := byTopic[it.p.TopicID]
		if !ok {
			ti = len(req.Topics)
			byTopic[it.p.TopicID] = ti
			req.Topics = append(req.Topics, protocol.FetchRequestFetchTopic{TopicID: it.p.TopicID})
			index[it.p.TopicID] = map[int32]sent{}
		}
		fp := protocol.FetchRequestFetchPartition{}
		fp.Default()
		fp.Partition, fp.CurrentLeaderEpoch, fp.FetchOffset, fp.LastFetchedEpoch = it.p.TP.Partition, r.CurrentLeaderEpoch, r.FetchOffset, r.LastFetchedEpoch
		fp.LogStartOffset, fp.PartitionMaxBytes = it.p.Log.StartOffset(), f.m.o.FetchMaxBytes
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, fp)
		index[it.p.TopicID][it.p.TP.Partition] = sent{it, r}
	}
	if len(req.Topics) == 0 {
		if skipped > 0 {
			f.sleep(time.Now().Add(100 * time.Millisecond)) // the throttle's rate falls meanwhile
		}
		return nil
	}
	resp, err := f.roundTrip(req)
	if err != nil {
		return err
	}
	if resp.ErrorCode != 0 {
		return fmt.Errorf("fetch from broker %d: %s", f.key.leader, protocol.ErrorCode(resp.ErrorCode).Name())
	}
	// Out of range: where the follower's offset lies against the
	// leader's log end decides what it cuts, and the fetch response gives
	// only the high watermark, which can be lower.
	var outOfRange []*fetchItem
	for _, t := range resp.Responses {
		for i := range t.Partitions {
			pd := &t.Partitions[i]
			if protocol.ErrorCode(pd.ErrorCode) != protocol.ErrOffsetOutOfRange {
				continue
			}
			if s, ok := index[t.TopicID][pd.PartitionIndex]; ok {
				outOfRange = append(outOfRange, s.it)
			}
		}
	}
	var leaderEnds map[*fetchItem]int64
	if len(outOfRange) > 0 {
		if leaderEnds, err = f.leaderEnds(outOfRange); err != nil {
			return err
		}
	}
	var appended, truncated []*fetchItem
	for _, t := range resp.Responses {
		parts := index[t.TopicID]
		for i := range t.Partitions {
			pd := &t.Partitions[i]
			s, ok := parts[pd.PartitionIndex]
			if !ok {
				continue
			}
			leaderEnd, ok := leaderEnds[s.it]
			if !ok {
				leaderEnd = -1
			}
			n, cut := f.handle(s.it, s.req, pd, leaderEnd)
			if n > 0 {
				appended = append(appended, s.it)
				if throttled[s.it] {
					f.m.followerQuota.Record(int64(n))
				}
			}
			if cut {
				truncated = append(truncated, s.it)
			}
		}
	}
	// A truncation is made durable before the next fetch brings records
	// to write over it: until then a power loss could bring back the
	// segments it removed, behind a segment holding new, unsynced writes
	// that recovery, going by a recovery point checkpointed before the
	// cut, would trust unscanned. (The sync also writes the recovery
	// point the truncation lowered.)
	for _, it := range truncated {
		if err := it.p.Log.Sync(); err != nil {
			f.logger.Error("follower truncation not synced", "topic", it.p.TP.Topic, "partition", it.p.TP.Partition, "err", err)
			it.backoffUntil = time.Now().Add(f.m.o.FetchBackoff)
		}
	}
	// The durable mode: what was appended is synced before the next
	// fetch reports it (the flusher syncs each log; waiting here lets
	// the logs sync in parallel).
	for _, it := range appended {
		end := it.p.Log.EndOffset()
		if err := it.p.Log.WaitDurable(f.ctx, end); err != nil {
			if f.ctx.Err() != nil {
				return nil
			}
			f.logger.Error("follower log failed, partition stops fetching", "topic", it.p.TP.Topic, "partition", it.p.TP.Partition, "err", err)
			it.p.mu.Lock()
			it.fs.awaitingMetadata = true
			it.p.mu.Unlock()
		}
	}
	return nil
}

// handle carries out the leader's answer for one partition and returns
// the bytes appended and whether the log was truncated. leaderEnd is the
// leader's log end when the answer is out of range (-1 if unknown).
func (f *fetcher) handle(it *fetchItem, sentReq fetchRequest, pd *protocol.FetchResponsePartitionData, leaderEnd int64) (appended int, truncated bool) {
	p := it.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fetch != it.fs || it.fs.request() != sentReq {
		return 0, false // the role changed, or the state moved on, meanwhile
	}
	r := fetchResponse{Err: protocol.ErrorCode(pd.ErrorCode), HighWatermark: pd.HighWatermark, LogStartOffset: pd.LogStartOffset,
		LeaderEndOffset: leaderEnd, HasRecords: len(pd.Records) > 0}
	if pd.DivergingEpoch.Epoch >= 0 && pd.DivergingEpoch.EndOffset >= 0 {
		r.Diverging, r.DivergingEpoch, r.DivergingEndOffset = true, pd.DivergingEpoch.Epoch, pd.DivergingEpoch.EndOffset
	}
	log := p.Log
	own := func(e int32) (int32, int64) { return log.Epochs().EndOffsetFor(e, log.EndOffset()) }
	for _, st := range it.fs.response(r, own) {
		switch st.Kind {
		case stepAppend:
			data := wholeBatchesFrom(pd.Records, it.fs.fetchOffset)
			if len(data) == 0 {
				break
			}
			if _, err := log.Append(data, storage.AppendOptions{Follower: true}); err != nil {
				f.logger.Warn("follower append failed", "topic", p.TP.Topic, "partition", p.TP.Partition, "err", err)
				it.backoffUntil = time.Now().Add(f.m.o.FetchBackoff)
				return appended, truncated
			}
			it.fs.appended(log.EndOffset(), latestEpoch(log), pd.HighWatermark)
			appended += len(data)
		case stepTruncate, stepTruncateFully:
			endBefore, epochBefore := log.EndOffset(), latestEpoch(log)
			var err error
			if st.Kind == stepTruncate {
				err = log.TruncateTo(st.Offset)
			} else {
				err = log.TruncateFullyAndStartAt(st.Offset)
			}
			if err != nil {
				f.logger.Error("follower truncation failed", "topic", p.TP.Topic, "partition", p.TP.Partition, "offset", st.Offset, "err", err)
				it.backoffUntil = time.Now().Add(f.m.o.FetchBackoff)
				return appended, truncated
			}
			if st.Kind == stepTruncate && log.EndOffset() == endBefore && latestEpoch(log) == epochBefore {
				// Nothing changed, so the same fetch would diverge the
				// same way: not in a tight loop.
				f.logger.Warn("follower truncation changed nothing", "topic", p.TP.Topic, "partition", p.TP.Partition, "offset", st.Offset)
				it.backoffUntil = time.Now().Add(f.m.o.FetchBackoff)
				return appended, truncated
			}
			f.logger.Info("follower truncated", "topic", p.TP.Topic, "partition", p.TP.Partition, "offset", log.EndOffset())
			it.fs.truncated(log.EndOffset(), latestEpoch(log))
			truncated = true
		case stepBackoff:
			it.backoffUntil = time.Now().Add(f.m.o.FetchBackoff)
		case stepAwaitMetadata:
		}
	}
	if p.hw.Swap(it.fs.hw) != it.fs.hw {
		log.WakeWatchers() // consumers reading this follower wait on it
	}
	// The leader's log start moved (DeleteRecords, or its retention):
	// so does ours, up to what this replica knows is committed, and the
	// next fetch reports it, which the leader's DeleteRecords waits for.
	if pd.ErrorCode == 0 && pd.LogStartOffset > log.StartOffset() {
		if to := min(pd.LogStartOffset, it.fs.hw, log.EndOffset()); to > log.StartOffset() {
			if err := log.SetStartOffset(to); err != nil {
				f.logger.Warn("follower log start not moved", "topic", p.TP.Topic, "partition", p.TP.Partition, "offset", to, "err", err)
			}
		}
	}
	return appended, truncated
}

// latestEpoch is the epoch of the log's last batch, or -1.
func latestEpoch(l *storage.Log) int32 {
	if e, ok := l.Epochs().LatestEpoch(); ok {
		return e
	}
	return -1
}

// wholeBatchesFrom returns the whole batches of data that end at or after
// from (a leader may answer with a partial last batch, which is dropped,
// or a first batch the follower already has, which is skipped).
func wholeBatchesFrom(data []byte, from int64) []byte {
	it := record.NewBatches(data)
	start, end := -1, 0
	pos := 0
	for it.Next() {
		b := it.Batch()
		h := it.Header()
		if h.LastOffset() >= from && start < 0 {
			start = pos
		}
		pos += len(b)
		end = pos
	}
	if start < 0 {
		return nil
	}
	return data[start:end]
}
