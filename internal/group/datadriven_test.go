package group

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// TestShardDataDriven runs the scripts of testdata/shard: traces of the
// group state machine of one partition under joins, syncs, heartbeats,
// leaves, commits, deletions, timers and write outcomes. Each script says
// at its top what it shows.
//
// Commands (the clock starts at t=0; writes wait until persist):
//
//	init [min-session=D] [max-session=D] [delay=D] [max-size=N]
//	     [retention=D] [check=D] [max-metadata=N]
//	    A new shard with Kafka's defaults unless given (initial delay 3s).
//	    Member ids are <client or instance>-<n>, n counting from 1.
//	join group=G [member=M] [instance=I] [client=C] [type=T]
//	     [protocols=(P,…)] [meta=X] [topics=(T,…)] [session=D]
//	     [rebalance=D] [version=N] [no-protocols]
//	    A JoinGroup (version 5 by default; client c, type consumer,
//	    protocols (range), session 10s, rebalance 30s). Metadata is X, or
//	    a consumer subscription of the topics.
//	sync group=G member=M gen=N [instance=I] [assign=(M=X,…)]
//	     [ptype=T] [pname=P]
//	heartbeat group=G member=M gen=N [instance=I]
//	leave group=G members=(M[/I],…)
//	    An empty M leaves by instance id.
//	commit group=G [member=M] [gen=N] [instance=I] offsets=(T-P=O,…)
//	       [metadata=X] [retention=MS] [commit-time=MS]
//	fetch group=G [partitions=(T-P,…)]
//	delete-offsets group=G partitions=(T-P,…)
//	delete group=G | describe group=G | list [states=(S,…)] | state group=G
//	tick [advance=D]
//	persist [error=NAME] [n=K]
//	    Completes the first K (default all) pending writes with the code.
//
// Every command prints the replies to waiting requests (w<n> is the n-th
// request that could wait) and the writes it produced, each record checked
// to decode back to what was meant; with the argument state it also
// prints the group (G, default g) afterwards.
func TestShardDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/shard", func(t *testing.T, path string) {
		h := &ddShard{}
		h.init(nil)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := h.run(d)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			return out
		})
	})
}

type ddShard struct {
	start   time.Time
	now     time.Time
	s       *shard
	ids     int
	waiters uint64
	writes  []*write
	nwrites int
	labels  map[*write]int
}

func (h *ddShard) init(d *datadriven.TestData) {
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if d != nil {
		cfg.MinSessionTimeout = durArg(d, "min-session", 0)
		cfg.MaxSessionTimeout = durArg(d, "max-session", 0)
		cfg.InitialRebalanceDelay = durArg(d, "delay", 0)
		if d.HasArg("delay") && cfg.InitialRebalanceDelay == 0 {
			cfg.InitialRebalanceDelay = -1
		}
		cfg.MaxSize = intArg(d, "max-size", 0)
		cfg.OffsetsRetention = durArg(d, "retention", 0)
		cfg.OffsetsRetentionCheck = durArg(d, "check", 0)
		cfg.MaxMetadataBytes = intArg(d, "max-metadata", 0)
	}
	h.start = time.Unix(1_000_000, 0)
	h.now = h.start
	h.ids = 0
	h.waiters = 0
	h.writes = nil
	h.nwrites = 0
	h.labels = map[*write]int{}
	h.s = newShard(7, cfg.withDefaults(), func() string { h.ids++; return strconv.Itoa(h.ids) }, h.now)
}

func (h *ddShard) waiter() uint64 { h.waiters++; return h.waiters }

