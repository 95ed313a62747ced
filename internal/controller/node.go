package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// Errors of the controller API.
var (
	// ErrNotController: this node is not the active controller; Leader
	// says who is, if known.
	ErrNotController = errors.New("controller: not the active controller")
	// ErrStopped: the controller is shutting down.
	ErrStopped = errors.New("controller: stopped")
)

// Config configures one controller (a voter of the metadata quorum).
type Config struct {
	// NodeID is this voter's id (node.id); Voters lists every voter's id
	// (controller.quorum.voters), this one included.
	NodeID uint64
	Voters []uint64
	// FS and Dir hold the raft log and snapshots (metadata.log.dir).
	FS  vfs.FS
	Dir string
	// Transport carries raft messages between voters.
	Transport Transport
	// TickInterval is the raft clock; elections time out after
	// ElectionTicks ticks (randomized by raft), heartbeats every
	// HeartbeatTicks.
	TickInterval   time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	// LeaderImbalanceCheckInterval, when positive, moves leaders back to
	// their preferred replicas on brokers whose share of partitions led
	// by another replica is above LeaderImbalancePercent
	// (auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds,
	// leader.imbalance.per.broker.percentage).
	LeaderImbalanceCheckInterval time.Duration
	LeaderImbalancePercent       int
	// UncleanLeaderElection is this controller's static
	// unclean.leader.election.enable: topics without the key, when no
	// dynamic broker config sets it, elect leaders uncleanly (see
	// unclean.go). UncleanElectionCheckInterval, when positive, is how
	// often the active controller looks for partitions to elect uncleanly
	// besides the changes that call for it
	// (unclean.leader.election.interval.ms).
	UncleanLeaderElection        bool
	UncleanElectionCheckInterval time.Duration
	// SessionTimeout fences an unfenced broker that sent no heartbeat
	// for this long (broker.session.timeout.ms); 0 never does.
	SessionTimeout time.Duration
	// SnapshotEvery takes a snapshot of the image and compacts the log
	// after this many applied entries.
	SnapshotEvery uint64
	Logger        *slog.Logger

	// onLeader, for tests, is told the term of every leadership won.
	onLeader func(id, term uint64)
}

