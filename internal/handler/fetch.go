package handler

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// fetchPart is one partition of a Fetch being answered, a consumer's or
// a follower's.
type fetchPart struct {
	out    *protocol.FetchResponsePartitionData
	part   *replica.Partition
	offset int64
	max    int32
	// follower: the read goes to the log end (followers copy what is not
	// committed yet), not to the high watermark.
	follower bool
	// throttled: the bytes sent count against the leader's replication
	// throttle, and none are sent while it is over its rate.
	throttled bool
	// seen is the read's bound at the last read (the high watermark, or
	// the log end for a follower): a long poll wakes only when it moves.
	seen int64
	// epoch is the leader epoch the request names (-1: none); refused,
	// once set, is the partition's answer instead of a read.
	epoch   int32
	refused protocol.ErrorCode
	// anyReplica: a consumer's fetch that a follower may answer
	// (KIP-392), re-checked as such after a wake.
	anyReplica bool
	// topicID is the id the request names (zero below Fetch v13),
	// re-checked after a wake.
	topicID protocol.UUID
}

// bound is where the partition's read stops now.
func (fp *fetchPart) bound() int64 {
	if fp.follower {
		return fp.part.Log.EndOffset()
	}
	return fp.part.HighWatermark()
}

// watch returns a channel closed when the bound may have moved.
func (fp *fetchPart) watch() (<-chan struct{}, func()) {
	if fp.follower {
		return fp.part.Log.WatchEnd()
	}
	return fp.part.Log.Watch()
}

// Fetch answers a consumer's Fetch: batches from each partition's fetch
// offset up to the high watermark, whole batches from the segment files
// within the partition and response byte limits (the first batch always
// whole, KIP-74). When fewer than MinBytes are available it returns a
// Wait that long-polls until appends bring enough or MaxWaitMs passes.
// Incremental fetch sessions (KIP-227, v7+) decide which partitions are
// read and which the response carries (see FetchSessions).
//
// Records are not read into memory: each partition's response holds a
// FileRecords naming a byte range of a segment file, which the server
// sends with sendfile and then releases.
func (h *Handler) Fetch(ctx context.Context, req *protocol.FetchRequest, version int16) (*protocol.FetchResponse, func(context.Context) *protocol.FetchResponse) {
	resp, wait := h.fetch(ctx, req, version)
	if version > 5 && version < 16 {
		return resp, wait
	}
	finish := func(resp *protocol.FetchResponse) *protocol.FetchResponse {
		if resp == nil {
			return nil
		}
		if version <= 5 {
			storageErrorsAsNotLeader(resp)
		}
		h.hintFetchLeaders(resp, version)
		return resp
	}
	resp = finish(resp)
	if wait == nil {
		return resp, nil
	}
	return resp, func(ctx context.Context) *protocol.FetchResponse { return finish(wait(ctx)) }
}

// storageErrorsAsNotLeader answers KAFKA_STORAGE_ERROR as
// NOT_LEADER_OR_FOLLOWER, as Kafka does for Fetch v5 and older, whose
// clients take the storage error for a fatal unknown one.
func storageErrorsAsNotLeader(resp *protocol.FetchResponse) {
	for i := range resp.Responses {
		for j := range resp.Responses[i].Partitions {
			if p := &resp.Responses[i].Partitions[j]; p.ErrorCode == int16(protocol.ErrKafkaStorageError) {
				p.ErrorCode = int16(protocol.ErrNotLeaderOrFollower)
			}
		}
	}
}