func (h *ddShard) run(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	g := strArg(d, "group", "g")
	switch d.Cmd {
	case "init":
		h.init(d)
		return "", nil
	case "join":
		h.join(d, g)
	case "sync":
		h.sync(d, g)
	case "heartbeat":
		code := h.s.heartbeat(h.now, g, strArg(d, "member", ""), optArg(d, "instance"), int32(intArg(d, "gen", -1)))
		fmt.Fprintf(&b, "heartbeat: %s\n", code.Name())
	case "leave":
		var ls []leaveMember
		for _, v := range listArg(d, "members") {
			id, inst, found := strings.Cut(v, "/")
			l := leaveMember{memberID: id}
			if found {
				l.instanceID = ptr(inst)
			}
			ls = append(ls, l)
		}
		top, errs := h.s.leave(h.now, g, ls)
		fmt.Fprintf(&b, "leave: %s %s\n", top.Name(), codeNames(errs))
	case "commit":
		h.commit(d, g, &b)
	case "fetch":
		tps := tpsArg(d, "partitions")
		for _, f := range h.s.fetch(h.now, g, tps, !d.HasArg("partitions"), d.HasArg("stable")) {
			fmt.Fprintf(&b, "%s-%d: offset=%d epoch=%d metadata=%q", f.tp.topic, f.tp.partition, f.offset, f.leaderEpoch, f.metadata)
			if f.err != protocol.ErrNone {
				fmt.Fprintf(&b, " error=%s", f.err.Name())
			}
			b.WriteString("\n")
		}
	case "delete-offsets":
		w := h.waiter()
		code, errs, waiting := h.s.deleteOffsets(h.now, g, tpsArg(d, "partitions"), w)
		fmt.Fprintf(&b, "delete-offsets: %s %s", code.Name(), codeNames(errs))
		if waiting {
			fmt.Fprintf(&b, " waiting w%d", w)
		}
		b.WriteString("\n")
	case "delete":
		w := h.waiter()
		code, waiting := h.s.deleteGroup(h.now, g, w)
		fmt.Fprintf(&b, "delete: %s", code.Name())
		if waiting {
			fmt.Fprintf(&b, " waiting w%d", w)
		}
		b.WriteString("\n")
	case "describe":
		sum := h.s.describe(h.now, g)
		fmt.Fprintf(&b, "state=%s type=%q protocol=%q\n", sum.state, sum.protocolType, sum.protocolData)
		for _, m := range sum.members {
			fmt.Fprintf(&b, "  %s client=%s host=%s instance=%s metadata=%q assignment=%q\n",
				m.id, m.clientID, m.clientHost, deref(m.instanceID), m.metadata, m.assignment)
		}
	case "list":
		for _, l := range h.s.list(h.now, listArg(d, "states")) {
			fmt.Fprintf(&b, "%s type=%q state=%s\n", l.id, l.protocolType, l.state)
		}
	case "state":
		h.state(&b, g)
	case "tick":
		h.now = h.now.Add(durArg(d, "advance", 0))
		h.s.tick(h.now)
		fmt.Fprintf(&b, "t=%s\n", h.now.Sub(h.start))
	case "persist":
		code := protocol.ErrNone
		if d.HasArg("error") {
			c, ok := protocol.ErrorCodeByName(strArg(d, "error", ""))
			if !ok {
				return "", fmt.Errorf("unknown error %q", strArg(d, "error", ""))
			}
			code = c
		}
		n := intArg(d, "n", len(h.writes))
		done := h.writes[:min(n, len(h.writes))]
		h.writes = h.writes[len(done):]
		for _, w := range done {
			fmt.Fprintf(&b, "persisted #%d: %s\n", h.labels[w], code.Name())
			h.s.writeDone(w, code, h.now)
		}
	default:
		return "", fmt.Errorf("unknown command %q", d.Cmd)
	}
	if err := h.effects(&b); err != nil {
		return "", err
	}
	if d.HasArg("state") {
		h.state(&b, g)
	}
	return b.String(), nil
}

func (h *ddShard) join(d *datadriven.TestData, g string) {
	version := intArg(d, "version", 5)
	req := joinRequest{
		groupID:               g,
		memberID:              strArg(d, "member", ""),
		clientID:              strArg(d, "client", "c"),
		clientHost:            "/10.0.0.1",
		protocolType:          strArg(d, "type", "consumer"),
		sessionTimeout:        durArg(d, "session", 10*time.Second),
		rebalanceTimeout:      durArg(d, "rebalance", 30*time.Second),
		supportSkipAssignment: version >= 9,
	}
	if version >= 5 {
		req.instanceID = optArg(d, "instance")
	}
	req.requireKnownMemberID = version >= 4 && req.instanceID == nil
	meta := []byte(strArg(d, "meta", ""))
	if d.HasArg("topics") {
		meta = subscriptionV0(listArg(d, "topics"))
	}
	protos := []string{"range"}
	if d.HasArg("protocols") {
		protos = listArg(d, "protocols")
	}
	if d.HasArg("no-protocols") {
		protos = nil
	}
	for _, p := range protos {
		req.protocols = append(req.protocols, protocolEntry{name: p, metadata: meta})
	}
	h.s.join(h.now, req, h.waiter())
}

func (h *ddShard) sync(d *datadriven.TestData, g string) {
	req := syncRequest{
		groupID:      g,
		memberID:     strArg(d, "member", ""),
		instanceID:   optArg(d, "instance"),
		generation:   int32(intArg(d, "gen", -1)),
		protocolType: optArg(d, "ptype"),
		protocolName: optArg(d, "pname"),
	}
	if d.HasArg("assign") {
		req.assignments = map[string][]byte{}
		for _, a := range listArg(d, "assign") {
			id, v, _ := strings.Cut(a, "=")
			req.assignments[id] = []byte(v)
		}
	}
	h.s.sync(h.now, req, h.waiter())
}