func (c *Config) defaults() {
	if c.TickInterval <= 0 {
		c.TickInterval = 50 * time.Millisecond
	}
	if c.ElectionTicks <= 0 {
		c.ElectionTicks = 20
	}
	if c.HeartbeatTicks <= 0 {
		c.HeartbeatTicks = 2
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

type proposal struct {
	cmd   Command
	reply any
	done  chan result
}

type result struct {
	offset int64
	reply  any
	err    error
}

// Controller is one voter of the metadata quorum: a single goroutine
// around etcd raft's RawNode. Raft state is written to the raft log and
// fsynced before messages are sent; committed entries — batches of
// metadata records — are applied to an immutable image, the only state
// brokers read.
type Controller struct {
	cfg    Config
	logger *slog.Logger
	rn     *raft.RawNode
	ms     *raft.MemoryStorage
	wal    *wal
	snaps  *snapshotter

	image  atomic.Pointer[metadata.Image]
	notify atomic.Pointer[chan struct{}]
	leader atomic.Uint64
	term   atomic.Uint64

	// Loop state.
	confState   *pb.ConfState
	uncommitted *metadata.Image
	pending     map[uint64]*proposal
	sessions    map[int32]*brokerSession // on the active controller
	// lastSessionCheck is when checkSessions last ran; lastRebalance when
	// maybeRebalance last checked the leaders.
	lastSessionCheck time.Time
	lastRebalance    time.Time
	lastUncleanCheck time.Time
	// lastLeaderContact is when a follower last heard from the leader;
	// sessionsFrom is when the sessions of a new active controller start
	// (see resetSessions).
	lastLeaderContact time.Time
	sessionsFrom      time.Time
	waiting           []*proposal // arrived while no leader was known, or before this leader was ready
	// leaderTerm is, on a new leader not yet ready, its term: commands wait
	// until the first entry of that term is applied, so they see every
	// entry of earlier terms (Kafka's controller does the same). 0 when
	// ready or not leading.
	leaderTerm uint64
	propSeq    uint64
	propPrefix uint64
	applied    uint64
	snapIndex  uint64
	// snapshotIndex publishes snapIndex to other goroutines.
	snapshotIndex atomic.Uint64

	proposals chan *proposal
	inbox     chan *pb.Message
	stop      chan struct{}
	done      chan struct{}
	stopOnce  sync.Once
	failure   atomic.Pointer[error]
	// contacts is, on the leader, when each voter last answered (see
	// DescribeQuorum); reset when the leadership changes.
	contacts map[uint64]*voterContact
}

// Open starts a controller from its directory: an empty one bootstraps the
// quorum with Voters; otherwise the snapshot and the raft log are
// replayed, and the committed entries re-applied as raft hands them out.
func Open(cfg Config) (*Controller, error) {
	cfg.defaults()
	c := &Controller{
		cfg:       cfg,
		logger:    cfg.Logger.With("node_id", cfg.NodeID),
		pending:   map[uint64]*proposal{},
		sessions:  map[int32]*brokerSession{},
		proposals: make(chan *proposal, 256),
		inbox:     make(chan *pb.Message, 4096),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	c.propPrefix = rand.Uint64() &^ 0xffffffff
	ch := make(chan struct{})
	c.notify.Store(&ch)

	w, st, err := openWAL(cfg.FS, cfg.Dir)
	if err != nil {
		return nil, err
	}
	c.wal = w
	c.snaps = &snapshotter{fs: cfg.FS, dir: cfg.Dir}
	c.ms = raft.NewMemoryStorage()
	img := &metadata.Image{}
	snap, err := c.snaps.load()
	if err != nil {
		w.close()
		return nil, err
	}
	fresh := snap == nil && len(st.entries) == 0 && st.hard == nil
	if snap != nil {
		if err := c.ms.ApplySnapshot(snap); err != nil {
			w.close()
			return nil, err
		}
		if img, err = decodeImage(snap.GetData(), int64(snap.GetMetadata().GetIndex())); err != nil {
			w.close()
			return nil, fmt.Errorf("load snapshot: %w", err)
		}
		c.confState = snap.GetMetadata().GetConfState()
		c.applied = snap.GetMetadata().GetIndex()
		c.snapIndex = c.applied
		c.snapshotIndex.Store(c.snapIndex)
	}
	var ents []*pb.Entry
	for _, e := range st.entries {
		if e.GetIndex() > c.snapIndex {
			ents = append(ents, e)
		}
	}
	if err := c.ms.Append(ents); err != nil {
		w.close()
		return nil, fmt.Errorf("replay raft log: %w", err)
	}
	if st.hard != nil {
		hard := st.hard
		if snap != nil && hard.GetCommit() < snap.GetMetadata().GetIndex() {
			// A crash while a received snapshot was installed can leave
			// the snapshot saved and the log's hard state older: a
			// snapshot's index is committed by definition.
			hard = proto.Clone(hard).(*pb.HardState)
			hard.Commit = new(snap.GetMetadata().GetIndex())
			hard.Term = new(max(hard.GetTerm(), snap.GetMetadata().GetTerm()))
		}
		if err := c.ms.SetHardState(hard); err != nil {
			w.close()
			return nil, err
		}
	}
	c.image.Store(img)
	c.uncommitted = img

	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.NodeID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   c.ms,
		Applied:                   c.applied,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
		MaxUncommittedEntriesSize: 64 << 20,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{c.logger},
	})
	if err != nil {
		w.close()
		return nil, err
	}
	c.rn = rn
	if fresh {
		peers := make([]raft.Peer, len(cfg.Voters))
		for i, id := range cfg.Voters {
			peers[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(peers); err != nil {
			w.close()
			return nil, fmt.Errorf("bootstrap quorum: %w", err)
		}
	}
	if cfg.Transport != nil {
		cfg.Transport.SetHandler(c.step)
		cfg.Transport.SetForwardHandler(c.serveForwarded)
		if t, ok := cfg.Transport.(interface {
			SetImageHandler(func(context.Context, []byte) []byte)
		}); ok {
			t.SetImageHandler(c.serveImage)
		}
	}
	go c.run()
	return c, nil
}

// Image returns the latest committed metadata image.
func (c *Controller) Image() *metadata.Image { return c.image.Load() }

// Updated returns a channel closed when the committed image next changes.
func (c *Controller) Updated() <-chan struct{} { return *c.notify.Load() }

// Leader returns the id of the active controller, or 0 if unknown.
func (c *Controller) Leader() uint64 { return c.leader.Load() }

// IsLeader reports whether this node is the active controller.
func (c *Controller) IsLeader() bool { return c.leader.Load() == c.cfg.NodeID }

// NodeID returns this voter's id.
func (c *Controller) NodeID() uint64 { return c.cfg.NodeID }

// Err returns the error that stopped the controller, if any.
func (c *Controller) Err() error {
	if p := c.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Submit runs cmd on the active controller and waits until its records
// are committed and applied to the image, returning the image offset that
// holds them and cmd's reply. On another node it fails with
// ErrNotController.
func (c *Controller) Submit(ctx context.Context, cmd Command) (int64, any, error) {
	p := &proposal{cmd: cmd, done: make(chan result, 1)}
	select {
	case c.proposals <- p:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-c.stop:
		return 0, nil, ErrStopped
	case <-c.done:
		return 0, nil, ErrStopped
	}
	select {
	case r := <-p.done:
		return r.offset, r.reply, r.err
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-c.done:
		return 0, nil, ErrStopped
	}
}

// WaitFor blocks until the committed image reaches offset.
func (c *Controller) WaitFor(ctx context.Context, offset int64) error {
	for {
		ch := c.Updated()
		if c.Image().Offset >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrStopped
		}
	}
}

// step hands an inbound raft message to the loop; if the loop is
// backlogged the message is dropped, which raft tolerates.
func (c *Controller) step(m *pb.Message) {
	select {
	case c.inbox <- m:
	default:
	}
}

// Close stops the loop and closes the raft log.
func (c *Controller) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.wal.close()
}

func (c *Controller) run() {
	defer close(c.done)
	defer c.failPending(ErrStopped)
	defer c.failWaiting(ErrStopped)
	tick := time.NewTicker(c.cfg.TickInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			c.rn.Tick()
			c.checkSessions()
			c.maybeRebalance()
			c.maybeElectUnclean()
		case m := <-c.inbox:
			if l := c.leader.Load(); l != 0 && m.GetFrom() == l && l != c.cfg.NodeID {
				c.lastLeaderContact = time.Now()
			}
			if c.leader.Load() == c.cfg.NodeID {
				c.noteVoterAnswer(m, time.Now())
			}
			if err := c.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepLocalMsg) && !errors.Is(err, raft.ErrStepPeerNotFound) {
				c.logger.Debug("raft step failed", "err", err)
			}
		case p := <-c.proposals:
			c.propose(p)
		}
		if err := c.handleReady(); err != nil {
			c.logger.Error("controller failed", "err", err)
			c.failure.Store(&err)
			c.leader.Store(0)
			return
		}
	}
}