// fetch answers a Fetch request but for the leader hints.
func (h *Handler) fetch(ctx context.Context, req *protocol.FetchRequest, version int16) (*protocol.FetchResponse, func(context.Context) *protocol.FetchResponse) {
	if id, epoch := replicaID(req, version); id >= 0 {
		return h.replicaFetch(ctx, req, version, id, epoch)
	}
	img := h.image()
	sc := fetchScratchPool.Get().(*fetchScratch)
	fc, code := h.sessions.beginInto(&sc.fc, req, version, func(id protocol.UUID) (string, bool) {
		if t := img.TopicByID(id); t != nil {
			return t.Name(), true
		}
		return "", false
	})
	if code != protocol.ErrNone {
		resp := fc.Filter(nil)
		sc.done(sc.read, sc.parts)
		return resp, nil
	}
	fps := fc.Partitions()
	read := slices.Grow(sc.read[:0], len(fps))[:len(fps)]
	answered := false
	defer func() {
		if !answered { // a panic: the segments read must not stay held
			releaseRead(read)
		}
	}()
	parts := sc.parts[:0]
	// Kafka answers at once when a partition it reads has an error, but
	// not for partitions its metadata lacks (unknown topics and ids),
	// which it answers beside the others without reading them.
	failed, redirected := false, false
	// From v11 a consumer may read any replica (KIP-392): a follower
	// answers up to its high watermark.
	anyReplica := version >= 11
	for i, p := range fps {
		out := &read[i]
		out.Default()
		out.PartitionIndex = p.Partition
		out.HighWatermark, out.LastStableOffset, out.LogStartOffset = -1, -1, -1
		out.Records = []byte{}
		if p.Topic == "" {
			out.ErrorCode = int16(protocol.ErrUnknownTopicID)
			continue
		}
		part, code := h.readableAt(storage.TopicPartition{Topic: p.Topic, Partition: p.Partition}, p.TopicID, p.CurrentLeaderEpoch, anyReplica)
		if code != protocol.ErrNone {
			out.ErrorCode = int16(code)
			failed = failed || code != protocol.ErrUnknownTopicOrPartition
			continue
		}
		if r := h.preferredReadReplica(img, part, p.FetchOffset, req.RackID, anyReplica); r >= 0 {
			// As Kafka: the consumer is sent to that replica, with the
			// partition's offsets and no records, and the fetch is
			// answered at once.
			hw := part.HighWatermark()
			out.PreferredReadReplica, out.HighWatermark, out.LastStableOffset, out.LogStartOffset = r, hw, hw, part.Log.StartOffset()
			redirected = true
			continue
		}
		parts = append(parts, fetchPart{out: out, part: part, offset: p.FetchOffset, max: p.MaxBytes, epoch: p.CurrentLeaderEpoch,
			anyReplica: anyReplica, topicID: p.TopicID})
	}
	maxBytes := req.MaxBytes
	if h.cfg.FetchMaxBytes > 0 && maxBytes > h.cfg.FetchMaxBytes {
		maxBytes = h.cfg.FetchMaxBytes // fetch.max.bytes bounds every response
	}
	// As Kafka: never wait for more than the response may carry.
	minBytes := min(int64(req.MinBytes), int64(maxBytes))
	got, readErr := readParts(parts, maxBytes, nil)
	if got >= minBytes || failed || readErr || redirected || req.MaxWaitMs <= 0 || len(parts) == 0 {
		resp := sc.finish(read, parts)
		answered = true
		return resp, nil
	}
	// The wait reads again; holding no segment meanwhile means nothing
	// leaks if the connection closes before the wait runs.
	releaseRead(read)
	answered = true
	wait := time.Duration(req.MaxWaitMs) * time.Millisecond
	return nil, func(ctx context.Context) *protocol.FetchResponse {
		defer func() {
			if p := recover(); p != nil { // release what was read, then let the server see it
				releaseRead(read)
				panic(p)
			}
		}()
		deadline := time.Now().Add(wait)
		for waitForMore(ctx, h.stopping, parts, deadline, h.recheckLeaders, &sc.cases) {
			// As Kafka's delayed fetch: a partition this broker no longer
			// leads, or whose leader epoch moved past the request's, ends
			// the wait with its error.
			moved := h.recheckLeaders(parts)
			if got, readErr := readParts(parts, maxBytes, nil); got >= minBytes || readErr || moved {
				return sc.finish(read, parts)
			}
		}
		if ctx.Err() == nil {
			readParts(parts, maxBytes, nil) // what arrived by the deadline
		}
		return sc.finish(read, parts)
	}
}

// fetchScratch is what a consumer's Fetch reads into and builds its
// response from. A fetch takes one from fetchScratchPool and gives it
// back once its response is built (the response copies what it needs),
// so a steady stream of fetches and long polls allocates little beyond
// its response. One dropped on a panic, or with a wait never run, is
// simply not reused.
type fetchScratch struct {
	fc    FetchContext
	read  []protocol.FetchResponsePartitionData
	parts []fetchPart
	cases []reflect.SelectCase
}

var fetchScratchPool = sync.Pool{New: func() any { return new(fetchScratch) }}

// finish builds the response from the partitions read and releases the
// file records it does not carry (whoever writes it releases the rest),
// then returns sc to the pool.
func (sc *fetchScratch) finish(read []protocol.FetchResponsePartitionData, parts []fetchPart) *protocol.FetchResponse {
	resp := sc.fc.Filter(read)
	for i := range read {
		if !sc.fc.Sent(i) {
			releaseFile(&read[i])
		}
	}
	sc.done(read, parts)
	return resp
}