func (h *ddShard) commit(d *datadriven.TestData, g string, b *strings.Builder) {
	req := commitRequest{
		groupID:     g,
		memberID:    strArg(d, "member", ""),
		instanceID:  optArg(d, "instance"),
		generation:  int32(intArg(d, "gen", -1)),
		retentionMs: int64(intArg(d, "retention", -1)),
	}
	md := optArg(d, "metadata")
	for _, o := range listArg(d, "offsets") {
		tp, off, _ := strings.Cut(o, "=")
		n, _ := strconv.ParseInt(off, 10, 64)
		req.offsets = append(req.offsets, commitOffset{
			tp: parseTP(tp), offset: n, leaderEpoch: 3, metadata: md,
			commitTime: int64(intArg(d, "commit-time", -1)),
		})
	}
	w := h.waiter()
	dec := h.s.commit(h.now, req, w)
	fmt.Fprintf(b, "commit: %s", dec.err.Name())
	for i, tl := range dec.tooLarge {
		if tl {
			fmt.Fprintf(b, " [%d]=OFFSET_METADATA_TOO_LARGE", i)
		}
	}
	if dec.waiting {
		fmt.Fprintf(b, " waiting w%d", w)
	}
	b.WriteString("\n")
}

// effects prints what the shard produced and keeps its writes pending. It
// also checks that every record decodes back to the op it came from.
func (h *ddShard) effects(b *strings.Builder) error {
	e := h.s.drain()
	for _, r := range e.replies {
		switch {
		case r.join != nil:
			j := r.join
			fmt.Fprintf(b, "w%d join: %s member=%s gen=%d", r.to, j.err.Name(), j.memberID, j.generation)
			if j.protocolType != nil || j.protocolName != nil {
				fmt.Fprintf(b, " type=%s protocol=%s", deref(j.protocolType), deref(j.protocolName))
			}
			fmt.Fprintf(b, " leader=%s", j.leader)
			if j.skipAssignment {
				b.WriteString(" skip-assignment")
			}
			if len(j.members) > 0 {
				var ms []string
				for _, m := range j.members {
					s := m.id
					if m.instanceID != nil {
						s += "/" + *m.instanceID
					}
					ms = append(ms, s)
				}
				fmt.Fprintf(b, " members=(%s)", strings.Join(ms, ","))
			}
			b.WriteString("\n")
		case r.sync != nil:
			fmt.Fprintf(b, "w%d sync: %s", r.to, r.sync.err.Name())
			if r.sync.protocolName != nil {
				fmt.Fprintf(b, " type=%s protocol=%s", deref(r.sync.protocolType), *r.sync.protocolName)
			}
			if r.sync.err == protocol.ErrNone {
				fmt.Fprintf(b, " assignment=%q", r.sync.assignment)
			}
			b.WriteString("\n")
		default:
			fmt.Fprintf(b, "w%d done: %s\n", r.to, r.code.Name())
		}
	}
	for _, w := range e.writes {
		h.nwrites++
		h.labels[w] = h.nwrites
		h.writes = append(h.writes, w)
		var parts []string
		for i, o := range w.ops {
			back, err := decodeOp(w.records[i].key, w.records[i].value)
			if err != nil {
				return fmt.Errorf("write #%d record %d does not decode: %w", h.nwrites, i, err)
			}
			if got, want := describeOp(back), describeOp(o); got != want {
				return fmt.Errorf("write #%d record %d decodes as %s, want %s", h.nwrites, i, got, want)
			}
			parts = append(parts, describeOp(o))
		}
		fmt.Fprintf(b, "write #%d: %s\n", h.nwrites, strings.Join(parts, "; "))
	}
	return nil
}

func describeOp(o op) string {
	if !o.isGroup {
		if o.offset == nil {
			return fmt.Sprintf("offset %s/%s-%d tombstone", o.group, o.tp.topic, o.tp.partition)
		}
		e := o.offset
		s := fmt.Sprintf("offset %s/%s-%d=%d epoch=%d", o.group, o.tp.topic, o.tp.partition, e.offset, e.leaderEpoch)
		if e.metadata != "" {
			s += fmt.Sprintf(" metadata=%q", e.metadata)
		}
		if e.expireTime >= 0 {
			s += fmt.Sprintf(" expire=%d", e.expireTime)
		}
		return s
	}
	if o.meta == nil {
		return fmt.Sprintf("group %s tombstone", o.group)
	}
	v := o.meta
	var ms []string
	for _, m := range v.Members {
		s := m.MemberID
		if m.GroupInstanceID != nil {
			s += "/" + *m.GroupInstanceID
		}
		ms = append(ms, fmt.Sprintf("%s=%q", s, m.Assignment))
	}
	return fmt.Sprintf("group %s type=%s gen=%d protocol=%s leader=%s members=(%s)",
		o.group, v.ProtocolType, v.Generation, deref(v.Protocol), deref(v.Leader), strings.Join(ms, ","))
}