// propose runs a command against the uncommitted image and proposes its
// records.
func (c *Controller) propose(p *proposal) {
	if c.leaderTerm > 0 {
		// A new leader is not ready until it has applied the entries of
		// earlier terms; a command must not run before.
		if len(c.waiting) >= cap(c.proposals) {
			p.done <- result{err: fmt.Errorf("%w: the new controller is not ready yet", ErrNotController)}
			return
		}
		c.waiting = append(c.waiting, p)
		return
	}
	if c.rn.BasicStatus().RaftState != raft.StateLeader {
		if c.leader.Load() == 0 && len(c.waiting) < cap(c.proposals) {
			// An election is under way: wait for its outcome rather than
			// send the caller off to retry.
			c.waiting = append(c.waiting, p)
			return
		}
		p.done <- result{err: fmt.Errorf("%w (leader %d)", ErrNotController, c.leader.Load())}
		return
	}
	if p.cmd.read != nil {
		p.done <- result{offset: c.uncommitted.Offset, reply: p.cmd.read(c)}
		return
	}
	recs, reply, err := p.cmd.apply(c.uncommitted, env{nodeID: int32(c.cfg.NodeID), uncleanLeaderElection: c.cfg.UncleanLeaderElection})
	if err != nil {
		p.done <- result{err: err}
		return
	}
	reply = c.noteSession(p.cmd, reply)
	if len(recs) == 0 {
		p.done <- result{offset: c.uncommitted.Offset, reply: reply}
		return
	}
	// The uncommitted image's offsets are provisional: the entry's raft
	// index is known only once it commits.
	next, err := c.uncommitted.Apply(c.uncommitted.Offset+1, recs)
	if err == nil {
		recs, next, err = c.withUncleanElections(recs, next)
	}
	if err != nil {
		p.done <- result{err: fmt.Errorf("command produced invalid records: %w", err)}
		return
	}
	c.propSeq++
	id := c.propPrefix | c.propSeq
	data := encodeEntry(id, recs)
	if err := c.rn.Propose(data); err != nil {
		p.done <- result{err: fmt.Errorf("%w: %v", ErrNotController, err)}
		return
	}
	c.uncommitted = next
	p.reply = reply
	c.pending[id] = p
}