// done returns sc to the pool with the slices the fetch grew, cleared
// so that the pool holds no segment, partition or channel.
func (sc *fetchScratch) done(read []protocol.FetchResponsePartitionData, parts []fetchPart) {
	clear(read)
	clear(parts)
	clear(sc.cases)
	sc.read, sc.parts, sc.cases = read[:0], parts[:0], sc.cases[:0]
	sc.fc.resolve = nil
	fetchScratchPool.Put(sc)
}

// recheckLeaders looks again, after a wake, at what each partition was
// first checked for: that this broker leads it (or holds it, for a
// consumer that may read any replica), as the same replica, at the epoch
// and of the topic id the request names (a topic deleted and created
// again during the wait is INCONSISTENT_TOPIC_ID for a fetch by id, as
// in Kafka, whose delayed fetch reads afresh). A partition that fails is
// refused from then on; it reports whether any is.
func (h *Handler) recheckLeaders(parts []fetchPart) bool {
	moved := false
	for i := range parts {
		fp := &parts[i]
		if fp.refused != protocol.ErrNone {
			moved = true
			continue
		}
		part, code := h.readableAt(fp.part.Log.TopicPartition(), fp.topicID, fp.epoch, fp.anyReplica)
		if code == protocol.ErrNone && part != fp.part {
			code = protocol.ErrNotLeaderOrFollower // the replica was made anew
		}
		if code != protocol.ErrNone {
			fp.refused, moved = code, true
		}
	}
	return moved
}

// readParts reads every partition afresh, each up to its bound, and
// returns the bytes gathered and whether any partition failed. A
// throttled partition is read only while quota is under its rate.
func readParts(parts []fetchPart, maxBytes int32, quota *replica.Quota) (int64, bool) {
	remaining := int64(maxBytes)
	if remaining <= 0 {
		remaining = 1
	}
	var total int64
	failed := false
	for i := range parts {
		fp := &parts[i]
		if fp.refused != protocol.ErrNone {
			releaseFile(fp.out)
			fp.out.ErrorCode, fp.out.Records = int16(fp.refused), []byte{}
			fp.out.HighWatermark, fp.out.LastStableOffset, fp.out.LogStartOffset = -1, -1, -1
			failed = true
			continue
		}
		l := fp.part.Log
		hw := fp.part.HighWatermark()
		bound := hw
		if fp.follower {
			bound = l.EndOffset()
		}
		fp.seen = bound
		fp.out.HighWatermark, fp.out.LastStableOffset, fp.out.LogStartOffset = hw, hw, l.StartOffset()
		// An empty record set, never null: librdkafka rejects a null one.
		fp.out.ErrorCode, fp.out.Records = 0, []byte{}
		releaseFile(fp.out) // read again: let the last read go
		if fp.throttled && quota.Exceeded() {
			continue
		}
		limit := min(int64(fp.max), remaining)
		res, err := l.Read(fp.offset, int(max(limit, 0)), bound, total == 0)
		if err != nil {
			if errors.Is(err, storage.ErrOffsetOutOfRange) {
				fp.out.ErrorCode = int16(protocol.ErrOffsetOutOfRange)
			} else {
				fp.out.ErrorCode = int16(appendErrorCode(err, 12))
			}
			failed = true
			continue
		}
		if res.Len > 0 {
			held := res // to the heap only when there is a range to send
			fp.out.RecordsFile = fileRecords(&held)
		}
		total += res.Len
		remaining -= res.Len
	}
	return total, failed
}

// fileRecords hands a read's byte range to the response: the server
// sends it from the segment file (sendfile where the file has a
// descriptor) and releases the segment once it is written.
func fileRecords(res *storage.ReadResult) *protocol.FileRecords {
	osf, _ := vfs.OSFile(res.File)
	return &protocol.FileRecords{
		File:    res.File,
		OS:      osf,
		Pos:     res.Position,
		Len:     int32(res.Len),
		Release: res.Release,
	}
}

// releaseRead releases the file records of a read that will be read
// again or dropped.
func releaseRead(read []protocol.FetchResponsePartitionData) {
	for i := range read {
		releaseFile(&read[i])
	}
}

// releaseFile releases the file records of one partition's read, if any.
func releaseFile(pd *protocol.FetchResponsePartitionData) {
	if f := pd.RecordsFile; f != nil {
		f.Done()
		pd.RecordsFile = nil
	}
}