func (h *ddShard) state(b *strings.Builder, id string) {
	g := h.s.groups[id]
	if g == nil {
		fmt.Fprintf(b, "group %s: none\n", id)
		return
	}
	fmt.Fprintf(b, "group %s: %s gen=%d type=%q protocol=%s leader=%s\n",
		id, g.state, g.generation, g.protocolType, deref(g.protocol), g.leader)
	for _, m := range g.allMembers() {
		fmt.Fprintf(b, "  member %s", m.id)
		if m.static {
			fmt.Fprintf(b, " instance=%s", m.instanceID)
		}
		if m.awaitingJoin() {
			fmt.Fprintf(b, " awaiting-join=w%d", m.joinWaiter)
		}
		if m.awaitingSync() {
			fmt.Fprintf(b, " awaiting-sync=w%d", m.syncWaiter)
		}
		if m.isNew {
			b.WriteString(" new")
		}
		if !m.deadline.IsZero() {
			fmt.Fprintf(b, " expires=%s", m.deadline.Sub(h.start))
		}
		b.WriteString("\n")
	}
	var pend []string
	for p, t := range g.pending {
		pend = append(pend, fmt.Sprintf("%s@%s", p, t.Sub(h.start)))
	}
	slices.Sort(pend)
	if len(pend) > 0 {
		fmt.Fprintf(b, "  pending %s\n", strings.Join(pend, " "))
	}
	if !g.joinDeadline.IsZero() {
		fmt.Fprintf(b, "  join-timer=%s", g.joinDeadline.Sub(h.start))
		if g.initialJoin {
			fmt.Fprintf(b, " initial remaining=%s", g.joinRemaining)
		}
		b.WriteString("\n")
	}
	if !g.syncDeadline.IsZero() {
		var ps []string
		for p := range g.pendingSync {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		fmt.Fprintf(b, "  sync-timer=%s awaiting=(%s)\n", g.syncDeadline.Sub(h.start), strings.Join(ps, ","))
	}
	tps := make([]topicPartition, 0, len(g.offsets))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTP)
	for _, tp := range tps {
		fmt.Fprintf(b, "  offset %s-%d=%d\n", tp.topic, tp.partition, g.offsets[tp].offset)
	}
}

// subscriptionV0 encodes a consumer protocol subscription, version 0.
func subscriptionV0(topics []string) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(topics)))
	for _, t := range topics {
		b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
		b = append(b, t...)
	}
	return binary.BigEndian.AppendUint32(b, 0xffffffff) // null user data
}

func codeNames(cs []protocol.ErrorCode) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Name())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func parseTP(s string) topicPartition {
	i := strings.LastIndexByte(s, '-')
	p, _ := strconv.Atoi(s[i+1:])
	return topicPartition{s[:i], int32(p)}
}

func tpsArg(d *datadriven.TestData, key string) []topicPartition {
	var out []topicPartition
	for _, v := range listArg(d, key) {
		out = append(out, parseTP(v))
	}
	return out
}

func arg(d *datadriven.TestData, key string) (datadriven.CmdArg, bool) {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return a, true
		}
	}
	return datadriven.CmdArg{}, false
}

func strArg(d *datadriven.TestData, key, def string) string {
	if a, ok := arg(d, key); ok && len(a.Vals) > 0 {
		return a.Vals[0]
	} else if ok {
		return ""
	}
	return def
}

func optArg(d *datadriven.TestData, key string) *string {
	if a, ok := arg(d, key); ok {
		if len(a.Vals) == 0 {
			return ptr("")
		}
		return ptr(a.Vals[0])
	}
	return nil
}

func listArg(d *datadriven.TestData, key string) []string {
	a, _ := arg(d, key)
	return a.Vals
}

func intArg(d *datadriven.TestData, key string, def int) int {
	if a, ok := arg(d, key); ok && len(a.Vals) > 0 {
		n, err := strconv.Atoi(a.Vals[0])
		if err == nil {
			return n
		}
	}
	return def
}

func durArg(d *datadriven.TestData, key string, def time.Duration) time.Duration {
	if a, ok := arg(d, key); ok && len(a.Vals) > 0 {
		v, err := time.ParseDuration(a.Vals[0])
		if err == nil {
			return v
		}
	}
	return def
}