// handleReady drains raft's Ready: persist, send, apply, advance.
func (c *Controller) handleReady() error {
	for c.rn.HasReady() {
		rd := c.rn.Ready()
		if rd.SoftState != nil {
			c.onSoftState(rd.SoftState)
		}
		if !raft.IsEmptySnap(rd.Snapshot) {
			if err := c.installSnapshot(rd.Snapshot); err != nil {
				return err
			}
		}
		var hard *pb.HardState
		if !raft.IsEmptyHardState(rd.HardState) {
			hard = rd.HardState
			c.term.Store(hard.GetTerm())
		}
		if err := c.wal.save(hard, rd.Entries); err != nil {
			return err
		}
		if hard != nil {
			if err := c.ms.SetHardState(hard); err != nil {
				return err
			}
		}
		if err := c.ms.Append(rd.Entries); err != nil {
			return err
		}
		if c.cfg.Transport != nil && len(rd.Messages) > 0 {
			c.cfg.Transport.Send(rd.Messages)
			for _, m := range rd.Messages {
				if m.GetType() == pb.MessageType_MsgSnap {
					c.rn.ReportSnapshot(m.GetTo(), raft.SnapshotFinish)
				}
			}
		}
		if err := c.apply(rd.CommittedEntries); err != nil {
			return err
		}
		c.rn.Advance(rd)
		c.campaignAlone()
		if err := c.maybeSnapshot(); err != nil {
			return err
		}
	}
	return nil
}

// campaignAlone starts an election at once when this node is the quorum's
// only voter, rather than after an election timeout; raft accepts it once
// the configuration that makes the node a voter has been applied.
func (c *Controller) campaignAlone() {
	v := c.confState.GetVoters()
	if len(v) != 1 || v[0] != c.cfg.NodeID || c.rn.BasicStatus().RaftState != raft.StateFollower {
		return
	}
	st := c.rn.BasicStatus()
	if st.Applied >= st.GetCommit() {
		c.rn.Campaign()
	}
}

