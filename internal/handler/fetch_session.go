package handler

import (
	"container/list"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// Incremental fetch sessions (KIP-227).
//
// A client opens a session with a full Fetch (session id 0, epoch 0);
// the broker answers every partition and a new session id. Later
// requests name the session and the next epoch, carry only partitions
// that are new or whose fetch parameters changed (plus those to
// forget), and the broker answers only partitions that have something
// to say. FetchSessions keeps the sessions; a FetchContext carries one
// request from Begin to Filter:
//
//	fc, code := sessions.Begin(req, version, resolve)
//	// code != 0: answer fc.Filter(nil) (the top-level error) at once.
//	parts := fc.Partitions()   // read every one of these, in order
//	read := ...                // one FetchResponsePartitionData per part
//	resp := fc.Filter(read)    // after the last read (long polls included)
//
// The semantics follow Kafka's FetchSession.scala:
//
//   - Below version 7 there are no sessions: every fetch is sessionless.
//   - Epoch -1 (FINAL): close the named session if any, then a
//     sessionless full fetch answered with session id 0.
//   - Epoch 0 (INITIAL): close the named session if any, then a full
//     fetch whose partitions become a new session, created in Filter
//     (when the read data is known, so the session starts with the
//     high watermarks just sent). The answer carries its id, or 0 when
//     the cache is full and nothing can be evicted.
//   - Any other epoch is incremental: an unknown session id answers
//     FETCH_SESSION_ID_NOT_FOUND (70), an epoch other than the session's
//     next one INVALID_FETCH_SESSION_EPOCH (71), a request whose version
//     disagrees with the session's about topic ids (v13+)
//     FETCH_SESSION_TOPIC_ID_ERROR (106). Otherwise the request's
//     partitions are added or updated (fetch offset, max bytes, leader
//     epochs, log start offset), ForgottenTopicsData is removed and the
//     expected epoch advances (MaxInt32 wraps to 1). A session left empty
//     is closed and the fetch answered sessionless. Every partition of the
//     session is read; the answer keeps those with records, an error, a
//     high watermark, last stable offset or log start offset other than
//     the one last sent, a preferred read replica, a diverging epoch or a
//     snapshot id. A partition answered with records moves to the end of
//     the session's order, so the next reads start with the others and
//     the response byte limit is shared round-robin.
//   - Session partitions are keyed by (topic id, partition) in sessions
//     opened at v13+ and by (topic name, partition) below, as Kafka does.
//     A partition keeps the name its id resolved to (resolveName) when
//     it joined the session; an id not known then is resolved again at
//     every Begin and read with an empty name until it is (the caller
//     answers UNKNOWN_TOPIC_ID). As in Kafka, a partition of a topic
//     deleted since is read under its old name (the caller answers
//     UNKNOWN_TOPIC_OR_PARTITION), and one whose name now belongs to a
//     topic made anew still carries the old id (INCONSISTENT_TOPIC_ID):
//     the new topic's records are never read for the old one.
//   - The cache holds at most slots sessions (max.incremental.fetch.
//     session.cache.slots; 0 disables sessions). When it is full a new
//     session evicts, as Kafka's FetchSessionCache does, the least
//     recently used one if that has been idle longer than
//     fetchSessionMinIdle (Kafka's min.incremental.fetch.session.
//     eviction.ms default); else the session with the fewest partitions
//     (then the lowest id) among those that had been open longer than
//     fetchSessionMinIdle when last used, if the new one has more
//     partitions; else the fetch is answered sessionless. (Kafka also
//     lets a follower's session evict a consumer's; followers here fetch
//     without sessions.)
//   - Sessions are not tied to a connection or principal (nor are
//     Kafka's).

// fetchSessionMinIdle is how long a session must have been unused
// before any new session may evict it, and how long it must have been
// open before a larger one may.
const fetchSessionMinIdle = 2 * time.Minute

// FetchPartition is one partition a Fetch must read: the request's
// parameters, from the request itself or from the session's cache.
type FetchPartition struct {
	// Topic is the topic's name; empty when a topic id (v13+) does not
	// resolve, which the caller answers with UNKNOWN_TOPIC_ID.
	Topic              string
	TopicID            protocol.UUID // zero below v13
	Partition          int32
	FetchOffset        int64
	MaxBytes           int32
	CurrentLeaderEpoch int32
	LastFetchedEpoch   int32
	LogStartOffset     int64 // the fetching follower's; -1 from consumers
}

// FetchSessions is the broker's cache of incremental fetch sessions.
// It is safe for concurrent use.
type FetchSessions struct {
	slots   int
	minIdle time.Duration
	now     func() time.Time

	mu       sync.Mutex
	sessions map[int32]*fetchSession
	lru      *list.List // of *fetchSession, least recently used first
}

// NewFetchSessions returns a cache of at most slots sessions (0 or less:
// sessions are never created). now is the clock (time.Now if nil).
func NewFetchSessions(slots int, now func() time.Time) *FetchSessions {
	if now == nil {
		now = time.Now
	}
	return &FetchSessions{slots: slots, minIdle: fetchSessionMinIdle, now: now,
		sessions: make(map[int32]*fetchSession), lru: list.New()}
}

// Len returns the number of sessions cached.
func (s *FetchSessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// fetchSession is one cached session; FetchSessions.mu guards it.
type fetchSession struct {
	id       int32
	epoch    int32 // the epoch the next incremental request must carry
	usesIDs  bool
	created  time.Time
	lastUsed time.Time
	elem     *list.Element // in FetchSessions.lru; nil once removed
	order    *list.List    // of *sessionPartition, the order partitions are read
	parts    map[sessionKey]*list.Element
}

// sessionKey identifies a partition in a session: by topic id when the
// session uses ids, else by name (the other field stays zero).
type sessionKey struct {
	id        protocol.UUID
	topic     string
	partition int32
}

// sessionPartition is a session's partition: the last request
// parameters and what the last response said of it.
type sessionPartition struct {
	FetchPartition
	key                 sessionKey
	hw, lso, logStart   int64
	sentOnce, sentError bool
}

type fetchContextKind uint8

const (
	fetchSessionless fetchContextKind = iota
	fetchFull
	fetchIncremental
	fetchSessionError
)

// FetchContext is one Fetch between Begin and Filter. Its methods are
// not safe for concurrent use; Filter must be called once at most.
type FetchContext struct {
	s        *FetchSessions
	kind     fetchContextKind
	err      protocol.ErrorCode
	usesIDs  bool
	reqEpoch int32
	session  *fetchSession // incremental, or full once Filter made one
	parts    []FetchPartition
	keys     []sessionKey // parallel to parts

	// Scratch that a context reused for another request keeps (see
	// beginInto): cleared, never read across requests.
	resolve func(protocol.UUID) (string, bool)
	names   map[protocol.UUID]string // ids resolved for this request
	seen    map[sessionKey]int       // request partitions, to their index in parts
	topics  map[sessionKey]int       // build's topics, to their index in the response
	keep    []bool                   // parallel to parts: an incremental answer carries it
	topicOf []int                    // parallel to parts: its topic's index in the response
	counts  []int                    // per response topic: partitions kept
}

// nextFetchEpoch is the epoch that follows e: MaxInt32 wraps to 1, as 0
// and -1 mean full requests.
func nextFetchEpoch(e int32) int32 {
	if e == math.MaxInt32 {
		return 1
	}
	return e + 1
}

// Begin resolves req, of the given version, into the partitions to read
// and the context that finishes its response. resolveName maps a topic
// id to its name (v13+; it may be nil below); it is called with the
// cache locked, so it must be quick and must not call back into s. A
// non-zero error code is a session error: the context reads nothing and
// its Filter answers the error with session id 0.
func (s *FetchSessions) Begin(req *protocol.FetchRequest, version int16, resolveName func(protocol.UUID) (string, bool)) (*FetchContext, protocol.ErrorCode) {
	return s.beginInto(&FetchContext{}, req, version, resolveName)
}

// beginInto is Begin with c as the context: a context whose request is
// done (Filter returned, nothing of it still used) may be passed again,
// and its slices and maps serve the new request.
func (s *FetchSessions) beginInto(c *FetchContext, req *protocol.FetchRequest, version int16, resolveName func(protocol.UUID) (string, bool)) (*FetchContext, protocol.ErrorCode) {
	usesIDs := version >= 13
	clear(c.names)
	clear(c.seen)
	*c = FetchContext{s: s, usesIDs: usesIDs, reqEpoch: req.SessionEpoch, resolve: resolveName,
		parts: c.parts[:0], keys: c.keys[:0], names: c.names, seen: c.seen, topics: c.topics,
		keep: c.keep[:0], topicOf: c.topicOf[:0], counts: c.counts[:0]}
	if version < 7 {
		c.kind = fetchSessionless
		c.setRequestPartitions(req)
		return c, protocol.ErrNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.SessionEpoch == 0 || req.SessionEpoch == -1 {
		if req.SessionID != 0 {
			if old := s.sessions[req.SessionID]; old != nil {
				s.remove(old)
			}
		}
		c.kind = fetchFull
		if req.SessionEpoch == -1 {
			c.kind = fetchSessionless
		}
		c.setRequestPartitions(req)
		return c, protocol.ErrNone
	}
	sess := s.sessions[req.SessionID]
	switch {
	case sess == nil:
		c.kind, c.err = fetchSessionError, protocol.ErrFetchSessionIDNotFound
		return c, c.err
	case sess.epoch != req.SessionEpoch:
		c.kind, c.err = fetchSessionError, protocol.ErrInvalidFetchSessionEpoch
		return c, c.err
	case sess.usesIDs != usesIDs:
		c.kind, c.err = fetchSessionError, protocol.ErrFetchSessionTopicIDError
		return c, c.err
	}
	c.setRequestPartitions(req)
	for i, p := range c.parts {
		if e := sess.parts[c.keys[i]]; e != nil {
			sp := e.Value.(*sessionPartition)
			name := sp.Topic
			sp.FetchPartition = p
			if name != "" {
				sp.Topic = name // the name it was opened under, as below
			}
		} else {
			sess.parts[c.keys[i]] = sess.order.PushBack(&sessionPartition{FetchPartition: p, key: c.keys[i]})
		}
	}
	for _, t := range req.ForgottenTopicsData {
		for _, p := range t.Partitions {
			k := c.key(t.Topic, t.TopicID, p)
			if e := sess.parts[k]; e != nil {
				sess.order.Remove(e)
				delete(sess.parts, k)
			}
		}
	}
	if len(sess.parts) == 0 {
		s.remove(sess)
		c.kind = fetchSessionless
		return c, protocol.ErrNone
	}
	s.touch(sess)
	sess.epoch = nextFetchEpoch(sess.epoch)
	c.kind, c.session = fetchIncremental, sess
	c.parts, c.keys = c.parts[:0], c.keys[:0]
	for e := sess.order.Front(); e != nil; e = e.Next() {
		sp := e.Value.(*sessionPartition)
		if usesIDs && sp.Topic == "" {
			sp.Topic = c.name(sp.TopicID, "")
		}
		c.parts = append(c.parts, sp.FetchPartition)
		c.keys = append(c.keys, sp.key)
	}
	return c, protocol.ErrNone
}

// name returns a request topic's name: the request's own below v13,
// else the id's (resolved once per request).
func (c *FetchContext) name(id protocol.UUID, name string) string {
	if !c.usesIDs {
		return name
	}
	if n, ok := c.names[id]; ok {
		return n
	}
	n := ""
	if c.resolve != nil {
		if name, ok := c.resolve(id); ok {
			n = name
		}
	}
	if c.names == nil {
		c.names = make(map[protocol.UUID]string)
	}
	c.names[id] = n
	return n
}

func (c *FetchContext) key(topic string, id protocol.UUID, partition int32) sessionKey {
	if c.usesIDs {
		return sessionKey{id: id, partition: partition}
	}
	return sessionKey{topic: topic, partition: partition}
}

// setRequestPartitions sets the partitions to read to the request's; a
// partition named twice is read once, with its last parameters.
func (c *FetchContext) setRequestPartitions(req *protocol.FetchRequest) {
	if c.seen == nil {
		c.seen = make(map[sessionKey]int)
	}
	seen := c.seen
	for _, t := range req.Topics {
		name := c.name(t.TopicID, t.Topic)
		id := t.TopicID
		if !c.usesIDs {
			id = protocol.UUID{}
		}
		for _, p := range t.Partitions {
			fp := FetchPartition{Topic: name, TopicID: id, Partition: p.Partition,
				FetchOffset: p.FetchOffset, MaxBytes: p.PartitionMaxBytes,
				CurrentLeaderEpoch: p.CurrentLeaderEpoch, LastFetchedEpoch: p.LastFetchedEpoch,
				LogStartOffset: p.LogStartOffset}
			k := c.key(t.Topic, t.TopicID, p.Partition)
			if i, ok := seen[k]; ok {
				c.parts[i] = fp
				continue
			}
			seen[k] = len(c.parts)
			c.parts = append(c.parts, fp)
			c.keys = append(c.keys, k)
		}
	}
}

// Partitions returns every partition to read, in order: the request's
// for a full or sessionless fetch, the whole session's for an
// incremental one, none after a session error. The slice must not be
// modified.
func (c *FetchContext) Partitions() []FetchPartition { return c.parts }

// SessionID returns the session this fetch belongs to: for an
// incremental fetch its id, for a full one the new session's once
// Filter created it, else 0.
func (c *FetchContext) SessionID() int32 {
	if c.session == nil {
		return 0
	}
	return c.session.id
}

// Err returns the session error Begin found, or ErrNone.
func (c *FetchContext) Err() protocol.ErrorCode { return c.err }

// Filter builds the response from read, the data read for each of
// Partitions() (parallel to it; PartitionIndex is set from it). A full
// fetch creates its session here; an incremental one keeps only the
// partitions that have something to say and records what it sent. The
// response's topics group their partitions in the order first read.
func (c *FetchContext) Filter(read []protocol.FetchResponsePartitionData) *protocol.FetchResponse {
	resp := &protocol.FetchResponse{}
	if c.kind == fetchSessionError {
		resp.ErrorCode = int16(c.err)
		return resp
	}
	if len(read) != len(c.parts) {
		panic(fmt.Sprintf("handler: FetchContext.Filter given %d partitions for %d", len(read), len(c.parts)))
	}
	switch c.kind {
	case fetchSessionless:
		c.build(resp, read, nil)
	case fetchFull:
		c.s.mu.Lock()
		c.session = c.s.create(c, read)
		c.s.mu.Unlock()
		if c.session != nil {
			resp.SessionID = c.session.id
		}
		c.build(resp, read, nil)
	case fetchIncremental:
		s, sess := c.s, c.session
		s.mu.Lock()
		defer s.mu.Unlock()
		resp.SessionID = sess.id
		if sess.epoch != nextFetchEpoch(c.reqEpoch) {
			// Another request with this epoch came in since Begin.
			resp.ErrorCode = int16(protocol.ErrInvalidFetchSessionEpoch)
			return resp
		}
		c.keep = slices.Grow(c.keep[:0], len(read))[:len(read)]
		keep := c.keep
		for i := range read {
			e := sess.parts[c.keys[i]]
			if e == nil { // closed or forgotten since: answer it all the same
				keep[i] = true
				continue
			}
			sp := e.Value.(*sessionPartition)
			keep[i] = sp.update(&read[i])
			if read[i].RecordsLen() > 0 {
				sess.order.MoveToBack(e)
			}
		}
		c.build(resp, read, keep)
	}
	return resp
}

// update records what a response says of the partition and reports
// whether an incremental response must carry it.
func (sp *sessionPartition) update(pd *protocol.FetchResponsePartitionData) bool {
	must := !sp.sentOnce || pd.RecordsLen() > 0 ||
		pd.PreferredReadReplica >= 0 ||
		pd.DivergingEpoch.EndOffset >= 0 || pd.DivergingEpoch.Epoch >= 0 ||
		pd.SnapshotID.EndOffset >= 0 || pd.SnapshotID.Epoch >= 0
	if pd.ErrorCode != 0 {
		// Always answered; once the error clears the offsets are sent
		// again.
		sp.sentError = true
		sp.sentOnce = true
		return true
	}
	if sp.sentError || sp.hw != pd.HighWatermark || sp.lso != pd.LastStableOffset || sp.logStart != pd.LogStartOffset {
		must = true
	}
	sp.hw, sp.lso, sp.logStart = pd.HighWatermark, pd.LastStableOffset, pd.LogStartOffset
	sp.sentOnce, sp.sentError = true, false
	return must
}

// Sent reports whether the response Filter built carries read[i]: every
// partition but those an incremental fetch had nothing to say of, and
// none when an incremental fetch lost its epoch to another request.
func (c *FetchContext) Sent(i int) bool {
	return c.kind != fetchIncremental || i < len(c.keep) && c.keep[i]
}

// build sets resp's topics to the partitions of read that keep selects
// (all when keep is nil), grouped by topic in the order first read. The
// partitions share one array, allocated at its size.
func (c *FetchContext) build(resp *protocol.FetchResponse, read []protocol.FetchResponsePartitionData, keep []bool) {
	if c.topics == nil {
		c.topics = make(map[sessionKey]int)
	}
	clear(c.topics)
	c.topicOf = slices.Grow(c.topicOf[:0], len(read))[:len(read)]
	c.counts = c.counts[:0]
	kept := 0
	for i := range read {
		if keep != nil && !keep[i] {
			continue
		}
		tk := c.keys[i]
		tk.partition = 0
		ti, ok := c.topics[tk]
		if !ok {
			ti = len(c.counts)
			c.topics[tk] = ti
			c.counts = append(c.counts, 0)
		}
		c.topicOf[i] = ti
		c.counts[ti]++
		kept++
	}
	if kept == 0 {
		return
	}
	resp.Responses = make([]protocol.FetchResponseFetchableTopicResponse, len(c.counts))
	all := make([]protocol.FetchResponsePartitionData, 0, kept)
	for ti, n := range c.counts {
		resp.Responses[ti].Partitions, all = all[:0:n], all[n:n:cap(all)]
	}
	for i := range read {
		if keep != nil && !keep[i] {
			continue
		}
		p := &c.parts[i]
		tr := &resp.Responses[c.topicOf[i]]
		if len(tr.Partitions) == 0 {
			tr.Topic, tr.TopicID = p.Topic, p.TopicID
		}
		pd := read[i]
		pd.PartitionIndex = p.Partition
		tr.Partitions = append(tr.Partitions, pd)
	}
}

// create makes a session of a full fetch's partitions, evicting one if
// the cache is full (evictable); nil when there is no room.
func (s *FetchSessions) create(c *FetchContext, read []protocol.FetchResponsePartitionData) *fetchSession {
	if s.slots <= 0 {
		return nil
	}
	now := s.now()
	if len(s.sessions) >= s.slots {
		victim := s.evictable(len(c.parts), now)
		if victim == nil {
			return nil
		}
		s.remove(victim)
	}
	sess := &fetchSession{epoch: nextFetchEpoch(0), usesIDs: c.usesIDs, created: now, lastUsed: now,
		order: list.New(), parts: make(map[sessionKey]*list.Element, len(c.parts))}
	for {
		sess.id = rand.Int32N(math.MaxInt32) + 1 // 1..MaxInt32
		if s.sessions[sess.id] == nil {
			break
		}
	}
	for i, p := range c.parts {
		sp := &sessionPartition{FetchPartition: p, key: c.keys[i]}
		sp.update(&read[i])
		sess.parts[sp.key] = sess.order.PushBack(sp)
	}
	s.sessions[sess.id] = sess
	sess.elem = s.lru.PushBack(sess)
	return sess
}

// evictable returns the session a new one of size partitions may take
// the place of, or nil: the least recently used if it has been idle
// longer than minIdle; else, if the new one is larger, the smallest of
// the sessions that had been open longer than minIdle when last used
// (the lowest id among equals). A session stays while it is young, so a
// burst of new sessions cannot churn the cache.
func (s *FetchSessions) evictable(size int, now time.Time) *fetchSession {
	front := s.lru.Front()
	if front == nil {
		return nil
	}
	if lru := front.Value.(*fetchSession); now.Sub(lru.lastUsed) > s.minIdle {
		return lru
	}
	var small *fetchSession
	for _, sess := range s.sessions {
		if sess.lastUsed.Sub(sess.created) <= s.minIdle {
			continue
		}
		if n := len(sess.parts); small == nil || n < len(small.parts) || n == len(small.parts) && sess.id < small.id {
			small = sess
		}
	}
	if small == nil || size <= len(small.parts) {
		return nil
	}
	return small
}

// touch marks sess used now.
func (s *FetchSessions) touch(sess *fetchSession) {
	sess.lastUsed = s.now()
	s.lru.MoveToBack(sess.elem)
}

// remove drops sess from the cache.
func (s *FetchSessions) remove(sess *fetchSession) {
	if sess.elem == nil {
		return
	}
	s.lru.Remove(sess.elem)
	sess.elem = nil
	delete(s.sessions, sess.id)
}