// waitForMore blocks until a partition's bound (high watermark, or log
// end for a follower) moves from what the last read saw, the deadline
// passes, ctx ends or the handler stops; false means stop.
func waitForMore(ctx context.Context, stopping <-chan struct{}, parts []fetchPart, deadline time.Time, recheck func([]fetchPart) bool, scratch *[]reflect.SelectCase) bool {
	select {
	case <-ctx.Done():
		return false
	case <-stopping:
		return false
	default:
	}
	if !time.Now().Before(deadline) {
		return false
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var cases []reflect.SelectCase
	if scratch != nil {
		cases = (*scratch)[:0]
		defer func() { *scratch = cases }()
	}
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stopping)})
	for i := range parts {
		ch, done := parts[i].watch()
		defer done()
		if parts[i].bound() != parts[i].seen {
			return true // moved since the last read
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	// A replica dropped, or a leadership lost, before the watches above
	// were set woke nobody: look once they are (Kafka's delayed operations
	// try to complete after they are watched, for the same reason).
	if recheck != nil && recheck(parts) {
		return true
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 3
}

// leaderAt returns partition tp if this broker leads it at the leader
// epoch the request names (-1: any); see readableAt.
func (h *Handler) leaderAt(tp storage.TopicPartition, epoch int32) (*replica.Partition, protocol.ErrorCode) {
	return h.readableAt(tp, protocol.UUID{}, epoch, false)
}

// readableAt returns partition tp if this broker leads it, or, for
// anyReplica (a consumer's Fetch v11+, KIP-392), holds any replica of it,
// at the leader epoch the request names (-1: any): a follower serves
// consumers up to its high watermark, as Kafka's do. As in Kafka, a
// broker holding a replica checks the epoch before its leadership: a
// client whose epoch is ahead of this broker's metadata learns
// UNKNOWN_LEADER_EPOCH, which it retries, rather than
// NOT_LEADER_OR_FOLLOWER, which sends it to refresh its metadata.
//
// A request that names the topic's id (Fetch v13+; zero otherwise) is
// refused with INCONSISTENT_TOPIC_ID, before any other check, when the
// replica held under the topic's name belongs to another topic: one
// deleted and created again with the same name while this broker's
// image and replicas are between the two. The id resolved the name in
// one, the replica was found in the other; serving it would give the
// records of one topic to a reader of the other.
func (h *Handler) readableAt(tp storage.TopicPartition, topicID protocol.UUID, epoch int32, anyReplica bool) (*replica.Partition, protocol.ErrorCode) {
	p, err := h.replicas.Leading(tp)
	if err == nil {
		if code := checkReplica(p, topicID, epoch); code != protocol.ErrNone {
			return nil, code
		}
		return p, protocol.ErrNone
	}
	if q, ok := h.replicas.Partition(tp); ok {
		if code := checkReplica(q, topicID, epoch); code != protocol.ErrNone {
			return nil, code
		}
		if anyReplica {
			return q, protocol.ErrNone
		}
	}
	return nil, partitionErrorCode(err)
}

// checkReplica checks replica p against what a request names: first its
// topic id (zero: none named), then its leader epoch (checkLeaderEpoch).
func checkReplica(p *replica.Partition, topicID protocol.UUID, epoch int32) protocol.ErrorCode {
	if topicID != (protocol.UUID{}) && p.TopicID != topicID {
		return protocol.ErrInconsistentTopicID
	}
	return checkLeaderEpoch(p, epoch)
}

// preferredReadReplica is the replica, other than this leader, that a
// consumer in rack should read p from, or -1: with replica.selector.class
// Kafka's RackAwareReplicaSelector and a Fetch v11+ (anyReplica), an
// in-sync follower in the consumer's rack that holds offset
// (replica.Partition.PreferredReadReplica).
func (h *Handler) preferredReadReplica(img *metadata.Image, p *replica.Partition, offset int64, rack string, anyReplica bool) int32 {
	if !h.cfg.RackAwareReads || !anyReplica {
		return -1
	}
	return p.PreferredReadReplica(offset, rack, func(id int32) string {
		// A fenced broker, or one without the client's listener, is
		// in no rack: the client could not reach it (Kafka's
		// candidates are the replicas with an endpoint it can use).
		b, ok := brokerEndpoint(img, id, h.cfg.ListenerName)
		if !ok || b.Rack == nil {
			return ""
		}
		return *b.Rack
	}, time.Now())
}

// checkLeaderEpoch fences a request that names a leader epoch (KIP-320):
// older than ours, the client's view is stale; newer, ours is.
func checkLeaderEpoch(part *replica.Partition, requested int32) protocol.ErrorCode {
	if requested < 0 {
		return protocol.ErrNone
	}
	_, epoch := part.Leader()
	switch {
	case requested < epoch:
		return protocol.ErrFencedLeaderEpoch
	case requested > epoch:
		return protocol.ErrUnknownLeaderEpoch
	}
	return protocol.ErrNone
}