func (c *Controller) onSoftState(ss *raft.SoftState) {
	prev := c.leader.Swap(ss.Lead)
	if prev != ss.Lead {
		c.logger.Info("metadata leader changed", "leader", ss.Lead, "state", ss.RaftState.String())
		c.resetSessions()
		c.contacts = nil
	}
	if ss.RaftState == raft.StateLeader {
		// The new leader appended an empty entry for its term; until it is
		// applied, the image may lack entries of earlier terms.
		c.leaderTerm = c.rn.BasicStatus().GetTerm()
		if c.cfg.onLeader != nil {
			c.cfg.onLeader(c.cfg.NodeID, c.leaderTerm)
		}
	} else {
		c.leaderTerm = 0
	}
	if ss.RaftState != raft.StateLeader {
		// Proposals in flight may or may not commit; their callers learn
		// only that this node is no longer the controller.
		c.failPending(fmt.Errorf("%w (leader %d)", ErrNotController, ss.Lead))
		c.uncommitted = c.image.Load()
	}
	if ss.Lead != 0 && c.leaderTerm == 0 {
		// The election is over: run the commands that waited for it here,
		// or send them to the new leader.
		c.runWaiting()
	}
}

func (c *Controller) failPending(err error) {
	for id, p := range c.pending {
		p.done <- result{err: err}
		delete(c.pending, id)
	}
}

// runWaiting proposes the commands that waited for a leader.
func (c *Controller) runWaiting() {
	waiting := c.waiting
	c.waiting = nil
	for _, p := range waiting {
		c.propose(p)
	}
}

func (c *Controller) failWaiting(err error) {
	for _, p := range c.waiting {
		p.done <- result{err: err}
	}
	c.waiting = nil
}

// apply applies committed entries to the image and answers their
// proposers.
func (c *Controller) apply(ents []*pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	img := c.image.Load()
	type answered struct {
		p      *proposal
		offset int64
	}
	var done []answered
	ready := false
	for _, e := range ents {
		if c.leaderTerm > 0 && e.GetTerm() == c.leaderTerm {
			ready = true
		}
		switch e.GetType() {
		case pb.EntryType_EntryConfChange:
			var cc pb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("decode conf change at %d: %w", e.GetIndex(), err)
			}
			c.confState = c.rn.ApplyConfChange(&cc)
		case pb.EntryType_EntryNormal:
			if len(e.GetData()) == 0 {
				break // a new leader's empty entry
			}
			id, recs, err := decodeEntry(e.GetData())
			if err != nil {
				return fmt.Errorf("decode metadata entry at %d: %w", e.GetIndex(), err)
			}
			next, err := img.Apply(int64(e.GetIndex()), recs)
			if err != nil {
				return fmt.Errorf("apply metadata entry at %d: %w", e.GetIndex(), err)
			}
			img = next
			if p, ok := c.pending[id]; ok {
				delete(c.pending, id)
				done = append(done, answered{p, int64(e.GetIndex())})
			}
		}
		c.applied = e.GetIndex()
	}
	if img.Offset < int64(c.applied) {
		// Conf changes and a new leader's empty entry carry no records but
		// still advance the image's offset.
		var err error
		if img, err = img.Apply(int64(c.applied), nil); err != nil {
			return err
		}
	}
	c.image.Store(img)
	if len(c.pending) == 0 {
		c.uncommitted = img
	}
	ch := make(chan struct{})
	close(*c.notify.Swap(&ch))
	// Reply only now, so a caller that reads the image after Submit sees
	// its own change.
	for _, a := range done {
		a.p.done <- result{offset: a.offset, reply: a.p.reply}
	}
	if ready {
		c.leaderTerm = 0
		c.runWaiting()
	}
	return nil
}

// maybeSnapshot snapshots the image and compacts the raft log every
// SnapshotEvery applied entries.
func (c *Controller) maybeSnapshot() error {
	if c.applied < c.snapIndex+c.cfg.SnapshotEvery || c.confState == nil {
		return nil
	}
	img := c.image.Load()
	snap, err := c.ms.CreateSnapshot(c.applied, c.confState, encodeImage(img))
	if err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	if err := c.snaps.save(snap); err != nil {
		return err
	}
	if err := c.ms.Compact(c.applied); err != nil {
		return fmt.Errorf("compact raft log: %w", err)
	}
	c.snapIndex = c.applied
	c.snapshotIndex.Store(c.snapIndex)
	return c.rewriteWAL()
}

// rewriteWAL rewrites the raft log with what follows the snapshot.
func (c *Controller) rewriteWAL() error {
	first, _ := c.ms.FirstIndex()
	last, _ := c.ms.LastIndex()
	var ents []*pb.Entry
	if last >= first {
		var err error
		if ents, err = c.ms.Entries(first, last+1, 1<<62); err != nil {
			return err
		}
	}
	hard, _, _ := c.ms.InitialState()
	return c.wal.compact(hard, ents)
}

// installSnapshot saves a snapshot received from the leader and replaces
// the image with it.
func (c *Controller) installSnapshot(snap *pb.Snapshot) error {
	img, err := decodeImage(snap.GetData(), int64(snap.GetMetadata().GetIndex()))
	if err != nil {
		return fmt.Errorf("install snapshot: %w", err)
	}
	if err := c.snaps.save(snap); err != nil {
		return err
	}
	if err := c.ms.ApplySnapshot(snap); err != nil {
		return err
	}
	c.confState = snap.GetMetadata().GetConfState()
	c.applied = snap.GetMetadata().GetIndex()
	c.snapIndex = c.applied
	c.snapshotIndex.Store(c.snapIndex)
	c.image.Store(img)
	c.uncommitted = img
	if err := c.rewriteWAL(); err != nil {
		return err
	}
	ch := make(chan struct{})
	close(*c.notify.Swap(&ch))
	return nil
}

// An entry's data: proposal id uint64 | count uint32 | (length uint32 |
// framed metadata record)…
func encodeEntry(id uint64, recs []metadata.Record) []byte {
	b := binary.BigEndian.AppendUint64(nil, id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(recs)))
	for _, r := range recs {
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = metadata.EncodeRecord(b, r.Message, r.Version)
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	return b
}

func decodeEntry(b []byte) (uint64, []metadata.Record, error) {
	if len(b) < 12 {
		return 0, nil, errors.New("entry too short")
	}
	id := binary.BigEndian.Uint64(b)
	n := binary.BigEndian.Uint32(b[8:])
	b = b[12:]
	if int64(n) > int64(len(b)/4) {
		return 0, nil, errors.New("record count exceeds the entry")
	}
	recs := make([]metadata.Record, 0, n)
	for range n {
		if len(b) < 4 {
			return 0, nil, errors.New("truncated record")
		}
		l := binary.BigEndian.Uint32(b)
		if int64(l) > int64(len(b)-4) {
			return 0, nil, errors.New("truncated record")
		}
		r, err := metadata.DecodeRecord(b[4 : 4+l])
		if err != nil {
			return 0, nil, err
		}
		recs = append(recs, r)
		b = b[4+l:]
	}
	if len(b) != 0 {
		return 0, nil, errors.New("trailing bytes after records")
	}
	return id, recs, nil
}

// raftLogger adapts slog to raft's logger.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)                 {}
func (r raftLogger) Debugf(format string, v ...any) {}
func (r raftLogger) Error(v ...any)                 { r.l.Error("raft", "detail", fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) {
	r.l.Error("raft", "detail", fmt.Sprintf(format, v...))
}
func (r raftLogger) Info(v ...any)                 {}
func (r raftLogger) Infof(format string, v ...any) {}
func (r raftLogger) Warning(v ...any)              { r.l.Warn("raft", "detail", fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.l.Warn("raft", "detail", fmt.Sprintf(format, v...))
}
func (r raftLogger) Fatal(v ...any)                 { panic(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (r raftLogger) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
